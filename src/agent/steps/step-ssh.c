/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include "agent/steps/step.h"
#include "basic/chase.h"
#include "basic/fileio.h"
#include "basic/strv.h"

static int ssh_keys_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        _cleanup_free_ char *keys = strv_join(ctx->config->ssh_authorized_keys, "\n"), *text = NULL;
        if (!keys || asprintf(&text, "%s\n", keys) < 0)
                return -ENOMEM;
        _cleanup_close_ int dir = -EBADF;
        int r = mkdir_in_root(ctx->root, "/root/.ssh", 0700, &dir);
        if (r >= 0)
                r = write_file_at(dir, "authorized_keys", text, strlen(text), 0600, -1, -1, NULL);
        if (r < 0)
                return step_fail(res, r, "cannot write /root/.ssh/authorized_keys: %s", chase_strerror(r));
        step_result_set(res, STEP_DONE, "%zu key(s) for root", strv_length(ctx->config->ssh_authorized_keys));
        return 0;
}

static int ssh_keys_inputs(const struct agent_ctx *ctx, const struct step *s, FILE *f) {
        (void) s;
        STRV_FOREACH(k, ctx->config->ssh_authorized_keys)
                fprintf(f, "%s\n", *k);
        return 0;
}

const struct step_type step_type_ssh_keys = { .kind = "ssh-keys", .apply = ssh_keys_apply, .inputs = ssh_keys_inputs };
