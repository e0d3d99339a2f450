/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <string.h>
#include "basic/fileio.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "shared/manifest-decl.h"

/* --- the declaration in role.yaml ----------------------------------------- */

static bool is_var_name(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!islower((unsigned char) *s) && !isdigit((unsigned char) *s) && *s != '_')
                        return false;
        return true;
}

/* A file name in the manifests dir: no directories, no hidden files. */
static bool is_plain_file_name(const char *s) {
        /* ".yaml" alone starts with '.' */
        return *s != '.' && !strchr(s, '/') && endswith(s, ".yaml");
}

static int parse_count(struct schema_ctx *s, const struct ynode *m, const char *key, long long min, long long max,
                       int dflt, int *ret) {
        const struct ynode *n = ynode_get(m, key);
        long long v = dflt;
        char path[64];
        snprintf(path, sizeof(path), "manifests.%s", key);
        int r = n ? schema_read_int(s, n, path, min, max, &v) : 0;
        if (r < 0)
                return r;
        *ret = (int) v;
        return 0;
}

static int parse_by_topology(struct schema_ctx *s, const struct ynode *bt, const char *path, struct manifest_var *v) {
        int r = schema_check_kind(s, bt, YNODE_MAPPING, path);
        if (r < 0)
                return r;
        /* every unknown topology is reported, not only the first */
        for (size_t i = 0; i < bt->n && parse_may_go_on(r); i++) {
                int t = 0;
                while (t < _TOPOLOGY_MAX && !STREQ(bt->keys[i]->value, topology_to_string((enum topology) t)))
                        t++;
                if (t == _TOPOLOGY_MAX) {
                        diag_add(s->diag, s->file, bt->keys[i]->line, bt->keys[i]->col,
                                 "%s.by_topology: unknown topology '%s' (known: 100k, few-devices)", path, bt->keys[i]->value);
                        r = parse_merge(r, -EINVAL);
                } else
                        r = parse_merge(r, schema_read_string(s, bt->items[i], path, &v->by_topology[t]));
        }
        return r;
}

static int parse_var(struct schema_ctx *s, const struct ynode *key, const struct ynode *m, struct manifest_decl *d) {
        static const char * const keys[] = { "from", "by_topology", NULL };
        char path[160];
        snprintf(path, sizeof(path), "manifests.vars.%s", key->value);
        if (!is_var_name(key->value)) {
                diag_add(s->diag, s->file, key->line, key->col, "%s: a variable name is [a-z0-9_]+", path);
                return -EINVAL;
        }
        int r = schema_check_kind(s, m, YNODE_MAPPING, path);
        if (r >= 0)
                r = schema_check_keys(s, m, keys, path);
        if (r < 0)
                return r;
        if (!GROW(d->vars, d->n_vars))
                return -ENOMEM;
        struct manifest_var *v = &d->vars[d->n_vars++];
        if (!(v->name = strdup(key->value)))
                return -ENOMEM;
        const struct ynode *f = ynode_get(m, "from"), *bt = ynode_get(m, "by_topology");
        if (!f) {
                schema_missing(s, m, path, "from");
                return -EINVAL;
        }
        r = schema_read_string(s, f, path, &v->from);
        if (bt)
                r = parse_merge(r, parse_by_topology(s, bt, path, v));
        return r;
}

