/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The join preflight: before a worker runs `kubeadm join`, check what
 * kubeadm's token discovery will check, and say in one line which part is
 * wrong instead of letting kubeadm spin for its 5 minute discovery timeout:
 *   (a) the API endpoint answers HTTPS;
 *   (b) kube-public/cluster-info, read anonymously over unverified TLS as
 *       kubeadm does, carries "jws-kubeconfig-<token-id>", the detached
 *       HS256 JWS of its kubeconfig keyed by the token secret: absent means
 *       the token is unknown or expired, a mismatch means a wrong secret;
 *   (c) the CA in that kubeconfig has one of the pinned SPKI hashes.
 * Unreachable endpoints and an unpublished cluster-info are retried with
 * exponential backoff, bounded by the token's expiry and an overall cap;
 * a rejected token or a CA mismatch is final at once. */

#include <stdbool.h>
#include <stdint.h>
#include "basic/secret.h"

enum joincheck_verdict {
        JOINCHECK_OK,
        JOINCHECK_UNREACHABLE,          /* no HTTPS answer (refused, timeout, TLS failure): retried */
        JOINCHECK_NOT_PUBLISHED,        /* answers, but no readable cluster-info yet (404/403): retried */
        JOINCHECK_TOKEN_UNSIGNED,       /* no signature for the token id: expired/unknown token */
        JOINCHECK_TOKEN_REJECTED,       /* a signature that the token secret does not reproduce */
        JOINCHECK_CA_MISMATCH,          /* the cluster CA is not a pinned one */
        JOINCHECK_MALFORMED,            /* cluster-info without a usable kubeconfig */
        JOINCHECK_TOKEN_EXPIRED,        /* the seed's token_expires is already past */
};

struct joincheck_result {
        enum joincheck_verdict verdict;
        char *detail;                   /* one line naming the cause (new string); no secret in it */
        unsigned attempts;
};

struct joincheck_options {
        int attempt_timeout_ms;         /* per HTTPS request */
        int backoff_ms;                 /* first retry delay, doubled up to backoff_max_ms */
        int backoff_max_ms;
        long long total_ms;             /* overall cap on retrying */
        int64_t token_expires;          /* unix seconds; 0: none. Retrying stops there */
        /* How long a cluster-info without our signature is waited for: the
         * bootstrap signer adds it a moment after `kubeadm init` creates the
         * token, so a worker racing its master sees it missing briefly. */
        long long unsigned_grace_ms;
};

/* Defaults for a real join: 10 s per request, 1 s doubling to 30 s,
 * 30 min overall, 60 s grace for the signature. */
void joincheck_options_default(struct joincheck_options *o);

/* Checks a cluster-info ConfigMap (the API's JSON) against the token and
 * the pins; no network. Sets res->verdict and res->detail. Returns 0 for
 * JOINCHECK_OK, -EACCES (token), -EPERM (CA), -EBADMSG (malformed), -ENOMEM. */
int joincheck_verify_cluster_info(const char *json, size_t len, const char *endpoint, const secret *token,
                                  char * const *ca_hashes, struct joincheck_result *res);

/* One fetch of https://<endpoint>/api/v1/namespaces/kube-public/configmaps/cluster-info
 * plus joincheck_verify_cluster_info(). Returns 0 when OK, else a negative
 * errno with res set (-ECONNREFUSED etc. for UNREACHABLE, -ENOENT for
 * NOT_PUBLISHED). */
int joincheck_once(const char *endpoint, const secret *token, char * const *ca_hashes, int timeout_ms,
                   struct joincheck_result *res);

/* joincheck_once() with retries as described above. 0 when the join can
 * proceed; else a negative errno and res->detail says why. */
int joincheck_run(const char *endpoint, const secret *token, char * const *ca_hashes,
                  const struct joincheck_options *o, struct joincheck_result *res);

/* Final verdicts are not retried. */
bool joincheck_verdict_is_final(enum joincheck_verdict v);
const char *joincheck_verdict_to_string(enum joincheck_verdict v);
void joincheck_result_done(struct joincheck_result *res);
