/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <string.h>
#include "basic/fileio.h"
#include "basic/strv.h"
#include "shared/manifests.h"

#define GROW(arr, n) ({ __typeof__(arr) _a = realloc((arr), ((n) + 1) * sizeof(*(arr))); \
                        if (_a) { (arr) = _a; memset(&(arr)[(n)], 0, sizeof(*(arr))); } _a != NULL; })

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

/* --- templates ------------------------------------------------------------ */

/* Characters a substituted string may hold: enough for names, versions,
 * CIDRs, domain names and IPs; nothing that could end a YAML scalar. */
static bool is_safe_value(const char *s) {
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/@+-") == strlen(s);
}

/* The text a variable substitutes as; NULL with a reason in *why. */
static char *format_value(const cJSON *v, const char **why) {
        char *out = NULL;
        if (cJSON_IsBool(v))
                return strdup(cJSON_IsTrue(v) ? "true" : "false");
        if (cJSON_IsNumber(v)) {
                if (asprintf(&out, "%lld", (long long) v->valuedouble) < 0)
                        return NULL;
                return out;
        }
        if (cJSON_IsString(v)) {
                if (!is_safe_value(v->valuestring)) {
                        *why = "holds characters outside [A-Za-z0-9._:/@+-]";
                        return NULL;
                }
                return strdup(v->valuestring);
        }
        *why = "is not a string, number or bool";
        return NULL;
}

struct out {
        char *buf;
        size_t len, cap;
};

static bool out_add(struct out *o, const char *s, size_t n) {
        if (o->len + n + 1 > o->cap) {
                size_t cap = (o->cap ? o->cap * 2 : 4096) + n;
                char *b = realloc(o->buf, cap);
                if (!b)
                        return false;
                o->buf = b;
                o->cap = cap;
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
        o->buf[o->len] = 0;
        return true;
}

/* "{{#if name}}" and friends, on a line of its own: 1 open-if, 2
 * open-unless, 3 close-if, 4 close-unless, 0 none; name copied to name. */
static int control_line(const char *line, size_t len, char *name, size_t namesz) {
        while (len > 0 && (line[0] == ' ' || line[0] == '\t'))
                line++, len--;
        while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
                len--;
        static const struct { const char *prefix; int kind; } k[] = {
                { "{{#if ", 1 }, { "{{#unless ", 2 }, { "{{/if", 3 }, { "{{/unless", 4 } };
        if (len < 4 || strncmp(line, "{{", 2) != 0 || strncmp(line + len - 2, "}}", 2) != 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(k); i++) {
                size_t pl = strlen(k[i].prefix);
                if (len < pl + 2 || strncmp(line, k[i].prefix, pl) != 0)
                        continue;
                size_t nl = len - pl - 2;
                while (nl > 0 && line[pl] == ' ')
                        pl++, nl--;
                if (nl >= namesz)
                        return -1;
                memcpy(name, line + pl, nl);
                name[nl] = 0;
                if (k[i].kind >= 3 && nl != 0)
                        return -1;
                return k[i].kind;
        }
        return 0;
}

#define MAX_NESTING 16

int manifest_template_render(const char *text, const char *file, const cJSON *vars, char **ret, struct diag *diag) {
        struct out o = {};
        int stack[MAX_NESTING];         /* the open block kinds */
        bool keep[MAX_NESTING + 1] = { true };
        size_t depth = 0, lineno = 0, before = diag_count(diag);
        size_t open_line[MAX_NESTING];

        for (const char *p = text; *p; ) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                char name[64];
                lineno++;
                int kind = control_line(p, len, name, sizeof(name));
                if (kind < 0)
                        diag_add(diag, file, lineno, 1, "malformed template directive");
                else if (kind == 1 || kind == 2) {
                        const cJSON *v = cJSON_GetObjectItemCaseSensitive(vars, name);
                        if (!v || !cJSON_IsBool(v))
                                diag_add(diag, file, lineno, 1, "'%s' is not a declared bool variable", name);
                        if (depth == MAX_NESTING) {
                                diag_add(diag, file, lineno, 1, "blocks nested deeper than %d", MAX_NESTING);
                                break;
                        }
                        stack[depth] = kind;
                        open_line[depth] = lineno;
                        keep[depth + 1] = keep[depth] && (kind == 1 ? cJSON_IsTrue(v) : !cJSON_IsTrue(v));
                        depth++;
                } else if (kind == 3 || kind == 4) {
                        if (depth == 0 || stack[depth - 1] != kind - 2)
                                diag_add(diag, file, lineno, 1, "%s without a matching opening", kind == 3 ? "{{/if}}" : "{{/unless}}");
                        else
                                depth--;
                } else {
                        /* substitute {{name}}; names are checked in dropped blocks too */
                        bool emit = keep[depth];
                        const char *q = p, *end = p + len;
                        while (q < end) {
                                const char *open = memmem(q, (size_t) (end - q), "{{", 2);
                                if (!open) {
                                        if (emit && !out_add(&o, q, (size_t) (end - q)))
                                                goto oom;
                                        break;
                                }
                                const char *close = memmem(open, (size_t) (end - open), "}}", 2);
                                if (emit && !out_add(&o, q, (size_t) (open - q)))
                                        goto oom;
                                size_t nlen = close ? (size_t) (close - open - 2) : 0;
                                if (!close || nlen == 0 || nlen >= sizeof(name)) {
                                        diag_add(diag, file, lineno, (size_t) (open - p) + 1, "malformed {{...}}");
                                        break;
                                }
                                memcpy(name, open + 2, nlen);
                                name[nlen] = 0;
                                const cJSON *v = cJSON_GetObjectItemCaseSensitive(vars, name);
                                const char *why = "is not declared in role.yaml's manifests.vars";
                                _cleanup_free_ char *val = v ? format_value(v, &why) : NULL;
                                if (!val) {
                                        diag_add(diag, file, lineno, (size_t) (open - p) + 1, "{{%s}}: the variable %s", name, why);
                                        break;
                                }
                                if (emit && !out_add(&o, val, strlen(val)))
                                        goto oom;
                                q = close + 2;
                        }
                        if (emit && !out_add(&o, "\n", 1))
                                goto oom;
                }
                p = nl ? nl + 1 : p + len;
        }
        if (depth > 0)
                diag_add(diag, file, open_line[depth - 1], 1, "block is never closed");
        if (!o.buf && !out_add(&o, "", 0))
                goto oom;
        if (diag_count(diag) > before) {
                free(o.buf);
                return -EINVAL;
        }
        *ret = o.buf;
        return 0;
oom:
        free(o.buf);
        return -ENOMEM;
}

