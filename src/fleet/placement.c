/* SPDX-License-Identifier: Apache-2.0 */
/* Which node each inventory host becomes: its role (from dojot_role, its
 * groups, the catalog's lb services and lb_targets), its hostname and
 * address, and every check of the inventory as a whole, each reported at
 * the inventory's line and column. */
#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include "basic/fileio.h"
#include "basic/strv.h"
#include "fleet/inventory.h"
#include "fleet/placement.h"
#include "fleet/seedgen.h"
#include "shared/config.h"
#include "shared/role.h"
#include "shared/validate.h"
#include "shared/yamlnode.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct inventory *, inventory_free)

/* The group names ansible-dojot's playbooks read besides the lb backend
 * groups (ansible-dojot v0.5.0 inventories/example/hosts.yaml). */
static const char * const known_groups[] = {
        "k8s-nodes", "master_nodes", "worker_nodes", "dojot-k8s", "nginx", "haproxy",
};

/* The lb backend groups of the inventory are the catalog's lb services
 * (roles/lb/role.yaml lb_services) as "<service>_nodes", which is also the
 * seed's key for them: a new strv of the services, in the catalog's order. */
char **fleet_lb_services(const struct role_catalog *cat) {
        char **l = calloc(1, sizeof(char *));
        for (size_t i = 0; l && i < cat->n; i++)
                for (size_t j = 0; j < cat->roles[i]->n_lb_services; j++)
                        if (!strv_contains(l, cat->roles[i]->lb_services[j].name) &&
                            strv_extend(&l, cat->roles[i]->lb_services[j].name) < 0) {
                                strv_free(l);
                                return NULL;
                        }
        return l;
}

/* "mqtt_nodes" for "mqtt" (static buffer: for one message or lookup) */
const char *fleet_lb_group(const char *service) {
        static char buf[128];
        snprintf(buf, sizeof(buf), "%s_nodes", service);
        return buf;
}


/* "first_verne_worker_host" -> "first-verne-worker-host" */
static char *hostname_from_name(const char *name) {
        char *h = strdup(name);
        for (char *p = h; p && *p; p++)
                *p = *p == '_' || *p == ' ' ? '-' : (char) tolower((unsigned char) *p);
        return h;
}

/* "worker nodes", "Worker-Nodes" -> "worker_nodes": how a near miss of a
 * known group name is recognized (the guide itself writes "worker nodes"
 * and "lwm2m nodes"). */
static void group_fold(const char *s, char *buf, size_t size) {
        size_t i = 0;
        for (; s[i] && i + 1 < size; i++)
                buf[i] = s[i] == ' ' || s[i] == '-' ? '_' : (char) tolower((unsigned char) s[i]);
        buf[i] = 0;
}

static const struct role *role_with_kubernetes(const struct role_catalog *cat, const char *how) {
        for (size_t i = 0; i < cat->n; i++)
                if (STREQ(cat->roles[i]->kubernetes, how))
                        return cat->roles[i];
        return NULL;
}

static bool role_serves(const struct role *r, const char *service, enum topology t) {
        for (size_t i = 0; r && i < r->n_lb_targets; i++)
                if (STREQ(r->lb_targets[i].service, service) && (r->lb_targets[i].topologies & TOPOLOGY_BIT(t)))
                        return true;
        return false;
}

/* The guide's few-devices setup puts everything on its single worker
 * (install guide, "Configuração do inventário": the small setup points every
 * group at it): the joining role that may back every lb service there
 * (roles/dojot/role.yaml), read from the catalog, not named here. */
static const struct role *few_devices_worker_role(const struct role_catalog *cat) {
        _cleanup_strv_free_ char **services = fleet_lb_services(cat);
        for (size_t i = 0; services && i < cat->n; i++) {
                const struct role *r = cat->roles[i];
                bool all = STREQ(r->kubernetes, "join");
                STRV_FOREACH(sp, services)
                        all = all && role_serves(r, *sp, TOPOLOGY_FEW_DEVICES);
                if (all)
                        return r;
        }
        return NULL;
}

static char *roles_serving(const struct role_catalog *cat, const char *service, enum topology t) {
        _cleanup_strv_free_ char **l = NULL;
        for (size_t i = 0; i < cat->n; i++)
                if (role_serves(cat->roles[i], service, t) && strv_extend(&l, cat->roles[i]->name) < 0)
                        return NULL;
        return l ? strv_join(l, ", ") : strdup("none");
}

