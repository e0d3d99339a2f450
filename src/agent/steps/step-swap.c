/* SPDX-License-Identifier: Apache-2.0 */
/* Swap off and kept off (kubelet 1.17 refuses to start with swap; docs/dojot-v0.5.0.md#swap).
 * The original only removed fstab entries named swap/none; here every swap
 * entry goes, and swap.target is masked so no unit can bring swap back. */
#include <string.h>
#include <sys/stat.h>
#include "agent/steps/step.h"
#include "basic/chase.h"
#include "basic/fileio.h"

static bool is_swap_line(const char *line, size_t len) {
        char buf[512];
        char spec[256], file[256], type[64];
        if (len >= sizeof(buf))
                return false;
        memcpy(buf, line, len);
        buf[len] = 0;
        return buf[0] != '#' && sscanf(buf, "%255s %255s %63s", spec, file, type) == 3 && STREQ(type, "swap");
}

static int drop_fstab_swap(const struct agent_ctx *ctx, size_t *dropped) {
        _cleanup_free_ char *text = NULL, *out = NULL;
        size_t len, outlen = 0;
        int r = read_file_in_root(ctx->root, "/etc/fstab", &text, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        FILE *f = open_memstream(&out, &outlen);
        if (!f)
                return -ENOMEM;
        for (char *p = text; *p;) {
                char *nl = strchr(p, '\n');
                size_t l = nl ? (size_t) (nl - p) : strlen(p);
                if (is_swap_line(p, l)) {
                        fprintf(f, "# disabled by node-agent (kubelet needs swap off): %.*s\n", (int) l, p);
                        (*dropped)++;
                } else
                        fprintf(f, "%.*s\n", (int) l, p);
                p += l + (nl ? 1 : 0);
        }
        fclose(f);
        if (*dropped == 0)
                return 0;
        return write_file_atomic(ctx->root, "/etc/fstab", out, outlen, 0644, -1, -1, NULL);
}

static int mask_swap_target(const struct agent_ctx *ctx) {
        _cleanup_close_ int dir = -EBADF;
        int r = mkdir_in_root(ctx->root, "/etc/systemd/system", 0755, &dir);
        if (r < 0)
                return r;
        if (symlinkat("/dev/null", dir, "swap.target") < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

static int swap_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        size_t dropped = 0;
        int r = drop_fstab_swap(ctx, &dropped);
        if (r < 0)
                return step_fail(res, r, "cannot rewrite /etc/fstab: %s", chase_strerror(r));
        r = mask_swap_target(ctx);
        if (r < 0)
                return step_fail(res, r, "cannot mask swap.target: %s", chase_strerror(r));
        if (ctx->live) {
                r = step_run(res, 120000, (char *[]) { "swapoff", "-a", NULL });
                if (r < 0)
                        return r;
        }
        step_result_set(res, STEP_DONE, "swap off; %zu fstab entr%s disabled; swap.target masked",
                        dropped, dropped == 1 ? "y" : "ies");
        return 0;
}

const struct step_type step_type_swap = { .kind = "swap", .apply = swap_apply };
