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
        return *s && *s != '.' && !strchr(s, '/') && strlen(s) > 5 && STREQ(s + strlen(s) - 5, ".yaml");
}

static bool parse_count(struct schema_ctx *s, const struct ynode *m, const char *key, long long min, long long max,
                        int dflt, int *ret) {
        const struct ynode *n = ynode_get(m, key);
        long long v = dflt;
        char path[64];
        snprintf(path, sizeof(path), "manifests.%s", key);
        if (n && !schema_int(s, n, path, min, max, &v))
                return false;
        *ret = (int) v;
        return true;
}

static bool parse_var(struct schema_ctx *s, const struct ynode *key, const struct ynode *m, struct manifest_decl *d) {
        static const char * const keys[] = { "from", "by_topology", NULL };
        char path[160];
        snprintf(path, sizeof(path), "manifests.vars.%s", key->value);
        if (!is_var_name(key->value)) {
                diag_add(s->diag, s->file, key->line, key->col, "%s: a variable name is [a-z0-9_]+", path);
                return false;
        }
        if (!schema_expect(s, m, YNODE_MAPPING, path) || !schema_known_keys(s, m, keys, path) || !GROW(d->vars, d->n_vars))
                return false;
        struct manifest_var *v = &d->vars[d->n_vars++];
        bool ok = (v->name = strdup(key->value)) != NULL;
        const struct ynode *f = ynode_get(m, "from"), *bt = ynode_get(m, "by_topology");
        if (!f) {
                schema_missing(s, m, path, "from");
                return false;
        }
        ok &= schema_string(s, f, path, &v->from);
        if (bt && schema_expect(s, bt, YNODE_MAPPING, path))
                for (size_t i = 0; i < bt->n; i++) {
                        int t = 0;
                        while (t < _TOPOLOGY_MAX && !STREQ(bt->keys[i]->value, topology_to_string((enum topology) t)))
                                t++;
                        if (t == _TOPOLOGY_MAX) {
                                diag_add(s->diag, s->file, bt->keys[i]->line, bt->keys[i]->col,
                                         "%s.by_topology: unknown topology '%s' (known: 100k, few-devices)", path,
                                         bt->keys[i]->value);
                                ok = false;
                        } else
                                ok &= schema_string(s, bt->items[i], path, &v->by_topology[t]);
                }
        else
                ok &= bt == NULL;
        return ok;
}

static bool parse_variants(struct schema_ctx *s, const struct ynode *m, struct manifest_decl *d) {
        if (!schema_expect(s, m, YNODE_MAPPING, "manifests.variants"))
                return false;
        bool ok = true;
        for (size_t i = 0; i < m->n; i++) {
                const struct ynode *k = m->keys[i];
                char path[160];
                int v = 0;
                snprintf(path, sizeof(path), "manifests.variants.%s", k->value);
                while (v < _VARIANT_MAX && !STREQ(k->value, dojot_variant_to_string((enum dojot_variant) v)))
                        v++;
                if (v == _VARIANT_MAX) {
                        diag_add(s->diag, s->file, k->line, k->col,
                                 "%s: not a dojot variant (vernemq, 100k, mosca, vernemq+lwm2m, mosca+lwm2m)", path);
                        ok = false;
                        continue;
                }
                if (!GROW(d->variants, d->n_variants))
                        return false;
                struct manifest_variant *mv = &d->variants[d->n_variants++];
                ok &= (mv->name = strdup(k->value)) != NULL;
                ok &= schema_string_list(s, m->items[i], path, &mv->tags);
        }
        /* a seed may name any variant: the role must say what each one applies */
        for (int v = 0; ok && v < _VARIANT_MAX; v++) {
                bool found = false;
                for (size_t i = 0; i < d->n_variants; i++)
                        found |= STREQ(d->variants[i].name, dojot_variant_to_string((enum dojot_variant) v));
                if (!found) {
                        diag_add(s->diag, s->file, m->line, m->col, "manifests.variants: variant '%s' is not declared",
                                 dojot_variant_to_string((enum dojot_variant) v));
                        ok = false;
                }
        }
        return ok;
}

