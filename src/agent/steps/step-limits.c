/* SPDX-License-Identifier: Apache-2.0 */
/* File-descriptor limits as systemd drop-ins (LimitNOFILE=) for the units a
 * role names: 100,000 proxied connections need ~200,000 descriptors in
 * haproxy, and VerneMQ inherits dockerd's limit (docs/dojot-v0.5.0.md#verne-workers).
 *
 * The limits are role data, not seed data, so the image builder bakes them
 * into the role layer (`node-agent bake`, vendor drop-ins under
 * /usr/lib/systemd/system): systemd reads them at boot, and the agent's step
 * finds them in place and writes nothing, which spares the daemon-reload a
 * new drop-in would need (seconds under TCG). Without a baked copy (an image
 * from an older builder, a changed role) the step writes /etc's. */
#include <string.h>
#include <stdio.h>
#include "agent/steps/step.h"
#include "basic/fileio.h"
#include "basic/log.h"

#define LIMITS_DROPIN "90-nodeos-limits.conf"
#define VENDOR_UNIT_DIR "/usr/lib/systemd/system"     /* the image's, read-only */
#define ADMIN_UNIT_DIR "/etc/systemd/system"

static char *limit_dropin_text(const struct role_limit *l) {
        char *text = NULL;
        if (asprintf(&text, "# Written by node-agent: %s\n[Service]\nLimitNOFILE=%llu\n",
                     l->origin ? l->origin : "role data", l->nofile) < 0)
                return NULL;
        return text;
}

static char *limit_dropin_path(const char *unit_dir, const struct role_limit *l) {
        char *path = NULL;
        if (asprintf(&path, "%s/%s.d/" LIMITS_DROPIN, unit_dir, l->unit) < 0)
                return NULL;
        return path;
}

int limits_bake(const char *root, const struct role *role) {
        for (size_t i = 0; i < role->n_limits; i++) {
                _cleanup_free_ char *dest = limit_dropin_path(VENDOR_UNIT_DIR, &role->limits[i]);
                _cleanup_free_ char *text = limit_dropin_text(&role->limits[i]);
                if (!dest || !text)
                        return -ENOMEM;
                int r = write_file_atomic(root, dest, text, strlen(text), 0644, -1, -1, NULL);
                if (r < 0)
                        return log_error_errno(r, "cannot write %s in %s", dest, root);
                printf("%s\n", dest);
        }
        return 0;
}

static int limits_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        size_t baked = 0;
        for (size_t i = 0; i < ctx->role->n_limits; i++) {
                const struct role_limit *l = &ctx->role->limits[i];
                _cleanup_free_ char *vendor = limit_dropin_path(VENDOR_UNIT_DIR, l);
                _cleanup_free_ char *dest = limit_dropin_path(ADMIN_UNIT_DIR, l);
                _cleanup_free_ char *text = limit_dropin_text(l);
                if (!vendor || !dest || !text)
                        return -ENOMEM;
                if (file_has_content(ctx->root, vendor, text, strlen(text))) {
                        baked++;
                        continue;
                }
                int r = write_file_atomic(ctx->root, dest, text, strlen(text), 0644, -1, -1, NULL);
                if (r < 0)
                        return step_fail(res, r, "cannot write %s: %s", dest, chase_strerror(r));
        }
        /* No daemon-reload here: the services step reloads once, and only if a
         * unit it starts has changed files. */
        step_result_set(res, STEP_DONE, "%zu unit limit(s), %zu in the image", ctx->role->n_limits, baked);
        return 0;
}

const struct step_type step_type_limits = { .kind = "limits", .apply = limits_apply };
