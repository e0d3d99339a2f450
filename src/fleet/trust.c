/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include "basic/fileio.h"
#include "fleet/trust.h"
#include "shared/pki.h"
#include "shared/seed.h"

static int random_id(char **ret) {
        unsigned char rnd[4];
        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                return -EIO;
        return asprintf(ret, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]) < 0 ? -ENOMEM : 0;
}

static int read_ca(struct trust *t, const char *cert_file, const char *key_file, struct diag *d) {
        _cleanup_free_ char *key = NULL;
        int r = read_full_file(cert_file, &t->ca_cert, NULL);
        if (r < 0) {
                diag_add(d, cert_file, 0, 0, "cannot read the CA certificate: %s", strerror(-r));
                return r;
        }
        r = read_full_file(key_file, &key, NULL);
        if (r < 0) {
                diag_add(d, key_file, 0, 0, "cannot read the CA key: %s", strerror(-r));
                return r;
        }
        r = secret_set(&t->ca_key, key);
        explicit_bzero(key, strlen(key));
        return r;
}

/* --ca-cert on a rollout that has its own CA must name that CA: a second
 * CA would give new nodes a pin the running cluster does not serve. */
static int check_same_ca(const struct trust *t, const char *cert_file, const char *existing, struct diag *d) {
        _cleanup_free_ char *given = NULL;
        int r = read_full_file(cert_file, &given, NULL);
        if (r < 0) {
                diag_add(d, cert_file, 0, 0, "cannot read the CA certificate: %s", strerror(-r));
                return r;
        }
        if (STREQ(given, t->ca_cert))
                return 0;
        diag_add(d, cert_file, 0, 0, "is not the CA of the rollout in %s; that rollout keeps its own CA "
                                     "(leave --ca-cert/--ca-key out, or start a new rollout with --new-rollout)", existing);
        return -EINVAL;
}

/* The seed-signing key: the rollout's own (EXISTING/seed-signing.key), else
 * a new one. A rollout made before seeds were signed gets one now. */
static int load_seed_key(const char *existing, struct trust *t, struct diag *d) {
        _cleanup_free_ char *path = NULL, *pem = NULL;
        if (existing && asprintf(&path, "%s/seed-signing.key", existing) < 0)
                return -ENOMEM;
        int r = path ? read_full_file(path, &pem, NULL) : -ENOENT;
        if (r == -ENOENT)
                return pki_make_signing_key(&t->seed_key, &t->seed_pub);
        if (r >= 0)
                r = secret_set(&t->seed_key, pem);
        if (pem)
                explicit_bzero(pem, strlen(pem));
        if (r >= 0)
                r = pki_signing_key_public(&t->seed_key, &t->seed_pub);
        if (r < 0)
                diag_add(d, path, 0, 0, "cannot read the rollout's seed-signing key: %s", strerror(-r));
        return r;
}

int trust_sign_seed(const struct trust *t, const char *meta, const char *user, char **ret_meta) {
        _cleanup_free_ char *keyed = NULL, *msg = NULL, *sig = NULL;
        size_t len = 0;
        if (asprintf(&keyed, "%snodeos-seed-key: %s\n", meta, t->seed_pub) < 0)
                return -ENOMEM;
        int r = seed_signed_message(keyed, strlen(keyed), user, strlen(user), &msg, &len);
        if (r >= 0)
                r = pki_sign(&t->seed_key, msg, len, &sig);
        if (msg)
                explicit_bzero(msg, len);
        if (r >= 0 && asprintf(ret_meta, "%s" SEED_SIGNATURE_KEY ": %s\n", keyed, sig) < 0)
                r = -ENOMEM;
        return r;
}

int trust_load(const struct seedgen_options *o, const char *existing, const char *rollout, struct trust *t, struct diag *d) {
        int r;
        if (existing) {
                _cleanup_free_ char *cert = NULL, *key = NULL;
                if (asprintf(&cert, "%s/ca.crt", existing) < 0 || asprintf(&key, "%s/ca.key", existing) < 0)
                        return -ENOMEM;
                r = read_ca(t, cert, key, d);
                if (r >= 0 && o->ca_cert_file)
                        r = check_same_ca(t, o->ca_cert_file, existing, d);
        } else if (o->ca_cert_file)
                r = read_ca(t, o->ca_cert_file, o->ca_key_file, d);
        else if ((r = pki_make_ca(&t->ca_cert, &t->ca_key)) < 0)
                diag_add(d, o->inventory_dir, 0, 0, "cannot mint the cluster CA: %s", strerror(-r));
        if (r >= 0 && (r = pki_ca_cert_hash(t->ca_cert, &t->ca_hash)) < 0)
                diag_add(d, existing ? existing : o->ca_cert_file ? o->ca_cert_file : o->inventory_dir, 0, 0,
                         "the CA certificate cannot be read as PEM X.509: %s", strerror(-r));
        if (r >= 0)
                r = load_seed_key(existing, t, d);
        if (r >= 0)
                r = pki_make_token(&t->token);
        if (r >= 0)
                r = random_id(&t->run);
        if (r >= 0 && !(t->rollout = strdup(rollout ? rollout : t->run)))
                r = -ENOMEM;
        t->expires = time(NULL) + (o->token_ttl_s > 0 ? o->token_ttl_s : 24 * 3600);
        return r;
}

char *trust_token_id(const struct trust *t) {
        const char *tok = secret_reveal(&t->token), *dot = tok ? strchr(tok, '.') : NULL;
        return dot ? strndup(tok, (size_t) (dot - tok)) : NULL;
}

/* The Secret's layout is the cluster-bootstrap token API
 * (k8s.io/cluster-bootstrap/token/api/types.go in kubernetes v1.17), the
 * one `kubeadm token create` writes and the bootstrap signer reads. */
int trust_token_secret(const struct trust *t, char **ret) {
        const char *tok = secret_reveal(&t->token), *dot = tok ? strchr(tok, '.') : NULL;
        char when[32];
        if (!dot)
                return -EINVAL;
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t->expires));
        int id_len = (int) (dot - tok);
        if (asprintf(ret,
                     "# Registers the bootstrap token of nodeos-seedgen rollout %s, run %s, with\n"
                     "# the running cluster: kubectl apply -f <this file>. It holds the token: keep it 0600.\n"
                     "apiVersion: v1\n"
                     "kind: Secret\n"
                     "metadata:\n"
                     "  name: bootstrap-token-%.*s\n"
                     "  namespace: kube-system\n"
                     "type: bootstrap.kubernetes.io/token\n"
                     "stringData:\n"
                     "  description: \"nodeos-seedgen rollout %s, run %s\"\n"
                     "  token-id: \"%.*s\"\n"
                     "  token-secret: \"%s\"\n"
                     "  expiration: \"%s\"\n"
                     "  usage-bootstrap-authentication: \"true\"\n"
                     "  usage-bootstrap-signing: \"true\"\n"
                     "  auth-extra-groups: \"system:bootstrappers:kubeadm:default-node-token\"\n",
                     t->rollout, t->run, id_len, tok, t->rollout, t->run, id_len, tok, dot + 1, when) < 0)
                return -ENOMEM;
        return 0;
}

void trust_done(struct trust *t) {
        free(t->ca_cert);
        free(t->ca_hash);
        free(t->rollout);
        free(t->run);
        free(t->seed_pub);
        secret_clear(&t->seed_key);
        secret_clear(&t->ca_key);
        secret_clear(&t->token);
}
