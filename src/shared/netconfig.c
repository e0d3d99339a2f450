/* SPDX-License-Identifier: Apache-2.0 */
/* network-config versions 1 and 2 -> struct net_plan -> networkd files.
 * Keys: cloud-init/README.md, network-config; keep the two in step. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "basic/macro.h"
#include "basic/strv.h"
#include "shared/netconfig.h"
#include "shared/schema.h"
#include "shared/validate.h"
#include "shared/yamlnode.h"

struct nparser {
        struct schema_ctx s;
        struct net_plan *plan;
};

/* A key path for messages ("ethernets.eth0.routes[1].via"); a path longer
 * than the buffer is cut, which only shortens a message. */
static char *pathf(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static char *pathf(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        (void) vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        return buf;
}

/* --- values ----------------------------------------------------------------- */

static bool interface_name_is_valid(const char *s) {
        /* the kernel's dev_valid_name(); '*' and '?' for networkd's globs in match */
        return s[0] && strlen(s) <= 15 && !strpbrk(s, "/: \t\n") && !STREQ(s, ".") && !STREQ(s, "..");
}

static int read_ifname(struct nparser *p, const struct ynode *n, const char *path, char **ret) {
        int r = schema_read_string(&p->s, n, path, ret);
        if (r < 0)
                return r;
        if (interface_name_is_valid(*ret))
                return 0;
        schema_error(&p->s, n, "%s: '%s' is not an interface name", path, *ret);
        return -EINVAL;
}

static int read_mac(struct nparser *p, const struct ynode *n, const char *path, char **ret) {
        int r = schema_read_string(&p->s, n, path, ret);
        if (r < 0)
                return r;
        char *m = *ret;
        bool ok = strlen(m) == 17;
        for (size_t i = 0; ok && i < 17; i++)
                ok = i % 3 == 2 ? m[i] == ':' : isxdigit((unsigned char) m[i]);
        if (!ok) {
                schema_error(&p->s, n, "%s: '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", path, m);
                return -EINVAL;
        }
        for (size_t i = 0; i < 17; i++)
                m[i] = (char) tolower((unsigned char) m[i]);
        return 0;
}

/* schema_read_ip() in read_list()'s item form */
static int read_ip(struct nparser *p, const struct ynode *n, const char *path, char **ret) {
        return schema_read_ip(&p->s, n, path, ret);
}

/* A search domain: a DNS name (upper case allowed, as resolvers compare
 * without case). */
static int read_domain(struct nparser *p, const struct ynode *n, const char *path, char **ret) {
        int r = schema_read_string(&p->s, n, path, ret);
        if (r < 0)
                return r;
        _cleanup_free_ char *lower = strdup(*ret);
        if (!lower)
                return -ENOMEM;
        for (char *c = lower; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        if (dns1123_subdomain_is_valid(lower))
                return 0;
        schema_error(&p->s, n, "%s: '%s' is not a domain name", path, *ret);
        return -EINVAL;
}

typedef int (*item_reader)(struct nparser *p, const struct ynode *n, const char *path, char **ret);

/* A list of values, or with one_ok a single scalar (version 1 allows both
 * for nameservers); each checked by READ and appended to *l. */
static int read_list(struct nparser *p, const struct ynode *n, const char *path, bool one_ok, item_reader read, char ***l) {
        if (one_ok && n->kind == YNODE_SCALAR) {
                char *v = NULL;
                int r = read(p, n, path, &v);
                if (r < 0) {
                        free(v);
                        return r;
                }
                return strv_consume(l, v);
        }
        if (schema_check_kind(&p->s, n, YNODE_SEQUENCE, path) < 0)
                return -EINVAL;
        int ok = 0;
        for (size_t i = 0; i < n->n; i++) {
                char sub[160], *v = NULL;
                pathf(sub, sizeof(sub), "%s[%zu]", path, i);
                int r = read(p, n->items[i], sub, &v);
                if (r < 0)
                        free(v);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        ok = parse_merge(ok, r);
                        continue;
                }
                if (strv_contains(*l, v)) {
                        free(v);
                        continue;
                }
                if (strv_consume(l, v) < 0)
                        return -ENOMEM;
        }
        return ok;
}

static int read_mtu(struct nparser *p, const struct ynode *n, const char *path, unsigned *ret) {
        long long v;
        int r = schema_read_int(&p->s, n, path, 68, 65535, &v);
        if (r >= 0)
                *ret = (unsigned) v;
        return r;
}

static int read_metric(struct nparser *p, const struct ynode *n, const char *path, long long *ret) {
        return schema_read_int(&p->s, n, path, 0, 4294967295LL, ret);
}

static bool is_ipv6(const char *ip) {
        return strchr(ip, ':') != NULL;
}

/* "255.255.255.0" -> 24; -1 when it is not a netmask. */
static int netmask_prefix(const char *mask) {
        struct in_addr a;
        if (inet_pton(AF_INET, mask, &a) != 1)
                return -1;
        uint32_t m = ntohl(a.s_addr);
        int prefix = 0;
        while (prefix < 32 && (m & (UINT32_C(1) << (31 - prefix))))
                prefix++;
        /* contiguous: nothing set after the first zero bit */
        return (m & (uint32_t) ((UINT64_C(1) << (32 - prefix)) - 1)) == 0 ? prefix : -1;
}

/* Whether IP lies in the network of CIDR ("addr/prefix", host bits allowed). */
static bool cidr_contains(const char *cidr, const char *ip) {
        unsigned char net[16], host[16];
        char addr[INET6_ADDRSTRLEN];
        const char *slash = strchr(cidr, '/');
        if (!slash || (size_t) (slash - cidr) >= sizeof(addr))
                return false;
        memcpy(addr, cidr, (size_t) (slash - cidr));
        addr[slash - cidr] = 0;
        int af = is_ipv6(addr) ? AF_INET6 : AF_INET;
        if (is_ipv6(ip) != (af == AF_INET6) || inet_pton(af, addr, net) != 1 || inet_pton(af, ip, host) != 1)
                return false;
        int prefix = atoi(slash + 1), max = af == AF_INET6 ? 128 : 32;
        if (prefix < 0 || prefix > max)
                return false;
        for (int i = 0; i < prefix; i++)
                if ((net[i / 8] ^ host[i / 8]) & (0x80 >> (i % 8)))
                        return false;
        return true;
}

/* --- links ------------------------------------------------------------------ */

static struct net_link *link_new(struct nparser *p, const struct ynode *at) {
        struct net_plan *pl = p->plan;
        struct net_link *l = realloc(pl->links, (pl->n_links + 1) * sizeof(*l));
        if (!l)
                return NULL;
        pl->links = l;
        l = &pl->links[pl->n_links++];
        *l = (struct net_link) { .line = at->line, .col = at->col };
        return l;
}

static int link_add_route(struct net_link *l, const char *to, const char *via, long long metric) {
        struct net_route *r = realloc(l->routes, (l->n_routes + 1) * sizeof(*r));
        if (!r)
                return -ENOMEM;
        l->routes = r;
        r = &l->routes[l->n_routes];
        *r = (struct net_route) { .metric = metric };
        if ((to && !(r->to = strdup(to))) || !(r->via = strdup(via))) {
                free(r->to);
                return -ENOMEM;
        }
        l->n_routes++;
        return 0;
}

/* "10-nodeos-<id>": networkd reads files in lexical order and the first
 * .network that matches a link wins, so ours sort before the image's DHCP
 * default; an id is made safe for a file name and must stay unique. */
static int link_set_stem(struct nparser *p, struct net_link *l, const struct ynode *at) {
        if (asprintf(&l->file_stem, "10-nodeos-%.64s", l->id) < 0) {
                l->file_stem = NULL;
                return -ENOMEM;
        }
        for (char *c = l->file_stem + strlen("10-nodeos-"); *c; c++)
                if (!isalnum((unsigned char) *c) && *c != '-' && *c != '_' && *c != '.')
                        *c = '_';
        for (size_t i = 0; i + 1 < p->plan->n_links; i++)
                if (p->plan->links[i].file_stem && STREQ(p->plan->links[i].file_stem, l->file_stem)) {
                        schema_error(&p->s, at, "'%s' and '%s' would share the networkd file %s.network: rename one", p->plan->links[i].id, l->id,
                            l->file_stem);
                        return -EINVAL;
                }
        return 0;
}

static const char *default_route_to(const char *to) {
        return STREQ(to, "default") || STREQ(to, "0.0.0.0/0") || STREQ(to, "::/0") ? NULL : to;
}

/* --- version 2 (netplan) ---------------------------------------------------- */

static int v2_routes(struct nparser *p, const struct ynode *n, const char *path, struct net_link *l) {
        static const char * const keys[] = { "to", "via", "metric", NULL };
        if (schema_check_kind(&p->s, n, YNODE_SEQUENCE, path) < 0)
                return -EINVAL;
        int ok = 0;
        for (size_t i = 0; i < n->n; i++) {
                const struct ynode *m = n->items[i], *v;
                char sub[160], sub2[192];
                _cleanup_free_ char *to = NULL, *via = NULL;
                long long metric = -1;
                pathf(sub, sizeof(sub), "%s[%zu]", path, i);
                if (schema_check_kind(&p->s, m, YNODE_MAPPING, sub) < 0 || schema_check_keys(&p->s, m, keys, sub) < 0) {
                        ok = parse_merge(ok, -EINVAL);
                        continue;
                }
                int r = 0;
                if (!(v = ynode_get(m, "to")))
                        schema_missing(&p->s, m, sub, "to"), r = -EINVAL;
                else {
                        pathf(sub2, sizeof(sub2), "%s.to", sub);
                        r = schema_read_string(&p->s, v, sub2, &to);
                        if (r >= 0 && default_route_to(to)) {
                                const char *why = cidr_problem(to, true);
                                if (why) {
                                        schema_error(&p->s, v, "%s: '%s' is not a valid CIDR (%s) or default", sub2, to, why);
                                        r = -EINVAL;
                                }
                        }
                }
                /* a route without via (on-link, scope link) is not one the agent writes */
                if (!(v = ynode_get(m, "via")))
                        schema_missing(&p->s, m, sub, "via"), r = parse_merge(r, -EINVAL);
                else {
                        pathf(sub2, sizeof(sub2), "%s.via", sub);
                        r = parse_merge(r, read_ip(p, v, sub2, &via));
                }
                if ((v = ynode_get(m, "metric"))) {
                        pathf(sub2, sizeof(sub2), "%s.metric", sub);
                        r = parse_merge(r, read_metric(p, v, sub2, &metric));
                }
                if (r >= 0 && default_route_to(to) && is_ipv6(to) != is_ipv6(via)) {
                        schema_error(&p->s, m, "%s: to '%s' and via '%s' are of different IP families", sub, to, via);
                        r = -EINVAL;
                }
                if (r >= 0)
                        r = link_add_route(l, default_route_to(to), via, metric);
                if (r == -ENOMEM)
                        return r;
                ok = parse_merge(ok, r);
        }
        return ok;
}

static int v2_gateway(struct nparser *p, const struct ynode *v, const char *path, bool v6, struct net_link *l) {
        _cleanup_free_ char *gw = NULL;
        int r = read_ip(p, v, path, &gw);
        if (r < 0)
                return r;
        if (is_ipv6(gw) != v6) {
                schema_error(&p->s, v, "%s: '%s' is not an IPv%d address", path, gw, v6 ? 6 : 4);
                return -EINVAL;
        }
        return link_add_route(l, NULL, gw, -1);
}

static int v2_match(struct nparser *p, const struct ynode *m, const char *path, struct net_link *l) {
        static const char * const keys[] = { "macaddress", "name", NULL };
        const struct ynode *v;
        char sub[160];
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, path) < 0)
                return -EINVAL;
        int ok = schema_check_keys(&p->s, m, keys, path);
        if ((v = ynode_get(m, "macaddress"))) {
                pathf(sub, sizeof(sub), "%s.macaddress", path);
                ok = parse_merge(ok, read_mac(p, v, sub, &l->match_mac));
        }
        if ((v = ynode_get(m, "name"))) {
                pathf(sub, sizeof(sub), "%s.name", path);
                ok = parse_merge(ok, read_ifname(p, v, sub, &l->match_name));
        }
        if (ok >= 0 && !l->match_mac && !l->match_name) {
                schema_error(&p->s, m, "%s: give macaddress or name", path);
                ok = -EINVAL;
        }
        return ok;
}

