/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A YAML document as a small tree with positions, built from libyaml events.
 * It is the one mechanism below config.c and role.c: they walk it against
 * their schema and turn it into typed structs; nothing else reads YAML.
 * Aliases and anchors are refused (a seed has no use for them and they make
 * error positions ambiguous); duplicate mapping keys are refused. */

#include <stdbool.h>
#include <stddef.h>
#include "basic/diag.h"

enum ynode_kind { YNODE_SCALAR, YNODE_SEQUENCE, YNODE_MAPPING };

struct ynode {
        enum ynode_kind kind;
        size_t line, col;               /* 1-based, from the libyaml start mark */
        char *value;                    /* scalar text (YNODE_SCALAR) */
        bool quoted;                    /* scalar was quoted: never a bool/int/null */
        /* sequence items, or mapping entries (keys[i] -> items[i]) */
        size_t n;
        struct ynode **items;
        struct ynode **keys;            /* scalar keys; mapping only */
};

/* Parses exactly one document from buf. On a syntax error adds
 * "file:line:col: <libyaml problem>" to d and returns -EINVAL. An empty
 * document yields an empty mapping. *ret is freed with ynode_free(). */
int ynode_parse(const char *buf, size_t len, const char *file, struct ynode **ret, struct diag *d);
void ynode_free(struct ynode *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ynode *, ynode_free)
#define _cleanup_ynode_ _cleanup_(ynode_freep)

const char *ynode_kind_name(enum ynode_kind k);
/* Value of key in a mapping, or NULL. */
struct ynode *ynode_get(const struct ynode *map, const char *key);
/* The key node itself (for its position), or NULL. */
struct ynode *ynode_get_key(const struct ynode *map, const char *key);
/* True for an unquoted "null", "~" or empty scalar. */
bool ynode_is_null(const struct ynode *n);
/* YAML 1.1 booleans as Ansible reads them (true/false/yes/no/on/off, any
 * case), unquoted only. Returns 0 and sets *ret, or -EINVAL. */
int ynode_bool(const struct ynode *n, bool *ret);
/* A decimal integer scalar (unquoted) within [min, max]; -EINVAL/-ERANGE. */
int ynode_int(const struct ynode *n, long long min, long long max, long long *ret);
