/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Small helpers shared by the strict YAML readers (config.c, role.c): kind
 * checks, unknown-key detection and typed reads, each reporting
 * "file:line:col: path: problem" through diag. */

#include <stdbool.h>
#include <sys/types.h>
#include "basic/diag.h"
#include "shared/yamlnode.h"

struct schema_ctx {
        const char *file;
        struct diag *diag;
};

/* Reports and returns false when n is not of kind k. */
bool schema_expect(struct schema_ctx *s, const struct ynode *n, enum ynode_kind k, const char *path);
/* Reports every key of map not in allowed (NULL-terminated). Returns false if any. */
bool schema_known_keys(struct schema_ctx *s, const struct ynode *map, const char * const *allowed, const char *path);
/* A non-empty scalar string; dup in *ret. */
bool schema_string(struct schema_ctx *s, const struct ynode *n, const char *path, char **ret);
bool schema_bool(struct schema_ctx *s, const struct ynode *n, const char *path, bool *ret);
bool schema_int(struct schema_ctx *s, const struct ynode *n, const char *path, long long min, long long max, long long *ret);
/* A list of non-empty strings (a single scalar is refused). */
bool schema_string_list(struct schema_ctx *s, const struct ynode *n, const char *path, char ***ret);
/* An octal mode written as a quoted string "0750" (a bare 0750 would be read
 * as YAML 1.1 octal by some tools and decimal by others). */
bool schema_mode(struct schema_ctx *s, const struct ynode *n, const char *path, mode_t *ret);
/* Reports a missing required key at the map's position. */
void schema_missing(struct schema_ctx *s, const struct ynode *map, const char *path, const char *key);
