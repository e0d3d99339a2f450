/* SPDX-License-Identifier: Apache-2.0 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include "shared/yamlnode.h"

/* The tree is built recursively; a bound on nesting keeps a hostile seed
 * ("[[[[..." is a few bytes per level) from overflowing the stack. No seed or
 * role file needs more than a handful of levels. */
#define YNODE_MAX_DEPTH 64
/* Duplicate keys are found by a linear scan, so a mapping's size bounds the
 * cost of building it; with the node bound a 64 MiB seed of "kN: 1" lines
 * is refused in well under a second instead of scanning for hours. A seed
 * has a few dozen keys per mapping and a few hundred nodes. */
#define YNODE_MAX_KEYS 1000
#define YNODE_MAX_NODES 100000

struct builder {
        yaml_parser_t parser;
        const char *file;
        struct diag *diag;
        unsigned depth;
        size_t nodes;
};

static struct ynode *ynode_new(enum ynode_kind kind, const yaml_mark_t *m) {
        struct ynode *n = calloc(1, sizeof(*n));
        if (!n)
                return NULL;
        n->kind = kind;
        n->line = m->line + 1;
        n->col = m->column + 1;
        return n;
}

void ynode_free(struct ynode *n) {
        if (!n)
                return;
        for (size_t i = 0; i < n->n; i++) {
                ynode_free(n->items[i]);
                if (n->keys)
                        ynode_free(n->keys[i]);
        }
        free(n->items);
        free(n->keys);
        free(n->value);
        free(n);
}

static int append(struct ynode *parent, struct ynode *key, struct ynode *item) {
        struct ynode **items = realloc(parent->items, (parent->n + 1) * sizeof(*items));
        if (!items)
                return -ENOMEM;
        parent->items = items;
        if (parent->kind == YNODE_MAPPING) {
                struct ynode **keys = realloc(parent->keys, (parent->n + 1) * sizeof(*keys));
                if (!keys)
                        return -ENOMEM;
                parent->keys = keys;
                parent->keys[parent->n] = key;
        }
        parent->items[parent->n++] = item;
        return 0;
}

static int next_event(struct builder *b, yaml_event_t *ev) {
        if (yaml_parser_parse(&b->parser, ev))
                return 0;
        if (b->parser.error == YAML_MEMORY_ERROR)
                return -ENOMEM;
        const yaml_mark_t *m = &b->parser.problem_mark, *c = &b->parser.context_mark;
        /* The problem is often noticed lines after its cause (an unclosed
         * '[' is found at the next key): name where the construct began. */
        char where[64] = "";
        if (b->parser.context && (c->line != m->line || c->column != m->column))
                snprintf(where, sizeof(where), " that starts at %zu:%zu", c->line + 1, c->column + 1);
        diag_add(b->diag, b->file, m->line + 1, m->column + 1, "invalid YAML: %s%s%s%s",
                 b->parser.problem ? b->parser.problem : "syntax error",
                 b->parser.context ? " " : "", b->parser.context ? b->parser.context : "", where);
        return -EINVAL;
}

static int parse_node(struct builder *b, yaml_event_t *ev, struct ynode **ret);

