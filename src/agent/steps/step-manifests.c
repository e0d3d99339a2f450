/* SPDX-License-Identifier: Apache-2.0 */
/* The cluster manifests a role's data declares (the master: flannel,
 * storage, the ten local PVs, dojot's variant), and the node labels it
 * reconciles. Both run after the kubeadm step: they need the API server
 * kubeadm init started and the admin.conf it wrote.
 *
 * The rendered manifests are always written to /etc/kubernetes/nodeos/
 * manifests/ (also with --root, where nothing is applied), one file per set
 * in apply order plus objects.json, the exact objects sent to the API. They
 * are applied only when a kubeconfig says where: admin.conf on a live node,
 * or NODEOS_KUBECONFIG (an operator applying a --root tree to a cluster, or
 * the integration test's API stand-in). No kubeconfig, no API: the step is
 * "skipped" with the reason, never "done". */
#include <dirent.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "agent/kubeapi.h"
#include "agent/steps/step.h"
#include "basic/chase.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "shared/kube.h"
#include "shared/manifests.h"

#define MANIFESTS_DIR NODEOS_KUBEADM_DIR "/manifests"
/* What kubeadm init leaves for the cluster admin (docs/dojot-v0.5.0.md#master, step 3). */
#define ADMIN_CONF "/etc/kubernetes/admin.conf"

