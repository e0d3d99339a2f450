/* SPDX-License-Identifier: Apache-2.0 */
/* The cluster bootstrap: `kubeadm init` on the role with kubernetes: init,
 * `kubeadm join` on the roles with kubernetes: join (docs/dojot-v0.5.0.md#master, #workers).
 *
 * The configuration is the role's kubeadm-init / kubeadm-join file (the
 * renderer of the same name), rewritten here 0600 right before use: it holds
 * the bootstrap token, which therefore never appears on a command line, in a
 * log line or in a step detail (kubeadm's output is redacted before its tail
 * is quoted).
 *
 * Idempotent, because the original was not (docs/dojot-v0.5.0.md#master, step 2): the master
 * skips when admin.conf exists and its API answers; a worker skips when
 * kubelet.conf exists (the check ansible-dojot's k8s-cluster/worker-node role made).
 * A worker runs the join preflight (joincheck.h) first, so a wrong token or
 * CA pin fails in one line instead of a five-minute kubeadm timeout.
 *
 * Images without Kubernetes binaries (bookworm without K8S_BUNDLE) report
 * the step skipped with that reason, never done; --root renders only. */
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "agent/joincheck.h"
#include "agent/steps/step.h"
#include "basic/clock.h"
#include "basic/exec.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "shared/http.h"
#include "shared/kube.h"
#include "shared/renderer.h"

/* The role's file for this mode (role data decides where it lives). */
static const char *config_dest(const struct role *role, const char *renderer) {
        for (size_t i = 0; i < role->n_files; i++)
                if (STREQ(role->files[i].renderer, renderer))
                        return role->files[i].dest;
        return NULL;
}

static bool kubeadm_is_installed(void) {
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = strdup(path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        char *save = NULL;
        if (!copy)
                return false;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *p = NULL;
                struct stat st;
                if (asprintf(&p, "%s/kubeadm", dir) < 0)
                        return false;
                if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0)
                        return true;
        }
        return false;
}

/* Overwrites every occurrence of the token's secret half in s: kubeadm
 * prints the token in some phases, and its output tail goes to the state
 * file and the console when it fails. */
static void redact_token(char *s, const void *data) {
        const char *t = secret_reveal(data);
        if (!s || !t || strlen(t) != 23)
                return;
        for (char *p = strstr(s, t + 7); p; p = strstr(p + 16, t + 7))
                memset(p, '*', 16);
}

/* Runs kubeadm (or systemctl) and fails the step with a redacted tail. */
static int run_redacted(struct step_result *res, const secret *token, int timeout_ms, char * const *argv) {
        return step_run_hiding(res, timeout_ms, argv, 6, redact_token, token);
}

/* Renders the role's kubeadm configuration and writes it 0600 to dest. */
static int write_config(const struct agent_ctx *ctx, const char *mode, const char *dest, struct step_result *res) {
        _cleanup_free_ char *name = NULL, *text = NULL, *error = NULL;
        if (asprintf(&name, "kubeadm-%s", mode) < 0)
                return -ENOMEM;
        const struct renderer *rd = renderer_find(name);
        if (!rd)
                return step_fail(res, -EINVAL, "no renderer %s", name);
        struct render_ctx rctx = step_render_ctx(ctx);
        int r = rd->render(&rctx, &text, &error);
        if (r < 0)
                return step_fail(res, r, "%s: cannot render (%s): %s", dest, name, error ? error : chase_strerror(r));
        size_t len = strlen(text);
        r = write_file_atomic(ctx->root, dest, text, len, 0600, -1, -1, NULL);
        explicit_bzero(text, len);
        if (r < 0)
                return step_fail(res, r, "cannot write %s: %s", dest, chase_strerror(r));
        return 0;
}

static bool exists_in_root(const struct agent_ctx *ctx, const char *path) {
        _cleanup_free_ char *p = path_in_root(ctx->root, path);
        return p && access(p, F_OK) == 0;
}

/* The kubelet is left disabled in the image (src/agent/node-agent.service):
 * once kubeadm has configured it, it must come back after a reboot. */
static int enable_kubelet(struct step_result *res, const secret *token, bool now) {
        char *argv[] = { "systemctl", "enable", now ? "--now" : "--quiet", "kubelet.service", NULL };
        return run_redacted(res, token, 120000, argv);
}

