/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <string.h>
#include "basic/fileio.h"
#include "basic/strv.h"
#include "shared/manifests.h"
#include "shared/renderer.h"
#include "shared/role.h"
#include "shared/schema.h"
#include "shared/yamlnode.h"

#define ROLE_SCHEMA_VERSION 1

static const char * const kubernetes_modes[] = { "init", "join", "none", NULL };

static bool in_list(const char * const *l, const char *v) {
        for (; *l; l++)
                if (STREQ(*l, v))
                        return true;
        return false;
}

static int parse_topologies(struct schema_ctx *s, const struct ynode *n, const char *path, unsigned *ret) {
        if (!n) {
                *ret = TOPOLOGY_ALL;
                return 0;
        }
        int res = schema_check_kind(s, n, YNODE_SEQUENCE, path);
        if (res < 0)
                return res;
        *ret = 0;
        for (size_t i = 0; i < n->n; i++) {
                const struct ynode *t = n->items[i];
                bool found = false;
                for (int k = 0; k < _TOPOLOGY_MAX; k++)
                        if (t->kind == YNODE_SCALAR && STREQ(t->value, topology_to_string((enum topology) k))) {
                                *ret |= TOPOLOGY_BIT(k);
                                found = true;
                        }
                if (!found) {
                        diag_add(s->diag, s->file, t->line, t->col, "%s[%zu]: unknown topology '%s' (known: 100k, few-devices)",
                                 path, i, t->kind == YNODE_SCALAR ? t->value : "?");
                        res = -EINVAL;
                }
        }
        return res;
}

/* Calls item() for each mapping of a list key, with "key[i]" as its path. */
typedef int (*item_fn)(struct schema_ctx *s, const struct ynode *m, const char *path, struct role *r);

static int each_mapping(struct schema_ctx *s, const struct ynode *list, const char *key, struct role *r, item_fn item) {
        int res = schema_check_kind(s, list, YNODE_SEQUENCE, key);
        if (res < 0)
                return res;
        for (size_t i = 0; i < list->n; i++) {
                char path[128];
                snprintf(path, sizeof(path), "%s[%zu]", key, i);
                int k = schema_check_kind(s, list->items[i], YNODE_MAPPING, path);
                res = parse_merge(res, k < 0 ? k : item(s, list->items[i], path, r));
        }
        return res;
}

/* The required key's node in *ret; -EINVAL, reported, when it is missing. */
static int need(struct schema_ctx *s, const struct ynode *m, const char *path, const char *key, const struct ynode **ret) {
        *ret = ynode_get(m, key);
        if (*ret)
                return 0;
        schema_missing(s, m, path, key);
        return -EINVAL;
}

/* Absolute and normalized: the agent joins these under --root, so a "." or
 * ".." component (anywhere, also last) could point outside the tree. */
