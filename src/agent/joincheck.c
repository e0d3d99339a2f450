/* SPDX-License-Identifier: Apache-2.0 */
/* The join preflight (see joincheck.h). It follows kubeadm 1.17's token
 * discovery (cmd/kubeadm/app/discovery/token): the same anonymous,
 * unverified read of cluster-info, the same detached-JWS comparison
 * (cluster-bootstrap token/jws), the same SPKI pins (pubkeypin: any CA of
 * the bundle matching any pin). */
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "agent/joincheck.h"
#include "basic/clock.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "shared/http.h"
#include "shared/pki.h"
#include "shared/validate.h"
#include "shared/yamlnode.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON *, cJSON_Delete)

#define CLUSTER_INFO_PATH "/api/v1/namespaces/kube-public/configmaps/cluster-info"
#define JWS_KEY_PREFIX "jws-kubeconfig-"

void joincheck_options_default(struct joincheck_options *o) {
        *o = (struct joincheck_options) {
                .attempt_timeout_ms = 10000,
                .backoff_ms = 1000,
                .backoff_max_ms = 30000,
                .total_ms = 30LL * 60 * 1000,
                .unsigned_grace_ms = 60000,
        };
}

bool joincheck_verdict_is_final(enum joincheck_verdict v) {
        return v == JOINCHECK_TOKEN_REJECTED || v == JOINCHECK_CA_MISMATCH || v == JOINCHECK_MALFORMED ||
               v == JOINCHECK_TOKEN_EXPIRED;
}

const char *joincheck_verdict_to_string(enum joincheck_verdict v) {
        static const char * const names[] = {
                [JOINCHECK_OK] = "ok",
                [JOINCHECK_UNREACHABLE] = "unreachable",
                [JOINCHECK_NOT_PUBLISHED] = "not-published",
                [JOINCHECK_TOKEN_UNSIGNED] = "token-unsigned",
                [JOINCHECK_TOKEN_REJECTED] = "token-rejected",
                [JOINCHECK_CA_MISMATCH] = "ca-mismatch",
                [JOINCHECK_MALFORMED] = "malformed",
                [JOINCHECK_TOKEN_EXPIRED] = "token-expired",
        };
        return (unsigned) v < ELEMENTSOF(names) ? names[v] : "?";
}

void joincheck_result_done(struct joincheck_result *res) {
        free(res->detail);
        res->detail = NULL;
}

_printf_(4, 5)
static int verdict(struct joincheck_result *res, enum joincheck_verdict v, int r, const char *fmt, ...) {
        va_list ap;
        char *d = NULL;
        va_start(ap, fmt);
        if (vasprintf(&d, fmt, ap) < 0)
                d = NULL;
        va_end(ap);
        free(res->detail);
        res->detail = d;
        res->verdict = v;
        return d ? r : -ENOMEM;
}

/* Standard base64 (kubeconfig's certificate-authority-data) to bytes. */
static int base64_decode(const char *in, unsigned char **ret, size_t *ret_len) {
        size_t n = strlen(in);
        if (n == 0 || n % 4 != 0 || n > INT_MAX)
                return -EINVAL;
        unsigned char *out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        int k = EVP_DecodeBlock(out, (const unsigned char *) in, (int) n);
        if (k < 0) {
                free(out);
                return -EINVAL;
        }
        /* EVP_DecodeBlock counts the bytes the padding stands for */
        for (size_t i = n; i > 0 && in[i - 1] == '='; i--)
                k--;
        out[k] = 0;
        *ret = out;
        *ret_len = (size_t) k;
        return 0;
}

/* The CA bundle (PEM) of the last cluster of a kubeconfig, as kubeadm's
 * validateClusterCA takes it. */
