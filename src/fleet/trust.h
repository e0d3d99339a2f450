/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A rollout's trust: the cluster CA (minted, the operator's, or the one
 * the rollout directory already holds), its pin, this run's bootstrap token
 * with its expiry, the rollout's id and this run's id. */

#include <time.h>
#include "basic/secret.h"
#include "fleet/seedgen.h"

struct trust {
        char *ca_cert;
        secret ca_key;
        char *ca_hash;
        secret token;
        time_t expires;
        secret seed_key;        /* the rollout's Ed25519 seed-signing key (PEM), kept across reruns */
        char *seed_pub;         /* its public half, base64: every seed's nodeos-seed-key */
        char *rollout;          /* kept across reruns */
        char *run;              /* this run's: new seeds' instance-ids end in it */
};

/* Fills t. The CA: EXISTING/ca.crt and ca.key when the run updates the
 * rollout in EXISTING (then o->ca_cert_file, if given, must be that same
 * certificate), else o->ca_cert_file/ca_key_file, else a new one. ROLLOUT:
 * the rollout's id to keep (NULL: this run's id). The token is always new.
 * Problems go to d; -errno. */
int trust_load(const struct seedgen_options *o, const char *existing, const char *rollout, struct trust *t, struct diag *d);
/* Signs a seed: returns META with nodeos-seed-key and nodeos-seed-signature
 * added (new string), the signature covering it and USER (seed.h). */
int trust_sign_seed(const struct trust *t, const char *meta, const char *user, char **ret_meta);

/* The token's id, the public half ("abcdef" of "abcdef.0123456789abcdef"). */
char *trust_token_id(const struct trust *t);
/* The bootstrap-token Secret that registers this run's token with a running
 * cluster, as `kubeadm token create` would make it (kube-system,
 * type bootstrap.kubernetes.io/token, authentication and signing usages,
 * the kubeadm node-token group). Holds the token: write it 0600. */
int trust_token_secret(const struct trust *t, char **ret);
void trust_done(struct trust *t);