static void sleep_s(int s) {
        struct timespec ts = { s, 0 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* The kubeconfig to apply with, or NULL with the reason in *why. */
static char *kubeconfig_path(const struct agent_ctx *ctx, const char **why) {
        const char *env = getenv("NODEOS_KUBECONFIG");
        if (env && *env)
                return strdup(env);
        if (!ctx->live) {
                *why = "--root: nothing live is touched (NODEOS_KUBECONFIG names a cluster to apply to)";
                return NULL;
        }
        char *p = path_in_root(ctx->root, ADMIN_CONF);
        if (p && access(p, R_OK) < 0) {
                *why = "no " ADMIN_CONF ": kubeadm init has not run here (an image without Kubernetes?)";
                free(p);
                return NULL;
        }
        return p;
}

/* Writes each rendered set and objects.json; removes files of sets the
 * variant no longer selects, so the directory is what was applied. */
static int write_rendered(const struct agent_ctx *ctx, const struct manifest_render *mr, struct step_result *res) {
        _cleanup_free_ char *json = manifests_objects_json(mr);
        char path[512];
        int r;
        if (!json)
                return -ENOMEM;
        for (size_t i = 0; i < mr->n_docs; i++) {
                snprintf(path, sizeof(path), MANIFESTS_DIR "/%s", mr->docs[i].file);
                r = write_file_atomic(ctx->root, path, mr->docs[i].text, strlen(mr->docs[i].text), 0644, -1, -1, NULL);
                if (r < 0)
                        return step_fail(res, r, "cannot write %s: %s", path, chase_strerror(r));
        }
        r = write_file_atomic(ctx->root, MANIFESTS_DIR "/objects.json", json, strlen(json), 0644, -1, -1, NULL);
        if (r < 0)
                return step_fail(res, r, "cannot write " MANIFESTS_DIR "/objects.json: %s", chase_strerror(r));
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_closedir_ DIR *d = NULL;
        if (chase(ctx->root, MANIFESTS_DIR, 0, 0, &dfd, NULL) < 0 || dir_stream(dfd, &d) < 0)
                return 0;
        for (struct dirent *de; (de = readdir(d)); ) {
                size_t l = strlen(de->d_name);
                bool ours = false;
                if (l < 6 || !STREQ(de->d_name + l - 5, ".yaml"))
                        continue;
                for (size_t i = 0; i < mr->n_docs; i++)
                        ours |= STREQ(mr->docs[i].file, de->d_name);
                if (!ours)
                        (void) unlinkat(dfd, de->d_name, 0);
        }
        return 0;
}

static const char *obj_str(const cJSON *o, const char *a, const char *b) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
        return cJSON_GetStringValue(b ? cJSON_GetObjectItemCaseSensitive(x, b) : x);
}

/* Waits for the API with the role's bounded retries. */
static int wait_for_api(struct kubeapi *k, const struct manifest_decl *d, struct step_result *res) {
        _cleanup_free_ char *err = NULL;
        int r = -EIO;
        for (int i = 0; i < d->attempts; i++) {
                if (i > 0)
                        sleep_s(d->delay_s);
                if ((r = kubeapi_ping(k, &err)) >= 0)
                        return 0;
                log_msg(LOG_LEVEL_INFO, "manifests: API %s not answering yet (%d/%d): %s", kubeapi_server(k), i + 1,
                        d->attempts, err ? err : "");
        }
        return step_fail(res, r, "the API at %s did not answer in %d attempt(s) %d s apart: %s", kubeapi_server(k),
                         d->attempts, d->delay_s, err ? err : chase_strerror(r));
}

static int manifests_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        const struct manifest_decl *decl = ctx->role->manifests;
        struct manifest_render mr = {};
        struct diag dg = {};
        const char *why = NULL;
        struct kubeapi *k = NULL;
        _cleanup_free_ char *kc = NULL, *err = NULL;
        size_t counts[3] = {};

        int r = manifests_render(decl, ctx->role->dir, ctx->config, &mr, &dg);
        if (r < 0) {
                _cleanup_free_ char *all = diag_join(&dg);
                diag_done(&dg);
                return step_fail(res, r, "cannot render the manifests: %s", all ? all : chase_strerror(r));
        }
        r = write_rendered(ctx, &mr, res);
        if (r < 0)
                goto out;
        if (!(kc = kubeconfig_path(ctx, &why))) {
                step_result_set(res, STEP_SKIPPED, "%zu objects of variant %s rendered to " MANIFESTS_DIR ", not applied: %s",
                                mr.n_objects, dojot_variant_to_string(ctx->config->dojot.variant), why ? why : "out of memory");
                goto out;
        }
        r = kubeapi_open(kc, &k, &err);
        if (r < 0) {
                r = step_fail(res, r, "%s", err ? err : chase_strerror(r));
                goto out;
        }
        if ((r = wait_for_api(k, decl, res)) < 0)
                goto out;
        for (size_t i = 0; i < mr.n_objects; i++) {
                const cJSON *o = mr.objects[i].obj;
                enum kube_apply_result ar;
                bool retryable = false;
                for (int a = 0; a < decl->attempts; a++) {
                        if (a > 0)
                                sleep_s(decl->delay_s);
                        if ((r = kubeapi_apply(k, o, &ar, &retryable, &err)) >= 0 || !retryable)
                                break;
                        log_msg(LOG_LEVEL_INFO, "manifests: %s %s: %s (attempt %d/%d)", obj_str(o, "kind", NULL),
                                obj_str(o, "metadata", "name"), err ? err : "", a + 1, decl->attempts);
                }
                if (r < 0) {
                        r = step_fail(res, r, "%s:%zu: %s %s not applied%s: %s", mr.objects[i].file, mr.objects[i].line,
                                      obj_str(o, "kind", NULL), obj_str(o, "metadata", "name"),
                                      retryable ? " after every retry" : "", err ? err : chase_strerror(r));
                        goto out;
                }
                counts[ar]++;
        }
        step_result_set(res, STEP_DONE, "variant %s: %zu objects applied to %s (%zu created, %zu updated, %zu unchanged); "
                        "manifests in " MANIFESTS_DIR, dojot_variant_to_string(ctx->config->dojot.variant), mr.n_objects,
                        kubeapi_server(k), counts[KUBE_CREATED], counts[KUBE_CONFIGURED], counts[KUBE_UNCHANGED]);
        r = 0;
out:
        kubeapi_free(k);
        manifest_render_done(&mr);
        return r;
}

/* The rendered documents, as the API would get them. */
static int manifests_inputs(const struct agent_ctx *ctx, const struct step *s, FILE *f) {
        (void) s;
        struct manifest_render mr = {};
        struct diag d = {};
        int r = manifests_render(ctx->role->manifests, ctx->role->dir, ctx->config, &mr, &d);
        for (size_t i = 0; r >= 0 && i < mr.n_docs; i++)
                fprintf(f, "--- %s\n%s\n", mr.docs[i].file, mr.docs[i].text);
        manifest_render_done(&mr);
        diag_done(&d);
        return r;
}

const struct step_type step_type_manifests = { .kind = "manifests", .apply = manifests_apply, .inputs = manifests_inputs };

/* --- node labels --------------------------------------------------------------- */