static int v2_nameservers(struct nparser *p, const struct ynode *m, const char *path, struct net_link *l) {
        static const char * const keys[] = { "addresses", "search", NULL };
        const struct ynode *v;
        char sub[160];
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, path) < 0)
                return -EINVAL;
        int ok = schema_check_keys(&p->s, m, keys, path);
        if ((v = ynode_get(m, "addresses"))) {
                pathf(sub, sizeof(sub), "%s.addresses", path);
                ok = parse_merge(ok, read_list(p, v, sub, false, read_ip, &l->dns));
        }
        if ((v = ynode_get(m, "search"))) {
                pathf(sub, sizeof(sub), "%s.search", path);
                ok = parse_merge(ok, read_list(p, v, sub, false, read_domain, &l->search));
        }
        return ok;
}

static int read_address(struct nparser *p, const struct ynode *n, const char *path, char **ret) {
        return schema_read_cidr(&p->s, n, path, false, ret);
}

static int v2_ethernet(struct nparser *p, const struct ynode *key, const struct ynode *m) {
        static const char * const keys[] = { "match", "set-name", "dhcp4", "dhcp6", "addresses", "gateway4", "gateway6",
                                              "routes", "nameservers", "mtu", NULL };
        char path[128], sub[192];
        const struct ynode *v;
        struct net_link *l = link_new(p, key);
        if (!l || !(l->id = strdup(key->value)))
                return -ENOMEM;
        pathf(path, sizeof(path), "ethernets.%.64s", key->value);
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, path) < 0)
                return -EINVAL;
        int ok = schema_check_keys(&p->s, m, keys, path);