static int check_absolute_path(struct schema_ctx *s, const struct ynode *n, const char *path, const char *v) {
        bool ok = v[0] == '/' && !strstr(v, "//");
        for (const char *c = v; ok && *c; ) {
                c++;                            /* past '/' */
                size_t l = strcspn(c, "/");
                ok = !((l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'));
                c += l;
        }
        if (ok)
                return 0;
        diag_add(s->diag, s->file, n->line, n->col, "%s: '%s' must be an absolute path without . or .. components", path, v);
        return -EINVAL;
}

/* A string that is an absolute path. */
static int read_path(struct schema_ctx *s, const struct ynode *n, const char *path, char **ret) {
        int res = schema_read_string(s, n, path, ret);
        return res < 0 ? res : check_absolute_path(s, n, path, *ret);
}

static int sysctl_item(struct schema_ctx *s, const struct ynode *m, const char *path, struct role *r) {
        static const char * const keys[] = { "key", "value", "value_from", "origin", NULL };
        const struct ynode *k, *v, *o;
        bool from = ynode_get(m, "value_from") && !ynode_get(m, "value");
        int res = schema_check_keys(s, m, keys, path);
        if (res < 0 || (res = need(s, m, path, "key", &k)) < 0 || (res = need(s, m, path, from ? "value_from" : "value", &v)) < 0 ||
            (res = need(s, m, path, "origin", &o)) < 0)
                return res;
        if (!GROW(r->sysctls, r->n_sysctls))
                return -ENOMEM;
        struct role_sysctl *sc = &r->sysctls[r->n_sysctls++];
        *sc = (struct role_sysctl) { .line = v->line, .col = v->col };
        char sk[160], sv[160], so[160];
        snprintf(sk, sizeof(sk), "%s.key", path);
        snprintf(sv, sizeof(sv), from ? "%s.value_from" : "%s.value", path);
        snprintf(so, sizeof(so), "%s.origin", path);
        res = parse_merge(schema_read_string(s, k, sk, &sc->key), schema_read_string(s, v, sv, from ? &sc->value_from : &sc->value));
        res = parse_merge(res, schema_read_string(s, o, so, &sc->origin));
        if (res >= 0 && (strspn(sc->key, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(sc->key) || strstr(sc->key, ".."))) {
                diag_add(s->diag, s->file, k->line, k->col, "%s.key: '%s' is not a sysctl name", path, sc->key);
                res = -EINVAL;
        }
        /* Earlier entries that failed to parse have no key. */
        for (size_t i = 0; res >= 0 && i + 1 < r->n_sysctls; i++)
                if (r->sysctls[i].key && STREQ(r->sysctls[i].key, sc->key)) {
                        diag_add(s->diag, s->file, k->line, k->col, "%s.key: '%s' is set twice", path, sc->key);
                        res = -EINVAL;
                }
        return res;
}

static int volume_item(struct schema_ctx *s, const struct ynode *m, const char *path, struct role *r) {
        static const char * const keys[] = { "path", "owner", "group", "mode", "topologies", NULL };
        const struct ynode *p, *o, *g, *md;
        long long uid = 0, gid = 0;
        char sub[160];
        int res = schema_check_keys(s, m, keys, path);
        if (res < 0 || (res = need(s, m, path, "path", &p)) < 0 || (res = need(s, m, path, "owner", &o)) < 0 ||
            (res = need(s, m, path, "group", &g)) < 0 || (res = need(s, m, path, "mode", &md)) < 0)
                return res;
        if (!GROW(r->volumes, r->n_volumes))
                return -ENOMEM;
        struct role_volume *v = &r->volumes[r->n_volumes++];
        snprintf(sub, sizeof(sub), "%s.path", path);
        res = read_path(s, p, sub, &v->path);
        snprintf(sub, sizeof(sub), "%s.owner", path);
        res = parse_merge(res, schema_read_int(s, o, sub, 0, 65535, &uid));
        snprintf(sub, sizeof(sub), "%s.group", path);
        res = parse_merge(res, schema_read_int(s, g, sub, 0, 65535, &gid));
        snprintf(sub, sizeof(sub), "%s.mode", path);
        res = parse_merge(res, schema_read_mode(s, md, sub, &v->mode));
        snprintf(sub, sizeof(sub), "%s.topologies", path);
        res = parse_merge(res, parse_topologies(s, ynode_get(m, "topologies"), sub, &v->topologies));
        v->uid = (uid_t) uid;
        v->gid = (gid_t) gid;
        for (size_t i = 0; res >= 0 && i + 1 < r->n_volumes; i++)
                if (r->volumes[i].path && STREQ(r->volumes[i].path, v->path) && (r->volumes[i].topologies & v->topologies)) {
                        diag_add(s->diag, s->file, p->line, p->col, "%s.path: '%s' is declared twice", path, v->path);
                        res = -EINVAL;
                }
        return res;
}

static int when_lb_mode(struct schema_ctx *s, const struct ynode *m, const char *path, char **ret) {
        const struct ynode *w = ynode_get(m, "when_lb_mode");
        char sub[160];
        if (!w)
                return 0;
        snprintf(sub, sizeof(sub), "%s.when_lb_mode", path);
        int res = schema_read_string(s, w, sub, ret);
        if (res < 0)
                return res;
        if (STREQ(*ret, "haproxy") || STREQ(*ret, "nginx"))
                return 0;
        diag_add(s->diag, s->file, w->line, w->col, "%s.when_lb_mode: '%s' is not an lb mode (haproxy, nginx)", path, *ret);
        return -EINVAL;
}

static int file_item(struct schema_ctx *s, const struct ynode *m, const char *path, struct role *r) {
        static const char * const keys[] = { "renderer", "dest", "mode", "check", "when_lb_mode", "reload", NULL };
        const struct ynode *rn, *d, *md, *c, *rl;
        char sub[160];
        int res = schema_check_keys(s, m, keys, path);
        if (res < 0 || (res = need(s, m, path, "renderer", &rn)) < 0 || (res = need(s, m, path, "dest", &d)) < 0 ||
            (res = need(s, m, path, "mode", &md)) < 0)
                return res;
        if (!GROW(r->files, r->n_files))
                return -ENOMEM;
        struct role_file *f = &r->files[r->n_files++];
        snprintf(sub, sizeof(sub), "%s.renderer", path);
        res = schema_read_string(s, rn, sub, &f->renderer);
        /* Caught here, when the catalog loads, not halfway through a run. */
        if (res >= 0 && !renderer_find(f->renderer)) {
                diag_add(s->diag, s->file, rn->line, rn->col, "%s: unknown renderer '%s' (see src/shared/renderer.c)", sub,
                         f->renderer);
                res = -EINVAL;
        }
        snprintf(sub, sizeof(sub), "%s.dest", path);
        res = parse_merge(res, read_path(s, d, sub, &f->dest));
        snprintf(sub, sizeof(sub), "%s.mode", path);
        res = parse_merge(res, schema_read_mode(s, md, sub, &f->mode));
        if ((c = ynode_get(m, "check"))) {
                snprintf(sub, sizeof(sub), "%s.check", path);
                res = parse_merge(res, schema_read_string_list(s, c, sub, &f->check));
                if (res >= 0 && !strv_contains(f->check, "{}")) {
                        diag_add(s->diag, s->file, c->line, c->col, "%s: must name the candidate file as \"{}\"", sub);
                        res = -EINVAL;
                }
        }
        if ((rl = ynode_get(m, "reload"))) {
                snprintf(sub, sizeof(sub), "%s.reload", path);
                res = parse_merge(res, schema_read_string(s, rl, sub, &f->reload));
        }
        return parse_merge(res, when_lb_mode(s, m, path, &f->when_lb_mode));
}

static int limit_item(struct schema_ctx *s, const struct ynode *m, const char *path, struct role *r) {
        static const char * const keys[] = { "unit", "nofile", "origin", NULL };
        const struct ynode *u, *n, *o;
        long long v = 0;
        int res = schema_check_keys(s, m, keys, path);
        if (res < 0 || (res = need(s, m, path, "unit", &u)) < 0 || (res = need(s, m, path, "nofile", &n)) < 0 ||
            (res = need(s, m, path, "origin", &o)) < 0)
                return res;
        if (!GROW(r->limits, r->n_limits))
                return -ENOMEM;
        struct role_limit *l = &r->limits[r->n_limits++];
        char su[160], sn[160], so[160];
        snprintf(su, sizeof(su), "%s.unit", path);
        snprintf(sn, sizeof(sn), "%s.nofile", path);
        snprintf(so, sizeof(so), "%s.origin", path);
        res = parse_merge(schema_read_string(s, u, su, &l->unit), schema_read_int(s, n, sn, 1024, 1LL << 30, &v));
        res = parse_merge(res, schema_read_string(s, o, so, &l->origin));
        l->nofile = (unsigned long long) v;
        return res;
}

static int service_item(struct schema_ctx *s, const struct ynode *m, const char *path, struct role *r) {
        static const char * const keys[] = { "unit", "when_lb_mode", NULL };
        const struct ynode *u;
        int res = schema_check_keys(s, m, keys, path);
        if (res < 0 || (res = need(s, m, path, "unit", &u)) < 0)
                return res;
        if (!GROW(r->services, r->n_services))
                return -ENOMEM;
        struct role_service *sv = &r->services[r->n_services++];
        char sub[160];
        snprintf(sub, sizeof(sub), "%s.unit", path);
        return parse_merge(schema_read_string(s, u, sub, &sv->unit), when_lb_mode(s, m, path, &sv->when_lb_mode));
}

static int lb_target_item(struct schema_ctx *s, const struct ynode *m, const char *path, struct role *r) {
        static const char * const keys[] = { "service", "topologies", NULL };
        const struct ynode *sv;
        char sub[160];
        int res = schema_check_keys(s, m, keys, path);
        if (res < 0 || (res = need(s, m, path, "service", &sv)) < 0)
                return res;
        if (!GROW(r->lb_targets, r->n_lb_targets))
                return -ENOMEM;
        struct role_lb_target *t = &r->lb_targets[r->n_lb_targets++];
        /* which services exist is the lb role's data: role_catalog_load checks */
        t->line = sv->line;
        t->col = sv->col;
        snprintf(sub, sizeof(sub), "%s.service", path);
        res = schema_read_string(s, sv, sub, &t->service);
        snprintf(sub, sizeof(sub), "%s.topologies", path);
        return parse_merge(res, parse_topologies(s, ynode_get(m, "topologies"), sub, &t->topologies));
}

/* lb_services[].modes: the lb modes that forward the service; all if absent */
static int lb_modes(struct schema_ctx *s, const struct ynode *n, const char *path, unsigned *ret) {
        _cleanup_strv_free_ char **l = NULL;
        *ret = LB_MODE_BIT(LB_MODE_HAPROXY) | LB_MODE_BIT(LB_MODE_NGINX);
        if (!n)
                return 0;
        int res = schema_read_string_list(s, n, path, &l);
        if (res < 0)
                return res;
        *ret = 0;
        for (size_t i = 0; l[i]; i++) {
                if (STREQ(l[i], "haproxy"))
                        *ret |= LB_MODE_BIT(LB_MODE_HAPROXY);
                else if (STREQ(l[i], "nginx"))
                        *ret |= LB_MODE_BIT(LB_MODE_NGINX);
                else {
                        diag_add(s->diag, s->file, n->items[i]->line, n->items[i]->col, "%s[%zu]: '%s' is not an lb mode (haproxy, nginx)",
                                 path, i, l[i]);
                        return -EINVAL;
                }
        }
        return 0;
}

static int lb_proto(struct schema_ctx *s, const struct ynode *v, const char *path, enum lb_proto *ret) {
        _cleanup_free_ char *proto = NULL;
        int res = schema_read_string(s, v, path, &proto);
        if (res < 0)
                return res;
        if (STREQ(proto, "tcp") || STREQ(proto, "udp")) {
                *ret = STREQ(proto, "udp") ? LB_UDP : LB_TCP;
                return 0;
        }
        diag_add(s->diag, s->file, v->line, v->col, "%s: '%s' is not tcp or udp", path, proto);
        return -EINVAL;
}

static int lb_listener_item(struct schema_ctx *s, const struct ynode *m, const char *path, struct role_lb_service *svc) {
        static const char * const keys[] = { "name", "port", "proto", "nodeport", "when", "long_lived", NULL };
        const struct ynode *nm, *pt, *np, *v;
        char sub[256];
        long long port = 0;
        int res = schema_check_kind(s, m, YNODE_MAPPING, path);
        if (res < 0 || (res = schema_check_keys(s, m, keys, path)) < 0 || (res = need(s, m, path, "name", &nm)) < 0 ||
            (res = need(s, m, path, "port", &pt)) < 0 || (res = need(s, m, path, "nodeport", &np)) < 0)
                return res;
        if (!GROW(svc->listeners, svc->n_listeners))
                return -ENOMEM;
        struct role_lb_listener *l = &svc->listeners[svc->n_listeners++];
        *l = (struct role_lb_listener) {};
        snprintf(sub, sizeof(sub), "%s.name", path);
        res = schema_read_string(s, nm, sub, &l->name);
        snprintf(sub, sizeof(sub), "%s.port", path);
        res = parse_merge(res, schema_read_int(s, pt, sub, 1, 65535, &port));
        l->port = (int) port;
        snprintf(sub, sizeof(sub), "%s.nodeport", path);
        res = parse_merge(res, schema_read_string(s, np, sub, &l->nodeport));
        if ((v = ynode_get(m, "proto"))) {
                snprintf(sub, sizeof(sub), "%s.proto", path);
                res = parse_merge(res, lb_proto(s, v, sub, &l->proto));
        }
        if ((v = ynode_get(m, "when"))) {
                snprintf(sub, sizeof(sub), "%s.when", path);
                res = parse_merge(res, schema_read_string(s, v, sub, &l->when));
        }
        if ((v = ynode_get(m, "long_lived"))) {
                snprintf(sub, sizeof(sub), "%s.long_lived", path);
                res = parse_merge(res, schema_read_bool(s, v, sub, &l->long_lived));
        }
        return res;
}

static int lb_service_item(struct schema_ctx *s, const struct ynode *m, const char *path, struct role *r) {
        static const char * const keys[] = { "name", "modes", "listeners", NULL };
        const struct ynode *nm, *ls;
        char sub[160];
        int res = schema_check_keys(s, m, keys, path);
        if (res < 0 || (res = need(s, m, path, "name", &nm)) < 0 || (res = need(s, m, path, "listeners", &ls)) < 0)
                return res;
        if (!GROW(r->lb_services, r->n_lb_services))
                return -ENOMEM;
        struct role_lb_service *svc = &r->lb_services[r->n_lb_services++];
        *svc = (struct role_lb_service) {};
        snprintf(sub, sizeof(sub), "%s.name", path);
        res = schema_read_string(s, nm, sub, &svc->name);
        snprintf(sub, sizeof(sub), "%s.modes", path);
        res = parse_merge(res, lb_modes(s, ynode_get(m, "modes"), sub, &svc->modes));
        snprintf(sub, sizeof(sub), "%s.listeners", path);
        int k = schema_check_kind(s, ls, YNODE_SEQUENCE, sub);
        if (k < 0)
                return k;
        for (size_t i = 0; i < ls->n; i++) {
                char lp[192];
                snprintf(lp, sizeof(lp), "%s[%zu]", sub, i);
                res = parse_merge(res, lb_listener_item(s, ls->items[i], lp, svc));
        }
        return res;
}

/* "1883,5683-5684,...": the ports the role's lb listens on at or above the
 * role's own ip_local_port_range start (else the kernel's 32768), which an
 * outgoing socket could otherwise hold while haproxy/nginx restarts. */
static char *lb_reserved_ports(const struct role *r) {
        unsigned long low = 32768;
        for (size_t i = 0; i < r->n_sysctls; i++)
                if (STREQ(r->sysctls[i].key, "net.ipv4.ip_local_port_range") && r->sysctls[i].value)
                        low = strtoul(r->sysctls[i].value, NULL, 10);
        bool used[65536] = {};
        for (size_t i = 0; i < r->n_lb_services; i++)
                for (size_t j = 0; j < r->lb_services[i].n_listeners; j++)
                        if ((unsigned long) r->lb_services[i].listeners[j].port >= low)
                                used[r->lb_services[i].listeners[j].port] = true;
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return NULL;
        const char *sep = "";
        for (int p = 1; p < 65536; p++) {
                if (!used[p])
                        continue;
                int end = p;
                while (end + 1 < 65536 && used[end + 1])
                        end++;
                fprintf(f, end > p ? "%s%d-%d" : "%s%d", sep, p, end);
                sep = ",";
                p = end;
        }
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

/* sysctls whose value_from names data of the role itself */
static int resolve_sysctl_values(struct schema_ctx *s, struct role *r) {
        for (size_t i = 0; i < r->n_sysctls; i++) {
                struct role_sysctl *sc = &r->sysctls[i];
                if (sc->value || !sc->value_from)
                        continue;
                if (!STREQ(sc->value_from, "lb_listen_ports")) {
                        diag_add(s->diag, s->file, sc->line, sc->col, "sysctls[%zu].value_from: '%s' is not known (lb_listen_ports)", i,
                                 sc->value_from);
                        return -EINVAL;
                }
                if (r->n_lb_services == 0) {
                        diag_add(s->diag, s->file, sc->line, sc->col, "sysctls[%zu].value_from: lb_listen_ports, but the role has no lb_services", i);
                        return -EINVAL;
                }
                if (!(sc->value = lb_reserved_ports(r)))
                        return -ENOMEM;
        }
        return 0;
}

/* services: plain unit names or {unit, when_lb_mode} mappings */
static int parse_services(struct schema_ctx *s, const struct ynode *list, struct role *r) {
        int res = schema_check_kind(s, list, YNODE_SEQUENCE, "services");
        if (res < 0)
                return res;
        for (size_t i = 0; i < list->n; i++) {
                char path[64];
                const struct ynode *it = list->items[i];
                snprintf(path, sizeof(path), "services[%zu]", i);
                if (it->kind == YNODE_MAPPING)
                        res = parse_merge(res, service_item(s, it, path, r));
                else if (GROW(r->services, r->n_services)) {
                        res = parse_merge(res, schema_read_string(s, it, path, &r->services[r->n_services].unit));
                        r->n_services++;
                } else
                        return -ENOMEM;
        }
        return res;
}

static int parse_identity(struct schema_ctx *s, const struct ynode *root, const char *dirname, struct role *r) {
        const struct ynode *n;
        long long version;
        int res = 0, k;
        if (!(n = ynode_get(root, "schema_version"))) {
                schema_missing(s, root, "role", "schema_version");
                res = -EINVAL;
        } else if ((k = schema_read_int(s, n, "schema_version", 0, 1000, &version)) < 0)
                res = k;
        else if (version != ROLE_SCHEMA_VERSION) {
                diag_add(s->diag, s->file, n->line, n->col, "schema_version: %lld is not supported (this agent reads %d)",
                         version, ROLE_SCHEMA_VERSION);
                res = -EINVAL;
        }
        if (!(n = ynode_get(root, "name"))) {
                schema_missing(s, root, "role", "name");
                res = parse_merge(res, -EINVAL);
        } else if ((k = schema_read_string(s, n, "name", &r->name)) < 0)
                res = parse_merge(res, k);
        else if (dirname && !STREQ(r->name, dirname)) {
                diag_add(s->diag, s->file, n->line, n->col, "name: '%s' differs from its directory '%s'", r->name, dirname);
                res = parse_merge(res, -EINVAL);
        }
        if ((n = ynode_get(root, "description")))
                res = parse_merge(res, schema_read_string(s, n, "description", &r->description));
        if ((n = ynode_get(root, "group")))
                res = parse_merge(res, schema_read_string(s, n, "group", &r->group));
        if (!(n = ynode_get(root, "kubernetes"))) {
                schema_missing(s, root, "role", "kubernetes");
                res = parse_merge(res, -EINVAL);
        } else if ((k = schema_read_string(s, n, "kubernetes", &r->kubernetes)) < 0)
                res = parse_merge(res, k);
        else if (!in_list(kubernetes_modes, r->kubernetes)) {
                diag_add(s->diag, s->file, n->line, n->col, "kubernetes: '%s' is not one of init, join, none", r->kubernetes);
                res = parse_merge(res, -EINVAL);
        }
        if (r->kubernetes && !STREQ(r->kubernetes, "none") && !r->group && STREQ(r->kubernetes, "join")) {
                diag_add(s->diag, s->file, root->line, root->col, "role: a role that joins the cluster needs a group (its dojot.components/group label)");
                res = parse_merge(res, -EINVAL);
        }
        return res;
}

static int parse_role(struct schema_ctx *s, const struct ynode *root, const char *dirname, struct role *r) {
        static const char * const keys[] = { "schema_version", "name", "description", "group", "kubernetes", "swap_off",
                                             "kernel_modules", "sysctls", "volumes", "limits", "files", "services",
                                             "lb_targets", "lb_services", "manifests", NULL };
        static const struct { const char *key; item_fn item; } lists[] = {
                { "sysctls", sysctl_item }, { "volumes", volume_item }, { "limits", limit_item }, { "files", file_item },
        };
        const struct ynode *n;
        int res = schema_check_kind(s, root, YNODE_MAPPING, "role");
        if (res < 0)
                return res;
        res = parse_merge(schema_check_keys(s, root, keys, "role"), parse_identity(s, root, dirname, r));
        if ((n = ynode_get(root, "swap_off")))
                res = parse_merge(res, schema_read_bool(s, n, "swap_off", &r->swap_off));
        if ((n = ynode_get(root, "kernel_modules")))
                res = parse_merge(res, schema_read_string_list(s, n, "kernel_modules", &r->kernel_modules));
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                if ((n = ynode_get(root, lists[i].key)))
                        res = parse_merge(res, each_mapping(s, n, lists[i].key, r, lists[i].item));
        if ((n = ynode_get(root, "services")))
                res = parse_merge(res, parse_services(s, n, r));
        if ((n = ynode_get(root, "lb_targets")))
                res = parse_merge(res, each_mapping(s, n, "lb_targets", r, lb_target_item));
        if ((n = ynode_get(root, "lb_services")))
                res = parse_merge(res, each_mapping(s, n, "lb_services", r, lb_service_item));
        if (res >= 0)
                res = resolve_sysctl_values(s, r);
        if ((n = ynode_get(root, "manifests")))
                res = parse_merge(res, manifest_decl_parse(s, n, &r->manifests));
        return res;
}

int role_parse(const char *buf, size_t len, const char *file, const char *dirname, struct role **ret, struct diag *d) {
        _cleanup_ynode_ struct ynode *root = NULL;
        struct schema_ctx s = { .file = file, .diag = d };
        size_t before = diag_count(d);
        int r = ynode_parse(buf, len, file, &root, d);
        if (r < 0)
                return r;
        struct role *role = calloc(1, sizeof(*role));
        if (!role)
                return -ENOMEM;
        r = parse_role(&s, root, dirname, role);
        /* every -EINVAL has its diagnostic; one without a cause is a bug here */
        if (r >= 0 && diag_count(d) > before)
                r = -EINVAL;
        if (r < 0) {
                role_free(role);
                return r;
        }
        *ret = role;
        return 0;
}

/* roles/<name>/images: one image reference per line, '#' comments. */
static int read_images(const char *dir, char ***ret, struct diag *d) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        if (asprintf(&path, "%s/images", dir) < 0)
                return -ENOMEM;
        int r = read_full_file(path, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                diag_add(d, path, 0, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        size_t lineno = 0;
        /* strsep, not strtok: blank lines count, so the line numbers are right */
        for (char *rest = text, *line; (line = strsep(&rest, "\n"));) {
                lineno++;
                line += strspn(line, " \t");
                line[strcspn(line, "#")] = 0;
                size_t l = strlen(line);
                while (l > 0 && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r'))
                        line[--l] = 0;
                if (l == 0)
                        continue;
                if (strpbrk(line, " \t")) {
                        diag_add(d, path, lineno, 1, "'%s' is not one image reference", line);
                        return -EINVAL;
                }
                r = strv_extend(ret, line);
                if (r < 0)
                        return r;
        }
        return 0;
}

int role_load(const char *role_dir, struct role **ret, struct diag *d) {
        _cleanup_free_ char *path = NULL, *text = NULL, *dircopy = strdup(role_dir);
        size_t len;
        if (!dircopy || asprintf(&path, "%s/role.yaml", role_dir) < 0)
                return -ENOMEM;
        int r = read_full_file(path, &text, &len);
        if (r < 0) {
                diag_add(d, path, 0, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        size_t l = strlen(dircopy);
        while (l > 1 && dircopy[l - 1] == '/')
                dircopy[--l] = 0;
        const char *base = strrchr(dircopy, '/');
        struct role *role = NULL;
        r = role_parse(text, len, path, base ? base + 1 : dircopy, &role, d);
        if (r < 0)
                return r;
        role->dir = strdup(role_dir);
        r = read_images(role_dir, &role->images, d);
        if (r < 0 || !role->dir) {
                role_free(role);
                return r < 0 ? r : -ENOMEM;
        }
        *ret = role;
        return 0;
}

void role_free(struct role *r) {
        if (!r)
                return;
        free(r->name);
        free(r->dir);
        free(r->description);
        manifest_decl_free(r->manifests);
        free(r->group);
        free(r->kubernetes);
        strv_free(r->kernel_modules);
        for (size_t i = 0; i < r->n_sysctls; i++) {
                free(r->sysctls[i].key);
                free(r->sysctls[i].value);
                free(r->sysctls[i].value_from);
                free(r->sysctls[i].origin);
        }
        free(r->sysctls);
        for (size_t i = 0; i < r->n_volumes; i++)
                free(r->volumes[i].path);
        free(r->volumes);
        for (size_t i = 0; i < r->n_files; i++) {
                free(r->files[i].renderer);
                free(r->files[i].dest);
                strv_free(r->files[i].check);
                free(r->files[i].when_lb_mode);
                free(r->files[i].reload);
        }
        free(r->files);
        for (size_t i = 0; i < r->n_limits; i++) {
                free(r->limits[i].unit);
                free(r->limits[i].origin);
        }
        free(r->limits);
        for (size_t i = 0; i < r->n_services; i++) {
                free(r->services[i].unit);
                free(r->services[i].when_lb_mode);
        }
        free(r->services);
        for (size_t i = 0; i < r->n_lb_targets; i++)
                free(r->lb_targets[i].service);
        free(r->lb_targets);
        for (size_t i = 0; i < r->n_lb_services; i++) {
                for (size_t j = 0; j < r->lb_services[i].n_listeners; j++) {
                        free(r->lb_services[i].listeners[j].name);
                        free(r->lb_services[i].listeners[j].nodeport);
                        free(r->lb_services[i].listeners[j].when);
                }
                free(r->lb_services[i].listeners);
                free(r->lb_services[i].name);
        }
        free(r->lb_services);
        strv_free(r->images);
        free(r);
}

/* New "mqtt, apigw, ..." of the catalog's lb services, or "none". */
static char *lb_service_names(const struct role_catalog *c) {
        _cleanup_strv_free_ char **l = NULL;
        for (size_t i = 0; i < c->n; i++)
                for (size_t j = 0; j < c->roles[i]->n_lb_services; j++)
                        if (!strv_contains(l, c->roles[i]->lb_services[j].name) && strv_extend(&l, c->roles[i]->lb_services[j].name) < 0)
                                return NULL;
        return l ? strv_join(l, ", ") : strdup("none");
}

/* lb_targets name services an lb role of the same catalog declares */
static int check_lb_targets(const struct role_catalog *c, struct diag *d) {
        size_t before = diag_count(d);
        for (size_t i = 0; i < c->n; i++) {
                const struct role *r = c->roles[i];
                for (size_t t = 0; t < r->n_lb_targets; t++) {
                        if (role_catalog_lb_service(c, r->lb_targets[t].service))
                                continue;
                        _cleanup_free_ char *file = NULL, *known = lb_service_names(c);
                        if (!known || asprintf(&file, "%s/role.yaml", r->dir) < 0)
                                return -ENOMEM;
                        diag_add(d, file, r->lb_targets[t].line, r->lb_targets[t].col,
                                 "lb_targets[%zu].service: '%s' is not an lb service (%s)", t, r->lb_targets[t].service, known);
                }
        }
        return diag_count(d) > before ? -EINVAL : 0;
}

const struct role_lb_service *role_catalog_lb_service(const struct role_catalog *c, const char *name) {
        for (size_t i = 0; i < c->n; i++)
                for (size_t j = 0; j < c->roles[i]->n_lb_services; j++)
                        if (STREQ(c->roles[i]->lb_services[j].name, name))
                                return &c->roles[i]->lb_services[j];
        return NULL;
}

const struct role *role_catalog_lb_role(const struct role_catalog *c, enum lb_mode m) {
        for (size_t i = 0; i < c->n; i++)
                for (size_t j = 0; j < c->roles[i]->n_lb_services; j++)
                        if (c->roles[i]->lb_services[j].modes & LB_MODE_BIT(m))
                                return c->roles[i];
        return NULL;
}

static int role_dir_filter(const struct dirent *de) {
        return de->d_name[0] != '.';
}

int role_catalog_load(const char *dir, struct role_catalog **ret, struct diag *d) {
        struct dirent **names = NULL;
        int n = scandir(dir, &names, role_dir_filter, alphasort);
        if (n < 0) {
                int r = negative_errno();
                diag_add(d, dir, 0, 0, "cannot read the role catalog: %s", strerror(-r));
                return r;
        }
        struct role_catalog *cat = calloc(1, sizeof(*cat));
        int r = cat ? 0 : -ENOMEM;
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *sub = NULL, *yaml = NULL;
                if (r >= 0 && asprintf(&sub, "%s/%s", dir, names[i]->d_name) >= 0 && asprintf(&yaml, "%s/role.yaml", sub) >= 0 &&
                    access(yaml, F_OK) == 0) {
                        struct role *role = NULL;
                        int k = role_load(sub, &role, d);
                        if (k < 0)
                                r = k;
                        else {
                                struct role **rs = realloc(cat->roles, (cat->n + 1) * sizeof(*rs));
                                if (!rs) {
                                        role_free(role);
                                        r = -ENOMEM;
                                } else {
                                        cat->roles = rs;
                                        cat->roles[cat->n++] = role;
                                }
                        }
                }
                free(names[i]);
        }
        free(names);
        if (r >= 0 && cat->n == 0) {
                diag_add(d, dir, 0, 0, "no roles found (expected <role>/role.yaml)");
                r = -ENOENT;
        }
        if (r >= 0)
                r = check_lb_targets(cat, d);
        if (r < 0) {
                role_catalog_free(cat);
                return r;
        }
        *ret = cat;
        return 0;
}

void role_catalog_free(struct role_catalog *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++)
                role_free(c->roles[i]);
        free(c->roles);
        free(c);
}

const struct role *role_catalog_find(const struct role_catalog *c, const char *name) {
        for (size_t i = 0; c && i < c->n; i++)
                if (STREQ(c->roles[i]->name, name))
                        return c->roles[i];
        return NULL;
}

char **role_catalog_names(const struct role_catalog *c) {
        char **l = calloc(1, sizeof(char *));
        for (size_t i = 0; l && i < c->n; i++)
                if (strv_extend(&l, c->roles[i]->name) < 0) {
                        strv_free(l);
                        return NULL;
                }
        return l;
}

/* --- seed vs catalog ------------------------------------------------------- */

static bool lb_target_allows(const struct role *r, const char *service, enum topology t) {
        for (size_t i = 0; i < r->n_lb_targets; i++)
                if (STREQ(r->lb_targets[i].service, service) && (r->lb_targets[i].topologies & TOPOLOGY_BIT(t)))
                        return true;
        return false;
}

static char *roles_allowing(const struct role_catalog *cat, const char *service, enum topology t) {
        _cleanup_strv_free_ char **l = NULL;
        for (size_t i = 0; i < cat->n; i++)
                if (lb_target_allows(cat->roles[i], service, t))
                        strv_extend(&l, cat->roles[i]->name);
        return l ? strv_join(l, ", ") : strdup("none");
}

static void check_backends(const struct role_catalog *cat, const struct node_config *c, const struct node_list *l,
                           const char *service, struct diag *d) {
        for (size_t i = 0; i < l->n; i++) {
                const struct node_ref *nr = &l->nodes[i];
                const struct role *r = role_catalog_find(cat, nr->role);
                if (!r || lb_target_allows(r, service, c->topology))
                        continue;
                _cleanup_free_ char *allowed = roles_allowing(cat, service, c->topology);
                diag_add(d, nr->pos.file, nr->pos.line, nr->pos.col,
                         "lb.%s_nodes[%zu]: node '%s' has role %s, which cannot be an %s backend in topology %s (only: %s)",
                         service, i, nr->name, nr->role, service, topology_to_string(c->topology), allowed);
        }
}

static void require(struct diag *d, const struct node_config *c, bool present, const char *key, const struct role *r) {
        if (!present)
                diag_add(d, c->user_data_file, c->role_pos.line, c->role_pos.col, "%s: required for role %s (kubernetes: %s)",
                         key, r->name, r->kubernetes);
}

int role_check_config(const struct role_catalog *cat, const struct node_config *c, struct diag *d) {
        size_t before = diag_count(d);
        const struct role *r = role_catalog_find(cat, c->role);
        if (!r) {
                diag_add(d, c->user_data_file, c->role_pos.line, c->role_pos.col, "role: unknown role '%s'", c->role);
                return -EINVAL;
        }
        const struct cluster_config *k = &c->cluster;
        if (STREQ(r->kubernetes, "init")) {
                require(d, c, c->has_cluster && k->advertise_address, "cluster.advertise_address", r);
                require(d, c, c->has_cluster && k->ca_cert, "cluster.ca_cert", r);
                require(d, c, c->has_cluster && secret_is_set(&k->ca_key), "cluster.ca_key", r);
                require(d, c, c->has_cluster && secret_is_set(&k->token), "cluster.token", r);
        }
        if (k->kured_pos.line > 0 && !r->manifests)
                diag_add(d, k->kured_pos.file, k->kured_pos.line, k->kured_pos.col,
                         "cluster.kured: role %s applies no cluster manifests; set it in the master's seed", r->name);
        if (STREQ(r->kubernetes, "join")) {
                require(d, c, c->has_cluster && k->api_endpoint, "cluster.api_endpoint", r);
                require(d, c, c->has_cluster && secret_is_set(&k->token), "cluster.token", r);
                require(d, c, c->has_cluster && k->ca_cert_hashes && k->ca_cert_hashes[0], "cluster.ca_cert_hashes", r);
        }
        bool needs_lb = false;
        for (size_t i = 0; i < r->n_files; i++)
                needs_lb |= r->files[i].when_lb_mode != NULL;
        if (needs_lb && (!c->has_lb || c->lb.mode == LB_MODE_NONE))
                diag_add(d, c->user_data_file, c->role_pos.line, c->role_pos.col, "lb: required for role %s (with lb.mode haproxy or nginx)", r->name);
        if (c->has_lb) {
                for (size_t i = 0; i < c->lb.n_groups; i++) {
                        const struct lb_backends *g = &c->lb.groups[i];
                        if (role_catalog_lb_service(cat, g->service)) {
                                check_backends(cat, c, &g->nodes, g->service, d);
                                continue;
                        }
                        _cleanup_free_ char *known = lb_service_names(cat);
                        diag_add(d, g->pos.file, g->pos.line, g->pos.col, "unknown key '%s_nodes' in lb (the lb services: %s)",
                                 g->service, known ? known : "?");
                }
                if (lb_backends_total(&c->lb) == 0) {
                        _cleanup_free_ char *known = lb_service_names(cat);
                        diag_add(d, c->lb.pos.file, c->lb.pos.line, c->lb.pos.col, "lb: no backends (no <service>_nodes lists a node; services: %s)",
                                 known ? known : "?");
                }
        }
        return diag_count(d) > before ? -EINVAL : 0;
}
