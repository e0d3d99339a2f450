/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel modules persisted for systemd-modules-load and loaded now: the
 * original relied on Docker loading br_netfilter implicitly (docs/dojot-v0.5.0.md#kernel-prerequisites). */
#include <string.h>
#include "agent/steps/step.h"
#include "basic/fileio.h"
#include "basic/strv.h"

static int modules_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        char * const *mods = ctx->role->kernel_modules;
        _cleanup_free_ char *list = strv_join(mods, "\n"), *text = NULL;
        if (!list || asprintf(&text, "# Written by node-agent for role %s.\n%s\n", ctx->role->name, list) < 0)
                return -ENOMEM;
        int r = write_file_atomic(ctx->root, "/etc/modules-load.d/nodeos.conf", text, strlen(text), 0644, -1, -1, NULL);
        if (r < 0)
                return step_fail(res, r, "cannot write /etc/modules-load.d/nodeos.conf: %s", chase_strerror(r));
        if (ctx->live)
                STRV_FOREACH(m, mods) {
                        r = step_run(res, 30000, (char *[]) { "modprobe", *m, NULL });
                        if (r < 0)
                                return r;
                }
        step_result_set(res, STEP_DONE, "%s", list);
        for (char *p = res->detail; p && *p; p++)
                if (*p == '\n')
                        *p = ' ';
        return 0;
}

const struct step_type step_type_kernel_modules = { .kind = "kernel-modules", .apply = modules_apply };