#define SUB(k) (pathf(sub, sizeof(sub), "%s." k, path), sub)
        if ((v = ynode_get(m, "match")))
                ok = parse_merge(ok, v2_match(p, v, SUB("match"), l));
        else if (!interface_name_is_valid(key->value)) {
                schema_error(&p->s, key, "%s: without match, the key is the interface name, and '%s' is not one", path, key->value);
                ok = parse_merge(ok, -EINVAL);
        } else if (!(l->match_name = strdup(key->value)))
                return -ENOMEM;
        if ((v = ynode_get(m, "set-name"))) {
                ok = parse_merge(ok, read_ifname(p, v, SUB("set-name"), &l->set_name));
                if (!ynode_get(m, "match")) {
                        schema_error(&p->s, v, "%s: set-name needs a match (netplan's rule: the interface to rename is found by it)", path);
                        ok = parse_merge(ok, -EINVAL);
                }
        }
        if ((v = ynode_get(m, "dhcp4")))
                ok = parse_merge(ok, schema_read_bool(&p->s, v, SUB("dhcp4"), &l->dhcp4));
        if ((v = ynode_get(m, "dhcp6")))
                ok = parse_merge(ok, schema_read_bool(&p->s, v, SUB("dhcp6"), &l->dhcp6));
        if ((v = ynode_get(m, "addresses")))
                ok = parse_merge(ok, read_list(p, v, SUB("addresses"), false, read_address, &l->addresses));
        if ((v = ynode_get(m, "gateway4")))
                ok = parse_merge(ok, v2_gateway(p, v, SUB("gateway4"), false, l));
        if ((v = ynode_get(m, "gateway6")))
                ok = parse_merge(ok, v2_gateway(p, v, SUB("gateway6"), true, l));
        if ((v = ynode_get(m, "routes")))
                ok = parse_merge(ok, v2_routes(p, v, SUB("routes"), l));
        if ((v = ynode_get(m, "nameservers")))
                ok = parse_merge(ok, v2_nameservers(p, v, SUB("nameservers"), l));
        if ((v = ynode_get(m, "mtu")))
                ok = parse_merge(ok, read_mtu(p, v, SUB("mtu"), &l->mtu));
#undef SUB
        if (ok == -ENOMEM)
                return ok;
        return parse_merge(ok, link_set_stem(p, l, key));
}

/* Device types the agent does not configure: refused by name, so that the
 * message says what to do rather than "unknown key". */
static const char * const v2_unsupported[] = { "bonds", "bridges", "vlans", "wifis", "tunnels", "modems", "vrfs",
                                               "nm-devices", NULL };

static int parse_v2(struct nparser *p, const struct ynode *top) {
        static const char * const keys[] = { "version", "renderer", "ethernets", "bonds", "bridges", "vlans", "wifis", "tunnels",
                                             "modems", "vrfs", "nm-devices", NULL };
        const struct ynode *v;
        int ok = schema_check_keys(&p->s, top, keys, "network-config");
        for (const char * const *k = v2_unsupported; *k; k++)
                if ((v = ynode_get_key(top, *k))) {
                        schema_error(&p->s, v, "%s: not supported: the agent configures ethernets only (cloud-init/README.md, network-config)", *k);
                        ok = parse_merge(ok, -EINVAL);
                }
        if ((v = ynode_get(top, "renderer"))) {
                _cleanup_free_ char *r = NULL;
                if (schema_read_string(&p->s, v, "renderer", &r) < 0)
                        ok = parse_merge(ok, -EINVAL);
                else if (!STREQ(r, "networkd")) {
                        schema_error(&p->s, v, "renderer: '%s' is not supported: the image's network stack is systemd-networkd", r);
                        ok = parse_merge(ok, -EINVAL);
                }
        }
        if (!(v = ynode_get(top, "ethernets")))
                return ok;
        if (schema_check_kind(&p->s, v, YNODE_MAPPING, "ethernets") < 0)
                return -EINVAL;
        for (size_t i = 0; i < v->n; i++) {
                int r = v2_ethernet(p, v->keys[i], v->items[i]);
                if (r == -ENOMEM)
                        return r;
                ok = parse_merge(ok, r);
        }
        return ok;
}

/* --- version 1 (cloud-init's own) ------------------------------------------- */

static int v1_static_address(struct nparser *p, const struct ynode *m, const char *path, struct net_link *l) {
        const struct ynode *a = ynode_get(m, "address"), *nm = ynode_get(m, "netmask");
        char sub[192];
        _cleanup_free_ char *addr = NULL, *mask = NULL, *cidr = NULL;
        if (!a) {
                schema_missing(&p->s, m, path, "address");
                return -EINVAL;
        }
        pathf(sub, sizeof(sub), "%s.address", path);
        if (schema_read_string(&p->s, a, sub, &addr) < 0)
                return -EINVAL;
        if (strchr(addr, '/') || !nm) {
                if (nm) {
                        schema_error(&p->s, nm, "%s.netmask: the address has a /prefix already", path);
                        return -EINVAL;
                }
                cidr = TAKE_PTR(addr);
        } else {
                pathf(sub, sizeof(sub), "%s.netmask", path);
                if (schema_read_string(&p->s, nm, sub, &mask) < 0)
                        return -EINVAL;
                int prefix = is_ipv6(addr) ? -1 : netmask_prefix(mask);
                if (prefix < 0) {
                        schema_error(&p->s, nm, "%s: '%s' is not an IPv4 netmask (IPv6 addresses take a /prefix)", sub, mask);
                        return -EINVAL;
                }
                if (asprintf(&cidr, "%s/%d", addr, prefix) < 0)
                        return -ENOMEM;
        }
        const char *why = cidr_problem(cidr, false);
        if (why) {
                schema_error(&p->s, a, "%s.address: '%s' is not a valid CIDR (%s)", path, cidr, why);
                return -EINVAL;
        }
        return strv_extend(&l->addresses, cidr);
}

