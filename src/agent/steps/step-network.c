/* SPDX-License-Identifier: Apache-2.0 */
/* The node's addressing, through systemd-networkd (part of the image's
 * systemd), from one of the seed's two sources: user-data's network section
 * (one link, static) or a network-config file (netconfig.h: any number of
 * links, by name or MAC). Without either the node keeps the image's DHCP.
 * The step owns the files named 10-nodeos* in NETWORK_DIR: what the seed no
 * longer gives is removed, so a changed seed converges, also to no network
 * section at all (the step always runs; it then writes nothing, and makes
 * no directory). */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include "agent/steps/step.h"
#include "basic/chase.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "shared/netconfig.h"

#define NETWORK_DIR "/etc/systemd/network"
#define OWNED_PREFIX "10-nodeos"
#define USER_DATA_UNIT OWNED_PREFIX ".network"

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

/* The files this seed gives: names (in NETWORK_DIR) and contents, as
 * pairs in one strv. */
static int network_files(const struct node_config *c, char ***ret) {
        _cleanup_strv_free_ char **files = NULL;
        const struct net_plan *plan = c->network_config;
        if (!plan && c->network.address) {
                char *unit = network_unit(&c->network);
                if (!unit || strv_extend(&files, USER_DATA_UNIT) < 0 || strv_consume(&files, unit) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; plan && i < plan->n_links; i++) {
                const struct net_link *l = &plan->links[i];
                char *name = NULL, *link = NULL, *unit = netconfig_render_network(plan, l);
                if (!unit || asprintf(&name, "%s.network", l->file_stem) < 0 || strv_consume(&files, name) < 0 ||
                    strv_consume(&files, unit) < 0)
                        return -ENOMEM;
                if (netconfig_render_link(plan, l, &link) < 0)
                        return -ENOMEM;
                if (link && (asprintf(&name, "%s.link", l->file_stem) < 0 || strv_consume(&files, name) < 0 ||
                             strv_consume(&files, link) < 0))
                        return -ENOMEM;
        }
        if (!files && !(files = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(files);
        return 0;
}

static bool is_owned(const char *name) {
        size_t l = strlen(name);
        return strncmp(name, OWNED_PREFIX, strlen(OWNED_PREFIX)) == 0 &&
               ((l > 8 && STREQ(name + l - 8, ".network")) || (l > 5 && STREQ(name + l - 5, ".link")));
}

/* Removes the files of ours that FILES does not name; *removed counts them. */
static int remove_stale(int dirfd, char * const *files, unsigned *removed) {
        _cleanup_closedir_ DIR *d = NULL;
        int r = dir_stream(dirfd, &d);
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                bool wanted = false;
                for (size_t i = 0; files[i] && files[i + 1] && !wanted; i += 2)
                        wanted = STREQ(files[i], de->d_name);
                if (wanted || !is_owned(de->d_name))
                        continue;
                if (unlinkat(dirfd, de->d_name, 0) < 0) {
                        r = negative_errno();
                        break;
                }
                log_info("network: removed " NETWORK_DIR "/%s, which the seed no longer gives", de->d_name);
                (*removed)++;
        }
        return r;
}

static int networkd_apply(struct step_result *res) {
        _cleanup_sysmgr_ struct sysmgr *m = NULL;
        char *networkd[] = { "systemd-networkd.service", NULL };
        int r = step_sysmgr_open(res, &m);
        if (r < 0)
                return r;
        /* the image enables networkd already; this is for an image that
         * does not, and costs one call */
        r = sysmgr_enable(m, networkd);
        if (r >= 0)
                r = sysmgr_run_job(m, SYSMGR_START, networkd[0], 60ULL * 1000000ULL);
        if (r < 0)
                return step_sysmgr_fail(res, m, r);
        _cleanup_free_ char *why = NULL;
        if (networkd_reload(&why) < 0) {
                log_info("network: networkd cannot reload (%s); restarting it", why ? why : "out of memory");
                r = sysmgr_run_job(m, SYSMGR_RESTART, networkd[0], 60ULL * 1000000ULL);
                if (r < 0)
                        return step_sysmgr_fail(res, m, r);
        }
        return 0;
}

static char *links_summary(const struct net_plan *plan) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return NULL;
        fprintf(f, "%zu link%s from %s:", plan->n_links, plan->n_links == 1 ? "" : "s", netconfig_source(plan));
        for (size_t i = 0; i < plan->n_links; i++) {
                const struct net_link *l = &plan->links[i];
                fprintf(f, "%s %s", i ? ";" : "", l->set_name ? l->set_name : l->id);
                STRV_FOREACH(a, l->addresses)
                        fprintf(f, " %s", *a);
                if (l->dhcp4 || l->dhcp6)
                        fprintf(f, " dhcp%s", l->dhcp4 && l->dhcp6 ? "" : l->dhcp4 ? "4" : "6");
        }
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

static int network_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        const struct node_config *c = ctx->config;
        _cleanup_strv_free_ char **files = NULL;
        _cleanup_close_ int dirfd = -EBADF;
        bool changed = false;
        unsigned removed = 0;
        int r = network_files(c, &files);
        if (r < 0)
                return r;
        if (!files[0]) {
                /* nothing to write: only ours to remove, if the directory is there */
                r = chase(ctx->root, NETWORK_DIR, 0, 0, &dirfd, NULL);
                if (r == -ENOENT) {
                        step_result_set(res, STEP_DONE, "no network in the seed: the image's DHCP");
                        return 0;
                }
        } else
                r = mkdir_in_root(ctx->root, NETWORK_DIR, 0755, &dirfd);
        if (r < 0)
                return step_fail(res, r, "cannot write " NETWORK_DIR "/%s: %s", files[0] ? files[0] : "", chase_strerror(r));
        for (size_t i = 0; files[i] && files[i + 1]; i += 2) {
                bool ch = false;
                r = write_file_at(dirfd, files[i], files[i + 1], strlen(files[i + 1]), 0644, -1, -1, &ch);
                if (r < 0)
                        return step_fail(res, r, "cannot write " NETWORK_DIR "/%s: %s", files[i], chase_strerror(r));
                changed = changed || ch;
        }
        r = remove_stale(dirfd, files, &removed);
        if (r < 0)
                return step_fail(res, r, "cannot remove a stale file from " NETWORK_DIR ": %s", strerror(-r));
        if (ctx->live && (changed || removed > 0)) {
                r = networkd_apply(res);
                if (r < 0)
                        return r;
        }
        if (c->network_config) {
                _cleanup_free_ char *summary = links_summary(c->network_config);
                if (!summary)
                        return -ENOMEM;
                step_result_set(res, STEP_DONE, "%s", summary);
        } else if (c->network.address)
                step_result_set(res, STEP_DONE, "%s on %s", c->network.address, c->network.interface ? c->network.interface : "en*/eth*");
        else
                step_result_set(res, STEP_DONE, "no network in the seed: the image's DHCP%s",
                                removed > 0 ? " (the seed's earlier network files removed)" : "");
        return 0;
}

static int network_inputs(const struct agent_ctx *ctx, const struct step *s, FILE *f) {
        (void) s;
        _cleanup_strv_free_ char **files = NULL;
        int r = network_files(ctx->config, &files);
        if (r < 0)
                return r;
        STRV_FOREACH(l, files)
                fprintf(f, "%s\n", *l);
        return 0;
}

const struct step_type step_type_network = { .kind = "network", .apply = network_apply, .inputs = network_inputs };
