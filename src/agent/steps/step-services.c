/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include "agent/steps/step.h"
#include "basic/strv.h"

static bool service_applies(const struct role_service *sv, const struct node_config *c) {
        return !sv->when_lb_mode || STREQ(sv->when_lb_mode, lb_mode_to_string(c->lb.mode));
}

static int services_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        _cleanup_strv_free_ char **units = NULL;
        for (size_t i = 0; i < ctx->role->n_services; i++)
                if (service_applies(&ctx->role->services[i], ctx->config) &&
                    strv_extend(&units, ctx->role->services[i].unit) < 0)
                        return -ENOMEM;
        _cleanup_free_ char *list = units ? strv_join(units, " ") : strdup("");
        if (!list)
                return -ENOMEM;
        if (!ctx->live) {
                step_result_set(res, STEP_SKIPPED, "not starting %s: offline root", list);
                return 0;
        }
        /* the limits step's units too: a unit pulled in by one we start (containerd
         * by docker) must not start with its old limits */
        _cleanup_strv_free_ char **check = strv_copy(units);
        if (!check)
                return -ENOMEM;
        for (size_t i = 0; i < ctx->role->n_limits; i++)
                if (!strv_contains(check, ctx->role->limits[i].unit) &&
                    strv_extend(&check, ctx->role->limits[i].unit) < 0)
                        return -ENOMEM;
        _cleanup_sysmgr_ struct sysmgr *m = NULL;
        int r = step_sysmgr_open(res, &m);
        if (r < 0)
                return r;
        /* a reload costs seconds under TCG: only when systemd holds an old
         * view of a unit (a drop-in the limits step wrote, a unit file a
         * layer changed) */
        r = sysmgr_need_reload(m, check);
        if (r != 0)     /* needed, or cannot tell: reloading is always correct */
                r = sysmgr_reload(m);
        /* enabling only adds the symlinks for the next boots: no reload */
        if (r >= 0)
                r = sysmgr_enable(m, units);
        STRV_FOREACH(u, units)
                if (r >= 0)
                        r = sysmgr_run_job(m, SYSMGR_START, *u, 300ULL * 1000000ULL);
        if (r < 0)
                return step_sysmgr_fail(res, m, r);
        step_result_set(res, STEP_DONE, "enabled and started %s", list);
        return 0;
}

const struct step_type step_type_services = { .kind = "services", .apply = services_apply };
