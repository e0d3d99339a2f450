/* SPDX-License-Identifier: Apache-2.0 */
/* Preloaded container images: every archive in the read-only image store is
 * loaded into Docker through the Engine API when any reference it carries is
 * missing. Runs at every boot: the kubelet's image garbage collector deletes
 * preloaded images (pause included) on nodes that cannot pull them back.
 * The role's list (roles/<role>/images) is then checked against what was
 * loaded or present, and what neither the store nor Docker holds is
 * reported as not loaded. */
#include <dirent.h>
#include <string.h>
#include "agent/docker.h"
#include "agent/steps/step.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/strv.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct docker *, docker_free)

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

/* The role's image references no archive of the store provides and Docker
 * does not have: they stay not loaded, and the report names them (the image
 * builder lists the same set in its manifest's role_images.missing). A
 * missing one does not fail the run: an image built without IMAGES_DIR still
 * configures its node, and the kubelet may pull from a mirror. */
static int role_images_missing(struct docker *d, char * const *role_images, char * const *provided, char ***missing) {
        STRV_FOREACH(ref, role_images) {
                if (strv_contains(provided, *ref))
                        continue;
                int r = docker_image_exists(d, *ref);
                if (r < 0)
                        return r;
                if (r == 0 && strv_extend(missing, *ref) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* scandir()'s result, freed on every way out of the step */
struct archive_names {
        struct dirent **names;
        int n;
};

static void archive_names_done(struct archive_names *a) {
        for (int i = 0; i < a->n; i++)
                free(a->names[i]);
        free(a->names);
}

/* Fails the step for an error of the loading loop: only the socket's errors
 * mean docker is not answering; running out of memory, or any other error
 * of the agent's own, is said as what it is. */
static int images_fail(struct step_result *res, int r) {
        if (docker_error_is_unreachable(r))
                return step_fail(res, r, "docker is not answering on its socket: %s", chase_strerror(r));
        return step_fail(res, r, "%s", r == -ENOMEM ? "out of memory" : strerror(-r));
}

static int images_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        _cleanup_free_ char *store = path_in_root(ctx->root, ctx->image_store);
        char * const *role_images = ctx->role->images;
        _cleanup_(archive_names_done) struct archive_names a = {};
        if (!store)
                return -ENOMEM;
        a.n = scandir(store, &a.names, archive_filter, alphasort);
        if (a.n < 0) {
                step_result_set(res, STEP_SKIPPED, "no image store at %s; %zu role image(s) not loaded",
                                ctx->image_store, strv_length(role_images));
                return 0;
        }
        if (!ctx->live) {
                step_result_set(res, STEP_SKIPPED, "%d archive(s) in %s; not loading: offline root", a.n, ctx->image_store);
                return 0;
        }
        _cleanup_(docker_freep) struct docker *d = NULL;
        _cleanup_strv_free_ char **loaded = NULL, **present = NULL, **failed = NULL, **provided = NULL, **missing = NULL;
        _cleanup_free_ char *why = NULL;
        int r = docker_new(ctx->docker_socket, &d, &why);
        if (r < 0)
                return step_fail(res, r, "%s", why ? why : chase_strerror(r));
        r = docker_wait_ready(d, 120000);
        for (int i = 0; r >= 0 && i < a.n; i++) {
                _cleanup_free_ char *path = NULL, *err = NULL;
                _cleanup_strv_free_ char **refs = NULL;
                const char *name = a.names[i]->d_name;
                if (asprintf(&path, "%s/%s", store, name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                int k = docker_archive_image_refs(path, &refs, &err);
                /* without libarchive no archive can be told loaded: every
                 * boot would load them all again; the image is broken */
                if (k == -ELIBACC)
                        return step_fail(res, k, "%s", err ? err : strerror(-k));
                if (k < 0)
                        log_debug("image %s: no references read (%s), loading it", name, err ? err : strerror(-k));
                free(err);
                err = NULL;
                if (k >= 0)
                        k = archive_is_loaded(d, refs);
                if (k > 0) {
                        strv_extend(&present, name);
                        STRV_FOREACH(ref, refs)
                                strv_extend(&provided, *ref);
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
                        STRV_FOREACH(ref, refs)
                                strv_extend(&provided, *ref);
                }
        }
        if (r >= 0)
                r = role_images_missing(d, role_images, provided, &missing);
        if (r < 0)
                return images_fail(res, r);
        _cleanup_free_ char *fl = strv_join(failed, ","), *ml = strv_join(missing, ",");
        if (missing)
                log_warning("role images not loaded (in neither the image store nor Docker): %s", ml ? ml : "");
        if (failed)
                return step_fail(res, -EIO, "%zu image archive(s) could not be loaded: %s (loaded %zu, already present %zu)",
                                 strv_length(failed), fl ? fl : "", strv_length(loaded), strv_length(present));
        step_result_set(res, STEP_DONE, "loaded %zu, already present %zu; role images not loaded: %zu%s%s%s",
                        strv_length(loaded), strv_length(present), strv_length(missing),
                        missing ? " (" : "", missing ? (ml ? ml : "") : "", missing ? ")" : "");
        return 0;
}

const struct step_type step_type_images = { .kind = "images", .every_boot = true, .apply = images_apply };
