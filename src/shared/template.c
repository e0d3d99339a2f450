/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <string.h>
#include "basic/fileio.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "shared/template.h"

/* --- templates ------------------------------------------------------------ */

/* Characters a substituted string may hold: enough for names, versions,
 * CIDRs, domain names and IPs; nothing that could end a YAML scalar. */
static bool is_safe_value(const char *s) {
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/@+-") == strlen(s);
}

/* The text a variable substitutes as (new string in *ret); -EINVAL with a
 * reason in *why. */
static int format_value(const cJSON *v, char **ret, const char **why) {
        if (cJSON_IsBool(v))
                *ret = strdup(cJSON_IsTrue(v) ? "true" : "false");
        else if (cJSON_IsNumber(v)) {
                if (asprintf(ret, "%lld", (long long) v->valuedouble) < 0)
                        *ret = NULL;
        } else if (cJSON_IsString(v)) {
                if (!is_safe_value(v->valuestring)) {
                        *why = "holds characters outside [A-Za-z0-9._:/@+-]";
                        return -EINVAL;
                }
                *ret = strdup(v->valuestring);
        } else {
                *why = "is not a string, number or bool";
                return -EINVAL;
        }
        return *ret ? 0 : -ENOMEM;
}

struct out {
        char *buf;
        size_t len, cap;
};

static void out_done(struct out *o) {
        free(o->buf);
}

static int out_add(struct out *o, const char *s, size_t n) {
        if (o->len + n + 1 > o->cap) {
                size_t cap = (o->cap ? o->cap * 2 : 4096) + n;
                char *b = realloc(o->buf, cap);
                if (!b)
                        return -ENOMEM;
                o->buf = b;
                o->cap = cap;
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
        o->buf[o->len] = 0;
        return 0;
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

/* One text line of the template, p[0, len), with its {{name}}s substituted,
 * added to o when emit (names are checked in dropped blocks too). */
static int substitute_line(struct out *o, bool emit, const char *p, size_t len, size_t lineno, const char *file,
                           const cJSON *vars, struct diag *diag) {
        const char *q = p, *end = p + len;
        char name[64];
        int r;
        while (q < end) {
                const char *open = memmem(q, (size_t) (end - q), "{{", 2);
                if (!open)
                        return emit ? out_add(o, q, (size_t) (end - q)) : 0;
                const char *close = memmem(open, (size_t) (end - open), "}}", 2);
                if (emit && (r = out_add(o, q, (size_t) (open - q))) < 0)
                        return r;
                size_t nlen = close ? (size_t) (close - open - 2) : 0;
                if (!close || nlen == 0 || nlen >= sizeof(name)) {
                        diag_add(diag, file, lineno, (size_t) (open - p) + 1, "malformed {{...}}");
                        return -EINVAL;
                }
                memcpy(name, open + 2, nlen);
                name[nlen] = 0;
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(vars, name);
                const char *why = "is not declared in role.yaml's manifests.vars";
                _cleanup_free_ char *val = NULL;
                r = v ? format_value(v, &val, &why) : -EINVAL;
                if (r == -EINVAL)
                        diag_add(diag, file, lineno, (size_t) (open - p) + 1, "{{%s}}: the variable %s", name, why);
                if (r < 0)
                        return r;
                if (emit && (r = out_add(o, val, strlen(val))) < 0)
                        return r;
                q = close + 2;
        }
        return 0;
}

#define MAX_NESTING 16

int manifest_template_render(const char *text, const char *file, const cJSON *vars, char **ret, struct diag *diag) {
        _cleanup_(out_done) struct out o = {};
        int stack[MAX_NESTING];         /* the open block kinds */
        bool keep[MAX_NESTING + 1] = { true };
        size_t depth = 0, lineno = 0;
        size_t open_line[MAX_NESTING];
        int r = 0;

        for (const char *p = text; *p; ) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                char name[64];
                int k = 0;
                lineno++;
                int kind = control_line(p, len, name, sizeof(name));
                if (kind < 0) {
                        diag_add(diag, file, lineno, 1, "malformed template directive");
                        k = -EINVAL;
                } else if (kind == 1 || kind == 2) {
                        const cJSON *v = cJSON_GetObjectItemCaseSensitive(vars, name);
                        if (!v || !cJSON_IsBool(v)) {
                                diag_add(diag, file, lineno, 1, "'%s' is not a declared bool variable", name);
                                k = -EINVAL;
                        }
                        if (depth == MAX_NESTING) {
                                diag_add(diag, file, lineno, 1, "blocks nested deeper than %d", MAX_NESTING);
                                r = -EINVAL;
                                break;
                        }
                        stack[depth] = kind;
                        open_line[depth] = lineno;
                        keep[depth + 1] = keep[depth] && (kind == 1 ? cJSON_IsTrue(v) : !cJSON_IsTrue(v));
                        depth++;
                } else if (kind == 3 || kind == 4) {
                        if (depth == 0 || stack[depth - 1] != kind - 2) {
                                diag_add(diag, file, lineno, 1, "%s without a matching opening", kind == 3 ? "{{/if}}" : "{{/unless}}");
                                k = -EINVAL;
                        } else
                                depth--;
                } else {
                        k = substitute_line(&o, keep[depth], p, len, lineno, file, vars, diag);
                        if (k >= 0 && keep[depth])
                                k = out_add(&o, "\n", 1);
                }
                r = parse_merge(r, k);
                if (!parse_may_go_on(r))
                        return r;
                p = nl ? nl + 1 : p + len;
        }
        if (depth > 0) {
                diag_add(diag, file, open_line[depth - 1], 1, "block is never closed");
                r = -EINVAL;
        }
        if (r < 0)
                return r;
        if (!o.buf && (r = out_add(&o, "", 0)) < 0)
                return r;
        *ret = TAKE_PTR(o.buf);
        return 0;
}