static int parse_variants(struct schema_ctx *s, const struct ynode *m, struct manifest_decl *d) {
        int r = schema_check_kind(s, m, YNODE_MAPPING, "manifests.variants");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n && parse_may_go_on(r); i++) {
                const struct ynode *k = m->keys[i];
                char path[160];
                int v = 0;
                snprintf(path, sizeof(path), "manifests.variants.%s", k->value);
                while (v < _VARIANT_MAX && !STREQ(k->value, dojot_variant_to_string((enum dojot_variant) v)))
                        v++;
                if (v == _VARIANT_MAX) {
                        diag_add(s->diag, s->file, k->line, k->col,
                                 "%s: not a dojot variant (vernemq, 100k, mosca, vernemq+lwm2m, mosca+lwm2m)", path);
                        r = parse_merge(r, -EINVAL);
                        continue;
                }
                if (!GROW(d->variants, d->n_variants))
                        return -ENOMEM;
                struct manifest_variant *mv = &d->variants[d->n_variants++];
                if (!(mv->name = strdup(k->value)))
                        return -ENOMEM;
                r = parse_merge(r, schema_read_string_list(s, m->items[i], path, &mv->tags));
        }
        /* a seed may name any variant: the role must say what each one applies */
        for (int v = 0; r >= 0 && v < _VARIANT_MAX; v++) {
                bool found = false;
                for (size_t i = 0; i < d->n_variants; i++)
                        found |= STREQ(d->variants[i].name, dojot_variant_to_string((enum dojot_variant) v));
                if (!found) {
                        diag_add(s->diag, s->file, m->line, m->col, "manifests.variants: variant '%s' is not declared",
                                 dojot_variant_to_string((enum dojot_variant) v));
                        r = -EINVAL;
                }
        }
        return r;
}

static bool var_declared(const struct manifest_decl *d, const char *name) {
        for (size_t i = 0; i < d->n_vars; i++)
                if (STREQ(d->vars[i].name, name))
                        return true;
        return false;
}

static int parse_set(struct schema_ctx *s, const struct ynode *m, size_t idx, struct manifest_decl *d) {
        static const char * const keys[] = { "file", "tags", "when", NULL };
        char path[64];
        const struct ynode *f, *t, *w;
        snprintf(path, sizeof(path), "manifests.sets[%zu]", idx);
        int r = schema_check_kind(s, m, YNODE_MAPPING, path);
        if (r >= 0)
                r = schema_check_keys(s, m, keys, path);
        if (r < 0)
                return r;
        if (!(f = ynode_get(m, "file")) || !(t = ynode_get(m, "tags"))) {
                schema_missing(s, m, path, f ? "tags" : "file");
                return -EINVAL;
        }
        if (!GROW(d->sets, d->n_sets))
                return -ENOMEM;
        struct manifest_set *ms = &d->sets[d->n_sets++];
        r = parse_merge(schema_read_string(s, f, path, &ms->file), schema_read_string_list(s, t, path, &ms->tags));
        if ((w = ynode_get(m, "when"))) {
                char wpath[80];
                snprintf(wpath, sizeof(wpath), "%s.when", path);
                if ((r = parse_merge(r, schema_read_string(s, w, wpath, &ms->when))) >= 0 && !var_declared(d, ms->when)) {
                        diag_add(s->diag, s->file, w->line, w->col, "%s: '%s' is not a variable of manifests.vars", wpath, ms->when);
                        r = -EINVAL;
                }
        }
        if (ms->file && !is_plain_file_name(ms->file)) {
                diag_add(s->diag, s->file, f->line, f->col, "%s.file: '%s' must be a plain *.yaml file name", path, ms->file);
                r = parse_merge(r, -EINVAL);
        }
        for (size_t i = 0; r >= 0 && i + 1 < d->n_sets; i++)
                if (d->sets[i].file && STREQ(d->sets[i].file, ms->file)) {      /* a failed set has no file */
                        diag_add(s->diag, s->file, f->line, f->col, "%s.file: '%s' is listed twice", path, ms->file);
                        r = -EINVAL;
                }
        return r;
}

static int parse_node_label(struct schema_ctx *s, const struct ynode *v, struct manifest_decl *d) {
        static const char * const label_keys[] = { "key", "values_from", NULL };
        int r = schema_check_kind(s, v, YNODE_MAPPING, "manifests.node_label");
        if (r >= 0)
                r = schema_check_keys(s, v, label_keys, "manifests.node_label");
        if (r < 0)
                return r;
        const struct ynode *k = ynode_get(v, "key"), *f = ynode_get(v, "values_from");
        if (!k) {
                schema_missing(s, v, "manifests.node_label", "key");
                r = -EINVAL;
        } else
                r = schema_read_string(s, k, "manifests.node_label.key", &d->label_key);
        if (f)
                r = parse_merge(r, schema_read_string(s, f, "manifests.node_label.values_from", &d->label_values_from));
        return r;
}