static int v1_subnet_routes(struct nparser *p, const struct ynode *n, const char *path, struct net_link *l) {
        static const char * const keys[] = { "network", "netmask", "prefix", "gateway", "metric", NULL };
        if (schema_check_kind(&p->s, n, YNODE_SEQUENCE, path) < 0)
                return -EINVAL;
        int ok = 0;
        for (size_t i = 0; i < n->n; i++) {
                const struct ynode *m = n->items[i], *v;
                char sub[160], sub2[192];
                _cleanup_free_ char *net = NULL, *mask = NULL, *gw = NULL, *to = NULL;
                long long metric = -1, prefix = -1;
                pathf(sub, sizeof(sub), "%s[%zu]", path, i);
                if (schema_check_kind(&p->s, m, YNODE_MAPPING, sub) < 0 || schema_check_keys(&p->s, m, keys, sub) < 0) {
                        ok = parse_merge(ok, -EINVAL);
                        continue;
                }
                int r = 0;
                const char *need[] = { "network", "gateway" };
                for (size_t k = 0; k < ELEMENTSOF(need); k++)
                        if (!ynode_get(m, need[k]))
                                schema_missing(&p->s, m, sub, need[k]), r = -EINVAL;
                if (r < 0) {
                        ok = parse_merge(ok, r);
                        continue;
                }
                pathf(sub2, sizeof(sub2), "%s.network", sub);
                r = schema_read_string(&p->s, ynode_get(m, "network"), sub2, &net);
                pathf(sub2, sizeof(sub2), "%s.gateway", sub);
                r = parse_merge(r, read_ip(p, ynode_get(m, "gateway"), sub2, &gw));
                if ((v = ynode_get(m, "netmask"))) {
                        pathf(sub2, sizeof(sub2), "%s.netmask", sub);
                        if (schema_read_string(&p->s, v, sub2, &mask) >= 0 && (prefix = netmask_prefix(mask)) < 0) {
                                schema_error(&p->s, v, "%s: '%s' is not an IPv4 netmask", sub2, mask);
                                r = -EINVAL;
                        }
                }
                if ((v = ynode_get(m, "prefix"))) {
                        pathf(sub2, sizeof(sub2), "%s.prefix", sub);
                        r = parse_merge(r, schema_read_int(&p->s, v, sub2, 0, 128, &prefix));
                }
                if ((v = ynode_get(m, "metric"))) {
                        pathf(sub2, sizeof(sub2), "%s.metric", sub);
                        r = parse_merge(r, read_metric(p, v, sub2, &metric));
                }
                if (r < 0) {
                        ok = parse_merge(ok, r);
                        continue;
                }
                if (strchr(net, '/') || prefix < 0)
                        to = TAKE_PTR(net);
                else if (asprintf(&to, "%s/%lld", net, prefix) < 0)
                        return -ENOMEM;
                const char *why = default_route_to(to) ? cidr_problem(to, true) : NULL;
                if (why) {
                        schema_error(&p->s, ynode_get(m, "network"), "%s.network: '%s' is not a valid CIDR (%s)", sub, to, why);
                        ok = parse_merge(ok, -EINVAL);
                        continue;
                }
                r = link_add_route(l, default_route_to(to), gw, metric);
                if (r < 0)
                        return r;
        }
        return ok;
}

static int v1_subnet(struct nparser *p, const struct ynode *m, const char *path, struct net_link *l) {
        static const char * const keys[] = { "type", "address", "netmask", "gateway", "dns_nameservers", "dns_search", "routes",
                                             NULL };
        const struct ynode *v;
        char sub[192];
        _cleanup_free_ char *type = NULL;
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, path) < 0)
                return -EINVAL;
        int ok = schema_check_keys(&p->s, m, keys, path);
        if (!(v = ynode_get(m, "type"))) {
                schema_missing(&p->s, m, path, "type");
                return -EINVAL;
        }
        pathf(sub, sizeof(sub), "%s.type", path);
        if (schema_read_string(&p->s, v, sub, &type) < 0)
                return -EINVAL;
        bool is_static = STREQ(type, "static") || STREQ(type, "static6");
        if (STREQ(type, "dhcp") || STREQ(type, "dhcp4"))
                l->dhcp4 = true;
        else if (STREQ(type, "dhcp6"))
                l->dhcp6 = true;
        else if (!is_static) {
                schema_error(&p->s, v, "%s: '%s' is not supported (static, static6, dhcp, dhcp4 or dhcp6)", sub, type);
                return -EINVAL;
        }
        if (is_static)
                ok = parse_merge(ok, v1_static_address(p, m, path, l));
        else {
                const char *only_static[] = { "address", "netmask", "gateway" };
                for (size_t k = 0; k < ELEMENTSOF(only_static); k++)
                        if ((v = ynode_get(m, only_static[k]))) {
                                schema_error(&p->s, v, "%s.%s: only a static subnet has one", path, only_static[k]);
                                ok = parse_merge(ok, -EINVAL);
                        }
        }
        if (is_static && (v = ynode_get(m, "gateway"))) {
                _cleanup_free_ char *gw = NULL;
                pathf(sub, sizeof(sub), "%s.gateway", path);
                int r = read_ip(p, v, sub, &gw);
                if (r >= 0)
                        r = link_add_route(l, NULL, gw, -1);
                ok = parse_merge(ok, r);
        }
        if ((v = ynode_get(m, "dns_nameservers"))) {
                pathf(sub, sizeof(sub), "%s.dns_nameservers", path);
                ok = parse_merge(ok, read_list(p, v, sub, false, read_ip, &l->dns));
        }
        if ((v = ynode_get(m, "dns_search"))) {
                pathf(sub, sizeof(sub), "%s.dns_search", path);
                ok = parse_merge(ok, read_list(p, v, sub, false, read_domain, &l->search));
        }
        if ((v = ynode_get(m, "routes"))) {
                pathf(sub, sizeof(sub), "%s.routes", path);
                ok = parse_merge(ok, v1_subnet_routes(p, v, sub, l));
        }
        return ok;
}