struct wanted_label {
        const char *node;
        char *value;
        bool done;
};

static int node_labels_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        const struct manifest_decl *decl = ctx->role->manifests;
        const struct node_list *nl = &ctx->config->cluster.nodes;
        struct wanted_label *w = calloc(nl->n ? nl->n : 1, sizeof(*w));
        struct kubeapi *k = NULL;
        _cleanup_free_ char *kc = NULL, *err = NULL, *pending = NULL;
        const char *why = NULL;
        size_t n = 0, changed = 0, left;
        int r = 0;

        if (!w)
                return -ENOMEM;
        for (size_t i = 0; i < nl->n; i++) {
                const struct role *nr = role_catalog_find(ctx->catalog, nl->nodes[i].role);
                if (!nr || !nr->group)
                        continue;       /* the master, lb nodes: no group */
                w[n].node = nl->nodes[i].name;
                if ((r = manifests_node_label_value(decl, ctx->config, nr->group, &w[n].value)) < 0)
                        goto out;
                n++;
        }
        if (n == 0) {
                step_result_set(res, STEP_DONE, "no node of cluster.nodes has a group to label");
                goto out;
        }
        if (!(kc = kubeconfig_path(ctx, &why))) {
                step_result_set(res, STEP_SKIPPED, "%zu node(s) to label %s, not labelled: %s", n, decl->label_key,
                                why ? why : "out of memory");
                goto out;
        }
        if ((r = kubeapi_open(kc, &k, &err)) < 0) {
                r = step_fail(res, r, "%s", err ? err : chase_strerror(r));
                goto out;
        }
        left = n;
        for (int a = 0; a < decl->label_attempts && left > 0; a++) {
                if (a > 0)
                        sleep_s(decl->label_delay_s);
                for (size_t i = 0; i < n; i++) {
                        bool ch = false;
                        if (w[i].done)
                                continue;
                        r = kubeapi_label_node(k, w[i].node, decl->label_key, w[i].value, &ch, &err);
                        if (r == -ENOENT)
                                continue;       /* not registered yet */
                        if (r < 0) {
                                log_msg(LOG_LEVEL_INFO, "node-labels: %s: %s (attempt %d/%d)", w[i].node, err ? err : "",
                                        a + 1, decl->label_attempts);
                                continue;
                        }
                        w[i].done = true;
                        changed += ch;
                        left--;
                }
        }
        if (left > 0) {
                char **names = NULL;
                for (size_t i = 0; i < n; i++)
                        if (!w[i].done && strv_extend(&names, w[i].node) < 0) {
                                strv_free(names);
                                r = -ENOMEM;
                                goto out;
                        }
                pending = strv_join(names, ", ");
                strv_free(names);
                r = step_fail(res, -ETIMEDOUT, "%zu of %zu node(s) labelled; not registered (or not labelled) after %d "
                              "attempt(s) %d s apart: %s; once they join, restart node-agent here", n - left, n,
                              decl->label_attempts, decl->label_delay_s, pending ? pending : "?");
                goto out;
        }
        step_result_set(res, STEP_DONE, "%zu node(s) carry %s (%zu changed)", n, decl->label_key, changed);
        r = 0;
out:
        for (size_t i = 0; i < n; i++)
                free(w[i].value);
        free(w);
        kubeapi_free(k);
        return r;
}

/* The nodes to label and the label values their roles get. */
static int node_labels_inputs(const struct agent_ctx *ctx, const struct step *s, FILE *f) {
        (void) s;
        const struct node_list *nl = &ctx->config->cluster.nodes;
        fprintf(f, "key=%s\n", strempty(ctx->role->manifests->label_key));
        for (size_t i = 0; i < nl->n; i++)
                fprintf(f, "%s %s\n", nl->nodes[i].name, nl->nodes[i].role);
        const cJSON *vals = ctx->config->dojot.vars ? cJSON_GetObjectItemCaseSensitive(ctx->config->dojot.vars, "dojot_node_label") : NULL;
        _cleanup_free_ char *v = vals ? cJSON_PrintUnformatted(vals) : NULL;
        fprintf(f, "values=%s\n", strempty(v));
        return 0;
}

const struct step_type step_type_node_labels = { .kind = "node-labels", .apply = node_labels_apply,
                                                 .inputs = node_labels_inputs };
