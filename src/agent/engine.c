/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include "agent/datasource.h"
#include "agent/engine.h"
#include "agent/plan.h"
#include "agent/report.h"
#include "agent/seedcache.h"
#include "agent/seedtrust.h"
#include "agent/state.h"
#include "basic/chase.h"
#include "basic/clock.h"
#include "basic/diag.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "shared/basepkg.h"
#include "shared/config.h"
#include "shared/pki.h"
#include "shared/role.h"

#define DEFAULT_IMAGE_STORE "/usr/share/nodeos/images"
#define DEFAULT_IMAGE_ROLE_FILE "/usr/share/nodeos/role"

/* The image is built for one role (/usr/share/nodeos/role); a seed for
 * another role on it would half-configure a node that lacks the role's
 * packages and images. */
static int check_image_role(const struct engine_options *o, const char *role, char **reason) {
        _cleanup_free_ char *text = NULL;
        if (read_file_in_root(o->root, o->image_role_file ? o->image_role_file : DEFAULT_IMAGE_ROLE_FILE, &text, NULL) < 0)
                return 0;       /* not a role image (tests, generic image) */
        text[strcspn(text, " \t\n")] = 0;
        if (STREQ(text, role))
                return 0;
        if (asprintf(reason, "seed role '%s' does not match this image, which is built for role '%s'", role, text) < 0)
                return -ENOMEM;
        return -EINVAL;
}

struct run {
        const struct engine_options *o;
        struct state state;
        struct seed seed;
        struct role_catalog *catalog;
        struct node_config *config;
        long long start;
        bool used_override;     /* allow-reprovision let this seed through */
        bool keep_configured;   /* a refused seed and no kept copy: nothing to run */
};

static int fail_run(struct run *run, const char *reason) {
        const char *id = run->config ? run->config->instance_id : NULL;
        const char *role = run->config ? run->config->role : NULL;
        int r = state_finish(&run->state, false, reason);
        if (r < 0)
                log_error_errno(r, "cannot write the failed sentinel");
        report_failure(id, role, reason);
        return 1;
}

/* The kept copy, only for the instance the success sentinel names: a node
 * that never finished provisioning has nothing to stay configured as. */
static int load_cached_seed(struct run *run) {
        const char *id = state_instance_id(&run->state);
        if (!id || !state_is_complete(&run->state, id))
                return -ENOENT;
        return seedcache_load(run->o->root, &run->seed);
}

/* Parses and validates run->seed into run->catalog and run->config;
 * the problems go to d. */
static int load_seed(struct run *run, struct diag *d) {
        int r = seed_load_config(run->o->roles_dir, &run->seed, &run->catalog, &run->config, d);
        /* everything the run renders, rendered now: a seed value that a
         * renderer or the manifests refuse fails here, before any step (the
         * base package list only adds optional lines, so none is needed) */
        if (r >= 0)
                r = seed_render_check(run->catalog, run->config, NULL, d);
        return r;
}

/* A seed the node does not take (seedtrust.h) changes nothing: the node
 * runs on from its kept copy, or, without one, just stays configured. */
static int refuse_seed(struct run *run, const char *why) {
        struct diag d = {};
        report_step("fetch", "seed", "refused", 0, why);
        config_free(run->config);
        role_catalog_free(run->catalog);
        seed_done(&run->seed);
        run->config = NULL;
        run->catalog = NULL;
        int r = load_cached_seed(run);
        if (r >= 0)
                r = load_seed(run, &d);
        diag_done(&d);
        if (r < 0) {
                run->keep_configured = true;
                return 0;
        }
        report_step("fetch", "seed", "cached", 0, run->seed.source);
        return 0;
}