static int v1_physical(struct nparser *p, const struct ynode *m, const char *path) {
        static const char * const keys[] = { "type", "name", "mac_address", "mtu", "subnets", NULL };
        const struct ynode *v;
        char sub[160];
        int ok = schema_check_keys(&p->s, m, keys, path);
        struct net_link *l = link_new(p, m);
        if (!l)
                return -ENOMEM;
        if (!(v = ynode_get(m, "name"))) {
                schema_missing(&p->s, m, path, "name");
                return -EINVAL;
        }
        pathf(sub, sizeof(sub), "%s.name", path);
        if (read_ifname(p, v, sub, &l->id) < 0)
                return -EINVAL;
        /* cloud-init's rule: with a MAC the device is found by it and
         * given the name; without one the name is the device's */
        if ((v = ynode_get(m, "mac_address"))) {
                pathf(sub, sizeof(sub), "%s.mac_address", path);
                ok = parse_merge(ok, read_mac(p, v, sub, &l->match_mac));
                if (!(l->set_name = strdup(l->id)))
                        return -ENOMEM;
        } else if (!(l->match_name = strdup(l->id)))
                return -ENOMEM;
        if ((v = ynode_get(m, "mtu"))) {
                pathf(sub, sizeof(sub), "%s.mtu", path);
                ok = parse_merge(ok, read_mtu(p, v, sub, &l->mtu));
        }
        if ((v = ynode_get(m, "subnets"))) {
                pathf(sub, sizeof(sub), "%s.subnets", path);
                if (schema_check_kind(&p->s, v, YNODE_SEQUENCE, sub) < 0)
                        ok = parse_merge(ok, -EINVAL);
                else
                        for (size_t i = 0; i < v->n; i++) {
                                char s2[192];
                                pathf(s2, sizeof(s2), "%s[%zu]", sub, i);
                                int r = v1_subnet(p, v->items[i], s2, l);
                                if (r == -ENOMEM)
                                        return r;
                                ok = parse_merge(ok, r);
                        }
        }
        if (ok == -ENOMEM)
                return ok;
        return parse_merge(ok, link_set_stem(p, l, m));
}

/* A global nameserver entry: its servers and domains go on every link, as
 * the node has one resolver. */
static int v1_nameserver(struct nparser *p, const struct ynode *m, const char *path, char ***dns, char ***search) {
        static const char * const keys[] = { "type", "address", "search", NULL };
        const struct ynode *v;
        char sub[160];
        int ok = schema_check_keys(&p->s, m, keys, path);
        if ((v = ynode_get(m, "address"))) {
                pathf(sub, sizeof(sub), "%s.address", path);
                ok = parse_merge(ok, read_list(p, v, sub, true, read_ip, dns));
        }
        if ((v = ynode_get(m, "search"))) {
                pathf(sub, sizeof(sub), "%s.search", path);
                ok = parse_merge(ok, read_list(p, v, sub, true, read_domain, search));
        }
        return ok;
}

/* A global route goes on the link whose static subnet holds its gateway. */
static int v1_route(struct nparser *p, const struct ynode *m, const char *path) {
        static const char * const keys[] = { "type", "destination", "gateway", "metric", NULL };
        const struct ynode *v;
        char sub[160];
        _cleanup_free_ char *to = NULL, *gw = NULL;
        long long metric = -1;
        int ok = schema_check_keys(&p->s, m, keys, path);
        const char *need[] = { "destination", "gateway" };
        for (size_t k = 0; k < ELEMENTSOF(need); k++)
                if (!ynode_get(m, need[k]))
                        schema_missing(&p->s, m, path, need[k]), ok = -EINVAL;
        if (ok < 0)
                return ok;
        pathf(sub, sizeof(sub), "%s.destination", path);
        v = ynode_get(m, "destination");
        if (schema_read_string(&p->s, v, sub, &to) < 0)
                return -EINVAL;
        const char *why = default_route_to(to) ? cidr_problem(to, true) : NULL;
        if (why) {
                schema_error(&p->s, v, "%s: '%s' is not a valid CIDR (%s) or default", sub, to, why);
                ok = -EINVAL;
        }
        pathf(sub, sizeof(sub), "%s.gateway", path);
        ok = parse_merge(ok, read_ip(p, ynode_get(m, "gateway"), sub, &gw));
        if ((v = ynode_get(m, "metric"))) {
                pathf(sub, sizeof(sub), "%s.metric", path);
                ok = parse_merge(ok, read_metric(p, v, sub, &metric));
        }
        if (ok < 0)
                return ok;
        for (size_t i = 0; i < p->plan->n_links; i++) {
                struct net_link *l = &p->plan->links[i];
                STRV_FOREACH(a, l->addresses)
                        if (cidr_contains(*a, gw))
                                return link_add_route(l, default_route_to(to), gw, metric);
        }
        schema_error(&p->s, m, "%s: no interface has a static subnet that holds the gateway %s", path, gw);
        return -EINVAL;
}

static int parse_v1(struct nparser *p, const struct ynode *top) {
        static const char * const keys[] = { "version", "config", NULL };
        const struct ynode *cfg = ynode_get(top, "config");
        int ok = schema_check_keys(&p->s, top, keys, "network-config");
        _cleanup_strv_free_ char **dns = NULL, **search = NULL;
        if (!cfg) {
                schema_missing(&p->s, top, "network-config", "config");
                return -EINVAL;
        }
        if (schema_check_kind(&p->s, cfg, YNODE_SEQUENCE, "config") < 0)
                return -EINVAL;
        /* physical entries first: routes and nameservers refer to them */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < cfg->n; i++) {
                        const struct ynode *m = cfg->items[i], *t;
                        char path[64], tpath[80];
                        pathf(path, sizeof(path), "config[%zu]", i);
                        pathf(tpath, sizeof(tpath), "%s.type", path);
                        t = m->kind == YNODE_MAPPING ? ynode_get(m, "type") : NULL;
                        if (!t || t->kind != YNODE_SCALAR || ynode_is_null(t)) {
                                /* reported once, in the first pass */
                                if (pass > 0)
                                        continue;
                                if (schema_check_kind(&p->s, m, YNODE_MAPPING, path) >= 0) {
                                        if (t)
                                                schema_check_kind(&p->s, t, YNODE_SCALAR, tpath);
                                        else
                                                schema_missing(&p->s, m, path, "type");
                                }
                                ok = parse_merge(ok, -EINVAL);
                                continue;
                        }
                        const char *type = t->value;
                        int r = 0;
                        bool physical = STREQ(type, "physical");
                        if (physical != (pass == 0))
                                continue;
                        if (physical)
                                r = v1_physical(p, m, path);
                        else if (STREQ(type, "nameserver"))
                                r = v1_nameserver(p, m, path, &dns, &search);
                        else if (STREQ(type, "route"))
                                r = v1_route(p, m, path);
                        else {
                                schema_error(&p->s, t, "%s: '%s' is not supported: the agent configures physical interfaces, nameservers "
                                    "and routes (cloud-init/README.md, network-config)", tpath, type);
                                r = -EINVAL;
                        }
                        if (r == -ENOMEM)
                                return r;
                        ok = parse_merge(ok, r);
                }
        for (size_t i = 0; ok >= 0 && i < p->plan->n_links; i++) {
                struct net_link *l = &p->plan->links[i];
                STRV_FOREACH(d, dns)
                        if (!strv_contains(l->dns, *d) && strv_extend(&l->dns, *d) < 0)
                                return -ENOMEM;
                STRV_FOREACH(s, search)
                        if (!strv_contains(l->search, *s) && strv_extend(&l->search, *s) < 0)
                                return -ENOMEM;
        }
        return ok;
}