static int kubeconfig_ca(const char *kubeconfig, char **ret, size_t *ret_len, const char **why) {
        struct diag d = {};
        _cleanup_ynode_ struct ynode *root = NULL;
        int r = ynode_parse(kubeconfig, strlen(kubeconfig), "cluster-info kubeconfig", &root, &d);
        diag_done(&d);
        if (r < 0) {
                *why = "its kubeconfig is not YAML";
                return r;
        }
        const struct ynode *clusters = root->kind == YNODE_MAPPING ? ynode_get(root, "clusters") : NULL;
        const char *data = NULL;
        if (!clusters || clusters->kind != YNODE_SEQUENCE || clusters->n == 0) {
                *why = "its kubeconfig has no clusters";
                return -EBADMSG;
        }
        for (size_t i = 0; i < clusters->n; i++) {
                const struct ynode *c = clusters->items[i]->kind == YNODE_MAPPING ? ynode_get(clusters->items[i], "cluster") : NULL;
                const struct ynode *v = c && c->kind == YNODE_MAPPING ? ynode_get(c, "certificate-authority-data") : NULL;
                data = v && v->kind == YNODE_SCALAR ? v->value : NULL;
        }
        if (!data) {
                *why = "its kubeconfig has no certificate-authority-data";
                return -EBADMSG;
        }
        unsigned char *pem = NULL;
        r = base64_decode(data, &pem, ret_len);
        if (r < 0) {
                *why = "its certificate-authority-data is not base64";
                return r == -ENOMEM ? r : -EBADMSG;
        }
        *ret = (char *) pem;
        return 0;
}

static bool pinned(char * const *pins, const char *hash) {
        STRV_FOREACH(p, pins)
                if (strcasecmp(*p, hash) == 0)
                        return true;
        return false;
}

int joincheck_verify_cluster_info(const char *json, size_t len, const char *endpoint, const secret *token,
                                  char * const *ca_hashes, struct joincheck_result *res) {
        const char *t = secret_reveal(token);
        if (!bootstrap_token_is_valid(t))
                return verdict(res, JOINCHECK_TOKEN_REJECTED, -EACCES, "bootstrap token is malformed");
        char tid[7];
        memcpy(tid, t, 6);
        tid[6] = 0;

        _cleanup_(cJSON_Deletep) cJSON *cm = cJSON_ParseWithLength(json, len);
        const cJSON *data = cm ? cJSON_GetObjectItemCaseSensitive(cm, "data") : NULL;
        const cJSON *kc = data ? cJSON_GetObjectItemCaseSensitive(data, "kubeconfig") : NULL;
        if (!cJSON_IsString(kc) || !kc->valuestring[0])
                return verdict(res, JOINCHECK_MALFORMED, -EBADMSG,
                               "%s: kube-public/cluster-info has no kubeconfig: this API server is not set up for token bootstrapping",
                               endpoint);

        char key[sizeof(JWS_KEY_PREFIX) + 6];
        snprintf(key, sizeof(key), JWS_KEY_PREFIX "%s", tid);
        const cJSON *sig = cJSON_GetObjectItemCaseSensitive(data, key);
        if (!cJSON_IsString(sig) || !sig->valuestring[0])
                return verdict(res, JOINCHECK_TOKEN_UNSIGNED, -EACCES,
                               "bootstrap token not accepted by %s (expired or wrong): cluster-info has no signature for token id %s",
                               endpoint, tid);
        _cleanup_free_ char *want = pki_bootstrap_jws(kc->valuestring, strlen(kc->valuestring), token);
        if (!want)
                return -ENOMEM;
        /* constant time: the signature is a MAC of the token secret */
        size_t wl = strlen(want), sl = strlen(sig->valuestring);
        if (wl != sl || CRYPTO_memcmp(want, sig->valuestring, wl) != 0)
                return verdict(res, JOINCHECK_TOKEN_REJECTED, -EACCES,
                               "bootstrap token not accepted by %s (expired or wrong): the cluster-info signature for token id %s does not match its secret",
                               endpoint, tid);

        const char *why = NULL;
        _cleanup_free_ char *pem = NULL;
        size_t pem_len = 0;
        int r = kubeconfig_ca(kc->valuestring, &pem, &pem_len, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verdict(res, JOINCHECK_MALFORMED, -EBADMSG, "%s: cluster-info is unusable: %s", endpoint, why);
        _cleanup_strv_free_ char **actual = NULL;
        r = pki_ca_bundle_hashes(pem, pem_len, &actual);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verdict(res, JOINCHECK_MALFORMED, -EBADMSG,
                               "%s: cluster-info is unusable: its certificate-authority-data holds no PEM certificate", endpoint);
        STRV_FOREACH(a, actual)
                if (pinned(ca_hashes, *a))
                        return verdict(res, JOINCHECK_OK, 0, "%s: token signature and CA pin verified", endpoint);
        _cleanup_free_ char *exp = strv_join((char **) ca_hashes, ","), *act = strv_join(actual, ",");
        return verdict(res, JOINCHECK_CA_MISMATCH, -EPERM,
                       "cluster CA of %s does not match the pinned hash: expected %s, actual %s",
                       endpoint, exp ? exp : "?", act ? act : "?");
}

int joincheck_once(const char *endpoint, const secret *token, char * const *ca_hashes, int timeout_ms,
                   struct joincheck_result *res) {
        _cleanup_free_ char *url = NULL, *body = NULL, *err = NULL;
        size_t len = 0;
        if (asprintf(&url, "https://%s" CLUSTER_INFO_PATH, endpoint) < 0)
                return -ENOMEM;
        /* Unverified TLS, as kubeadm's discovery client: the CA is not known
         * yet; what makes the answer trustworthy is the token's signature
         * and then the pin. */
        struct http_options ho = { .timeout_ms = timeout_ms, .attempts = 1, .insecure = 1 };
        res->attempts++;
        int r = http_get(url, &ho, &body, &len, &err);
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT || r == -EACCES)
                return verdict(res, JOINCHECK_NOT_PUBLISHED, -ENOENT,
                               "API endpoint %s answers, but kube-public/cluster-info is not readable (%s): the control plane is not initialised yet",
                               endpoint, err ? err : strerror(-r));
        if (r < 0)
                return verdict(res, JOINCHECK_UNREACHABLE, r, "API endpoint %s unreachable: %s", endpoint,
                               err ? err : strerror(-r));
        return joincheck_verify_cluster_info(body, len, endpoint, token, ca_hashes, res);
}