static bool parse_set(struct schema_ctx *s, const struct ynode *m, size_t idx, struct manifest_decl *d) {
        static const char * const keys[] = { "file", "tags", NULL };
        char path[64];
        const struct ynode *f, *t;
        snprintf(path, sizeof(path), "manifests.sets[%zu]", idx);
        if (!schema_expect(s, m, YNODE_MAPPING, path) || !schema_known_keys(s, m, keys, path))
                return false;
        if (!(f = ynode_get(m, "file")) || !(t = ynode_get(m, "tags"))) {
                schema_missing(s, m, path, f ? "tags" : "file");
                return false;
        }
        if (!GROW(d->sets, d->n_sets))
                return false;
        struct manifest_set *ms = &d->sets[d->n_sets++];
        bool ok = schema_string(s, f, path, &ms->file) & schema_string_list(s, t, path, &ms->tags);
        if (ms->file && !is_plain_file_name(ms->file)) {
                diag_add(s->diag, s->file, f->line, f->col, "%s.file: '%s' must be a plain *.yaml file name", path, ms->file);
                ok = false;
        }
        for (size_t i = 0; ok && i + 1 < d->n_sets; i++)
                if (d->sets[i].file && STREQ(d->sets[i].file, ms->file)) {      /* a failed set has no file */
                        diag_add(s->diag, s->file, f->line, f->col, "%s.file: '%s' is listed twice", path, ms->file);
                        ok = false;
                }
        return ok;
}

bool manifest_decl_parse(struct schema_ctx *s, const struct ynode *n, struct manifest_decl **ret) {
        static const char * const keys[] = { "dir", "attempts", "delay_s", "label_attempts", "label_delay_s",
                                             "variants", "vars", "sets", "node_label", NULL };
        static const char * const label_keys[] = { "key", "values_from", NULL };
        const struct ynode *v;
        if (!schema_expect(s, n, YNODE_MAPPING, "manifests"))
                return false;
        struct manifest_decl *d = calloc(1, sizeof(*d));
        if (!d)
                return false;
        bool ok = schema_known_keys(s, n, keys, "manifests");
        if (!(v = ynode_get(n, "dir")))
                schema_missing(s, n, "manifests", "dir"), ok = false;
        else if (schema_string(s, v, "manifests.dir", &d->dir) && (strchr(d->dir, '/') || d->dir[0] == '.')) {
                diag_add(s->diag, s->file, v->line, v->col, "manifests.dir: '%s' must be a directory of the role", d->dir);
                ok = false;
        }
        ok &= parse_count(s, n, "attempts", 1, 1000, 30, &d->attempts);
        ok &= parse_count(s, n, "delay_s", 0, 3600, 10, &d->delay_s);
        ok &= parse_count(s, n, "label_attempts", 1, 10000, 60, &d->label_attempts);
        ok &= parse_count(s, n, "label_delay_s", 0, 3600, 10, &d->label_delay_s);
        if (!(v = ynode_get(n, "variants")))
                schema_missing(s, n, "manifests", "variants"), ok = false;
        else
                ok &= parse_variants(s, v, d);
        if ((v = ynode_get(n, "vars")) && schema_expect(s, v, YNODE_MAPPING, "manifests.vars"))
                for (size_t i = 0; i < v->n; i++)
                        ok &= parse_var(s, v->keys[i], v->items[i], d);
        if (!(v = ynode_get(n, "sets")))
                schema_missing(s, n, "manifests", "sets"), ok = false;
        else if (schema_expect(s, v, YNODE_SEQUENCE, "manifests.sets"))
                for (size_t i = 0; i < v->n; i++)
                        ok &= parse_set(s, v->items[i], i, d);
        else
                ok = false;
        if ((v = ynode_get(n, "node_label")) && schema_expect(s, v, YNODE_MAPPING, "manifests.node_label") &&
            schema_known_keys(s, v, label_keys, "manifests.node_label")) {
                const struct ynode *k = ynode_get(v, "key"), *f = ynode_get(v, "values_from");
                if (!k)
                        schema_missing(s, v, "manifests.node_label", "key"), ok = false;
                else
                        ok &= schema_string(s, k, "manifests.node_label.key", &d->label_key);
                if (f)
                        ok &= schema_string(s, f, "manifests.node_label.values_from", &d->label_values_from);
        } else
                ok &= v == NULL;
        if (!ok) {
                manifest_decl_free(d);
                return false;
        }
        *ret = d;
        return true;
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
        }
        free(d->sets);
        free(d->label_key);
        free(d->label_values_from);
        free(d);
}
