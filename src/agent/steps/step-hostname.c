/* SPDX-License-Identifier: Apache-2.0 */
/* The hostname becomes the Kubernetes node name (docs/dojot-v0.5.0.md#hostname): the guide
 * had operators run hostnamectl by hand before anything else. */
#include <string.h>
#include <unistd.h>
#include "agent/steps/step.h"
#include "basic/fileio.h"

static int hostname_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        const char *name = ctx->config->hostname;
        _cleanup_free_ char *line = NULL, *hosts = NULL;
        if (asprintf(&line, "%s\n", name) < 0 ||
            asprintf(&hosts, "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n", name) < 0)
                return -ENOMEM;
        int r = write_file_atomic(ctx->root, "/etc/hostname", line, strlen(line), 0644, -1, -1, NULL);
        if (r < 0)
                return step_fail(res, r, "cannot write /etc/hostname: %s", chase_strerror(r));
        /* kubeadm's preflight resolves the node name; keep it answerable without DNS. */
        r = write_file_atomic(ctx->root, "/etc/hosts", hosts, strlen(hosts), 0644, -1, -1, NULL);
        if (r < 0)
                return step_fail(res, r, "cannot write /etc/hosts: %s", chase_strerror(r));
        if (ctx->live && sethostname(name, strlen(name)) < 0)
                return step_fail(res, negative_errno(), "sethostname(%s): %m", name);
        step_result_set(res, STEP_DONE, "hostname %s", name);
        return 0;
}

static int hostname_inputs(const struct agent_ctx *ctx, const struct step *s, FILE *f) {
        (void) s;
        fprintf(f, "hostname=%s\n", ctx->config->hostname);
        return 0;
}

/* A Kubernetes node's name is its hostname at join time (docs/dojot-v0.5.0.md#hostname). */
static bool hostname_fixed(const struct agent_ctx *ctx) {
        return !STREQ(ctx->role->kubernetes, "none");
}

const struct step_type step_type_hostname = { .kind = "hostname", .apply = hostname_apply, .inputs = hostname_inputs,
                                              .fixed = hostname_fixed };
