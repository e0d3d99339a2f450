/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <string.h>
#include "fileio.h"
#include "inventory.h"
#include "strv.h"
#include "yamlnode.h"

static bool is_address(const char *s) {
        unsigned char buf[16];
        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static struct inv_host *find_mut(struct inventory *inv, const char *ref) {
        for (size_t i = 0; i < inv->n; i++)
                if (STREQ(inv->hosts[i].name, ref))
                        return &inv->hosts[i];
        for (size_t i = 0; i < inv->n; i++)
                if (inv->hosts[i].address && STREQ(inv->hosts[i].address, ref))
                        return &inv->hosts[i];
        return NULL;
}

const struct inv_host *inventory_find(const struct inventory *inv, const char *ref) {
        return find_mut((struct inventory *) inv, ref);
}

int inv_host_in(const struct inv_host *h, const char *group) {
        return strv_contains(h->groups, group);
}

static char *scalar_var(const struct ynode *vars, const char *key) {
        const struct ynode *v = ynode_get(vars, key);
        return v && v->kind == YNODE_SCALAR && !ynode_is_null(v) ? strdup(v->value) : NULL;
}

static int define_host(struct inventory *inv, const struct ynode *key, const struct ynode *vars, struct diag *d) {
        if (vars && vars->kind != YNODE_MAPPING && !ynode_is_null(vars)) {
                diag_add(d, inv->file, vars->line, vars->col, "host '%s': expected a mapping of host variables", key->value);
                return -EINVAL;
        }
        struct inv_host *h = find_mut(inv, key->value);
        if (!h) {
                struct inv_host *hs = realloc(inv->hosts, (inv->n + 1) * sizeof(*hs));
                if (!hs)
                        return -ENOMEM;
                inv->hosts = hs;
                h = &inv->hosts[inv->n++];
                *h = (struct inv_host) { .name = strdup(key->value), .line = key->line, .col = key->col };
        }
        if (vars && vars->kind == YNODE_MAPPING) {
                char *a = scalar_var(vars, "ansible_host");
                if (a) {
                        free(h->address);
                        h->address = a;
                }
                char *role = scalar_var(vars, "dojot_role");
                if (!role)
                        role = scalar_var(vars, "dojot.components/group");
                if (role) {
                        free(h->role_var);
                        h->role_var = role;
                }
                char *mac = scalar_var(vars, "nodeos_mac"), *hn = scalar_var(vars, "nodeos_hostname");
                if (mac) {
                        free(h->mac);
                        h->mac = mac;
                }
                if (hn) {
                        free(h->hostname_var);
                        h->hostname_var = hn;
                }
        }
        if (!h->address && is_address(h->name))
                h->address = strdup(h->name);
        return 0;
}

/* A group's members, recursively; *members collects host refs with their position. */
static int walk_group(struct inventory *inv, const char *name, const struct ynode *g, char ***chain,
                      struct diag *d, int depth);

static int add_membership(struct inventory *inv, const struct ynode *ref, char * const *chain) {
        struct inv_host *h = find_mut(inv, ref->value);
        if (!h) {
                char *rec = NULL;
                if (asprintf(&rec, "%s\t%s\t%zu:%zu", chain[strv_length(chain) - 1], ref->value, ref->line, ref->col) < 0)
                        return -ENOMEM;
                return strv_consume(&inv->dangling, rec);
        }
        STRV_FOREACH(g, chain)
                if (!strv_contains(h->groups, *g) && strv_extend(&h->groups, *g) < 0)
                        return -ENOMEM;
        return 0;
}

static int walk_group(struct inventory *inv, const char *name, const struct ynode *g, char ***chain,
                      struct diag *d, int depth) {
        int r;
        if (depth > 16) {
                diag_add(d, inv->file, g->line, g->col, "group '%s': nesting too deep", name);
                return -EINVAL;
        }
        if (ynode_is_null(g))
                return 0;
        if (g->kind != YNODE_MAPPING) {
                diag_add(d, inv->file, g->line, g->col, "group '%s': expected a mapping with hosts/children/vars, got %s",
                         name, ynode_kind_name(g->kind));
                return -EINVAL;
        }
        r = strv_extend(chain, name);
        if (r < 0)
                return r;
        for (size_t i = 0; i < g->n && r >= 0; i++) {
                const char *k = g->keys[i]->value;
                const struct ynode *v = g->items[i];
                if (STREQ(k, "hosts")) {
                        if (ynode_is_null(v))
                                continue;
                        if (v->kind != YNODE_MAPPING) {
                                diag_add(d, inv->file, v->line, v->col, "group '%s': hosts must be a mapping", name);
                                r = -EINVAL;
                                break;
                        }
                        for (size_t j = 0; j < v->n && r >= 0; j++) {
                                if (STREQ(name, "all") || (v->items[j]->kind == YNODE_MAPPING && v->items[j]->n > 0))
                                        r = define_host(inv, v->keys[j], v->items[j], d);
                                if (r >= 0 && !STREQ(name, "all"))
                                        r = add_membership(inv, v->keys[j], *chain);
                        }
                } else if (STREQ(k, "children")) {
                        if (ynode_is_null(v))
                                continue;
                        if (v->kind != YNODE_MAPPING) {
                                diag_add(d, inv->file, v->line, v->col, "group '%s': children must be a mapping", name);
                                r = -EINVAL;
                                break;
                        }
                        for (size_t j = 0; j < v->n && r >= 0; j++)
                                r = walk_group(inv, v->keys[j]->value, v->items[j], chain, d, depth + 1);
                } else if (!STREQ(k, "vars")) {
                        diag_add(d, inv->file, g->keys[i]->line, g->keys[i]->col,
                                 "group '%s': unknown key '%s' (want hosts, children or vars; is the indentation right?)", name, k);
                        r = -EINVAL;
                }
        }
        free((*chain)[strv_length(*chain) - 1]);
        (*chain)[strv_length(*chain) - 1] = NULL;
        return r;
}

int inventory_parse(const char *buf, size_t len, const char *file, struct inventory **ret, struct diag *d) {
        _cleanup_ynode_ struct ynode *root = NULL;
        int r = ynode_parse(buf, len, file, &root, d);
        if (r < 0)
                return r;
        struct ynode *all = ynode_get(root, "all");
        if (!all) {
                diag_add(d, file, root->line, root->col, "expected a top-level 'all' group");
                return -EINVAL;
        }
        struct inventory *inv = calloc(1, sizeof(*inv));
        if (!inv || !(inv->file = strdup(file))) {
                free(inv);
                return -ENOMEM;
        }
        /* Two passes: define every host first (all.hosts and hosts with
         * vars anywhere), then resolve group memberships by name or address. */
        _cleanup_strv_free_ char **chain = NULL;
        r = walk_group(inv, "all", all, &chain, d, 0);
        if (r >= 0) {
                strv_free(inv->dangling);
                inv->dangling = NULL;
                for (size_t i = 0; i < inv->n; i++) {
                        strv_free(inv->hosts[i].groups);
                        inv->hosts[i].groups = NULL;
                }
                r = walk_group(inv, "all", all, &chain, d, 0);
        }
        if (r < 0 || diag_count(d) > 0) {
                inventory_free(inv);
                return r < 0 ? r : -EINVAL;
        }
        *ret = inv;
        return 0;
}

int inventory_load(const char *path, struct inventory **ret, struct diag *d) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_full_file(path, &text, &len);
        if (r < 0) {
                diag_add(d, path, 0, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        return inventory_parse(text, len, path, ret, d);
}

void inventory_free(struct inventory *inv) {
        if (!inv)
                return;
        for (size_t i = 0; i < inv->n; i++) {
                struct inv_host *h = &inv->hosts[i];
                free(h->name);
                free(h->address);
                free(h->role_var);
                free(h->mac);
                free(h->hostname_var);
                strv_free(h->groups);
        }
        free(inv->hosts);
        strv_free(inv->dangling);
        free(inv->file);
        free(inv);
}
