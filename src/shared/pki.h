/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The cluster trust the fleet side mints per rollout (libcrypto): a CA for
 * kubeadm (the master's seed carries cert and key; workers pin the hash of
 * its public key) and a bootstrap token with an explicit TTL. */

#include "basic/secret.h"

/* A new self-signed RSA-2048 CA "kubernetes", valid 10 years, as PEM. */
int pki_make_ca(char **ret_cert_pem, secret *ret_key_pem);
/* kubeadm's CA pin: "sha256:" + hex sha256 of the certificate's
 * SubjectPublicKeyInfo (DER). */
int pki_ca_cert_hash(const char *cert_pem, char **ret);
/* The pins of every certificate in a PEM bundle (kubeadm accepts a
 * cluster-info CA bundle if any of its certificates matches a pin): a new
 * strv of "sha256:<hex>"; -EINVAL when the bundle holds no certificate. */
int pki_ca_bundle_hashes(const char *pem, size_t len, char ***ret);
/* A random bootstrap token [a-z0-9]{6}.[a-z0-9]{16}. */
int pki_make_token(secret *ret);
/* The rollout's seed-signing key (Ed25519): the private key as PKCS#8 PEM
 * (a secret: 0600), the public key as standard base64 of its 32 raw bytes
 * (44 characters, what a seed's meta-data carries as nodeos-seed-key). */
int pki_make_signing_key(secret *ret_key_pem, char **ret_pub_b64);
/* The base64 public key of a PEM private key (as above). */
int pki_signing_key_public(const secret *key_pem, char **ret_pub_b64);
/* Ed25519 signature of MSG by the PEM key: base64 of 64 bytes (88 chars). */
int pki_sign(const secret *key_pem, const void *msg, size_t len, char **ret_sig_b64);
/* 0 when SIG_B64 is PUB_B64's signature of MSG; -EBADMSG when not (or when
 * either is not the base64 of an Ed25519 key or signature); -ENOMEM. */
int pki_verify(const char *pub_b64, const void *msg, size_t len, const char *sig_b64);

/* Lowercase hex SHA-256 of DATA (64 characters, new string); -ENOMEM/-EIO. */
int pki_sha256_hex(const void *data, size_t len, char **ret);
/* The detached JWS the cluster's bootstrap signer puts in the cluster-info
 * ConfigMap as "jws-kubeconfig-<token-id>" (RFC 7515 appendix F): HS256
 * keyed by the token secret, protected header {"alg":"HS256","kid":"<id>"},
 * serialised as "<header>..<signature>" in unpadded base64url. kubeadm 1.17
 * recomputes it and compares strings (cluster-bootstrap token/jws), so this
 * must produce the same bytes. A new string, or NULL (malformed token/ENOMEM). */
char *pki_bootstrap_jws(const char *content, size_t len, const secret *token);
/* The general form: a detached HS256 JWS of content with header kid. */
char *pki_jws_hs256_detached(const char *content, size_t len, const char *kid, const void *key, size_t key_len);
