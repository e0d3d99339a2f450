/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The value checks both programs apply, the agent to a seed and the fleet
 * tool to an inventory, so the two never disagree on what is valid. Each is
 * pure: a predicate, or NULL / a static text saying what is wrong. */

#include <stdbool.h>
#include <stdint.h>

/* An IPv4 or IPv6 literal. */
bool ip_address_is_valid(const char *s);
/* "addr/prefix"; network=true also requires the host bits to be zero.
 * NULL, or why not ("missing /prefix", "prefix must be 0..32", ...). */
const char *cidr_problem(const char *s, bool network);
/* RFC 1123 host name in lower case, never an IP literal: it becomes the
 * Kubernetes node name. */
bool hostname_is_valid(const char *s);
/* kubeadm's bootstrap token form, [a-z0-9]{6}.[a-z0-9]{16}. */
bool bootstrap_token_is_valid(const char *s);
/* kubeadm's CA pin, "sha256:" and 64 lower-case hex digits. */
bool ca_cert_hash_is_valid(const char *s);
/* "host:port" or "[IPv6]:port" as kubeadm takes an API endpoint; NULL or why not. */
const char *endpoint_problem(const char *s);
/* RFC 3339 time -> unix seconds in *ret; NULL or why not. */
const char *rfc3339_problem(const char *s, int64_t *ret);
/* Kubernetes' own rules (k8s.io/apimachinery/pkg/util/validation), for
 * values that become parts of Kubernetes objects: */
/* DNS-1123 label: namespaces. 1..63 of [a-z0-9-], alphanumeric at both ends. */
bool dns1123_label_is_valid(const char *s);
/* DNS-1123 subdomain: object names, domain names. Dot-separated labels, <= 253. */
bool dns1123_subdomain_is_valid(const char *s);
/* A label value: empty, or <= 63 of [A-Za-z0-9._-], alphanumeric at both ends. */
bool label_value_is_valid(const char *s);
/* An image tag (the reference grammar): [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
bool image_tag_is_valid(const char *s);
/* One OpenSSH public key line of a known type. */
bool ssh_public_key_is_valid(const char *s);
