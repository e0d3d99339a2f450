/* SPDX-License-Identifier: Apache-2.0 */
/* Preloaded container images: every archive in the read-only image store is
 * loaded into Docker through the Engine API when any reference it carries is
 * missing. Runs at every boot: the kubelet's image garbage collector deletes
 * preloaded images (pause included) on nodes that cannot pull them back. */
#include <dirent.h>
#include <string.h>
#include "docker.h"
#include "fileio.h"
#include "log.h"
#include "steps/step.h"
#include "strv.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct docker *, docker_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

static int archive_filter(const struct dirent *de) {
        size_t l = strlen(de->d_name);
        return de->d_name[0] != '.' && ((l > 4 && STREQ(de->d_name + l - 4, ".tar")) ||
                                        (l > 7 && STREQ(de->d_name + l - 7, ".tar.gz")) ||
                                        (l > 8 && STREQ(de->d_name + l - 8, ".tar.zst")));
}

/* 1 when every reference of the archive is in Docker already. */
static int archive_is_loaded(struct docker *d, char * const *refs) {
        if (!refs || !refs[0])
                return 0;
        STRV_FOREACH(ref, refs) {
                int r = docker_image_exists(d, *ref);
                if (r <= 0)
                        return r;
        }
        return 1;
}

static int images_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        _cleanup_free_ char *store = path_in_root(ctx->root, ctx->image_store);
        struct dirent **names = NULL;
        if (!store)
                return -ENOMEM;
        int n = scandir(store, &names, archive_filter, alphasort);
        if (n < 0) {
                step_result_set(res, STEP_SKIPPED, "no image store at %s", ctx->image_store);
                return 0;
        }
        if (!ctx->live) {
                for (int i = 0; i < n; i++)
                        free(names[i]);
                free(names);
                step_result_set(res, STEP_SKIPPED, "%d archive(s) in %s; not loading: offline root", n, ctx->image_store);
                return 0;
        }
        _cleanup_(docker_freep) struct docker *d = NULL;
        _cleanup_strv_free_ char **loaded = NULL, **present = NULL, **failed = NULL;
        int r = docker_new(ctx->docker_socket, &d);
        if (r >= 0)
                r = docker_wait_ready(d, 120000);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL, *err = NULL;
                _cleanup_strv_free_ char **refs = NULL;
                const char *name = names[i]->d_name;
                if (r < 0)
                        break;
                if (asprintf(&path, "%s/%s", store, name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                int k = docker_archive_image_refs(path, &refs);
                if (k >= 0)
                        k = archive_is_loaded(d, refs);
                if (k > 0) {
                        strv_extend(&present, name);
                        continue;
                }
                k = docker_image_load(d, path, &err);
                if (k < 0) {
                        log_warning("image %s: load failed: %s", name, err ? err : strerror(-k));
                        strv_extend(&failed, name);
                } else {
                        _cleanup_free_ char *list = strv_join(refs, ",");
                        log_info("image %s: loaded %s", name, list ? list : "");
                        strv_extend(&loaded, name);
                }
        }
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);
        if (r < 0)
                return step_fail(res, r, "docker is not answering on its socket: %s", strerror(-r));
        _cleanup_free_ char *fl = strv_join(failed, ",");
        if (failed)
                return step_fail(res, -EIO, "%zu image archive(s) could not be loaded: %s (loaded %zu, already present %zu)",
                                 strv_length(failed), fl ? fl : "", strv_length(loaded), strv_length(present));
        step_result_set(res, STEP_DONE, "loaded %zu, already present %zu", strv_length(loaded), strv_length(present));
        return 0;
}

const struct step_type step_type_images = { .kind = "images", .every_boot = true, .apply = images_apply };