/* --- YAML to JSON ---------------------------------------------------------- */

/* A plain scalar as YAML 1.1 (go-yaml v2, which Kubernetes' YAML reader
 * uses) resolves it: null, bool, int (decimal, 0x hex, 0-prefixed octal),
 * float, else a string. */
static cJSON *scalar_to_json(const struct ynode *n) {
        bool b;
        if (n->quoted)
                return cJSON_CreateString(n->value);
        if (ynode_is_null(n))
                return cJSON_CreateNull();
        if (ynode_bool(n, &b) == 0)
                return cJSON_CreateBool(b);
        const char *s = n->value, *digits = s + (*s == '-' || *s == '+');
        char *end;
        if (*digits && isdigit((unsigned char) *digits)) {
                int base = 10;
                if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
                        base = 16;
                else if (digits[0] == '0' && digits[1])
                        base = 8;
                errno = 0;
                long long v = strtoll(s, &end, base);
                if (!*end && errno == 0)
                        return cJSON_CreateNumber((double) v);
        }
        if (*digits && (isdigit((unsigned char) *digits) || *digits == '.') && strpbrk(s, ".eE")) {
                double d = strtod(s, &end);
                if (!*end && strspn(s, "+-0123456789.eE") == strlen(s))
                        return cJSON_CreateNumber(d);
        }
        return cJSON_CreateString(s);
}

static cJSON *ynode_to_json(const struct ynode *n) {
        cJSON *j;
        switch (n->kind) {
        case YNODE_SCALAR:
                return scalar_to_json(n);
        case YNODE_SEQUENCE:
                if (!(j = cJSON_CreateArray()))
                        return NULL;
                for (size_t i = 0; i < n->n; i++) {
                        cJSON *c = ynode_to_json(n->items[i]);
                        if (!c || !cJSON_AddItemToArray(j, c)) {
                                cJSON_Delete(c);
                                cJSON_Delete(j);
                                return NULL;
                        }
                }
                return j;
        case YNODE_MAPPING:
                if (!(j = cJSON_CreateObject()))
                        return NULL;
                for (size_t i = 0; i < n->n; i++) {
                        cJSON *c = ynode_to_json(n->items[i]);
                        if (!c || !cJSON_AddItemToObject(j, n->keys[i]->value, c)) {
                                cJSON_Delete(c);
                                cJSON_Delete(j);
                                return NULL;
                        }
                }
                return j;
        }
        return NULL;
}

