/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include "steps/step.h"
#include "strv.h"
#include "exec.h"

static bool service_applies(const struct role_service *sv, const struct node_config *c) {
        return !sv->when_lb_mode || STREQ(sv->when_lb_mode, lb_mode_to_string(c->lb.mode));
}

/* Whether systemd holds an old view of any of the units (a drop-in the limits
 * step wrote, a unit file a layer changed): `systemctl show` answers without
 * the cost of a reload, which is seconds under TCG. */
static int units_need_reload(char **units) {
        _cleanup_strv_free_ char **argv = NULL;
        if (strv_extend(&argv, "systemctl") < 0 || strv_extend(&argv, "show") < 0 ||
            strv_extend(&argv, "--property=NeedDaemonReload") < 0 || strv_extend(&argv, "--value") < 0)
                return -ENOMEM;
        STRV_FOREACH(u, units)
                if (strv_extend(&argv, *u) < 0)
                        return -ENOMEM;
        _cleanup_(exec_result_done) struct exec_result er = { 0 };
        int r = exec_run(argv, 60000, &er);
        if (r < 0 || er.status != 0)
                /* cannot tell: reloading is always correct */
                return 1;
        return strstr(er.output, "yes") != NULL;
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
        int r = check[0] ? units_need_reload(check) : 0;
        if (r < 0)
                return r;
        if (r > 0) {
                r = step_run(res, 60000, (char *[]) { "systemctl", "daemon-reload", NULL });
                if (r < 0)
                        return r;
        }
        STRV_FOREACH(u, units) {
                /* --no-reload: enabling only adds symlinks for the next boots */
                r = step_run(res, 60000, (char *[]) { "systemctl", "enable", "--quiet", "--no-reload", *u, NULL });
                if (r >= 0)
                        r = step_run(res, 300000, (char *[]) { "systemctl", "start", *u, NULL });
                if (r < 0)
                        return r;
        }
        step_result_set(res, STEP_DONE, "enabled and started %s", list);
        return 0;
}

const struct step_type step_type_services = { .kind = "services", .apply = services_apply };