static int fetch_and_validate(struct run *run) {
        const struct engine_options *o = run->o;
        struct diag d = {};
        long long t = now_ms();
        int r;

        if (o->seed_dir)
                r = seed_read_dir(o->seed_dir, &run->seed);
        else {
                struct datasource_options dso = { .root = o->root, .cmdline_path = o->cmdline_path, .by_label_dir = o->by_label_dir };
                r = datasource_fetch(&dso, &run->seed);
        }
        /* a configured node whose seed medium is gone runs from its copy */
        bool cached = r == -ENOENT && !o->seed_dir && load_cached_seed(run) >= 0;
        if (r < 0 && !cached) {
                report_step("fetch", "seed", "failed", now_ms() - t, strerror(-r));
                return fail_run(run, r == -ENOENT ? "no seed found (seed dir, cidata or config-2 filesystem, ds=nocloud URL)"
                                                  : "the NoCloud seed could not be read");
        }
        if (cached) {
                _cleanup_free_ char *why = NULL;
                if (asprintf(&why, "no seed delivered this boot; the node stays configured as instance %s, from %s",
                             state_instance_id(&run->state), run->seed.source) < 0)
                        return fail_run(run, "out of memory");
                report_step("fetch", "seed", "cached", now_ms() - t, why);
        } else
                report_step("fetch", "seed", "done", now_ms() - t, run->seed.source);

        t = now_ms();
        r = load_seed(run, &d);
        if (r < 0) {
                _cleanup_free_ char *all = diag_join(&d);
                STRV_FOREACH(l, d.lines)
                        report_step("validate", "seed", "error", 0, *l);
                report_step("validate", "seed", "failed", now_ms() - t, NULL);
                r = fail_run(run, all && *all ? all : strerror(-r));
                diag_done(&d);
                return r;
        }
        diag_done(&d);
        if (cached && !STREQ(run->config->instance_id, state_instance_id(&run->state)))
                return fail_run(run, "the kept copy of the seed is not the configured instance's; give the node its seed again");
        _cleanup_free_ char *reason = NULL;
        r = check_image_role(o, run->config->role, &reason);
        if (r < 0)
                return fail_run(run, reason ? reason : strerror(-r));
        report_step("validate", "seed", "done", now_ms() - t, run->config->role);
        if (cached)
                return 0;
        _cleanup_free_ char *why = NULL;
        r = seedtrust_check(o->root, &run->state, &run->seed, run->config, &run->used_override, &why);
        if (r == -EPERM)
                return refuse_seed(run, why);
        if (r < 0)
                return fail_run(run, "cannot tell whether this node takes the seed: out of memory");
        return 0;
}

/* The digest of what step s depends on now (step.h inputs()); NULL in
 * *ret for a step without inputs. */
static int step_digest(const struct agent_ctx *ctx, const struct step *s, char **ret) {
        *ret = NULL;
        if (!s->type->inputs)
                return 0;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        int r = s->type->inputs(ctx, s, f);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        return pki_sha256_hex(text, len, ret);
}

static int apply_step(struct run *run, const struct agent_ctx *ctx, const struct step *s, const char *digest) {
        struct step_result res = { .status = STEP_DONE };
        long long t = now_ms();
        report_status("step %s", s->name);
        int r = s->type->apply(ctx, s, &res);
        long long el = now_ms() - t;
        if (r < 0 && res.status != STEP_FAILED)
                step_fail(&res, r, "%s", strerror(-r));
        /* Recorded (durably) before it is reported: whoever reads "done" on
         * the console may pull the plug, and the next boot must not redo it. */
        int k = state_record_step(&run->state, s->name, res.status, el, res.detail);
        if (k >= 0 && digest && res.status != STEP_FAILED)
                k = state_set_step_digest(&run->state, s->name, digest);
        report_step("apply", s->name, step_status_to_string(res.status), el, res.detail);
        if (k < 0)
                log_error_errno(k, "cannot record step %s in the state file", s->name);
        if (res.status == STEP_FAILED) {
                _cleanup_free_ char *reason = NULL;
                if (asprintf(&reason, "step %s: %s", s->name, res.detail ? res.detail : "failed") < 0)
                        reason = NULL;
                free(res.detail);
                return fail_run(run, reason ? reason : s->name);
        }
        free(res.detail);
        return k < 0 ? fail_run(run, "cannot write the state file") : 0;
}

/* The image's package list only refines what renderers write, so a broken
 * one is worth a warning, not a failed node: they then write what every
 * supported version takes. */
static void load_base_packages(const char *root, struct base_packages *ret) {
        _cleanup_free_ char *error = NULL;
        int r = base_packages_load(root, ret, &error);
        if (r < 0)
                log_warning("%s; rendering for any tool version", error ? error : strerror(-r));
}

static bool done_before(const struct run *run, const struct step *s, bool complete) {
        enum step_status st = state_step_status(&run->state, s->name);
        return !s->type->every_boot && (complete || st == STEP_DONE || st == STEP_SKIPPED);
}

static bool inputs_changed(const struct run *run, const struct step *s, const char *digest) {
        const char *then = state_step_digest(&run->state, s->name);
        return digest && then && !STREQ(digest, then);
}

/* Before anything is applied: a seed that changes what a step cannot
 * change in place (cluster membership, a joined node's name) is refused
 * whole, so no other step applies half of it. */
static int refuse_fixed_changes(struct run *run, const struct agent_ctx *ctx, const struct plan *plan, char **digests,
                                bool complete) {
        for (size_t i = 0; i < plan->n; i++) {
                const struct step *s = &plan->steps[i];
                if (!done_before(run, s, complete) || !inputs_changed(run, s, digests[i]) || !s->type->fixed ||
                    !s->type->fixed(ctx))
                        continue;
                _cleanup_free_ char *reason = NULL;
                if (asprintf(&reason, "step %s: the seed changes what it applied (instance %s), which cannot change in place on "
                             "a configured node; nothing was changed. Give the node the seed it was provisioned with, or "
                             "re-provision it (a seed with a new instance-id)", s->name, run->config->instance_id) < 0)
                        reason = NULL;
                report_step("apply", s->name, "refused", 0, reason);
                return fail_run(run, reason ? reason : s->name);
        }
        return 0;
}