/* A dojot_role / dojot.components/group value: a role name or a role's
 * node label (the guide labels verne nodes "vernemq", docs/dojot-v0.5.0.md#labels). */
static const struct role *role_from_var(const struct role_catalog *cat, const char *v) {
        for (size_t i = 0; i < cat->n; i++)
                if (STREQ(cat->roles[i]->name, v) || (cat->roles[i]->group && STREQ(cat->roles[i]->group, v)))
                        return cat->roles[i];
        return NULL;
}

/* Last resort when groups and host vars are silent: the guide names its
 * hosts after their role (dojot_worker_host, kafka_worker_host). Exactly
 * one joining role's name (or label) must appear in the host name. */
static const struct role *role_from_name(const struct role_catalog *cat, const char *name) {
        const struct role *found = NULL;
        for (size_t i = 0; i < cat->n; i++) {
                const struct role *r = cat->roles[i];
                if (!STREQ(r->kubernetes, "join") || !(strstr(name, r->name) || (r->group && strstr(name, r->group))))
                        continue;
                if (found)
                        return NULL;
                found = r;
        }
        return found;
}

/* The only role backing `service` in topology t, or NULL when zero or several. */
static const struct role *sole_role_serving(const struct role_catalog *cat, const char *service, enum topology t) {
        const struct role *found = NULL;
        for (size_t i = 0; i < cat->n; i++)
                if (role_serves(cat->roles[i], service, t)) {
                        if (found)
                                return NULL;
                        found = cat->roles[i];
                }
        return found;
}

/* ansible-dojot's playbooks target haproxy[0] and nginx[0] (docs/dojot-v0.5.0.md#inventory): a
 * host of that name, or in a group of that name, is the lb in that mode. */
static const char *lb_mode_of(const struct inv_host *h) {
        if (STREQ(h->name, "haproxy") || inv_host_in(h, "haproxy"))
                return "haproxy";
        if (STREQ(h->name, "nginx") || inv_host_in(h, "nginx"))
                return "nginx";
        return NULL;
}

static size_t count_workers(const struct inventory *inv) {
        size_t n = 0;
        for (size_t i = 0; i < inv->n; i++)
                n += inv_host_in(&inv->hosts[i], "worker_nodes") && !inv_host_in(&inv->hosts[i], "master_nodes");
        return n;
}

struct planner {
        const struct seedgen_options *o;
        struct seedgen_plan *p;
        const struct inventory *inv;
        const struct role_catalog *cat;
        enum topology topology;
        struct diag *d;
        bool bad;
        char **failed;          /* hosts whose role could not be decided: later checks skip them */
};

_printf_(3, 4)
static void fail_at(struct planner *pl, const struct inv_host *h, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        diag_add(pl->d, pl->inv->file, h ? h->line : 0, h ? h->col : 0, "%s", r < 0 ? fmt : msg);
        pl->bad = true;
}

static const struct inv_group *group_named(const struct inventory *inv, const char *name) {
        for (size_t i = 0; i < inv->n_groups; i++)
                if (STREQ(inv->groups[i].name, name))
                        return &inv->groups[i];
        return NULL;
}

