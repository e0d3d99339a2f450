/* SPDX-License-Identifier: Apache-2.0 */
/* File-descriptor limits as systemd drop-ins (LimitNOFILE=) for the units a
 * role names: 100,000 proxied connections need ~200,000 descriptors in
 * haproxy, and VerneMQ inherits dockerd's limit (facts §4.4). */
#include <string.h>
#include "fileio.h"
#include "steps/step.h"

static int limits_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        for (size_t i = 0; i < ctx->role->n_limits; i++) {
                const struct role_limit *l = &ctx->role->limits[i];
                _cleanup_free_ char *dest = NULL, *text = NULL;
                if (asprintf(&dest, "/etc/systemd/system/%s.d/90-nodeos-limits.conf", l->unit) < 0 ||
                    asprintf(&text, "# Written by node-agent: %s\n[Service]\nLimitNOFILE=%llu\n",
                             l->origin ? l->origin : "role data", l->nofile) < 0)
                        return -ENOMEM;
                int r = write_file_atomic(ctx->root, dest, text, strlen(text), 0644, -1, -1, NULL);
                if (r < 0)
                        return step_fail(res, r, "cannot write %s: %s", dest, strerror(-r));
        }
        /* No daemon-reload here: the services step reloads once, and only if a
         * unit it starts has changed files (a reload costs seconds under TCG). */
        step_result_set(res, STEP_DONE, "%zu unit limit(s)", ctx->role->n_limits);
        return 0;
}

const struct step_type step_type_limits = { .kind = "limits", .apply = limits_apply };
