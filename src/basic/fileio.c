/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include "basic/chase.h"
#include "basic/fileio.h"
#include "basic/macro.h"

static int read_fd(int fd, char **ret, size_t *len);

int read_full_file(const char *path, char **ret, size_t *len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return read_fd(fd, ret, len);
}

char *path_in_root(const char *root, const char *path) {
        char *r;
        if (!root || STREQ(root, "/") || root[0] == 0)
                return strdup(path);
        size_t rl = strlen(root);
        while (rl > 1 && root[rl - 1] == '/')
                rl--;
        while (*path == '/')
                path++;
        if (asprintf(&r, "%.*s/%s", (int) rl, root, path) < 0)
                return NULL;
        return r;
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; ; s++) {
                if (*s == '/' || *s == 0) {
                        char c = *s;
                        *s = 0;
                        if (mkdir(p, mode) < 0 && errno != EEXIST)
                                return negative_errno();
                        *s = c;
                        if (!c)
                                break;
                }
        }
        struct stat st;
        if (stat(path, &st) < 0)
                return negative_errno();
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Reads an fd to its end into a new NUL-terminated buffer. */
static int read_fd(int fd, char **ret, size_t *len) {
        size_t cap = 4096, n = 0;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (n + 1 >= cap) {
                        if (cap > (size_t) 64 << 20)
                                return -EFBIG;
                        char *b = realloc(buf, cap *= 2);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                ssize_t k = read(fd, buf + n, cap - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;
        if (len)
                *len = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_file_in_root(const char *root, const char *path, char **ret, size_t *len) {
        _cleanup_close_ int fd = chase_open(root, path, O_RDONLY);
        if (fd < 0)
                return fd;
        return read_fd(fd, ret, len);
}

int mkdir_in_root(const char *root, const char *path, mode_t mode, int *ret_fd) {
        int fd = -EBADF;
        int r = chase(root, path, CHASE_MKDIR, mode, &fd, NULL);
        if (r < 0)
                return r;
        if (ret_fd)
                *ret_fd = fd;
        else
                close(fd);
        return 0;
}

int fd_get_path(int fd, char **ret) {
        char proc[32], buf[PATH_MAX];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = 0;
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

bool file_has_content(const char *root, const char *path, const char *content, size_t len) {
        _cleanup_free_ char *old = NULL;
        size_t oldlen;
        if (read_file_in_root(root, path, &old, &oldlen) < 0)
                return false;
        return oldlen == len && memcmp(old, content, len) == 0;
}

int dir_stream(int fd, DIR **ret) {
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return negative_errno();
        DIR *d = fdopendir(dfd);
        if (!d) {
                int r = negative_errno();
                close(dfd);
                return r;
        }
        /* a duplicate shares the offset of a directory read before */
        rewinddir(d);
        *ret = d;
        return 0;
}

int loop_write(int fd, const void *buf, size_t len) {
        const char *p = buf;
        while (len > 0) {
                ssize_t k = write(fd, p, len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += k;
                len -= (size_t) k;
        }
        return 0;
}

/* The file NAME in DIRFD has these bytes, mode and owner; a symlink there
 * is never the same (it is replaced, not followed). */
static bool same_file_at(int dirfd, const char *name, const char *content, size_t len, mode_t mode, uid_t uid, gid_t gid) {
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *old = NULL;
        size_t oldlen;
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || read_fd(fd, &old, &oldlen) < 0)
                return false;
        return oldlen == len && memcmp(old, content, len) == 0 && (mode == FILE_MODE_NONE || (st.st_mode & 07777) == mode) &&
               (uid == (uid_t) -1 || st.st_uid == uid) && (gid == (gid_t) -1 || st.st_gid == gid);
}

int write_file_at(int dirfd, const char *name, const char *content, size_t len, mode_t mode, uid_t uid, gid_t gid, bool *changed) {
        bool same = same_file_at(dirfd, name, content, len, mode, uid, gid);
        if (changed)
                *changed = !same;
        if (same)
                return 0;
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s" WRITE_TMP_SUFFIX, name) < 0)
                return -ENOMEM;
        (void) unlinkat(dirfd, tmp, 0);
        /* Created with the final mode from the start, so a secret is never
         * readable by others, not even between open and chmod. */
        _cleanup_close_ int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                                        mode == FILE_MODE_NONE ? 0644 : mode & 0600);
        if (fd < 0)
                return negative_errno();
        int r = loop_write(fd, content, len);
        if (r >= 0 && (uid != (uid_t) -1 || gid != (gid_t) -1) && fchown(fd, uid, gid) < 0)
                r = negative_errno();
        if (r >= 0 && mode != FILE_MODE_NONE && fchmod(fd, mode) < 0)
                r = negative_errno();
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        /* renameat replaces whatever NAME is, a symlink too, without following it */
        if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(dirfd, tmp, 0);
                return r;
        }
        /* the rename itself must survive a power cut (the state file is
         * what tells the next boot which steps are done) */
        (void) fsync(dirfd);
        return 0;
}

int write_file_atomic(const char *root, const char *path, const char *content, size_t len,
                      mode_t mode, uid_t uid, gid_t gid, bool *changed) {
        _cleanup_close_ int dirfd = -EBADF;
        _cleanup_free_ char *name = NULL;
        int r = chase(root, path, CHASE_PARENT | CHASE_MKDIR, 0755, &dirfd, &name);
        if (r < 0)
                return r;
        return write_file_at(dirfd, name, content, len, mode, uid, gid, changed);
}