/* "---" alone (or followed by blanks or a comment) starts a document. */
static bool is_doc_separator(const char *line, size_t len) {
        if (len < 3 || strncmp(line, "---", 3) != 0)
                return false;
        for (size_t i = 3; i < len; i++) {
                if (line[i] == '#')
                        return true;
                if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
                        return false;
        }
        return true;
}

/* Parses the document of text[start, end), whose first line is first_line,
 * keeping libyaml's positions true to the whole file. */
static int parse_doc(const char *text, size_t start, size_t end, size_t first_line, const char *file,
                     cJSON *arr, size_t **lines, struct diag *diag) {
        _cleanup_free_ char *buf = malloc(first_line - 1 + (end - start) + 1);
        _cleanup_ynode_ struct ynode *root = NULL;
        if (!buf)
                return -ENOMEM;
        memset(buf, '\n', first_line - 1);
        memcpy(buf + first_line - 1, text + start, end - start);
        buf[first_line - 1 + end - start] = 0;
        int r = ynode_parse(buf, first_line - 1 + end - start, file, &root, diag);
        if (r < 0)
                return r;
        if (root->kind == YNODE_MAPPING && root->n == 0)
                return 0;       /* only comments */
        if (root->kind != YNODE_MAPPING) {
                diag_add(diag, file, root->line, root->col, "a Kubernetes object must be a mapping");
                return -EINVAL;
        }
        cJSON *j = ynode_to_json(root);
        if (!j || !cJSON_AddItemToArray(arr, j)) {
                cJSON_Delete(j);
                return -ENOMEM;
        }
        if (lines) {
                int n = cJSON_GetArraySize(arr);
                size_t *l = realloc(*lines, (size_t) n * sizeof(size_t));
                if (!l)
                        return -ENOMEM;
                *lines = l;
                l[n - 1] = root->line;
        }
        return 0;
}

int manifest_yaml_to_json(const char *text, const char *file, cJSON **ret_array, size_t **ret_lines, struct diag *diag) {
        cJSON *arr = cJSON_CreateArray();
        size_t *lines = NULL, doc_start = 0, doc_line = 1, lineno = 0;
        int r = 0;
        if (!arr)
                return -ENOMEM;
        for (size_t pos = 0;;) {
                const char *nl = strchr(text + pos, '\n');
                size_t len = nl ? (size_t) (nl - text - pos) : strlen(text + pos);
                bool last = !nl;
                lineno++;
                if (is_doc_separator(text + pos, len) || last) {
                        size_t end = is_doc_separator(text + pos, len) ? pos : pos + len;
                        if (end > doc_start) {
                                int k = parse_doc(text, doc_start, end, doc_line, file, arr, ret_lines ? &lines : NULL, diag);
                                if (k < 0 && (r = k) == -ENOMEM)
                                        break;
                        }
                        doc_start = pos + len + (nl ? 1 : 0);
                        doc_line = lineno + 1;
                }
                if (last)
                        break;
                pos += len + 1;
        }
        if (r < 0) {
                cJSON_Delete(arr);
                free(lines);
                return r;
        }
        *ret_array = arr;
        if (ret_lines)
                *ret_lines = lines;
        else
                free(lines);
        return 0;
}

/* --- rendering the role's sets ------------------------------------------- */

static const cJSON *context_get(const cJSON *ctx, const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        const cJSON *cur = ctx;
        if (!copy)
                return NULL;
        for (char *save = NULL, *tok = strtok_r(copy, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save))
                cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, tok) : NULL;
        return cur;
}

/* What templates may draw from: the seed's dojot vars, the cluster
 * networks, topology and variant. New object. */
static cJSON *render_context(const struct node_config *c) {
        cJSON *ctx = cJSON_CreateObject(), *cl;
        if (!ctx)
                return NULL;
        bool ok = cJSON_AddItemToObject(ctx, "dojot", c->dojot.vars ? cJSON_Duplicate(c->dojot.vars, true) : cJSON_CreateObject()) &&
                  (cl = cJSON_AddObjectToObject(ctx, "cluster")) &&
                  (!c->cluster.pod_subnet || cJSON_AddStringToObject(cl, "pod_subnet", c->cluster.pod_subnet)) &&
                  (!c->cluster.service_subnet || cJSON_AddStringToObject(cl, "service_subnet", c->cluster.service_subnet)) &&
                  cJSON_AddStringToObject(ctx, "topology", topology_to_string(c->topology)) &&
                  cJSON_AddStringToObject(ctx, "variant", dojot_variant_to_string(c->dojot.variant));
        if (!ok) {
                cJSON_Delete(ctx);
                return NULL;
        }
        return ctx;
}

