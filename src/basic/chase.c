/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "basic/chase.h"
#include "basic/macro.h"

/* as the kernel's limit on links followed in one lookup */
#define CHASE_MAX_LINKS 40
#define CHASE_MAX_DEPTH 256

/* The directories walked so far, root first: ".." pops one, never the root. */
struct walk {
        int fds[CHASE_MAX_DEPTH];
        size_t depth;           /* fds[0..depth] are open; fds[0] is the root */
};

static void walk_close(struct walk *w) {
        for (size_t i = 0; i <= w->depth; i++)
                if (w->fds[i] >= 0)
                        close(w->fds[i]);
        w->depth = 0;
        w->fds[0] = -EBADF;
}

static void walk_to_root(struct walk *w) {
        while (w->depth > 0)
                close(w->fds[w->depth--]);
}

/* Takes the next component off *rest (advancing it); NULL at the end.
 * The component is NUL-terminated in place. */
static char *next_component(char **rest) {
        char *s = *rest;
        while (*s == '/')
                s++;
        if (!*s)
                return NULL;
        char *e = strchrnul(s, '/');
        *rest = *e ? e + 1 : e;
        *e = 0;
        return s;
}

static bool only_slashes(const char *s) {
        return s[strspn(s, "/")] == 0;
}

/* "target/rest": what is left to walk after a link. New string or NULL. */
static char *splice_link(const char *target, const char *rest) {
        char *s;
        if (asprintf(&s, "%s/%s", target, rest) < 0)
                return NULL;
        return s;
}

static int read_link(int fd, char **ret) {
        char buf[PATH_MAX];
        ssize_t n = readlinkat(fd, "", buf, sizeof(buf) - 1);
        if (n < 0)
                return negative_errno();
        if (n == 0)
                return -ENOENT;
        buf[n] = 0;
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* The walk. With parent, stops before the last component and returns it
 * in *ret_name; else returns an O_PATH fd of whatever PATH names (a link at
 * the end followed). *ret_fd is an O_PATH fd either way. */
static int walk(const char *root, const char *path, bool parent, bool mkdirs, mode_t mode, int *ret_fd, char **ret_name) {
        struct walk w = { .fds = { open(root && *root ? root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC) } };
        if (w.fds[0] < 0)
                return negative_errno();
        _cleanup_free_ char *todo = strdup(path), *name = NULL;
        if (!todo) {
                walk_close(&w);
                return -ENOMEM;
        }
        char *rest = todo;
        unsigned links = 0;
        int r = 0;
        for (char *c; (c = next_component(&rest));) {
                bool last = only_slashes(rest);
                if (STREQ(c, "."))
                        continue;
                if (STREQ(c, "..")) {
                        if (w.depth == 0) {
                                r = -EXDEV;
                                break;
                        }
                        close(w.fds[w.depth--]);
                        continue;
                }
                if (last && parent) {
                        if (!(name = strdup(c)))
                                r = -ENOMEM;
                        break;
                }
                int fd = openat(w.fds[w.depth], c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 && errno == ENOENT && mkdirs) {
                        if (mkdirat(w.fds[w.depth], c, mode) < 0 && errno != EEXIST) {
                                r = negative_errno();
                                break;
                        }
                        fd = openat(w.fds[w.depth], c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                }
                if (fd < 0) {
                        r = negative_errno();
                        break;
                }
                struct stat st;
                if (fstat(fd, &st) < 0) {
                        r = negative_errno();
                        close(fd);
                        break;
                }
                if (S_ISLNK(st.st_mode)) {
                        _cleanup_free_ char *target = NULL;
                        r = ++links > CHASE_MAX_LINKS ? -ELOOP : read_link(fd, &target);
                        close(fd);
                        if (r < 0)
                                break;
                        char *next = splice_link(target, rest);
                        if (!next) {
                                r = -ENOMEM;
                                break;
                        }
                        if (target[0] == '/')
                                walk_to_root(&w);
                        free(todo);
                        todo = rest = next;
                        continue;
                }
                if (!S_ISDIR(st.st_mode) && !last) {
                        close(fd);
                        r = -ENOTDIR;
                        break;
                }
                if (w.depth + 1 >= CHASE_MAX_DEPTH) {
                        close(fd);
                        r = -ENAMETOOLONG;
                        break;
                }
                w.fds[++w.depth] = fd;
        }
        if (r >= 0 && parent && !name)
                r = -EINVAL;    /* the root itself, or a path ending in ".." */
        if (r < 0) {
                walk_close(&w);
                return r;
        }
        *ret_fd = w.fds[w.depth];
        w.fds[w.depth] = -EBADF;
        walk_close(&w);
        if (ret_name)
                *ret_name = TAKE_PTR(name);
        return 0;
}

/* An O_PATH fd made a real one (O_PATH fds cannot be read, fchmod'ed or
 * fchown'ed), through /proc as the kernel offers no reopen call. */
static int reopen(int path_fd, int flags) {
        char p[64];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", path_fd);
        int fd = open(p, flags | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

int chase(const char *root, const char *path, unsigned flags, mode_t mode, int *ret_fd, char **ret_name) {
        int pfd = -EBADF;
        _cleanup_free_ char *name = NULL;
        int r = walk(root, path, flags & CHASE_PARENT, flags & CHASE_MKDIR, mode, &pfd, &name);
        if (r < 0)
                return r;
        struct stat st;
        r = fstat(pfd, &st) < 0 ? negative_errno() : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        if (r < 0) {
                close(pfd);
                return r;
        }
        int fd = reopen(pfd, O_RDONLY | O_DIRECTORY);
        close(pfd);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        if (ret_name)
                *ret_name = TAKE_PTR(name);
        return 0;
}

int chase_open(const char *root, const char *path, int flags) {
        int pfd = -EBADF;
        int r = walk(root, path, false, false, 0, &pfd, NULL);
        if (r < 0)
                return r;
        int fd = reopen(pfd, flags & ~O_CREAT);
        close(pfd);
        return fd;
}

const char *chase_strerror(int r) {
        if (r == -EXDEV)
                return "leads out of the root (a symlink or '..' on the way)";
        if (r == -ELOOP)
                return "a symlink loop on the way";
        return strerror(-r);
}

bool root_is_host(const char *root) {
        struct stat a, b;
        if (!root)
                return true;
        if (stat(root, &a) < 0 || stat("/", &b) < 0)
                return false;
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
