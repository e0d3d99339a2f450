/* SPDX-License-Identifier: Apache-2.0 */
/* Local PersistentVolume directories: `local` PVs do not create their path,
 * so a pod stays in ContainerCreating until the directory exists on the
 * labelled node (docs/dojot-v0.5.0.md#local-volumes). Owners and modes come from the role data. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agent/steps/step.h"
#include "basic/chase.h"
#include "basic/fileio.h"
#include "basic/macro.h"

/* Owner and mode are set on the directory's fd, never by path: a symlink
 * put at the path after the mkdir cannot redirect them. */
static int make_volume(const struct agent_ctx *ctx, const struct role_volume *v, struct step_result *res) {
        _cleanup_close_ int fd = -EBADF;
        int r = mkdir_in_root(ctx->root, v->path, 0755, &fd);
        if (r < 0)
                return step_fail(res, r, "cannot create %s: %s", v->path, chase_strerror(r));
        if (fchown(fd, v->uid, v->gid) < 0)
                return step_fail(res, negative_errno(), "cannot chown %s to %u:%u: %m", v->path,
                                 (unsigned) v->uid, (unsigned) v->gid);
        if (fchmod(fd, v->mode) < 0)
                return step_fail(res, negative_errno(), "cannot chmod %s to %04o: %m", v->path, (unsigned) v->mode);
        return 0;
}

static int volumes_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        size_t made = 0;
        for (size_t i = 0; i < ctx->role->n_volumes; i++) {
                const struct role_volume *v = &ctx->role->volumes[i];
                if (!(v->topologies & TOPOLOGY_BIT(ctx->config->topology)))
                        continue;
                int r = make_volume(ctx, v, res);
                if (r < 0)
                        return r;
                made++;
        }
        step_result_set(res, STEP_DONE, "%zu volume dir(s) for topology %s", made,
                        topology_to_string(ctx->config->topology));
        return 0;
}

static int volumes_inputs(const struct agent_ctx *ctx, const struct step *s, FILE *f) {
        (void) s;
        for (size_t i = 0; i < ctx->role->n_volumes; i++) {
                const struct role_volume *v = &ctx->role->volumes[i];
                if (v->topologies & TOPOLOGY_BIT(ctx->config->topology))
                        fprintf(f, "%s %u:%u %04o\n", v->path, (unsigned) v->uid, (unsigned) v->gid, (unsigned) v->mode);
        }
        return 0;
}

const struct step_type step_type_volumes = { .kind = "volumes", .apply = volumes_apply, .inputs = volumes_inputs };