/* The variable table for this seed. Unresolvable paths are role-data bugs. */
static int resolve_vars(const struct manifest_decl *d, const struct node_config *c, const char *role_file,
                        cJSON **ret, struct diag *diag) {
        cJSON *ctx = render_context(c), *vars = cJSON_CreateObject();
        int r = 0;
        if (!ctx || !vars) {
                cJSON_Delete(ctx);
                cJSON_Delete(vars);
                return -ENOMEM;
        }
        for (size_t i = 0; i < d->n_vars; i++) {
                const struct manifest_var *v = &d->vars[i];
                const char *path = v->by_topology[c->topology] ? v->by_topology[c->topology] : v->from;
                const cJSON *val = context_get(ctx, path);
                if (!val || !(cJSON_IsString(val) || cJSON_IsNumber(val) || cJSON_IsBool(val))) {
                        diag_add(diag, role_file, 0, 0, "manifests.vars.%s: '%s' is %s", v->name, path,
                                 val ? "not a string, number or bool" : "not in the seed's render context");
                        r = -EINVAL;
                        continue;
                }
                if (!cJSON_AddItemToObject(vars, v->name, cJSON_Duplicate(val, false))) {
                        r = -ENOMEM;
                        break;
                }
        }
        cJSON_Delete(ctx);
        if (r < 0) {
                cJSON_Delete(vars);
                return r;
        }
        *ret = vars;
        return 0;
}

int manifests_node_label_value(const struct manifest_decl *d, const struct node_config *c, const char *group, char **ret) {
        cJSON *ctx = render_context(c);
        if (!ctx)
                return -ENOMEM;
        const cJSON *map = d->label_values_from ? context_get(ctx, d->label_values_from) : NULL;
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(map, group));
        *ret = strdup(v && *v ? v : group);
        cJSON_Delete(ctx);
        return *ret ? 0 : -ENOMEM;
}

static bool set_selected(const struct manifest_set *s, const struct manifest_variant *v) {
        STRV_FOREACH(t, s->tags)
                if (STREQ(*t, "always") || strv_contains(v->tags, *t))
                        return true;
        return false;
}