/* kubeadm init/join, then the kubelet it configured enabled for the next boot. */
static int run_kubeadm(struct step_result *res, const secret *token, char * const *argv) {
        int r = run_redacted(res, token, KUBE_KUBEADM_TIMEOUT_MS, argv);
        if (r < 0)
                return r;
        return enable_kubelet(res, token, false);
}

/* True once https://<endpoint>/healthz answers 2xx, verified with the
 * cluster CA, within wait_ms. */
static bool api_answers(const struct agent_ctx *ctx, int wait_ms, char **why) {
        const struct cluster_config *k = &ctx->config->cluster;
        _cleanup_free_ char *url = NULL, *ca = NULL;
        if (asprintf(&url, "https://%s/healthz", k->api_endpoint) < 0 ||
            !(ca = path_in_root(ctx->root, KUBE_PKI_DIR "/ca.crt")))
                return false;
        struct http_options ho = { .timeout_ms = 5000, .attempts = 1, .ca_file = ca };
        long long deadline = now_ms() + wait_ms, delay = 1000;
        for (;;) {
                _cleanup_free_ char *body = NULL;
                free(*why);
                *why = NULL;
                if (http_get(url, &ho, &body, NULL, why) >= 0)
                        return true;
                if (now_ms() + delay > deadline)
                        return false;
                struct timespec ts = { (time_t) (delay / 1000), (long) (delay % 1000) * 1000000L };
                nanosleep(&ts, NULL);
                delay = delay < 8000 ? delay * 2 : delay;
        }
}

static int kubeadm_init(const struct agent_ctx *ctx, const char *dest, struct step_result *res) {
        const struct cluster_config *k = &ctx->config->cluster;
        _cleanup_free_ char *cfg = path_in_root(ctx->root, dest), *why = NULL;
        if (!cfg)
                return -ENOMEM;
        if (exists_in_root(ctx, KUBE_ADMIN_CONF)) {
                /* configured before: after a reboot the kubelet brings the
                 * static control-plane pods back; start it and wait */
                int r = enable_kubelet(res, &k->token, true);
                if (r < 0)
                        return r;
                if (api_answers(ctx, KUBE_API_WAIT_MS, &why)) {
                        step_result_set(res, STEP_SKIPPED, "control plane already running (%s exists, https://%s answers)",
                                        KUBE_ADMIN_CONF, k->api_endpoint);
                        return 0;
                }
                /* kubeadm init would refuse the existing files anyway */
                return step_fail(res, -EEXIST,
                                 "%s exists but the API at https://%s does not answer (%s); a half-initialised control plane: inspect the kubelet, or 'kubeadm reset' and rerun",
                                 KUBE_ADMIN_CONF, k->api_endpoint, why ? why : "no answer");
        }
        /* The seed's CA: workers pin its public key, so kubeadm must use it
         * rather than generate one ("[certs] Using existing ca"). */
        const char *key = secret_reveal(&k->ca_key);
        int r = write_file_atomic(ctx->root, KUBE_PKI_DIR "/ca.crt", k->ca_cert, strlen(k->ca_cert), 0644, -1, -1, NULL);
        if (r >= 0)
                r = write_file_atomic(ctx->root, KUBE_PKI_DIR "/ca.key", key, strlen(key), 0600, -1, -1, NULL);
        if (r < 0)
                return step_fail(res, r, "cannot write the cluster CA to %s: %s", KUBE_PKI_DIR, chase_strerror(r));
        /* --skip-token-print: the token stays out of the output; kubeadm
         * allows skip-* flags together with --config. */
        char *argv[] = { "kubeadm", "init", "--config", cfg, "--skip-token-print", NULL };
        r = run_kubeadm(res, &k->token, argv);
        if (r < 0)
                return r;
        step_result_set(res, STEP_DONE, "kubeadm init done: control plane %s at https://%s", NODEOS_KUBERNETES_VERSION,
                        k->api_endpoint);
        return 0;
}

