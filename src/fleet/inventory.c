/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include "basic/fileio.h"
#include "basic/strv.h"
#include "fleet/inventory.h"
#include "shared/yamlnode.h"

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

bool inv_host_in(const struct inv_host *h, const char *group) {
        return strv_contains(h->groups, group);
}

static const struct ynode *scalar_node(const struct ynode *vars, const char *key) {
        const struct ynode *v = ynode_get(vars, key);
        return v && v->kind == YNODE_SCALAR && !ynode_is_null(v) ? v : NULL;
}

/* Replaces *field with the scalar var's value when set; records its key. */
static int take_var(const struct ynode *v, const char *key, char **field, const char **ret_key) {
        if (!v)
                return 0;
        char *copy = strdup(v->value);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        if (ret_key)
                *ret_key = key;
        return 1;
}

int mac_normalize(const char *s, char ret[static 18]) {
        char hex[12];
        size_t n = 0;
        char sep = 0;
        for (const char *p = s; *p; p++) {
                if (isxdigit((unsigned char) *p)) {
                        if (n == 12)
                                return -EINVAL;
                        hex[n++] = (char) tolower((unsigned char) *p);
                } else if ((*p == ':' || *p == '-') && n > 0 && n % 2 == 0 && (!sep || sep == *p) && p[1]) {
                        sep = *p;
                } else
                        return -EINVAL;
        }
        if (n != 12)
                return -EINVAL;
        for (size_t i = 0; i < 6; i++) {
                ret[3 * i] = hex[2 * i];
                ret[3 * i + 1] = hex[2 * i + 1];
                ret[3 * i + 2] = i < 5 ? '-' : 0;
        }
        return 0;
}

static int define_host(struct inventory *inv, const struct ynode *key, const struct ynode *vars, struct diag *d) {
        int r;
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
                if (!h->name)
                        return -ENOMEM;
        }
        if (vars && vars->kind == YNODE_MAPPING) {
                const struct ynode *v = scalar_node(vars, "ansible_host");
                if ((r = take_var(v, "ansible_host", &h->address, NULL)) < 0)
                        return r;
                if (v) {
                        h->addr_line = v->line;
                        h->addr_col = v->col;
                }
                v = scalar_node(vars, "dojot_role");
                if ((r = take_var(v, "dojot_role", &h->role_var, &h->role_key)) < 0)
                        return r;
                if (!v && (r = take_var(scalar_node(vars, "dojot.components/group"), "dojot.components/group",
                                        &h->role_var, &h->role_key)) < 0)
                        return r;
                /* The MAC: our own variable, the short one operators use, or
                 * Ansible's fact (nested, or flattened by a dumper). */
                const struct ynode *facts = ynode_get(vars, "ansible_default_ipv4");
                const struct { const char *key; const struct ynode *v; } macs[] = {
                        { "nodeos_mac", scalar_node(vars, "nodeos_mac") },
                        { "mac", scalar_node(vars, "mac") },
                        { "ansible_default_ipv4.macaddress",
                          facts && facts->kind == YNODE_MAPPING ? scalar_node(facts, "macaddress") : NULL },
                        { "ansible_default_ipv4.macaddress", scalar_node(vars, "ansible_default_ipv4.macaddress") },
                };
                for (size_t i = 0; i < ELEMENTSOF(macs); i++) {
                        if (!macs[i].v)
                                continue;
                        if ((r = take_var(macs[i].v, macs[i].key, &h->mac, &h->mac_key)) < 0)
                                return r;
                        h->mac_line = macs[i].v->line;
                        h->mac_col = macs[i].v->col;
                        break;
                }
                if ((r = take_var(scalar_node(vars, "nodeos_hostname"), "nodeos_hostname", &h->hostname_var, NULL)) < 0)
                        return r;
                v = scalar_node(vars, "nodeos_data_disk");
                if ((r = take_var(v, "nodeos_data_disk", &h->data_disk, NULL)) < 0)
                        return r;
                if (v) {
                        h->disk_line = v->line;
                        h->disk_col = v->col;
                }
        }
        if (!h->address && is_address(h->name) && !(h->address = strdup(h->name)))
                return -ENOMEM;
        return 0;
}

static int record_group(struct inventory *inv, const char *name, const struct ynode *g) {
        struct inv_group *gs = realloc(inv->groups, (inv->n_groups + 1) * sizeof(*gs));
        if (!gs)
                return -ENOMEM;
        inv->groups = gs;
        inv->groups[inv->n_groups] = (struct inv_group) { .name = strdup(name), .line = g->line, .col = g->col };
        return inv->groups[inv->n_groups++].name ? 0 : -ENOMEM;
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
                        for (size_t j = 0; j < v->n && r >= 0; j++) {
                                r = record_group(inv, v->keys[j]->value, v->keys[j]);
                                if (r >= 0)
                                        r = walk_group(inv, v->keys[j]->value, v->items[j], chain, d, depth + 1);
                        }
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
                for (size_t i = 0; i < inv->n_groups; i++)
                        free(inv->groups[i].name);
                inv->n_groups = 0;
                for (size_t i = 0; i < inv->n; i++) {
                        strv_free(inv->hosts[i].groups);
                        inv->hosts[i].groups = NULL;
                }
                r = walk_group(inv, "all", all, &chain, d, 0);
        }
        if (r < 0) {
                inventory_free(inv);
                return r;
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
                free(h->data_disk);
                strv_free(h->groups);
        }
        free(inv->hosts);
        for (size_t i = 0; i < inv->n_groups; i++)
                free(inv->groups[i].name);
        free(inv->groups);
        strv_free(inv->dangling);
        free(inv->file);
        free(inv);
}