static const char *json_str(const cJSON *o, const char *key) {
        return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* An object the API can take: apiVersion, kind, metadata.name (the
 * original's kafka-loopback template had no apiVersion, facts §0.9). */
static bool object_is_complete(const cJSON *o, const char *file, size_t line, struct diag *diag) {
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
        const char *missing = !json_str(o, "apiVersion") || !*json_str(o, "apiVersion") ? "apiVersion"
                            : !json_str(o, "kind") || !*json_str(o, "kind") ? "kind"
                            : !json_str(md, "name") || !*json_str(md, "name") ? "metadata.name" : NULL;
        if (missing)
                diag_add(diag, file, line, 1, "object has no %s (a string)", missing);
        return !missing;
}

static bool same_object(const cJSON *a, const cJSON *b) {
        const char *na = json_str(cJSON_GetObjectItemCaseSensitive(a, "metadata"), "namespace");
        const char *nb = json_str(cJSON_GetObjectItemCaseSensitive(b, "metadata"), "namespace");
        const char *ga = json_str(a, "apiVersion"), *gb = json_str(b, "apiVersion");
        /* the same object can be reached through two versions of its group */
        size_t la = strchr(ga, '/') ? (size_t) (strchr(ga, '/') - ga) : 0;
        size_t lb = strchr(gb, '/') ? (size_t) (strchr(gb, '/') - gb) : 0;
        return la == lb && strncmp(ga, gb, la) == 0 && STREQ(json_str(a, "kind"), json_str(b, "kind")) &&
               STREQ(json_str(cJSON_GetObjectItemCaseSensitive(a, "metadata"), "name"),
                     json_str(cJSON_GetObjectItemCaseSensitive(b, "metadata"), "name")) &&
               STREQ(na ? na : "", nb ? nb : "");
}

static int add_objects(struct manifest_render *mr, const char *file, cJSON *arr, const size_t *lines, struct diag *diag) {
        int n = cJSON_GetArraySize(arr), r = 0;
        for (int i = 0; i < n; i++) {
                cJSON *o = cJSON_DetachItemFromArray(arr, 0);
                if (!object_is_complete(o, file, lines[i], diag)) {
                        cJSON_Delete(o);
                        r = -EINVAL;
                        continue;
                }
                for (size_t k = 0; k < mr->n_objects; k++)
                        if (same_object(mr->objects[k].obj, o)) {
                                diag_add(diag, file, lines[i], 1, "%s %s is also defined in %s:%zu", json_str(o, "kind"),
                                         json_str(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "name"),
                                         mr->objects[k].file, mr->objects[k].line);
                                r = -EINVAL;
                        }
                if (!GROW(mr->objects, mr->n_objects)) {
                        cJSON_Delete(o);
                        return -ENOMEM;
                }
                mr->objects[mr->n_objects++] = (struct manifest_object) { .file = file, .line = lines[i], .obj = o };
        }
        return r;
}

int manifests_render(const struct manifest_decl *decl, const char *role_dir, const struct node_config *c,
                     struct manifest_render *ret, struct diag *diag) {
        _cleanup_free_ char *role_file = NULL;
        const struct manifest_variant *variant = NULL;
        struct manifest_render mr = {};
        cJSON *vars = NULL;
        int r = 0;

        if (asprintf(&role_file, "%s/role.yaml", role_dir) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < decl->n_variants; i++)
                if (STREQ(decl->variants[i].name, dojot_variant_to_string(c->dojot.variant)))
                        variant = &decl->variants[i];
        if (!variant) {
                diag_add(diag, role_file, 0, 0, "manifests.variants: no entry for variant '%s'",
                         dojot_variant_to_string(c->dojot.variant));
                return -EINVAL;
        }
        r = resolve_vars(decl, c, role_file, &vars, diag);
        if (r < 0)
                return r;
        for (size_t i = 0; i < decl->n_sets && r != -ENOMEM; i++) {
                const struct manifest_set *s = &decl->sets[i];
                _cleanup_free_ char *path = NULL, *text = NULL, *out = NULL;
                _cleanup_free_ size_t *lines = NULL;
                cJSON *arr = NULL;
                if (!set_selected(s, variant))
                        continue;
                if (asprintf(&path, "%s/%s/%s", role_dir, decl->dir, s->file) < 0) {
                        r = -ENOMEM;
                        break;
                }
                int k = read_full_file(path, &text, NULL);
                if (k < 0) {
                        diag_add(diag, path, 0, 0, "cannot read: %s", strerror(-k));
                        r = k == -ENOMEM ? k : -EINVAL;
                        continue;
                }
                k = manifest_template_render(text, path, vars, &out, diag);
                if (k < 0) {
                        r = k;
                        continue;
                }
                if (!GROW(mr.docs, mr.n_docs)) {
                        r = -ENOMEM;
                        break;
                }
                struct manifest_doc *doc = &mr.docs[mr.n_docs++];
                doc->file = strdup(s->file);
                doc->text = TAKE_PTR(out);
                if (!doc->file) {
                        r = -ENOMEM;
                        break;
                }
                k = manifest_yaml_to_json(doc->text, path, &arr, &lines, diag);
                if (k >= 0)
                        k = add_objects(&mr, doc->file, arr, lines, diag);
                cJSON_Delete(arr);
                if (k < 0)
                        r = k;
        }
        cJSON_Delete(vars);
        if (r < 0) {
                manifest_render_done(&mr);
                return r == -ENOMEM ? r : -EINVAL;
        }
        *ret = mr;
        return 0;
}

void manifest_render_done(struct manifest_render *r) {
        for (size_t i = 0; i < r->n_objects; i++)
                cJSON_Delete(r->objects[i].obj);
        free(r->objects);
        for (size_t i = 0; i < r->n_docs; i++) {
                free(r->docs[i].file);
                free(r->docs[i].text);
        }
        free(r->docs);
        *r = (struct manifest_render) {};
}

char *manifests_objects_json(const struct manifest_render *r) {
        cJSON *arr = cJSON_CreateArray();
        char *s = NULL;
        if (!arr)
                return NULL;
        for (size_t i = 0; i < r->n_objects; i++)
                if (!cJSON_AddItemReferenceToArray(arr, r->objects[i].obj))
                        goto out;
        s = cJSON_Print(arr);
out:
        cJSON_Delete(arr);
        return s;
}