static int parse_children(struct builder *b, struct ynode *n, yaml_event_type_t end) {
        for (;;) {
                yaml_event_t ev;
                struct ynode *key = NULL, *item = NULL;
                int r = next_event(b, &ev);
                if (r < 0)
                        return r;
                if (ev.type == end) {
                        yaml_event_delete(&ev);
                        return 0;
                }
                if (n->kind == YNODE_MAPPING) {
                        r = parse_node(b, &ev, &key);
                        yaml_event_delete(&ev);
                        if (r < 0)
                                return r;
                        if (key->kind != YNODE_SCALAR) {
                                diag_add(b->diag, b->file, key->line, key->col, "mapping keys must be plain scalars");
                                ynode_free(key);
                                return -EINVAL;
                        }
                        if (n->n >= YNODE_MAX_KEYS) {
                                diag_add(b->diag, b->file, key->line, key->col, "YAML mapping has more than %d keys",
                                         YNODE_MAX_KEYS);
                                ynode_free(key);
                                return -EINVAL;
                        }
                        if (ynode_get(n, key->value)) {
                                diag_add(b->diag, b->file, key->line, key->col, "duplicate key '%s'", key->value);
                                ynode_free(key);
                                return -EINVAL;
                        }
                        r = next_event(b, &ev);
                        if (r < 0) {
                                ynode_free(key);
                                return r;
                        }
                }
                r = parse_node(b, &ev, &item);
                yaml_event_delete(&ev);
                if (r >= 0)
                        r = append(n, key, item);
                if (r < 0) {
                        ynode_free(key);
                        ynode_free(item);
                        return r;
                }
        }
}

static int parse_node(struct builder *b, yaml_event_t *ev, struct ynode **ret) {
        _cleanup_ynode_ struct ynode *n = NULL;
        int r;

        if (++b->nodes > YNODE_MAX_NODES) {
                diag_add(b->diag, b->file, ev->start_mark.line + 1, ev->start_mark.column + 1,
                         "YAML document has more than %d nodes", YNODE_MAX_NODES);
                return -EINVAL;
        }
        switch (ev->type) {
        case YAML_SCALAR_EVENT:
                n = ynode_new(YNODE_SCALAR, &ev->start_mark);
                if (!n)
                        return -ENOMEM;
                n->value = strndup((const char *) ev->data.scalar.value, ev->data.scalar.length);
                if (!n->value)
                        return -ENOMEM;
                if (strlen(n->value) != ev->data.scalar.length) {
                        diag_add(b->diag, b->file, n->line, n->col, "NUL byte in scalar");
                        return -EINVAL;
                }
                n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
                break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
                bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
                n = ynode_new(seq ? YNODE_SEQUENCE : YNODE_MAPPING, &ev->start_mark);
                if (!n)
                        return -ENOMEM;
                if (b->depth >= YNODE_MAX_DEPTH) {
                        diag_add(b->diag, b->file, n->line, n->col, "YAML nested deeper than %d levels", YNODE_MAX_DEPTH);
                        return -EINVAL;
                }
                b->depth++;
                r = parse_children(b, n, seq ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT);
                b->depth--;
                if (r < 0)
                        return r;
                break;
        }
        case YAML_ALIAS_EVENT:
                diag_add(b->diag, b->file, ev->start_mark.line + 1, ev->start_mark.column + 1,
                         "YAML aliases are not supported");
                return -EINVAL;
        default:
                diag_add(b->diag, b->file, ev->start_mark.line + 1, ev->start_mark.column + 1,
                         "unexpected YAML event");
                return -EINVAL;
        }
        if ((ev->type == YAML_SCALAR_EVENT && ev->data.scalar.anchor) ||
            (ev->type == YAML_SEQUENCE_START_EVENT && ev->data.sequence_start.anchor) ||
            (ev->type == YAML_MAPPING_START_EVENT && ev->data.mapping_start.anchor)) {
                diag_add(b->diag, b->file, n->line, n->col, "YAML anchors are not supported");
                return -EINVAL;
        }
        *ret = TAKE_PTR(n);
        return 0;
}

static int expect(struct builder *b, yaml_event_type_t type, yaml_event_t *ev) {
        int r = next_event(b, ev);
        if (r < 0)
                return r;
        if (ev->type != type) {
                yaml_event_delete(ev);
                return -EBADMSG;
        }
        return 0;
}

/* Reads the next event and drops it. */
static int skip_event(struct builder *b) {
        yaml_event_t ev;
        int r = next_event(b, &ev);
        if (r >= 0)
                yaml_event_delete(&ev);
        return r;
}