static int parse_decl(struct schema_ctx *s, const struct ynode *n, struct manifest_decl *d) {
        static const char * const keys[] = { "dir", "attempts", "delay_s", "label_attempts", "label_delay_s",
                                             "variants", "vars", "sets", "node_label", NULL };
        const struct ynode *v;
        int r = schema_check_keys(s, n, keys, "manifests");
        if (!(v = ynode_get(n, "dir"))) {
                schema_missing(s, n, "manifests", "dir");
                r = parse_merge(r, -EINVAL);
        } else {
                int k = schema_read_string(s, v, "manifests.dir", &d->dir);
                if (k >= 0 && (strchr(d->dir, '/') || d->dir[0] == '.')) {
                        diag_add(s->diag, s->file, v->line, v->col, "manifests.dir: '%s' must be a directory of the role", d->dir);
                        k = -EINVAL;
                }
                r = parse_merge(r, k);
        }
        r = parse_merge(r, parse_count(s, n, "attempts", 1, 1000, 30, &d->attempts));
        r = parse_merge(r, parse_count(s, n, "delay_s", 0, 3600, 10, &d->delay_s));
        r = parse_merge(r, parse_count(s, n, "label_attempts", 1, 10000, 60, &d->label_attempts));
        r = parse_merge(r, parse_count(s, n, "label_delay_s", 0, 3600, 10, &d->label_delay_s));
        if (!(v = ynode_get(n, "variants"))) {
                schema_missing(s, n, "manifests", "variants");
                r = parse_merge(r, -EINVAL);
        } else
                r = parse_merge(r, parse_variants(s, v, d));
        if ((v = ynode_get(n, "vars"))) {
                int k = schema_check_kind(s, v, YNODE_MAPPING, "manifests.vars");
                for (size_t i = 0; k >= 0 && parse_may_go_on(r) && i < v->n; i++)
                        r = parse_merge(r, parse_var(s, v->keys[i], v->items[i], d));
                r = parse_merge(r, k);
        }
        if (!(v = ynode_get(n, "sets"))) {
                schema_missing(s, n, "manifests", "sets");
                r = parse_merge(r, -EINVAL);
        } else {
                int k = schema_check_kind(s, v, YNODE_SEQUENCE, "manifests.sets");
                for (size_t i = 0; k >= 0 && parse_may_go_on(r) && i < v->n; i++)
                        r = parse_merge(r, parse_set(s, v->items[i], i, d));
                r = parse_merge(r, k);
        }
        if ((v = ynode_get(n, "node_label")))
                r = parse_merge(r, parse_node_label(s, v, d));
        return r;
}

int manifest_decl_parse(struct schema_ctx *s, const struct ynode *n, struct manifest_decl **ret) {
        int r = schema_check_kind(s, n, YNODE_MAPPING, "manifests");
        if (r < 0)
                return r;
        struct manifest_decl *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        r = parse_decl(s, n, d);
        if (r < 0) {
                manifest_decl_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

void manifest_decl_free(struct manifest_decl *d) {
        if (!d)
                return;
        free(d->dir);
        for (size_t i = 0; i < d->n_vars; i++) {
                free(d->vars[i].name);
                free(d->vars[i].from);
                for (int t = 0; t < _TOPOLOGY_MAX; t++)
                        free(d->vars[i].by_topology[t]);
        }
        free(d->vars);
        for (size_t i = 0; i < d->n_variants; i++) {
                free(d->variants[i].name);
                strv_free(d->variants[i].tags);
        }
        free(d->variants);
        for (size_t i = 0; i < d->n_sets; i++) {
                free(d->sets[i].file);
                strv_free(d->sets[i].tags);
                free(d->sets[i].when);
        }
        free(d->sets);
        free(d->label_key);
        free(d->label_values_from);
        free(d);
}
