/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include "basic/fileio.h"
#include "basic/macro.h"

int read_full_file(const char *path, char **ret, size_t *len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
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

bool file_has_content(const char *root, const char *path, const char *content, size_t len) {
        _cleanup_free_ char *full = path_in_root(root, path), *old = NULL;
        size_t oldlen;
        if (!full || read_full_file(full, &old, &oldlen) < 0)
                return false;
        return oldlen == len && memcmp(old, content, len) == 0;
}

static int write_all(int fd, const char *p, size_t len) {
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

int write_file_atomic(const char *root, const char *path, const char *content, size_t len,
                      mode_t mode, uid_t uid, gid_t gid, bool *changed) {
        _cleanup_free_ char *full = path_in_root(root, path), *dir = NULL, *tmp = NULL;
        int r;

        if (!full || !(dir = strdup(full)))
                return -ENOMEM;
        const char *dname = dirname(dir);
        r = mkdir_p(dname, 0755);
        if (r < 0)
                return r;

        struct stat st;
        bool same = file_has_content(root, path, content, len) && stat(full, &st) == 0 &&
                    (st.st_mode & 07777) == mode &&
                    (uid == (uid_t) -1 || st.st_uid == uid) && (gid == (gid_t) -1 || st.st_gid == gid);
        if (changed)
                *changed = !same;
        if (same)
                return 0;

        if (asprintf(&tmp, "%s.nodeos-tmp", full) < 0)
                return -ENOMEM;
        /* Created with the final mode from the start, so a secret is never
         * readable by others, not even between open and chmod. */
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode & 0600);
        if (fd < 0)
                return negative_errno();
        r = write_all(fd, content, len);
        if (r >= 0 && (uid != (uid_t) -1 || gid != (gid_t) -1) && fchown(fd, uid, gid) < 0)
                r = negative_errno();
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = negative_errno();
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && rename(tmp, full) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        /* the rename itself must survive a power cut (the state file is
         * what tells the next boot which steps are done) */
        _cleanup_close_ int dfd = open(dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return 0;
}
