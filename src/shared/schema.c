/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include "basic/strv.h"
#include "shared/schema.h"

static const char *describe(const struct ynode *n) {
        return n->kind == YNODE_SCALAR ? (ynode_is_null(n) ? "null" : "a scalar") : ynode_kind_name(n->kind);
}

bool schema_expect(struct schema_ctx *s, const struct ynode *n, enum ynode_kind k, const char *path) {
        if (n->kind == k && !(k == YNODE_SCALAR && ynode_is_null(n)))
                return true;
        diag_add(s->diag, s->file, n->line, n->col, "%s: expected %s, got %s", path,
                 k == YNODE_SCALAR ? "a value" : ynode_kind_name(k), describe(n));
        return false;
}

bool schema_known_keys(struct schema_ctx *s, const struct ynode *map, const char * const *allowed, const char *path) {
        bool ok = true;
        for (size_t i = 0; i < map->n; i++) {
                bool known = false;
                for (const char * const *a = allowed; *a && !known; a++)
                        known = STREQ(*a, map->keys[i]->value);
                if (!known) {
                        diag_add(s->diag, s->file, map->keys[i]->line, map->keys[i]->col, "unknown key '%s' in %s",
                                 map->keys[i]->value, path);
                        ok = false;
                }
        }
        return ok;
}

bool schema_string(struct schema_ctx *s, const struct ynode *n, const char *path, char **ret) {
        if (!schema_expect(s, n, YNODE_SCALAR, path))
                return false;
        if (n->value[0] == 0) {
                diag_add(s->diag, s->file, n->line, n->col, "%s: must not be empty", path);
                return false;
        }
        free(*ret);
        *ret = strdup(n->value);
        return *ret != NULL;
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

bool schema_bool(struct schema_ctx *s, const struct ynode *n, const char *path, bool *ret) {
        if (n->kind == YNODE_SCALAR && ynode_bool(n, ret) == 0)
                return true;
        if (quoted_would_parse(n, true, 0, 0)) {
                diag_add(s->diag, s->file, n->line, n->col, "%s: expected true or false, got the quoted string \"%s\" (drop the quotes)",
                         path, n->value);
                return false;
        }
        diag_add(s->diag, s->file, n->line, n->col, "%s: expected true or false, got %s%s%s", path,
                 n->kind == YNODE_SCALAR ? "'" : "", n->kind == YNODE_SCALAR ? n->value : describe(n),
                 n->kind == YNODE_SCALAR ? "'" : "");
        return false;
}

bool schema_int(struct schema_ctx *s, const struct ynode *n, const char *path, long long min, long long max, long long *ret) {
        int r = n->kind == YNODE_SCALAR ? ynode_int(n, min, max, ret) : -EINVAL;
        if (r == 0)
                return true;
        if (r == -ERANGE)
                diag_add(s->diag, s->file, n->line, n->col, "%s: %s is out of range (%lld..%lld)", path, n->value, min, max);
        else if (quoted_would_parse(n, false, min, max))
                diag_add(s->diag, s->file, n->line, n->col, "%s: expected an integer, got the quoted string \"%s\" (drop the quotes)",
                         path, n->value);
        else
                diag_add(s->diag, s->file, n->line, n->col, "%s: expected an integer, got %s%s%s", path,
                         n->kind == YNODE_SCALAR ? "'" : "", n->kind == YNODE_SCALAR ? n->value : describe(n),
                         n->kind == YNODE_SCALAR ? "'" : "");
        return false;
}

bool schema_string_list(struct schema_ctx *s, const struct ynode *n, const char *path, char ***ret) {
        if (!schema_expect(s, n, YNODE_SEQUENCE, path))
                return false;
        /* An empty list is a list: callers walk *ret without a NULL check. */
        if (!*ret && !(*ret = calloc(1, sizeof(char *))))
                return false;
        bool ok = true;
        for (size_t i = 0; i < n->n; i++) {
                char sub[256], *v = NULL;
                snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                if (!schema_string(s, n->items[i], sub, &v)) {
                        ok = false;
                        continue;
                }
                if (strv_consume(ret, v) < 0)
                        return false;
        }
        return ok;
}

bool schema_mode(struct schema_ctx *s, const struct ynode *n, const char *path, mode_t *ret) {
        if (n->kind == YNODE_SCALAR && n->quoted && strlen(n->value) == 4 && n->value[0] == '0' &&
            strspn(n->value, "01234567") == 4) {
                *ret = (mode_t) strtol(n->value, NULL, 8);
                return true;
        }
        diag_add(s->diag, s->file, n->line, n->col, "%s: expected an octal mode like \"0750\" (quoted)", path);
        return false;
}

void schema_missing(struct schema_ctx *s, const struct ynode *map, const char *path, const char *key) {
        diag_add(s->diag, s->file, map->line, map->col, "%s: missing required key '%s'", path, key);
}
