/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include "basic/macro.h"
#include "basic/strv.h"
#include "shared/schema.h"
#include "shared/validate.h"

static const char *describe(const struct ynode *n) {
        return n->kind == YNODE_SCALAR ? (ynode_is_null(n) ? "null" : "a scalar") : ynode_kind_name(n->kind);
}

int schema_check_kind(struct schema_ctx *s, const struct ynode *n, enum ynode_kind k, const char *path) {
        if (n->kind == k && !(k == YNODE_SCALAR && ynode_is_null(n)))
                return 0;
        diag_add(s->diag, s->file, n->line, n->col, "%s: expected %s, got %s", path,
                 k == YNODE_SCALAR ? "a value" : ynode_kind_name(k), describe(n));
        return -EINVAL;
}

int schema_check_keys(struct schema_ctx *s, const struct ynode *map, const char * const *allowed, const char *path) {
        int r = 0;
        for (size_t i = 0; i < map->n; i++) {
                bool known = false;
                for (const char * const *a = allowed; *a && !known; a++)
                        known = STREQ(*a, map->keys[i]->value);
                if (!known) {
                        diag_add(s->diag, s->file, map->keys[i]->line, map->keys[i]->col, "unknown key '%s' in %s",
                                 map->keys[i]->value, path);
                        r = -EINVAL;
                }
        }
        return r;
}

int schema_read_string(struct schema_ctx *s, const struct ynode *n, const char *path, char **ret) {
        int r = schema_check_kind(s, n, YNODE_SCALAR, path);
        if (r < 0)
                return r;
        if (n->value[0] == 0) {
                diag_add(s->diag, s->file, n->line, n->col, "%s: must not be empty", path);
                return -EINVAL;
        }
        free(*ret);
        *ret = strdup(n->value);
        return *ret ? 0 : -ENOMEM;
}

/* A quoted "true" or "8" is a string in YAML; say so, or the message
 * "expected true or false, got 'true'" reads as nonsense. */
static bool quoted_would_parse(const struct ynode *n, bool as_bool, long long min, long long max) {
        if (n->kind != YNODE_SCALAR || !n->quoted)
                return false;
        struct ynode plain = *n;
        bool b;
        long long i;
        plain.quoted = false;
        return as_bool ? ynode_bool(&plain, &b) == 0 : ynode_int(&plain, min, max, &i) == 0;
}

int schema_read_bool(struct schema_ctx *s, const struct ynode *n, const char *path, bool *ret) {
        if (n->kind == YNODE_SCALAR && ynode_bool(n, ret) == 0)
                return 0;
        if (quoted_would_parse(n, true, 0, 0)) {
                diag_add(s->diag, s->file, n->line, n->col, "%s: expected true or false, got the quoted string \"%s\" (drop the quotes)",
                         path, n->value);
                return -EINVAL;
        }
        diag_add(s->diag, s->file, n->line, n->col, "%s: expected true or false, got %s%s%s", path,
                 n->kind == YNODE_SCALAR ? "'" : "", n->kind == YNODE_SCALAR ? n->value : describe(n),
                 n->kind == YNODE_SCALAR ? "'" : "");
        return -EINVAL;
}

int schema_read_int(struct schema_ctx *s, const struct ynode *n, const char *path, long long min, long long max, long long *ret) {
        int r = n->kind == YNODE_SCALAR ? ynode_int(n, min, max, ret) : -EINVAL;
        if (r == 0)
                return 0;
        if (r == -ERANGE)
                diag_add(s->diag, s->file, n->line, n->col, "%s: %s is out of range (%lld..%lld)", path, n->value, min, max);
        else if (quoted_would_parse(n, false, min, max))
                diag_add(s->diag, s->file, n->line, n->col, "%s: expected an integer, got the quoted string \"%s\" (drop the quotes)",
                         path, n->value);
        else
                diag_add(s->diag, s->file, n->line, n->col, "%s: expected an integer, got %s%s%s", path,
                         n->kind == YNODE_SCALAR ? "'" : "", n->kind == YNODE_SCALAR ? n->value : describe(n),
                         n->kind == YNODE_SCALAR ? "'" : "");
        return -EINVAL;
}

int schema_read_string_list(struct schema_ctx *s, const struct ynode *n, const char *path, char ***ret) {
        int r = schema_check_kind(s, n, YNODE_SEQUENCE, path);
        if (r < 0)
                return r;
        /* An empty list is a list: callers walk *ret without a NULL check. */
        if (!*ret && !(*ret = calloc(1, sizeof(char *))))
                return -ENOMEM;
        for (size_t i = 0; i < n->n; i++) {
                char sub[256], *v = NULL;
                snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                int k = schema_read_string(s, n->items[i], sub, &v);
                r = parse_merge(r, k);
                if (!parse_may_go_on(r))
                        return r;
                if (k < 0)
                        continue;
                if (strv_consume(ret, v) < 0)
                        return -ENOMEM;
        }
        return r;
}

int schema_read_mode(struct schema_ctx *s, const struct ynode *n, const char *path, mode_t *ret) {
        if (n->kind == YNODE_SCALAR && n->quoted && strlen(n->value) == 4 && n->value[0] == '0' &&
            strspn(n->value, "01234567") == 4) {
                *ret = (mode_t) strtol(n->value, NULL, 8);
                return 0;
        }
        diag_add(s->diag, s->file, n->line, n->col, "%s: expected an octal mode like \"0750\" (quoted)", path);
        return -EINVAL;
}

void schema_missing(struct schema_ctx *s, const struct ynode *map, const char *path, const char *key) {
        diag_add(s->diag, s->file, map->line, map->col, "%s: missing required key '%s'", path, key);
}

void schema_error(struct schema_ctx *s, const struct ynode *n, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        diag_addv(s->diag, s->file, n->line, n->col, fmt, ap);
        va_end(ap);
}

int schema_read_ip(struct schema_ctx *s, const struct ynode *n, const char *path, char **ret) {
        int r = schema_read_string(s, n, path, ret);
        if (r < 0)
                return r;
        if (ip_address_is_valid(*ret))
                return 0;
        diag_add(s->diag, s->file, n->line, n->col, "%s: '%s' is not an IP address", path, *ret);
        return -EINVAL;
}

int schema_read_cidr(struct schema_ctx *s, const struct ynode *n, const char *path, bool network, char **ret) {
        int r = schema_read_string(s, n, path, ret);
        if (r < 0)
                return r;
        const char *why = cidr_problem(*ret, network);
        if (!why)
                return 0;
        diag_add(s->diag, s->file, n->line, n->col, "%s: '%s' is not a valid CIDR (%s)", path, *ret, why);
        return -EINVAL;
}