static int check_group_names(struct planner *pl) {
        _cleanup_strv_free_ char **known = fleet_lb_services(pl->cat);
        if (!known)
                return -ENOMEM;
        for (char **k = known; *k; k++) {
                char *g = strdup(fleet_lb_group(*k));
                if (!g)
                        return -ENOMEM;
                free(*k);
                *k = g;
        }
        for (size_t k = 0; k < ELEMENTSOF(known_groups); k++)
                if (strv_extend(&known, known_groups[k]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < pl->inv->n_groups; i++) {
                const struct inv_group *g = &pl->inv->groups[i];
                char folded[128], fk[128];
                group_fold(g->name, folded, sizeof(folded));
                STRV_FOREACH(k, known) {
                        group_fold(*k, fk, sizeof(fk));
                        if (STREQ(folded, fk) && !STREQ(g->name, *k)) {
                                diag_add(pl->d, pl->inv->file, g->line, g->col,
                                         "group '%s': not a group ansible-dojot reads; did you mean '%s'?", g->name, *k);
                                pl->bad = true;
                        }
                }
        }
        return 0;
}

/* The upstream example inventory's placeholders (WORKER_HOST_ADDRESS,
 * APIGW_HOST_ADDRESS, ...; ansible-dojot inventories/example_local/hosts.yaml):
 * upper case, digits, '_' or '-', with an '_'. No address or host name of
 * a real node looks like that. */
static bool is_placeholder(const char *s) {
        return s && strchr(s, '_') && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == strlen(s) &&
               strcspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") < strlen(s);
}

/* What image/initramfs/nodeos's nodeos_device() resolves, in characters
 * that pass a kernel command line and a shell unquoted. */
static bool data_disk_is_valid(const char *s) {
        const char *rest = !strncmp(s, "/dev/", 5) ? s + 5 : !strncmp(s, "LABEL=", 6) ? s + 6 : !strncmp(s, "PARTUUID=", 9) ? s + 9 : NULL;
        return rest && *rest && strlen(s) < 128 &&
               strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_.:-") == strlen(rest) && !strstr(rest, "..");
}

static void check_dangling(struct planner *pl) {
        STRV_FOREACH(rec, pl->inv->dangling) {
                _cleanup_free_ char *copy = strdup(*rec);
                char *save = NULL, *group = copy ? strtok_r(copy, "\t", &save) : NULL, *ref = strtok_r(NULL, "\t", &save),
                     *pos = strtok_r(NULL, "\t", &save);
                size_t line = 0, col = 0;
                if (!group || !ref || !pos)
                        continue;
                sscanf(pos, "%zu:%zu", &line, &col);
                if (is_placeholder(ref))
                        diag_add(pl->d, pl->inv->file, line, col,
                                 "%s: '%s' is the example inventory's placeholder: list the inventory host (or its ansible_host) that serves this group",
                                 group, ref);
                else
                        diag_add(pl->d, pl->inv->file, line, col,
                                 "%s: '%s' is not a host of the inventory (no host has that name or ansible_host)", group, ref);
                pl->bad = true;
        }
}

/* The role of one host, or NULL when it is not a node of ours (the Ansible
 * control host, say). */
static const struct role *decide_role(struct planner *pl, const struct inv_host *h, const char **lb_mode) {
        const struct role *var = NULL, *r = NULL;
        bool master = inv_host_in(h, "master_nodes"), worker = inv_host_in(h, "worker_nodes");
        *lb_mode = lb_mode_of(h);
        if (h->role_var && !(var = role_from_var(pl->cat, h->role_var))) {
                _cleanup_strv_free_ char **names = role_catalog_names(pl->cat);
                _cleanup_free_ char *list = names ? strv_join(names, ", ") : NULL;
                fail_at(pl, h, "host '%s': %s '%s' is not a role (%s) or a role's node label", h->name, h->role_key,
                        h->role_var, list ? list : "?");
                return NULL;
        }
        if (*lb_mode && (master || worker)) {
                fail_at(pl, h, "host '%s': the %s lb cannot also be in %s (the lb is not a Kubernetes node)", h->name,
                        *lb_mode, master ? "master_nodes" : "worker_nodes");
                return NULL;
        }
        if (master && worker) {
                fail_at(pl, h, "host '%s': in both master_nodes and worker_nodes; a node is one or the other", h->name);
                return NULL;
        }
        if (*lb_mode)
                r = role_catalog_lb_role(pl->cat, STREQ(*lb_mode, "haproxy") ? LB_MODE_HAPROXY : LB_MODE_NGINX);
        else if (master)
                r = role_with_kubernetes(pl->cat, "init");
        else if (worker) {
                if (var)
                        r = var;
                else if (pl->topology == TOPOLOGY_FEW_DEVICES) {
                        r = few_devices_worker_role(pl->cat);
                        if (!r) {
                                fail_at(pl, h, "host '%s': the role catalog %s has no joining role that may back every lb service "
                                        "in topology few-devices (lb_targets)", h->name, pl->o->roles_dir);
                                return NULL;
                        }
                }
                else if (inv_host_in(h, "mqtt_nodes") && (r = sole_role_serving(pl->cat, "mqtt", pl->topology)))
                        ;
                else if ((r = role_from_name(pl->cat, h->name)))
                        fprintf(stderr, "seedgen: host '%s': role %s inferred from its name (set dojot_role to be explicit)\n",
                                h->name, r->name);
                else {
                        _cleanup_strv_free_ char **joins = NULL;
                        for (size_t i = 0; i < pl->cat->n; i++)
                                if (STREQ(pl->cat->roles[i]->kubernetes, "join"))
                                        (void) strv_extend(&joins, pl->cat->roles[i]->name);
                        _cleanup_free_ char *list = joins ? strv_join(joins, ", ") : NULL;
                        fail_at(pl, h, "host '%s': cannot tell its role from the groups; set the host variable dojot_role "
                                "(one of the roles that join: %s)", h->name, list ? list : "none");
                        return NULL;
                }
                if (!STREQ(r->kubernetes, "join")) {
                        fail_at(pl, h, "host '%s': %s '%s' is a role that does not join as a worker, but the host is in worker_nodes",
                                h->name, h->role_key, h->role_var);
                        return NULL;
                }
                return r;
        } else if (var) {
                fail_at(pl, h, "host '%s': %s '%s' set, but the host is in none of master_nodes, worker_nodes, nginx or haproxy",
                        h->name, h->role_key, h->role_var);
                return NULL;
        } else
                return NULL;
        if (!r) {
                if (*lb_mode)
                        fail_at(pl, h, "host '%s': the role catalog %s has no lb role whose lb_services forward in mode %s", h->name,
                                pl->o->roles_dir, *lb_mode);
                else
                        fail_at(pl, h, "host '%s': the role catalog %s has no role with kubernetes: init", h->name, pl->o->roles_dir);
                return NULL;
        }
        if (var && var != r) {
                fail_at(pl, h, "host '%s': %s '%s' contradicts its group, which makes it %s", h->name, h->role_key, h->role_var,
                        r->name);
                return NULL;
        }
        return r;
}

static const struct inv_host *host_of(const struct planner *pl, const struct seedgen_node *nd) {
        return inventory_find(pl->inv, nd->host);
}

static void check_counts(struct planner *pl) {
        const struct seedgen_node *master = NULL, *lb = NULL;
        for (size_t i = 0; i < pl->p->n; i++) {
                const struct seedgen_node *nd = &pl->p->nodes[i];
                if (inv_host_in(host_of(pl, nd), "master_nodes")) {
                        if (master)
                                fail_at(pl, host_of(pl, nd), "host '%s': a second host in master_nodes (host '%s' is one); "
                                        "dojot-nodeos bootstraps a single control-plane node", nd->host, master->host);
                        else
                                master = nd;
                }
                if (nd->lb_mode) {
                        if (lb)
                                fail_at(pl, host_of(pl, nd), "host '%s': a second lb (host '%s' is one); a rollout has one entry point",
                                        nd->host, lb->host);
                        else
                                lb = nd;
                }
        }
        bool master_failed = false;
        STRV_FOREACH(f, pl->failed)
                master_failed |= inv_host_in(inventory_find(pl->inv, *f), "master_nodes");
        if (!master && !master_failed) {
                const struct inv_group *g = group_named(pl->inv, "master_nodes");
                diag_add(pl->d, pl->inv->file, g ? g->line : 0, g ? g->col : 0, "master_nodes: no master host (the cluster needs exactly one)");
                pl->bad = true;
        }
}

static void check_identity(struct planner *pl) {
        for (size_t i = 0; i < pl->p->n; i++) {
                const struct seedgen_node *nd = &pl->p->nodes[i];
                const struct inv_host *h = host_of(pl, nd);
                if (STREQ(nd->hostname, "localhost"))
                        fail_at(pl, h, "host 'localhost': a node cannot be called localhost (the example inventory runs Ansible on its "
                                "master); rename the host (e.g. master_host) with an ansible_host address, or set nodeos_hostname");
                if (!nd->address)
                        fail_at(pl, h, "host '%s': no ansible_host address", nd->host);
                else if (is_placeholder(nd->address)) {
                        diag_add(pl->d, pl->inv->file, h->addr_line, h->addr_col,
                                 "host '%s': ansible_host '%s' is the example inventory's placeholder: put the node's IP address here",
                                 nd->host, nd->address);
                        pl->bad = true;
                } else if (!ip_address_is_valid(nd->address)) {
                        diag_add(pl->d, pl->inv->file, h->addr_line, h->addr_col,
                                 "host '%s': ansible_host '%s' is not an IP address (the seed's network.address needs one)",
                                 nd->host, nd->address);
                        pl->bad = true;
                }
                if (!hostname_is_valid(nd->hostname))
                        fail_at(pl, h, "host '%s': hostname '%s' is not a valid host name (lower-case letters, digits, '-'); "
                                "set the host variable nodeos_hostname", nd->host, nd->hostname);
                if (h->data_disk && !data_disk_is_valid(h->data_disk)) {
                        diag_add(pl->d, pl->inv->file, h->disk_line, h->disk_col,
                                 "host '%s': nodeos_data_disk '%s' is not a device the initramfs can find "
                                 "(/dev/..., LABEL=..., PARTUUID=...; letters, digits, '/', '_', '.', ':', '-')",
                                 nd->host, h->data_disk);
                        pl->bad = true;
                }
                if (h->mac && !nd->mac) {
                        diag_add(pl->d, pl->inv->file, h->mac_line, h->mac_col,
                                 "host '%s': %s '%s' is not a MAC address (six hex pairs, like 52:54:00:12:34:56)",
                                 nd->host, h->mac_key, h->mac);
                        pl->bad = true;
                }
                for (size_t j = 0; j < i; j++) {
                        const struct seedgen_node *o = &pl->p->nodes[j];
                        if (nd->address && o->address && STREQ(nd->address, o->address)) {
                                diag_add(pl->d, pl->inv->file, h->addr_line, h->addr_col,
                                         "host '%s': ansible_host %s is also the address of host '%s'", nd->host, nd->address, o->host);
                                pl->bad = true;
                        }
                        if (STREQ(nd->hostname, o->hostname))
                                fail_at(pl, h, "host '%s': hostname %s is also the hostname of host '%s'", nd->host, nd->hostname, o->host);
                        if (nd->mac && o->mac && STREQ(nd->mac, o->mac)) {
                                diag_add(pl->d, pl->inv->file, h->mac_line, h->mac_col, "host '%s': %s %s is also the MAC of host '%s'",
                                         nd->host, h->mac_key, h->mac, o->host);
                                pl->bad = true;
                        }
                }
        }
}

static const struct seedgen_node *node_of_host(const struct planner *pl, const struct inv_host *h) {
        for (size_t i = 0; i < pl->p->n; i++)
                if (STREQ(pl->p->nodes[i].host, h->name))
                        return &pl->p->nodes[i];
        return NULL;
}

static void check_lb(struct planner *pl) {
        const struct seedgen_node *lb = NULL;
        size_t backends = 0;
        _cleanup_strv_free_ char **reported = NULL;    /* one error per node for (b) and (c) */
        for (size_t i = 0; i < pl->p->n; i++)
                if (pl->p->nodes[i].lb_mode && !lb)
                        lb = &pl->p->nodes[i];
        const char *topo = topology_to_string(pl->topology);
        _cleanup_strv_free_ char **lb_services = fleet_lb_services(pl->cat);
        if (!lb_services)
                return;

        STRV_FOREACH(sp, lb_services) {
                const char *service = *sp;
                char group[128];
                snprintf(group, sizeof(group), "%s", fleet_lb_group(service));
                /* (a) every backend is a node whose role serves that service */
                for (size_t i = 0; i < pl->inv->n; i++) {
                        const struct inv_host *h = &pl->inv->hosts[i];
                        if (!inv_host_in(h, group))
                                continue;
                        backends++;
                        const struct seedgen_node *nd = node_of_host(pl, h);
                        if (!nd && strv_contains(pl->failed, h->name))
                                continue;
                        if (!nd) {
                                fail_at(pl, h, "%s: host '%s' is not a node of the rollout (in none of master_nodes, worker_nodes)",
                                        group, h->name);
                                continue;
                        }
                        const struct role *r = role_catalog_find(pl->cat, nd->role);
                        if (!role_serves(r, service, pl->topology)) {
                                _cleanup_free_ char *allowed = roles_serving(pl->cat, service, pl->topology);
                                fail_at(pl, h, "%s: %s is host '%s' with role %s, which cannot be a backend of %s in topology %s (only: %s)",
                                        group, nd->address ? nd->address : h->name, h->name, nd->role, service, topo,
                                        allowed ? allowed : "?");
                        }
                }
                /* (b) a group that lists nodes of a role lists all of them:
                 * a verne node left out of mqtt_nodes runs a broker the lb
                 * never sends a client to (externalTrafficPolicy: Local,
                 * docs/dojot-v0.5.0.md#verne-workers). */
                for (size_t i = 0; i < pl->p->n; i++) {
                        const struct seedgen_node *nd = &pl->p->nodes[i];
                        if (inv_host_in(host_of(pl, nd), group) ||
                            !role_serves(role_catalog_find(pl->cat, nd->role), service, pl->topology))
                                continue;
                        for (size_t j = 0; j < pl->p->n; j++) {
                                const struct seedgen_node *peer = &pl->p->nodes[j];
                                if (STREQ(peer->role, nd->role) && inv_host_in(host_of(pl, peer), group)) {
                                        fail_at(pl, host_of(pl, nd), "host '%s': role %s, but %s is missing from %s, which lists "
                                                "host '%s' of the same role (the lb would never send it %s)", nd->host, nd->role,
                                                nd->address ? nd->address : nd->host, group, peer->host, service);
                                        if (strv_extend(&reported, nd->host) < 0)
                                                return;
                                        break;
                                }
                        }
                }
        }
        if (!lb)
                return;
        /* (c) with an lb, a node whose role is an lb backend is in one of its
         * groups (when there are backends at all: else (d) says it once) */
        for (size_t i = 0; backends > 0 && i < pl->p->n; i++) {
                const struct seedgen_node *nd = &pl->p->nodes[i];
                const struct role *r = role_catalog_find(pl->cat, nd->role);
                _cleanup_strv_free_ char **services = NULL, **groups = NULL;
                bool listed = false;
                STRV_FOREACH(sp, lb_services)
                        if (role_serves(r, *sp, pl->topology)) {
                                listed |= inv_host_in(host_of(pl, nd), fleet_lb_group(*sp));
                                if (strv_extend(&services, *sp) < 0 || strv_extend(&groups, fleet_lb_group(*sp)) < 0)
                                        return;
                        }
                if (services && !listed && !strv_contains(reported, nd->host)) {
                        _cleanup_free_ char *s = strv_join(services, ", "), *gs = strv_join(groups, ", ");
                        fail_at(pl, host_of(pl, nd), "host '%s': role %s is an lb backend (%s), but %s is in none of %s",
                                nd->host, nd->role, s ? s : "?", nd->address ? nd->address : nd->host, gs ? gs : "?");
                }
        }
        /* (d) an lb with nothing behind it */
        if (backends == 0) {
                size_t n = strv_length(lb_services);
                char *last = n > 1 ? lb_services[n - 1] : NULL;
                if (last)
                        lb_services[n - 1] = NULL;
                _cleanup_free_ char *list = strv_join(lb_services, "_nodes, ");
                if (last)
                        lb_services[n - 1] = last;
                fail_at(pl, host_of(pl, lb), "host '%s': an lb without backends (%s_nodes%s%s%s are empty)", lb->host, list ? list : "?",
                        last ? " and " : "", last ? last : "", last ? "_nodes" : "");
        }
        /* (e) the guide: NGINX cannot carry 100k devices, HAProxy cannot do
         * LwM2M over UDP (install guide p.3). */
        if (STREQ(lb->lb_mode, "nginx") && pl->topology == TOPOLOGY_100K)
                fail_at(pl, host_of(pl, lb), "host '%s': an nginx lb in topology 100k; the guide uses haproxy there (NGINX cannot carry 100k devices)",
                        lb->host);
        if (STREQ(lb->lb_mode, "haproxy") && strstr(pl->p->variant, "lwm2m"))
                fail_at(pl, host_of(pl, lb), "host '%s': a haproxy lb with variant %s; LwM2M runs over UDP, which only the nginx lb carries",
                        lb->host, pl->p->variant);
}

/* dojot_enable_node_affinity pins every dojot workload to nodes labelled
 * with a dojot_node_label value (docs/dojot-v0.5.0.md#node-affinity): a value no node carries leaves
 * its pods Pending forever. */
static const struct seedgen_node *lb_node(const struct seedgen_plan *p) {
        for (size_t i = 0; i < p->n; i++)
                if (p->nodes[i].lb_mode)
                        return &p->nodes[i];
        return NULL;
}

/* The lb forwards to the dojot NodePorts: the master must fix them, or
 * Kubernetes assigns them at random (dojot_fixed_nodeports_enabled, false
 * by default in ansible-dojot's group_vars/all/dojot.yaml). An inventory
 * that leaves it out gets it set in every seed; one that says false is
 * refused at its line. */
bool seedgen_plan_fixes_nodeports(const struct seedgen_plan *p) {
        return lb_node(p) && !(p->vars && ynode_get(p->vars, "dojot_fixed_nodeports_enabled"));
}

static void check_lb_nodeports_fixed(struct planner *pl, const char *vars_file) {
        const struct seedgen_node *lb = lb_node(pl->p);
        const struct ynode *v = pl->p->vars ? ynode_get(pl->p->vars, "dojot_fixed_nodeports_enabled") : NULL;
        bool fixed = false;
        if (!lb || !v || (ynode_bool(v, &fixed) >= 0 && fixed))
                return;
        diag_add(pl->d, vars_file, v->line, v->col,
                 "dojot_fixed_nodeports_enabled: false, but host '%s' is an lb forwarding to the dojot NodePorts, "
                 "which Kubernetes then assigns at random; set it to true", lb->host);
        pl->bad = true;
}

static void check_node_labels(struct planner *pl, const char *vars_file) {
        const struct ynode *aff = pl->p->vars ? ynode_get(pl->p->vars, "dojot_enable_node_affinity") : NULL;
        bool on = false;
        if (!aff || ynode_bool(aff, &on) < 0 || !on)
                return;
        static const char * const defaults[] = { "dojot", "x509", "kafka", "vernemq" };
        const struct ynode *labels = ynode_get(pl->p->vars, "dojot_node_label");
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++) {
                const struct ynode *v = labels && labels->kind == YNODE_MAPPING ? ynode_get(labels, defaults[i]) : NULL;
                const char *value = v && v->kind == YNODE_SCALAR ? v->value : defaults[i];
                bool found = false;
                for (size_t j = 0; j < pl->p->n && !found; j++) {
                        const struct role *r = role_catalog_find(pl->cat, pl->p->nodes[j].role);
                        found = r && r->group && STREQ(r->group, value);
                }
                if (found)
                        continue;
                const struct ynode *at = v ? v : aff;
                diag_add(pl->d, vars_file, at->line, at->col,
                         "dojot_node_label.%s: no host has a role with the node label '%s' (dojot_enable_node_affinity: true "
                         "would leave its pods Pending)", defaults[i], value);
                pl->bad = true;
        }
}

