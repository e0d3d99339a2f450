/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* File helpers. Every path the agent writes is relative to a root directory
 * ("/" on a node, a scratch tree in tests: `node-agent --root DIR`), so these
 * take (root, path) and join them. Writes are atomic: a temporary file in the
 * same directory, fsync, rename; a crash leaves the old file or the new one. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads a whole file (NUL-terminated; *len without the NUL). -errno. */
int read_full_file(const char *path, char **ret, size_t *len);
/* root + path; new string or NULL. root "/" or NULL gives path itself. */
char *path_in_root(const char *root, const char *path);
/* mkdir -p with mode for the created components; -errno. */
int mkdir_p(const char *path, mode_t mode);
/* Writes content atomically to root/path with mode, owner uid:gid (-1 keeps
 * the caller's), creating parent directories 0755. *changed (may be NULL)
 * tells whether the bytes, mode or owner differed from what was there. */
int write_file_atomic(const char *root, const char *path, const char *content, size_t len,
                      mode_t mode, uid_t uid, gid_t gid, bool *changed);
/* True when root/path exists with exactly this content. */
bool file_has_content(const char *root, const char *path, const char *content, size_t len);