static int parse_document(struct builder *b, struct ynode **ret) {
        yaml_event_t ev;
        int r;

        r = expect(b, YAML_STREAM_START_EVENT, &ev);
        if (r < 0)
                return r;
        yaml_event_delete(&ev);
        r = next_event(b, &ev);
        if (r < 0)
                return r;
        if (ev.type == YAML_STREAM_END_EVENT) {         /* empty input */
                yaml_mark_t m = ev.start_mark;
                yaml_event_delete(&ev);
                *ret = ynode_new(YNODE_MAPPING, &m);
                return *ret ? 0 : -ENOMEM;
        }
        yaml_event_delete(&ev);         /* DOCUMENT_START */
        r = next_event(b, &ev);
        if (r < 0)
                return r;
        _cleanup_ynode_ struct ynode *root = NULL;
        r = parse_node(b, &ev, &root);
        yaml_event_delete(&ev);
        if (r >= 0)
                r = skip_event(b);      /* DOCUMENT_END */
        if (r >= 0)
                r = next_event(b, &ev);
        if (r < 0)
                return r;
        bool more = ev.type != YAML_STREAM_END_EVENT;
        size_t line = ev.start_mark.line + 1, col = ev.start_mark.column + 1;
        yaml_event_delete(&ev);
        if (more) {
                diag_add(b->diag, b->file, line, col, "expected a single YAML document");
                return -EINVAL;
        }
        if (root->kind == YNODE_SCALAR && ynode_is_null(root)) {
                yaml_mark_t m = { .line = root->line - 1, .column = root->col - 1 };
                ynode_free(root);
                root = ynode_new(YNODE_MAPPING, &m);
                if (!root)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(root);
        return 0;
}

int ynode_parse(const char *buf, size_t len, const char *file, struct ynode **ret, struct diag *d) {
        struct builder b = { .file = file, .diag = d };
        if (!yaml_parser_initialize(&b.parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&b.parser, (const unsigned char *) buf, len);
        int r = parse_document(&b, ret);
        yaml_parser_delete(&b.parser);
        if (r == -EBADMSG) {
                diag_add(d, file, 0, 0, "not a YAML stream");
                r = -EINVAL;
        }
        return r;
}

const char *ynode_kind_name(enum ynode_kind k) {
        switch (k) {
        case YNODE_SCALAR: return "a scalar";
        case YNODE_SEQUENCE: return "a list";
        case YNODE_MAPPING: return "a mapping";
        }
        return "?";
}

struct ynode *ynode_get_key(const struct ynode *map, const char *key) {
        if (!map || map->kind != YNODE_MAPPING)
                return NULL;
        for (size_t i = 0; i < map->n; i++)
                if (STREQ(map->keys[i]->value, key))
                        return map->keys[i];
        return NULL;
}

struct ynode *ynode_get(const struct ynode *map, const char *key) {
        for (size_t i = 0; map && map->kind == YNODE_MAPPING && i < map->n; i++)
                if (STREQ(map->keys[i]->value, key))
                        return map->items[i];
        return NULL;
}

bool ynode_is_null(const struct ynode *n) {
        return n->kind == YNODE_SCALAR && !n->quoted &&
               (n->value[0] == 0 || STREQ(n->value, "~") || strcasecmp(n->value, "null") == 0);
}

int ynode_bool(const struct ynode *n, bool *ret) {
        static const char * const yes[] = { "true", "yes", "on" }, * const no[] = { "false", "no", "off" };
        if (n->kind != YNODE_SCALAR || n->quoted)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(n->value, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(n->value, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

int ynode_int(const struct ynode *n, long long min, long long max, long long *ret) {
        if (n->kind != YNODE_SCALAR || n->quoted || n->value[0] == 0)
                return -EINVAL;
        char *end;
        errno = 0;
        long long v = strtoll(n->value, &end, 10);
        if (*end || end == n->value)
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}
