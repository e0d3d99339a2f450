/* SPDX-License-Identifier: Apache-2.0 */
/* A file a role declares: rendered from the config, checked by the real
 * tool (haproxy -c, nginx -t) as a candidate next to the destination, and
 * only then renamed over it. A failed check leaves the previous file (and
 * the service running with it) untouched and fails the step with the
 * checker's output. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agent/steps/step.h"
#include "basic/chase.h"
#include "basic/exec.h"
#include "basic/fileio.h"
#include "basic/strv.h"
#include "shared/renderer.h"

static char **check_argv(char * const *check, const char *candidate) {
        char **argv = NULL;
        STRV_FOREACH(a, check)
                if (strv_extend(&argv, STREQ(*a, "{}") ? candidate : *a) < 0) {
                        strv_free(argv);
                        return NULL;
                }
        return argv;
}

/* New copy of s with every from replaced by to, or NULL. */
static char *replace_all(const char *s, const char *from, const char *to) {
        char *out = NULL;
        size_t len = 0, fl = strlen(from);
        FILE *f = open_memstream(&out, &len);
        if (!f)
                return NULL;
        for (const char *p; (p = strstr(s, from)); s = p + fl)
                fprintf(f, "%.*s%s", (int) (p - s), s, to);
        fputs(s, f);
        if (fclose(f) != 0) {
                free(out);
                return NULL;
        }
        return out;
}

/* The checker is given the candidate's /proc path; its messages name the
 * file as the operator knows it (shown: the candidate under the root). */
static int run_check(const struct role_file *f, const char *candidate, const char *shown, struct step_result *res) {
        _cleanup_strv_free_ char **argv = check_argv(f->check, candidate);
        struct exec_result er;
        if (!argv)
                return -ENOMEM;
        int r = exec_run(argv, 60000, &er);
        if (r < 0)
                return step_fail(res, r, "%s: cannot run checker '%s': %s", f->dest, argv[0], chase_strerror(r));
        if (er.status != 0) {
                _cleanup_free_ char *output = replace_all(er.output, candidate, shown);
                _cleanup_free_ char *tail = exec_output_tail(output ? output : er.output, 6);
                exec_result_done(&er);
                return step_fail(res, -EINVAL, "%s: rejected by '%s' (exit %d), previous file kept: %s",
                                 f->dest, argv[0], er.status, tail ? tail : "");
        }
        exec_result_done(&er);
        return 0;
}

/* The checker reads the candidate through the agent's fd of its
 * directory (/proc/PID/fd/N/NAME), so it checks the very file written
 * inside the root, whatever symlinks the tree holds. */
static char *candidate_path(int dirfd, const char *name) {
        char *p;
        if (asprintf(&p, "/proc/%d/fd/%d/%s", (int) getpid(), dirfd, name) < 0)
                return NULL;
        return p;
}

/* A running service picks the change up now, reloaded where its unit
 * can (haproxy's seamless reload keeps every held connection on the old
 * worker; nginx -s reload), restarted where it cannot; the services step
 * starts it otherwise. When the reload fails the service still serves the
 * old configuration, so the old file goes back: disk and service agree. */
static int reload_service(const struct role_file *f, int dirfd, const char *name, const char *old_name,
                          struct step_result *res) {
        _cleanup_sysmgr_ struct sysmgr *m = NULL;
        int r = step_sysmgr_open(res, &m);
        if (r >= 0)
                r = sysmgr_run_job(m, SYSMGR_TRY_RELOAD_OR_RESTART, f->reload, 120ULL * 1000000ULL);
        if (r >= 0) {
                if (old_name)
                        (void) unlinkat(dirfd, old_name, 0);
                return 0;
        }
        bool restored = old_name && renameat(dirfd, old_name, dirfd, name) == 0;
        if (!m)
                return r;
        return step_fail(res, r, "systemd: %s; %s", sysmgr_error(m),
                         restored ? "the previous file is back in place, as the service still runs it" : "the new file stays");
}