/* --- OpenStack network_data.json -------------------------------------------- */

/* Link types that are one interface of the machine, as cloud-init's
 * convert_net_json() treats them; bonds and VLANs are refused. */
static const char * const os_physical_types[] = { "bridge", "dvs", "ethernet", "hw_veb", "hyperv", "ovs", "phy", "tap",
                                                   "vhostuser", "vif", NULL };

static bool strv_has(const char * const *l, const char *s) {
        for (; *l; l++)
                if (STREQ(*l, s))
                        return true;
        return false;
}

static int os_link(struct nparser *p, const struct ynode *m, const char *path) {
        static const char * const keys[] = { "id", "type", "ethernet_mac_address", "mtu", "vif_id", "name", NULL };
        const struct ynode *v;
        char sub[160];
        _cleanup_free_ char *type = NULL;
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, path) < 0)
                return -EINVAL;
        int ok = schema_check_keys(&p->s, m, keys, path);
        struct net_link *l = link_new(p, m);
        if (!l)
                return -ENOMEM;
        const char *need[] = { "id", "type", "ethernet_mac_address" };
        for (size_t k = 0; k < ELEMENTSOF(need); k++)
                if (!ynode_get(m, need[k])) {
                        schema_missing(&p->s, m, path, need[k]);
                        ok = -EINVAL;
                }
        if (ok < 0)
                return ok;
        ok = schema_read_string(&p->s, ynode_get(m, "id"), pathf(sub, sizeof(sub), "%s.id", path), &l->id);
        v = ynode_get(m, "type");
        if (schema_read_string(&p->s, v, pathf(sub, sizeof(sub), "%s.type", path), &type) < 0)
                ok = -EINVAL;
        else if (!strv_has(os_physical_types, type)) {
                schema_error(&p->s, v, "%s: '%s' is not supported: the agent configures one interface per link (%s...)", sub, type, "phy, ovs, tap, vif");
                ok = -EINVAL;
        }
        ok = parse_merge(ok, read_mac(p, ynode_get(m, "ethernet_mac_address"), pathf(sub, sizeof(sub), "%s.ethernet_mac_address", path),
                                      &l->match_mac));
        if ((v = ynode_get(m, "mtu")) && !ynode_is_null(v))
                ok = parse_merge(ok, read_mtu(p, v, pathf(sub, sizeof(sub), "%s.mtu", path), &l->mtu));
        if (ok < 0)
                return ok;
        return link_set_stem(p, l, m);
}

static struct net_link *os_find_link(struct nparser *p, const char *id) {
        for (size_t i = 0; i < p->plan->n_links; i++)
                if (p->plan->links[i].id && STREQ(p->plan->links[i].id, id))
                        return &p->plan->links[i];
        return NULL;
}

/* services: [{type: dns, address}] -> *dns */
static int os_services(struct nparser *p, const struct ynode *n, const char *path, char ***dns) {
        static const char * const keys[] = { "type", "address", NULL };
        if (schema_check_kind(&p->s, n, YNODE_SEQUENCE, path) < 0)
                return -EINVAL;
        int ok = 0;
        for (size_t i = 0; i < n->n; i++) {
                const struct ynode *m = n->items[i], *t, *a;
                char sub[160], sub2[192];
                _cleanup_free_ char *type = NULL, *addr = NULL;
                pathf(sub, sizeof(sub), "%s[%zu]", path, i);
                if (schema_check_kind(&p->s, m, YNODE_MAPPING, sub) < 0 || schema_check_keys(&p->s, m, keys, sub) < 0 ||
                    !(t = ynode_get(m, "type")) || !(a = ynode_get(m, "address"))) {
                        if (m->kind == YNODE_MAPPING && (!ynode_get(m, "type") || !ynode_get(m, "address")))
                                schema_missing(&p->s, m, sub, ynode_get(m, "type") ? "address" : "type");
                        ok = -EINVAL;
                        continue;
                }
                if (schema_read_string(&p->s, t, pathf(sub2, sizeof(sub2), "%s.type", sub), &type) < 0) {
                        ok = -EINVAL;
                        continue;
                }
                if (!STREQ(type, "dns")) {
                        schema_error(&p->s, t, "%s: '%s' is not supported (dns)", sub2, type);
                        ok = -EINVAL;
                        continue;
                }
                if (read_ip(p, a, pathf(sub2, sizeof(sub2), "%s.address", sub), &addr) < 0) {
                        ok = -EINVAL;
                        continue;
                }
                if (!strv_contains(*dns, addr) && strv_extend(dns, addr) < 0)
                        return -ENOMEM;
        }
        return ok;
}

/* "255.255.255.0" or an IPv6 mask or a prefix number -> prefix; -1: not one */
static int os_prefix(const char *mask) {
        struct in6_addr a6;
        if (!strchr(mask, '.') && !strchr(mask, ':')) {
                char *end = NULL;
                long v = strtol(mask, &end, 10);
                return *mask && !*end && v >= 0 && v <= 128 ? (int) v : -1;
        }
        if (!strchr(mask, ':'))
                return netmask_prefix(mask);
        if (inet_pton(AF_INET6, mask, &a6) != 1)
                return -1;
        int prefix = 0;
        while (prefix < 128 && (a6.s6_addr[prefix / 8] & (0x80 >> (prefix % 8))))
                prefix++;
        for (int i = prefix; i < 128; i++)
                if (a6.s6_addr[i / 8] & (0x80 >> (i % 8)))
                        return -1;
        return prefix;
}