static int kubeadm_join(const struct agent_ctx *ctx, const char *dest, struct step_result *res) {
        const struct cluster_config *k = &ctx->config->cluster;
        _cleanup_free_ char *cfg = path_in_root(ctx->root, dest);
        if (!cfg)
                return -ENOMEM;
        if (exists_in_root(ctx, KUBE_KUBELET_CONF)) {
                int r = enable_kubelet(res, &k->token, true);
                if (r < 0)
                        return r;
                step_result_set(res, STEP_SKIPPED, "already joined (%s exists)", KUBE_KUBELET_CONF);
                return 0;
        }
        struct joincheck_options o;
        struct joincheck_result jr = {};
        joincheck_options_default(&o);
        o.token_expires = k->token_expires;
        int r = joincheck_run(k->api_endpoint, &k->token, k->ca_cert_hashes, &o, &jr);
        if (r < 0) {
                /* a token the cluster does not know will not become known by
                 * waiting: say where a new seed comes from */
                bool token = jr.verdict == JOINCHECK_TOKEN_EXPIRED || jr.verdict == JOINCHECK_TOKEN_UNSIGNED ||
                             jr.verdict == JOINCHECK_TOKEN_REJECTED;
                r = step_fail(res, r, "join preflight: %s%s%s%s", jr.detail ? jr.detail : chase_strerror(r),
                              token ? "; get this node a new seed from its rollout (make seeds ... SEEDGEN_FLAGS=--renew " : "",
                              token ? ctx->config->hostname : "",
                              token ? ") and kubectl apply the tokens/ Secret that run writes (cloud-init/FLEET.md, Day 2)" : "");
                joincheck_result_done(&jr);
                return r;
        }
        joincheck_result_done(&jr);
        char *argv[] = { "kubeadm", "join", "--config", cfg, NULL };
        r = run_kubeadm(res, &k->token, argv);
        if (r < 0)
                return r;
        step_result_set(res, STEP_DONE, "joined %s as %s (%s=%s)", k->api_endpoint, ctx->config->hostname,
                        NODEOS_GROUP_LABEL, ctx->role->group);
        return 0;
}

static int kubeadm_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        const char *mode = ctx->role->kubernetes;
        bool init = STREQ(mode, "init");
        if (!init && !STREQ(mode, "join"))
                return step_fail(res, -EINVAL, "role %s has kubernetes: %s; nothing for kubeadm to do", ctx->role->name, mode);
        _cleanup_free_ char *fallback = NULL;
        const char *dest = config_dest(ctx->role, init ? "kubeadm-init" : "kubeadm-join");
        if (!dest) {
                if (asprintf(&fallback, NODEOS_KUBEADM_DIR "/kubeadm-%s.yaml", mode) < 0)
                        return -ENOMEM;
                dest = fallback;
        }
        int r = write_config(ctx, mode, dest, res);
        if (r < 0)
                return r;
        if (!ctx->live) {
                if (init)
                        step_result_set(res, STEP_SKIPPED,
                                        "offline root: rendered %s (0600); would write %s/ca.{crt,key} and run 'kubeadm init --config %s --skip-token-print'",
                                        dest, KUBE_PKI_DIR, dest);
                else
                        step_result_set(res, STEP_SKIPPED,
                                        "offline root: rendered %s (0600); would check %s (token signature, CA pin) and run 'kubeadm join --config %s'",
                                        dest, ctx->config->cluster.api_endpoint, dest);
                return 0;
        }
        if (!kubeadm_is_installed()) {
                step_result_set(res, STEP_SKIPPED, "kubeadm not installed in this image (built without K8S_BUNDLE); rendered %s, no cluster %s",
                                dest, init ? "bootstrapped" : "joined");
                return 0;
        }
        return init ? kubeadm_init(ctx, dest, res) : kubeadm_join(ctx, dest, res);
}

/* What the node's membership rests on; the token and the CA key are left
 * out (secrets, and a renewed token changes no membership). */
static int kubeadm_inputs(const struct agent_ctx *ctx, const struct step *s, FILE *f) {
        (void) s;
        const struct cluster_config *k = &ctx->config->cluster;
        fprintf(f, "mode=%s\nname=%s\ngroup=%s\napi_endpoint=%s\nadvertise_address=%s\npod_subnet=%s\nservice_subnet=%s\n",
                ctx->role->kubernetes, ctx->config->hostname, strempty(ctx->role->group), strempty(k->api_endpoint),
                strempty(k->advertise_address), strempty(k->pod_subnet), strempty(k->service_subnet));
        STRV_FOREACH(h, k->ca_cert_hashes)
                fprintf(f, "ca_cert_hash=%s\n", *h);
        if (k->ca_cert)
                fprintf(f, "ca_cert=%s\n", k->ca_cert);
        return 0;
}

static bool kubeadm_fixed(const struct agent_ctx *ctx) {
        (void) ctx;
        return true;
}

const struct step_type step_type_kubeadm = { .kind = "kubeadm", .apply = kubeadm_apply, .inputs = kubeadm_inputs,
                                             .fixed = kubeadm_fixed };
