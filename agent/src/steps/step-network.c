/* SPDX-License-Identifier: Apache-2.0 */
/* Static addressing from the seed, through systemd-networkd (part of the
 * image's systemd). Without network.address the node keeps DHCP. */
#include <string.h>
#include "fileio.h"
#include "strv.h"
#include "steps/step.h"

static char *network_unit(const struct net_config *n) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return NULL;
        fprintf(f, "# Written by node-agent from the seed's network section.\n[Match]\n");
        if (n->interface)
                fprintf(f, "Name=%s\n", n->interface);
        else
                fprintf(f, "Name=en* eth*\n");
        fprintf(f, "\n[Network]\nAddress=%s\n", n->address);
        if (n->gateway)
                fprintf(f, "Gateway=%s\n", n->gateway);
        STRV_FOREACH(d, n->dns)
                fprintf(f, "DNS=%s\n", *d);
        fclose(f);
        return text;
}

static int network_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        const struct net_config *n = &ctx->config->network;
        _cleanup_free_ char *unit = network_unit(n);
        bool changed;
        if (!unit)
                return -ENOMEM;
        int r = write_file_atomic(ctx->root, "/etc/systemd/network/10-nodeos.network", unit, strlen(unit),
                                  0644, -1, -1, &changed);
        if (r < 0)
                return step_fail(res, r, "cannot write the networkd unit: %s", strerror(-r));
        if (ctx->live) {
                _cleanup_sysmgr_ struct sysmgr *m = NULL;
                char *networkd[] = { "systemd-networkd.service", NULL };
                r = step_sysmgr_open(res, &m);
                if (r < 0)
                        return r;
                /* the image enables networkd already; this is for an image
                 * that does not, and costs one call */
                r = sysmgr_enable(m, networkd);
                if (r >= 0)
                        r = sysmgr_run_job(m, changed ? SYSMGR_RESTART : SYSMGR_START, networkd[0], 60ULL * 1000000ULL);
                if (r < 0)
                        return step_sysmgr_fail(res, m, r);
        }
        step_result_set(res, STEP_DONE, "%s on %s", n->address, n->interface ? n->interface : "en*/eth*");
        return 0;
}

const struct step_type step_type_network = { .kind = "network", .apply = network_apply };
