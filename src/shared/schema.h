/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Small helpers shared by the strict YAML readers (config.c, netconfig.c,
 * role.c, manifest-decl.c): kind checks, unknown-key detection and typed
 * reads, each reporting "file:line:col: path: problem" through diag. */

#include <stdbool.h>
#include <sys/types.h>
#include "basic/diag.h"
#include "shared/yamlnode.h"

struct schema_ctx {
        const char *file;
        struct diag *diag;
};

/* Each returns 0, or -EINVAL after adding the problem to s->diag with its
 * position, or -ENOMEM. */

/* n is of kind k (a scalar: not null). */
int schema_check_kind(struct schema_ctx *s, const struct ynode *n, enum ynode_kind k, const char *path);
/* Every key of map is in allowed (NULL-terminated); each other one reported. */
int schema_check_keys(struct schema_ctx *s, const struct ynode *map, const char * const *allowed, const char *path);
/* A non-empty scalar string; dup in *ret. */
int schema_read_string(struct schema_ctx *s, const struct ynode *n, const char *path, char **ret);
int schema_read_bool(struct schema_ctx *s, const struct ynode *n, const char *path, bool *ret);
int schema_read_int(struct schema_ctx *s, const struct ynode *n, const char *path, long long min, long long max, long long *ret);
/* A list of non-empty strings (a single scalar is refused). */
int schema_read_string_list(struct schema_ctx *s, const struct ynode *n, const char *path, char ***ret);
/* An octal mode written as a quoted string "0750" (a bare 0750 would be read
 * as YAML 1.1 octal by some tools and decimal by others). */
int schema_read_mode(struct schema_ctx *s, const struct ynode *n, const char *path, mode_t *ret);
/* An IPv4 or IPv6 literal ("'x' is not an IP address"). */
int schema_read_ip(struct schema_ctx *s, const struct ynode *n, const char *path, char **ret);
/* "addr/prefix", network=true also with the host bits zero ("'x' is not a
 * valid CIDR (why)"). */
int schema_read_cidr(struct schema_ctx *s, const struct ynode *n, const char *path, bool network, char **ret);
/* Reports a missing required key at the map's position. */
void schema_missing(struct schema_ctx *s, const struct ynode *map, const char *path, const char *key);
/* Reports any other problem at n's position. */
void schema_error(struct schema_ctx *s, const struct ynode *n, const char *fmt, ...) _printf_(3, 4);