static void sleep_ms(long long ms) {
        struct timespec ts = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int joincheck_run(const char *endpoint, const secret *token, char * const *ca_hashes,
                  const struct joincheck_options *o, struct joincheck_result *res) {
        long long start = now_ms(), budget = o->total_ms, unsigned_since = -1;
        bool by_expiry = false;
        if (o->token_expires > 0) {
                long long left = (long long) (o->token_expires - (int64_t) time(NULL)) * 1000;
                char when[32];
                time_t te = (time_t) o->token_expires;
                strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&te));
                if (left <= 0)
                        return verdict(res, JOINCHECK_TOKEN_EXPIRED, -EACCES,
                                       "bootstrap token expired at %s (cluster.token_expires): %s will not accept it", when,
                                       endpoint);
                if (left < budget) {
                        budget = left;
                        by_expiry = true;
                }
        }
        long long delay = o->backoff_ms > 0 ? o->backoff_ms : 1000;
        for (;;) {
                int r = joincheck_once(endpoint, token, ca_hashes, o->attempt_timeout_ms, res);
                if (r >= 0 || r == -ENOMEM || joincheck_verdict_is_final(res->verdict))
                        return r;
                long long now = now_ms();
                if (res->verdict == JOINCHECK_TOKEN_UNSIGNED) {
                        if (unsigned_since < 0)
                                unsigned_since = now;
                        if (now - unsigned_since >= o->unsigned_grace_ms)
                                return r;
                } else
                        unsigned_since = -1;
                if (now + delay - start > budget) {
                        /* say why retrying stopped, keeping the cause */
                        _cleanup_free_ char *cause = TAKE_PTR(res->detail);
                        return verdict(res, res->verdict, r, "%s (gave up after %u attempts in %lld s: %s)",
                                       cause ? cause : "", res->attempts, (now - start) / 1000,
                                       by_expiry ? "the bootstrap token expires" : "overall time limit");
                }
                log_debug("join preflight: %s; retrying in %lld ms", res->detail ? res->detail : "", delay);
                sleep_ms(delay);
                delay = delay * 2 > o->backoff_max_ms ? (o->backoff_max_ms > 0 ? o->backoff_max_ms : delay) : delay * 2;
        }
}