/* One step of the plan: a step done before is left alone while what it
 * depends on is unchanged and applied again when that changed; a step not
 * done yet is applied. */
static int converge_step(struct run *run, const struct agent_ctx *ctx, const struct step *s, const char *digest,
                         bool complete) {
        bool before = done_before(run, s, complete);
        if (before && !inputs_changed(run, s, digest)) {
                /* a record from before digests were kept adopts today's */
                if (digest && !state_step_digest(&run->state, s->name) && state_step_status(&run->state, s->name) != STEP_PENDING &&
                    state_set_step_digest(&run->state, s->name, digest) < 0)
                        log_warning("cannot record the inputs of step %s", s->name);
                report_step("apply", s->name, "unchanged", 0, "done before");
                return 0;
        }
        if (before)
                report_step("apply", s->name, "changed", 0, "what it depends on (seed values, role data) changed since it was applied");
        return apply_step(run, ctx, s, digest);
}

/* Every step's digest (NULL entries for steps without inputs). */
static int plan_digests(struct run *run, const struct agent_ctx *ctx, const struct plan *plan, char ***ret) {
        char **d = calloc(plan->n + 1, sizeof(char *));
        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < plan->n; i++) {
                int r = step_digest(ctx, &plan->steps[i], &d[i]);
                if (r < 0) {
                        _cleanup_free_ char *reason = NULL;
                        if (asprintf(&reason, "step %s: cannot tell what it depends on: %s", plan->steps[i].name, strerror(-r)) < 0)
                                reason = NULL;
                        for (size_t k = 0; k < i; k++)
                                free(d[k]);
                        free(d);
                        return fail_run(run, reason ? reason : plan->steps[i].name);
                }
        }
        *ret = d;
        return 0;
}

static void digests_free(char **d, size_t n) {
        for (size_t i = 0; d && i < n; i++)
                free(d[i]);
        free(d);
}

static int apply_plan(struct run *run) {
        const struct role *role = role_catalog_find(run->catalog, run->config->role);
        _cleanup_(base_packages_done) struct base_packages packages = {};
        load_base_packages(run->o->root, &packages);
        struct agent_ctx ctx = {
                .root = run->o->root,
                .live = root_is_host(run->o->root),
                .config = run->config,
                .role = role,
                .catalog = run->catalog,
                .packages = &packages,
                .image_store = run->o->image_store ? run->o->image_store : DEFAULT_IMAGE_STORE,
                .docker_socket = run->o->docker_socket,
        };
        struct plan plan;
        int r = plan_build(run->config, role, &plan);
        if (r < 0)
                return fail_run(run, "cannot build the plan: out of memory");

        bool complete = state_is_complete(&run->state, run->config->instance_id);
        r = state_begin(&run->state, run->config->instance_id, run->config->role);
        if (r < 0) {
                plan_done(&plan);
                return fail_run(run, "cannot write the state file");
        }
        char **digests = NULL;
        r = plan_digests(run, &ctx, &plan, &digests);
        if (r == 0)
                r = refuse_fixed_changes(run, &ctx, &plan, digests, complete);
        for (size_t i = 0; i < plan.n && r == 0; i++)
                r = converge_step(run, &ctx, &plan.steps[i], digests[i], complete);
        digests_free(digests, plan.n);
        plan_done(&plan);
        if (r != 0)
                return r;
        r = state_finish(&run->state, true, NULL);
        if (r < 0)
                return fail_run(run, "cannot write the success sentinel");
        bool from_cache = seedcache_is_source(&run->seed);
        if (!from_cache && (r = seedcache_save(run->o->root, &run->seed)) < 0)
                log_warning("cannot keep a copy of the seed (a boot without it will fail): %s", strerror(-r));
        if (!from_cache && (r = seedtrust_commit(run->o->root, run->config, run->used_override)) < 0)
                log_warning("cannot pin the seed's signing key: %s", strerror(-r));
        report_success(run->config->instance_id, run->config->role, now_ms() - run->start);
        return 0;
}

int engine_run(const struct engine_options *o) {
        struct run run = { .o = o, .start = now_ms() };
        report_set_notify(root_is_host(o->root));
        int r = state_load(o->root, &run.state);
        if (r < 0) {
                log_error_errno(r, "cannot load the agent state");
                return 1;
        }
        r = fetch_and_validate(&run);
        if (r == 0 && run.keep_configured) {
                const char *id = state_instance_id(&run.state);
                const char *role = state_role(&run.state);
                report_success(id ? id : "-", role ? role : "-", now_ms() - run.start);
        } else if (r == 0)
                r = apply_plan(&run);
        config_free(run.config);
        role_catalog_free(run.catalog);
        seed_done(&run.seed);
        state_done(&run.state);
        return r;
}
