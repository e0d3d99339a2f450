/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/file.h>
#include "agent/bundlefetch.h"
#include "basic/chase.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "shared/http.h"

#define PART "bundle.part"
#define URL_FILE "bundle.url"

bool bundle_source_is_url(const char *source) {
        return strncasecmp(source, "http://", 7) == 0 || strncasecmp(source, "https://", 8) == 0;
}

/* Progress of one download: a line per 10% (per 64 MiB while the size is
 * not known yet). */
struct fetch_progress {
        const char *url;
        unsigned next;
};

static void on_progress(uint64_t done, uint64_t total, void *userdata) {
        struct fetch_progress *p = userdata;
        unsigned step = total > 0 ? (unsigned) (done * 10 / total) : (unsigned) (done >> 26);
        if (step < p->next)
                return;
        if (total > 0)
                fprintf(stderr, "node-agent: update: downloading %s: %llu of %llu MiB (%u%%)\n", p->url,
                        (unsigned long long) (done >> 20), (unsigned long long) (total >> 20), step * 10);
        else
                fprintf(stderr, "node-agent: update: downloading %s: %llu MiB\n", p->url, (unsigned long long) (done >> 20));
        p->next = step + 1;
}

/* Whether the download in DIR came from URL. */
static bool same_url(int dir, const char *url) {
        _cleanup_close_ int fd = openat(dir, URL_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        char buf[4096];
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (n <= 0)
                return false;
        buf[n] = 0;
        return STREQ(buf, url);
}

/* The download file, opened for appending and locked; what another URL
 * left there is dropped first. */
static int open_part(int dir, const char *url, int *ret_fd, char **error) {
        _cleanup_close_ int fd = openat(dir, PART, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return -errno;
                *error = strdup("another download of an update runs on this node");
                return -EBUSY;
        }
        if (!same_url(dir, url)) {
                if (ftruncate(fd, 0) < 0)
                        return -errno;
                int r = write_file_at(dir, URL_FILE, url, strlen(url), 0600, -1, -1, NULL);
                if (r < 0)
                        return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

bool bundle_url_has_credentials(const char *url) {
        const char *host = strstr(url, "://");
        if (!host)
                return false;
        host += 3;
        size_t n = strcspn(host, "/?#");
        return memchr(host, '@', n) != NULL;
}

int bundle_fetch(const char *root, const char *url, char **ret_path, char **error) {
        _cleanup_close_ int dir = -EBADF, fd = -EBADF;
        /* the URL itself is not repeated: it holds the secret */
        if (bundle_url_has_credentials(url))
                return errorf(error, -EINVAL, "the bundle URL carries credentials (user@ or user:password@ before the host): "
                                              "they would be repeated in the progress lines, the journal and %s; serve "
                                              "bundles without them (the signature is what makes a bundle trusted) or "
                                              "download it yourself and pass the file", BUNDLE_DOWNLOAD_DIR "/" URL_FILE);
        int r = mkdir_in_root(root, BUNDLE_DOWNLOAD_DIR, 0700, &dir);
        if (r >= 0)
                r = open_part(dir, url, &fd, error);
        if (r < 0) {
                if (!*error && asprintf(error, "%s: %s", BUNDLE_DOWNLOAD_DIR, chase_strerror(r)) < 0)
                        *error = NULL;
                return r;
        }
        off_t had = lseek(fd, 0, SEEK_END);
        if (had > 0)
                fprintf(stderr, "node-agent: update: resuming the download of %s at %llu MiB\n", url,
                        (unsigned long long) (had >> 20));
        /* generous: a mirror under load may stall for a while */
        struct http_options o = { .timeout_ms = 60000, .attempts = 5, .backoff_ms = 1000 };
        struct fetch_progress p = { .url = url };
        _cleanup_free_ char *why = NULL;
        r = http_download(url, &o, fd, on_progress, &p, &why);
        if (r == -ENOSPC) {
                /* a full data partition stops etcd and docker: give it back */
                (void) unlinkat(dir, PART, 0);
                (void) unlinkat(dir, URL_FILE, 0);
                if (asprintf(error, "no space left on the data partition for the bundle (%s deleted): free space, then rerun",
                             BUNDLE_DOWNLOAD_DIR "/" PART) < 0)
                        *error = NULL;
                return r;
        }
        if (r < 0) {
                off_t now = lseek(fd, 0, SEEK_END);
                if (asprintf(error, "download failed: %s%s", why ? why : strerror(-r),
                             now > 0 ? "; what arrived is kept, rerun the same command to resume" : "") < 0)
                        *error = NULL;
                return r;
        }
        if (fsync(fd) < 0)
                return -errno;
        return fd_get_path(fd, ret_path);
}

void bundle_fetch_forget(const char *root) {
        _cleanup_close_ int dir = -EBADF;
        if (chase(root, BUNDLE_DOWNLOAD_DIR, 0, 0, &dir, NULL) < 0)
                return;
        (void) unlinkat(dir, PART, 0);
        (void) unlinkat(dir, URL_FILE, 0);
}
