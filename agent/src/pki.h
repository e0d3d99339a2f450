/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The cluster trust the fleet side mints per rollout (libcrypto): a CA for
 * kubeadm (the master's seed carries cert and key; workers pin the hash of
 * its public key) and a bootstrap token with an explicit TTL. */

#include "secret.h"

/* A new self-signed RSA-2048 CA "kubernetes", valid 10 years, as PEM. */
int pki_make_ca(char **ret_cert_pem, secret *ret_key_pem);
/* kubeadm's CA pin: "sha256:" + hex sha256 of the certificate's
 * SubjectPublicKeyInfo (DER). */
int pki_ca_cert_hash(const char *cert_pem, char **ret);
/* A random bootstrap token [a-z0-9]{6}.[a-z0-9]{16}. */
int pki_make_token(secret *ret);
