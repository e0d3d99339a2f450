/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include "steps/step.h"
#include "strv.h"

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
        int r = step_run(res, 60000, (char *[]) { "systemctl", "daemon-reload", NULL });
        if (r < 0)
                return r;
        STRV_FOREACH(u, units) {
                r = step_run(res, 300000, (char *[]) { "systemctl", "enable", "--now", *u, NULL });
                if (r < 0)
                        return r;
        }
        step_result_set(res, STEP_DONE, "enabled and started %s", list);
        return 0;
}

const struct step_type step_type_services = { .kind = "services", .apply = services_apply };