static int load_vars(const char *dir, struct ynode **ret, char **ret_file, struct diag *d) {
        _cleanup_free_ char *file = NULL, *text = NULL;
        size_t len;
        if (asprintf(&file, "%s/group_vars/all/dojot.yaml", dir) < 0)
                return -ENOMEM;
        int r = read_full_file(file, &text, &len);
        if (r == -ENOENT) {
                *ret = NULL;    /* ansible-dojot's defaults apply */
                *ret_file = TAKE_PTR(file);
                return 0;
        }
        if (r < 0) {
                diag_add(d, file, 0, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        r = ynode_parse(text, len, file, ret, d);
        if (r < 0)
                return r;
        if ((*ret)->kind != YNODE_MAPPING) {
                diag_add(d, file, (*ret)->line, (*ret)->col, "expected a mapping of dojot variables");
                ynode_free(*ret);
                *ret = NULL;
                return -EINVAL;
        }
        *ret_file = TAKE_PTR(file);
        return 0;
}

int seedgen_plan_load(const struct seedgen_options *o, struct seedgen_plan *ret, struct diag *d) {
        _cleanup_free_ char *hosts = NULL, *vars_file = NULL;
        struct seedgen_plan p = {};
        int r;

        if (asprintf(&hosts, "%s/hosts.yaml", o->inventory_dir) < 0)
                return -ENOMEM;
        r = inventory_load(hosts, &p.inv, d);
        if (r >= 0)
                r = load_vars(o->inventory_dir, &p.vars, &vars_file, d);
        /* the agent's own checks of the variables, at dojot.yaml's lines:
         * an error there would otherwise surface at a generated seed's line */
        if (r >= 0 && p.vars)
                r = config_check_dojot_vars(p.vars, vars_file, d);
        if (r >= 0)
                r = role_catalog_load(o->roles_dir, &p.cat, d);
        if (r < 0) {
                seedgen_plan_done(&p);
                return r;
        }
        struct planner pl = { .o = o, .p = &p, .inv = p.inv, .cat = p.cat, .d = d };
        size_t workers = count_workers(p.inv);
        p.topology = strdup(o->topology ? o->topology : workers == 1 ? "few-devices" : "100k");
        p.variant = strdup(o->variant ? o->variant : STREQ(p.topology, "100k") ? "100k" : "vernemq");
        if (!p.topology || !p.variant) {
                seedgen_plan_done(&p);
                return -ENOMEM;
        }
        if (STREQ(p.topology, "100k"))
                pl.topology = TOPOLOGY_100K;
        else if (STREQ(p.topology, "few-devices"))
                pl.topology = TOPOLOGY_FEW_DEVICES;
        else {
                diag_add(d, o->inventory_dir, 0, 0, "topology '%s' is not 100k or few-devices", p.topology);
                seedgen_plan_done(&p);
                return -EINVAL;
        }

        /* A misspelt group changes what every other check sees: report it alone. */
        r = check_group_names(&pl);
        if (r < 0 || pl.bad) {
                seedgen_plan_done(&p);
                return r < 0 ? r : -EINVAL;
        }
        check_dangling(&pl);
        for (size_t i = 0; i < p.inv->n; i++) {
                const struct inv_host *h = &p.inv->hosts[i];
                const char *mode;
                bool bad_before = pl.bad;
                pl.bad = false;
                const struct role *role = decide_role(&pl, h, &mode);
                if (pl.bad && strv_extend(&pl.failed, h->name) < 0) {
                        seedgen_plan_done(&p);
                        return -ENOMEM;
                }
                pl.bad |= bad_before;
                if (!role)
                        continue;
                struct seedgen_node *ns = realloc(p.nodes, (p.n + 1) * sizeof(*ns));
                if (!ns) {
                        seedgen_plan_done(&p);
                        return -ENOMEM;
                }
                p.nodes = ns;
                char mac[18];
                struct seedgen_node *nd = &p.nodes[p.n++];
                *nd = (struct seedgen_node) {
                        .host = strdup(h->name),
                        .hostname = h->hostname_var ? strdup(h->hostname_var) : hostname_from_name(h->name),
                        .address = h->address ? strdup(h->address) : NULL,
                        .role = strdup(role->name),
                        .lb_mode = mode ? strdup(mode) : NULL,
                        .mac = h->mac && mac_normalize(h->mac, mac) >= 0 ? strdup(mac) : NULL,
                        .data_disk = h->data_disk ? strdup(h->data_disk) : NULL,
                };
                if (!nd->host || !nd->hostname || !nd->role) {
                        seedgen_plan_done(&p);
                        return -ENOMEM;
                }
        }
        check_counts(&pl);
        check_identity(&pl);
        check_lb(&pl);
        check_lb_nodeports_fixed(&pl, vars_file);
        check_node_labels(&pl, vars_file);
        strv_free(pl.failed);
        if (pl.bad) {
                seedgen_plan_done(&p);
                return -EINVAL;
        }
        *ret = p;
        return 0;
}

void seedgen_plan_done(struct seedgen_plan *p) {
        for (size_t i = 0; i < p->n; i++) {
                free(p->nodes[i].host);
                free(p->nodes[i].hostname);
                free(p->nodes[i].address);
                free(p->nodes[i].role);
                free(p->nodes[i].lb_mode);
                free(p->nodes[i].mac);
                free(p->nodes[i].data_disk);
        }
        free(p->nodes);
        free(p->topology);
        free(p->variant);
        inventory_free(p->inv);
        ynode_free(p->vars);
        role_catalog_free(p->cat);
        *p = (struct seedgen_plan) {};
}

int seedgen_parse_ttl(const char *s, long *ret) {
        char *end = NULL;
        errno = 0;
        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        long long v = strtoll(s, &end, 10);
        long long unit = 3600;
        if (errno != 0 || v <= 0)
                return -EINVAL;
        if (*end && end[1] == 0)
                switch (*end) {
                case 's': unit = 1; break;
                case 'm': unit = 60; break;
                case 'h': unit = 3600; break;
                case 'd': unit = 86400; break;
                default: return -EINVAL;
                }
        else if (*end)
                return -EINVAL;
        if (v > 10LL * 366 * 86400 / unit)
                return -EINVAL;
        *ret = (long) (v * unit);
        return 0;
}
