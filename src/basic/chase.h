/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Paths under a root, resolved inside it: the root is a boundary, not a
 * string prefix. The agent writes into "/" on a node, into an image tree at
 * build time (`bake`) and into scratch trees in tests (`--root`), and such
 * trees hold symlinks, absolute ones too (unit .wants/ links,
 * /etc/resolv.conf). Joined as strings, a directory symlink on the way would
 * be followed by the kernel against the host's "/" and the write would land
 * outside the tree.
 *
 * chase() walks the path one component at a time from a directory fd of the
 * root, opening each with O_NOFOLLOW: a symlink is read and resolved by the
 * walk itself, an absolute target from the root, a relative one from the
 * directory holding the link, as the kernel would resolve it at boot with
 * that tree as "/". Two things the boot would silently clamp are errors
 * here, because in a tree the agent writes they are mistakes worth a line:
 * ".." above the root (-EXDEV) and more than 40 links (-ELOOP, a loop).
 *
 * Not openat2(RESOLVE_IN_ROOT): it clamps ".." at the root instead of
 * refusing it, and Ubuntu 18.04's 4.15 kernel lacks it; one walk is one
 * behaviour on every kernel, the one the tests check. The same code runs
 * for root "/", so what --root tests is what the boot does. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum {
        CHASE_MKDIR  = 1 << 0,  /* create missing directories (with the given mode) */
        CHASE_PARENT = 1 << 1,  /* resolve the parent of the last component; return its name */
};

/* Resolves PATH under ROOT ("/" or NULL: the live system). Returns in
 * *ret_fd an O_RDONLY|O_DIRECTORY fd of the directory reached (the parent
 * with CHASE_PARENT, else PATH itself, which must be a directory), and with
 * CHASE_PARENT the last component in *ret_name (new string; never "." or
 * ".."). -errno: -EXDEV when the path leaves the root, -ELOOP for a loop,
 * -ENOTDIR when a component is not a directory. */
int chase(const char *root, const char *path, unsigned flags, mode_t mode, int *ret_fd, char **ret_name);

/* Opens the existing file PATH under ROOT with open(2) FLAGS (O_RDONLY or
 * O_WRONLY, no O_CREAT), following symlinks inside the root, a link at the
 * file itself too. Returns an fd or -errno. */
int chase_open(const char *root, const char *path, int flags);

/* Whether ROOT is the host's "/" by identity (device and inode), not by
 * spelling: "//", "/." and a bind mount of "/" are the live system too. */
bool root_is_host(const char *root);

/* strerror() with the two errors chase() gives a meaning of its own. */
const char *chase_strerror(int r);
