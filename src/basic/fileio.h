/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* File helpers. Every path the agent reads or writes on a node is under a
 * root directory ("/" on a node, an image tree for `bake`, a scratch tree in
 * tests: `node-agent --root DIR`), resolved inside it (chase.h): symlinks on
 * the way stay in the tree. Writes are atomic: a temporary file in the same
 * directory, fsync, rename; a crash leaves the old file or the new one. */

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "basic/macro.h"

/* Reads a whole file (NUL-terminated; *len without the NUL). -errno. */
int read_full_file(const char *path, char **ret, size_t *len);
/* root/path read whole, resolved inside root (chase_open). -errno. */
int read_file_in_root(const char *root, const char *path, char **ret, size_t *len);
/* root + path as a string, for messages and for programs given a path
 * under a root; never for a write (resolve with chase() instead). New
 * string or NULL; root "/" or NULL gives path itself. */
char *path_in_root(const char *root, const char *path);
/* mkdir -p of root/path inside root (created components get mode); the
 * directory's fd in *ret_fd (O_RDONLY|O_DIRECTORY) unless NULL. -errno. */
int mkdir_in_root(const char *root, const char *path, mode_t mode, int *ret_fd);
/* mkdir -p of a host path (the fleet tool's output) with mode for the
 * created components; -errno. */
int mkdir_p(const char *path, mode_t mode);
/* As a mode: set none, for a filesystem without modes (FAT, the ESP: a
 * chmod its mount does not allow is EPERM); the file is created 0644 and
 * the mode does not count in *changed. */
#define FILE_MODE_NONE ((mode_t) -1)
/* Writes content atomically to root/path with mode, owner uid:gid (-1 keeps
 * the caller's), creating parent directories 0755. *changed (may be NULL)
 * tells whether the bytes, mode or owner differed from what was there. */
int write_file_atomic(const char *root, const char *path, const char *content, size_t len,
                      mode_t mode, uid_t uid, gid_t gid, bool *changed);
/* What write_file_at() writes NAME as before renaming it to NAME: a power
 * cut can leave it behind; the next write of NAME replaces it. */
#define WRITE_TMP_SUFFIX ".nodeos-tmp"
/* write_file_atomic() into the directory DIRFD: NAME is replaced by
 * rename, so a symlink at NAME is replaced, never followed. */
int write_file_at(int dirfd, const char *name, const char *content, size_t len, mode_t mode, uid_t uid, gid_t gid,
                  bool *changed);
/* A directory stream over the directory FD, on a duplicate of it: the
 * caller keeps FD (to unlinkat() what the walk finds) and closes it as
 * before; the stream starts at the first entry. -errno. */
int dir_stream(int fd, DIR **ret);
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)
#define _cleanup_closedir_ _cleanup_(closedirp)
/* write(2) until all LEN bytes are written (short writes, EINTR). -errno. */
int loop_write(int fd, const void *buf, size_t len);
/* Where the file FD is open on lives on this system (readlink of
 * /proc/self/fd/FD): for a program given a path to what the agent resolved
 * inside a root, and for messages. New string; -errno. */
int fd_get_path(int fd, char **ret);
/* True when root/path exists with exactly this content. */
bool file_has_content(const char *root, const char *path, const char *content, size_t len);