static int os_routes(struct nparser *p, const struct ynode *n, const char *path, struct net_link *l) {
        static const char * const keys[] = { "network", "netmask", "gateway", NULL };
        if (schema_check_kind(&p->s, n, YNODE_SEQUENCE, path) < 0)
                return -EINVAL;
        int ok = 0;
        for (size_t i = 0; i < n->n; i++) {
                const struct ynode *m = n->items[i];
                char sub[160], sub2[192];
                _cleanup_free_ char *net = NULL, *mask = NULL, *gw = NULL, *to = NULL;
                pathf(sub, sizeof(sub), "%s[%zu]", path, i);
                if (schema_check_kind(&p->s, m, YNODE_MAPPING, sub) < 0 || schema_check_keys(&p->s, m, keys, sub) < 0) {
                        ok = -EINVAL;
                        continue;
                }
                int r = 0;
                for (size_t k = 0; k < 3; k++)
                        if (!ynode_get(m, keys[k])) {
                                schema_missing(&p->s, m, sub, keys[k]);
                                r = -EINVAL;
                        }
                if (r < 0) {
                        ok = r;
                        continue;
                }
                r = read_ip(p, ynode_get(m, "network"), pathf(sub2, sizeof(sub2), "%s.network", sub), &net);
                r = parse_merge(r, read_ip(p, ynode_get(m, "gateway"), pathf(sub2, sizeof(sub2), "%s.gateway", sub), &gw));
                if (schema_read_string(&p->s, ynode_get(m, "netmask"), pathf(sub2, sizeof(sub2), "%s.netmask", sub), &mask) < 0)
                        r = -EINVAL;
                int prefix = mask ? os_prefix(mask) : -1;
                if (mask && prefix < 0) {
                        schema_error(&p->s, ynode_get(m, "netmask"), "%s: '%s' is not a netmask", sub2, mask);
                        r = -EINVAL;
                }
                if (r < 0) {
                        ok = r;
                        continue;
                }
                if (asprintf(&to, "%s/%d", net, prefix) < 0)
                        return -ENOMEM;
                const char *why = prefix == 0 ? NULL : cidr_problem(to, true);
                if (why) {
                        schema_error(&p->s, m, "%s: %s is not a valid network (%s)", sub, to, why);
                        ok = -EINVAL;
                        continue;
                }
                r = link_add_route(l, prefix == 0 ? NULL : to, gw, -1);
                if (r < 0)
                        return r;
        }
        return ok;
}

static int os_network(struct nparser *p, const struct ynode *m, const char *path) {
        static const char * const keys[] = { "id", "type", "link", "ip_address", "netmask", "routes", "network_id", "services",
                                             NULL };
        const struct ynode *v;
        char sub[160];
        _cleanup_free_ char *type = NULL, *link_id = NULL;
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, path) < 0)
                return -EINVAL;
        int ok = schema_check_keys(&p->s, m, keys, path);
        if (!ynode_get(m, "type") || !ynode_get(m, "link")) {
                schema_missing(&p->s, m, path, ynode_get(m, "type") ? "link" : "type");
                return -EINVAL;
        }
        if (schema_read_string(&p->s, ynode_get(m, "type"), pathf(sub, sizeof(sub), "%s.type", path), &type) < 0 ||
            schema_read_string(&p->s, ynode_get(m, "link"), pathf(sub, sizeof(sub), "%s.link", path), &link_id) < 0)
                return -EINVAL;
        struct net_link *l = os_find_link(p, link_id);
        if (!l) {
                schema_error(&p->s, ynode_get(m, "link"), "%s.link: no link '%s' in links", path, link_id);
                return -EINVAL;
        }
        bool is_static = STREQ(type, "ipv4") || STREQ(type, "ipv6");
        if (STREQ(type, "ipv4_dhcp"))
                l->dhcp4 = true;
        else if (STREQ(type, "ipv6_dhcp"))
                l->dhcp6 = true;
        else if (!is_static) {
                schema_error(&p->s, ynode_get(m, "type"), "%s.type: '%s' is not supported (ipv4, ipv6, ipv4_dhcp, ipv6_dhcp)", path, type);
                return -EINVAL;
        }
        if (is_static) {
                _cleanup_free_ char *addr = NULL, *mask = NULL, *cidr = NULL;
                if (!(v = ynode_get(m, "ip_address"))) {
                        schema_missing(&p->s, m, path, "ip_address");
                        return -EINVAL;
                }
                if (schema_read_string(&p->s, v, pathf(sub, sizeof(sub), "%s.ip_address", path), &addr) < 0)
                        return -EINVAL;
                const struct ynode *nm = ynode_get(m, "netmask");
                if (!strchr(addr, '/')) {
                        int prefix = -1;
                        if (nm && schema_read_string(&p->s, nm, pathf(sub, sizeof(sub), "%s.netmask", path), &mask) >= 0 &&
                            (prefix = os_prefix(mask)) < 0)
                                schema_error(&p->s, nm, "%s: '%s' is not a netmask", sub, mask);
                        if (!nm)
                                schema_missing(&p->s, m, path, "netmask");
                        if (prefix < 0)
                                return -EINVAL;
                        if (asprintf(&cidr, "%s/%d", addr, prefix) < 0)
                                return -ENOMEM;
                } else
                        cidr = TAKE_PTR(addr);
                const char *why = cidr_problem(cidr, false);
                if (why) {
                        schema_error(&p->s, v, "%s.ip_address: '%s' is not a valid address (%s)", path, cidr, why);
                        return -EINVAL;
                }
                if (strv_extend(&l->addresses, cidr) < 0)
                        return -ENOMEM;
        }
        if ((v = ynode_get(m, "routes")))
                ok = parse_merge(ok, os_routes(p, v, pathf(sub, sizeof(sub), "%s.routes", path), l));
        if ((v = ynode_get(m, "services")))
                ok = parse_merge(ok, os_services(p, v, pathf(sub, sizeof(sub), "%s.services", path), &l->dns));
        return ok;
}

static int parse_openstack(struct nparser *p, const struct ynode *top) {
        static const char * const keys[] = { "links", "networks", "services", NULL };
        const struct ynode *v;
        _cleanup_strv_free_ char **dns = NULL;
        int ok = schema_check_keys(&p->s, top, keys, "network_data.json");
        const char *lists[] = { "links", "networks" };
        for (size_t k = 0; k < 2; k++) {
                if (!(v = ynode_get(top, lists[k])))
                        continue;
                if (schema_check_kind(&p->s, v, YNODE_SEQUENCE, lists[k]) < 0) {
                        ok = -EINVAL;
                        continue;
                }
                for (size_t i = 0; i < v->n; i++) {
                        char path[64];
                        pathf(path, sizeof(path), "%s[%zu]", lists[k], i);
                        int r = k == 0 ? os_link(p, v->items[i], path) : os_network(p, v->items[i], path);
                        if (r == -ENOMEM)
                                return r;
                        ok = parse_merge(ok, r);
                }
        }
        if ((v = ynode_get(top, "services")))
                ok = parse_merge(ok, os_services(p, v, "services", &dns));
        for (size_t i = 0; ok >= 0 && i < p->plan->n_links; i++)
                STRV_FOREACH(d, dns)
                        if (!strv_contains(p->plan->links[i].dns, *d) && strv_extend(&p->plan->links[i].dns, *d) < 0)
                                return -ENOMEM;
        return ok;
}