static int file_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        const struct role_file *f = s->data;
        const struct renderer *rd = renderer_find(f->renderer);
        _cleanup_free_ char *text = NULL, *error = NULL, *name = NULL, *cand_name = NULL, *cand = NULL, *shown_rel = NULL,
                           *shown = NULL;
        _cleanup_close_ int dirfd = -EBADF;
        bool changed;

        if (!rd)
                return step_fail(res, -EINVAL, "%s: unknown renderer '%s'", f->dest, f->renderer);
        struct render_ctx rctx = step_render_ctx(ctx);
        int r = rd->render(&rctx, &text, &error);
        if (r < 0)
                return step_fail(res, r, "%s: cannot render (%s): %s", f->dest, f->renderer, error ? error : chase_strerror(r));
        r = chase(ctx->root, f->dest, CHASE_PARENT | CHASE_MKDIR, 0755, &dirfd, &name);
        if (r < 0)
                return step_fail(res, r, "cannot write %s: %s", f->dest, chase_strerror(r));
        if (file_has_content(ctx->root, f->dest, text, strlen(text)) && !f->check) {
                r = write_file_at(dirfd, name, text, strlen(text), f->mode, -1, -1, &changed);
                if (r < 0)
                        return step_fail(res, r, "cannot write %s: %s", f->dest, chase_strerror(r));
                step_result_set(res, STEP_DONE, "%s unchanged", f->dest);
                return 0;
        }
        if (asprintf(&cand_name, "%s.nodeos-new", name) < 0 || !(cand = candidate_path(dirfd, cand_name)) ||
            asprintf(&shown_rel, "%s.nodeos-new", f->dest) < 0 || !(shown = path_in_root(ctx->root, shown_rel)))
                return -ENOMEM;
        r = write_file_at(dirfd, cand_name, text, strlen(text), f->mode, -1, -1, NULL);
        if (r < 0)
                return step_fail(res, r, "cannot write %s.nodeos-new: %s", f->dest, chase_strerror(r));
        if (f->check) {
                r = run_check(f, cand, shown, res);
                if (r < 0) {
                        (void) unlinkat(dirfd, cand_name, 0);
                        return r;
                }
        }
        changed = !file_has_content(ctx->root, f->dest, text, strlen(text));
        bool reload = ctx->live && changed && f->reload;
        /* the file a failed reload puts back: a hard link to what is there now */
        _cleanup_free_ char *old_name = NULL;
        if (asprintf(&old_name, "%s.nodeos-old", name) < 0)
                return -ENOMEM;
        (void) unlinkat(dirfd, old_name, 0);
        bool kept_old = reload && linkat(dirfd, name, dirfd, old_name, 0) == 0;
        /* replaces what is at the destination, a symlink too, without following it */
        if (renameat(dirfd, cand_name, dirfd, name) < 0) {
                r = negative_errno();
                (void) unlinkat(dirfd, cand_name, 0);
                if (kept_old)
                        (void) unlinkat(dirfd, old_name, 0);
                return step_fail(res, r, "cannot install %s: %s", f->dest, chase_strerror(r));
        }
        if (reload) {
                r = reload_service(f, dirfd, name, kept_old ? old_name : NULL, res);
                if (r < 0)
                        return r;
        }
        step_result_set(res, STEP_DONE, "%s %s%s", f->dest, changed ? "written" : "unchanged",
                        f->check ? " (checked)" : "");
        return 0;
}

/* The file as it would be written. */
static int file_inputs(const struct agent_ctx *ctx, const struct step *s, FILE *f) {
        const struct role_file *rf = s->data;
        const struct renderer *rd = renderer_find(rf->renderer);
        _cleanup_free_ char *text = NULL, *error = NULL;
        struct render_ctx rctx = step_render_ctx(ctx);
        int r = rd ? rd->render(&rctx, &text, &error) : -EINVAL;
        if (r < 0)
                return r;
        fprintf(f, "%s %04o reload=%s\n%s", rf->dest, (unsigned) rf->mode, strempty(rf->reload), text);
        return 0;
}

const struct step_type step_type_file = { .kind = "file", .apply = file_apply, .inputs = file_inputs };
