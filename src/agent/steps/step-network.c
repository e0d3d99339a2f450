/* SPDX-License-Identifier: Apache-2.0 */
/* Static addressing from the seed, through systemd-networkd (part of the
 * image's systemd). Without network.address the node keeps DHCP. */
#include <string.h>
#include <systemd/sd-bus.h>
#include "agent/steps/step.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/strv.h"

#define NETWORK_UNIT "/etc/systemd/network/10-nodeos.network"

#define NETWORKD_RELOAD_TIMEOUT_USEC (15ULL * 1000000ULL)

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
        /* Static means static: no router advertisement adds addresses or
         * a default route the seed did not give. With RA accepted, networkd
         * also holds the link "configuring", and so network-online.target
         * (which haproxy and docker are ordered after), until a router
         * answers and SLAAC's duplicate address detection ends, or until
         * NDisc times out on a LAN without IPv6 routers. */
        fprintf(f, "\n[Network]\nAddress=%s\nIPv6AcceptRA=no\n", n->address);
        if (n->gateway)
                fprintf(f, "Gateway=%s\n", n->gateway);
        STRV_FOREACH(d, n->dns)
                fprintf(f, "DNS=%s\n", *d);
        fclose(f);
        return text;
}

/* `networkctl reload` (networkd >= 244): networkd re-reads its .network
 * files and reconfigures the links whose file changed, without a stop and a
 * start (0.8 s under TCG) that drop every link's state. < 0, with the
 * reason in *why, when it cannot: no system bus yet, networkd not on it, or
 * a networkd without the method (Ubuntu 18.04's 237). */
static int networkd_reload(char **why) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.network1", "/org/freedesktop/network1",
                                                   "org.freedesktop.network1.Manager", "Reload");
        if (r >= 0)
                r = sd_bus_call(bus, m, NETWORKD_RELOAD_TIMEOUT_USEC, &e, NULL);
        if (r < 0 && asprintf(why, "%s", e.message ? e.message : chase_strerror(r)) < 0)
                *why = NULL;
        return r;
}

static int network_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        const struct net_config *n = &ctx->config->network;
        _cleanup_free_ char *unit = network_unit(n);
        bool changed;
        if (!unit)
                return -ENOMEM;
        int r = write_file_atomic(ctx->root, NETWORK_UNIT, unit, strlen(unit), 0644, -1, -1, &changed);
        if (r < 0)
                return step_fail(res, r, "cannot write " NETWORK_UNIT ": %s", chase_strerror(r));
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
                        r = sysmgr_run_job(m, SYSMGR_START, networkd[0], 60ULL * 1000000ULL);
                if (r < 0)
                        return step_sysmgr_fail(res, m, r);
                _cleanup_free_ char *why = NULL;
                if (changed && networkd_reload(&why) < 0) {
                        log_info("network: networkd cannot reload (%s); restarting it", why ? why : "out of memory");
                        r = sysmgr_run_job(m, SYSMGR_RESTART, networkd[0], 60ULL * 1000000ULL);
                        if (r < 0)
                                return step_sysmgr_fail(res, m, r);
                }
        }
        step_result_set(res, STEP_DONE, "%s on %s", n->address, n->interface ? n->interface : "en*/eth*");
        return 0;
}

static int network_inputs(const struct agent_ctx *ctx, const struct step *s, FILE *f) {
        (void) s;
        _cleanup_free_ char *text = network_unit(&ctx->config->network);
        if (!text)
                return -ENOMEM;
        fputs(text, f);
        return 0;
}

const struct step_type step_type_network = { .kind = "network", .apply = network_apply, .inputs = network_inputs };