/* --- entry points ----------------------------------------------------------- */

int netconfig_parse_openstack(const char *text, size_t len, const char *file, struct net_plan **ret, struct diag *d) {
        _cleanup_ynode_ struct ynode *root = NULL;
        _cleanup_net_plan_ struct net_plan *plan = calloc(1, sizeof(*plan));
        if (!plan || !(plan->file = strdup(file)))
                return -ENOMEM;
        /* JSON is YAML (flow style): one reader, with line and column */
        struct nparser p = { .s = { .file = file, .diag = d }, .plan = plan };
        plan->version = 0;
        int r = ynode_parse(text, len, file, &root, d);
        if (r < 0)
                return r;
        if (schema_check_kind(&p.s, root, YNODE_MAPPING, "network_data.json") < 0)
                return -EINVAL;
        r = parse_openstack(&p, root);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(plan);
        return 0;
}

int netconfig_parse(const char *text, size_t len, const char *file, struct net_plan **ret, struct diag *d) {
        _cleanup_ynode_ struct ynode *root = NULL;
        _cleanup_net_plan_ struct net_plan *plan = calloc(1, sizeof(*plan));
        if (!plan || !(plan->file = strdup(file)))
                return -ENOMEM;
        struct nparser p = { .s = { .file = file, .diag = d }, .plan = plan };
        int r = ynode_parse(text, len, file, &root, d);
        if (r < 0)
                return r;
        if (schema_check_kind(&p.s, root, YNODE_MAPPING, "network-config") < 0)
                return -EINVAL;
        /* cloud-init reads both the bare form and one under "network:" */
        const struct ynode *top = root, *v;
        if (root->n == 1 && (v = ynode_get(root, "network"))) {
                if (schema_check_kind(&p.s, v, YNODE_MAPPING, "network") < 0)
                        return -EINVAL;
                top = v;
        }
        if (!(v = ynode_get(top, "version"))) {
                schema_missing(&p.s, top, "network-config", "version");
                return -EINVAL;
        }
        long long version;
        if (ynode_int(v, 1, 2, &version) < 0) {
                schema_error(&p.s, v, "version: expected 1 or 2, got '%s'", v->kind == YNODE_SCALAR ? v->value : ynode_kind_name(v->kind));
                return -EINVAL;
        }
        plan->version = (int) version;
        r = version == 1 ? parse_v1(&p, top) : parse_v2(&p, top);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(plan);
        return 0;
}

static void net_link_done(struct net_link *l) {
        free(l->id);
        free(l->file_stem);
        free(l->match_name);
        free(l->match_mac);
        free(l->set_name);
        strv_free(l->addresses);
        for (size_t i = 0; i < l->n_routes; i++) {
                free(l->routes[i].to);
                free(l->routes[i].via);
        }
        free(l->routes);
        strv_free(l->dns);
        strv_free(l->search);
}

void net_plan_free(struct net_plan *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_links; i++)
                net_link_done(&p->links[i]);
        free(p->links);
        free(p->file);
        free(p);
}

const char *netconfig_source(const struct net_plan *p) {
        return p->version == 1 ? "the seed's network-config (version 1)"
               : p->version == 2 ? "the seed's network-config (version 2)"
                                 : "the config drive's network_data.json";
}

static const char *dhcp_value(const struct net_link *l) {
        return l->dhcp4 && l->dhcp6 ? "yes" : l->dhcp4 ? "ipv4" : "ipv6";
}

char *netconfig_render_network(const struct net_plan *p, const struct net_link *l) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return NULL;
        fprintf(f, "# Written by node-agent from %s, %s.\n[Match]\n", netconfig_source(p), l->id);
        if (l->match_mac)
                fprintf(f, "MACAddress=%s\n", l->match_mac);
        /* the name before the rename (the boot that writes this file) and
         * after it; a link found by MAC alone is found by MAC either way */
        if (l->match_name)
                fprintf(f, "Name=%s%s%s\n", l->match_name, l->set_name ? " " : "", l->set_name ? l->set_name : "");
        if (l->mtu)
                fprintf(f, "\n[Link]\nMTUBytes=%u\n", l->mtu);
        fprintf(f, "\n[Network]\n");
        if (l->dhcp4 || l->dhcp6)
                fprintf(f, "DHCP=%s\n", dhcp_value(l));
        /* as for the user-data network section (step-network.c): no router
         * advertisement adds what the seed did not give, unless it asks
         * for DHCPv6, which comes with them */
        if (!l->dhcp6)
                fprintf(f, "IPv6AcceptRA=no\n");
        STRV_FOREACH(a, l->addresses)
                fprintf(f, "Address=%s\n", *a);
        STRV_FOREACH(d, l->dns)
                fprintf(f, "DNS=%s\n", *d);
        if (l->search) {
                fprintf(f, "Domains=");
                STRV_FOREACH(s, l->search)
                        fprintf(f, "%s%s", s == l->search ? "" : " ", *s);
                fprintf(f, "\n");
        }
        for (size_t i = 0; i < l->n_routes; i++) {
                const struct net_route *r = &l->routes[i];
                fprintf(f, "\n[Route]\n");
                if (r->to)
                        fprintf(f, "Destination=%s\n", r->to);
                fprintf(f, "Gateway=%s\n", r->via);
                if (r->metric >= 0)
                        fprintf(f, "Metric=%lld\n", r->metric);
        }
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

int netconfig_render_link(const struct net_plan *p, const struct net_link *l, char **ret) {
        *ret = NULL;
        if (!l->set_name)
                return 0;
        char *text = NULL;
        int r = l->match_mac ? asprintf(&text, "# Written by node-agent from %s, %s.\n[Match]\nMACAddress=%s\n\n[Link]\nName=%s\n",
                                        netconfig_source(p), l->id, l->match_mac, l->set_name)
                             : asprintf(&text, "# Written by node-agent from %s, %s.\n[Match]\nOriginalName=%s\n\n[Link]\nName=%s\n",
                                        netconfig_source(p), l->id, l->match_name, l->set_name);
        if (r < 0)
                return -ENOMEM;
        *ret = text;
        return 0;
}
