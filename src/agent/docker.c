/* SPDX-License-Identifier: Apache-2.0 */
#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "agent/docker.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "shared/libload.h"

#define API "http://localhost/v1.40"

struct docker {
        char *socket;
};

int docker_new(const char *socket_path, struct docker **ret, char **error) {
        int r = libload_curl(error);
        if (r < 0)
                return r;
        struct docker *d = calloc(1, sizeof(*d));
        if (!d || !(d->socket = strdup(socket_path ? socket_path : "/run/docker.sock"))) {
                free(d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

void docker_free(struct docker *d) {
        if (!d)
                return;
        free(d->socket);
        free(d);
}

struct buf {
        char *data;
        size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
        struct buf *b = ud;
        size_t k = size * n;
        if (b->len + k > (4u << 20))
                return 0;
        char *d = realloc(b->data, b->len + k + 1);
        if (!d)
                return 0;
        memcpy(d + b->len, p, k);
        b->data = d;
        b->len += k;
        d[b->len] = 0;
        return k;
}

static CURL *request(struct docker *d, const char *path, struct buf *b, long timeout_ms) {
        _cleanup_free_ char *url = NULL;
        if (asprintf(&url, API "%s", path) < 0)
                return NULL;
        CURL *c = sym_curl_easy_init();
        if (!c)
                return NULL;
        sym_curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->socket);
        sym_curl_easy_setopt(c, CURLOPT_URL, url);
        sym_curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
        sym_curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
        sym_curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        sym_curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        sym_curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
        return c;
}

static int perform(struct docker *d, CURL *c, long *status) {
        CURLcode cc = sym_curl_easy_perform(c);
        sym_curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        sym_curl_easy_cleanup(c);
        if (cc == CURLE_OK)
                return 0;
        if (cc == CURLE_COULDNT_CONNECT) {
                struct stat st;
                return stat(d->socket, &st) < 0 ? -ENOENT : -ECONNREFUSED;
        }
        return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
}

static int get(struct docker *d, const char *path, long *status, struct buf *b) {
        CURL *c = request(d, path, b, 10000);
        return c ? perform(d, c, status) : -ENOMEM;
}

bool docker_error_is_unreachable(int r) {
        return r == -ENOENT || r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EIO;
}

int docker_wait_ready(struct docker *d, int timeout_ms) {
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                struct buf b = {};
                long status = 0;
                int r = get(d, "/_ping", &status, &b);
                bool ok = r >= 0 && status == 200 && b.data && strncmp(b.data, "OK", 2) == 0;
                free(b.data);
                if (ok)
                        return 0;
                if (r < 0 && !docker_error_is_unreachable(r))
                        return r;
                clock_gettime(CLOCK_MONOTONIC, &now);
                long el = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
                if (el >= timeout_ms)
                        return -ETIMEDOUT;
                struct timespec ts = { 0, 200 * 1000000L };
                nanosleep(&ts, NULL);
        }
}

/* The path the docker CLI itself sends: a reference's own characters
 * ("/", ":", "@") stay as they are, the daemon's router matches
 * /images/{name:.*}/json; anything outside the reference grammar is
 * percent-encoded so it cannot end the path. */
static char *image_path(const char *ref, const char *suffix) {
        static const char hex[] = "0123456789ABCDEF";
        char *p = malloc(strlen("/images/") + 3 * strlen(ref) + strlen(suffix) + 1), *o = p;
        if (!p)
                return NULL;
        o = stpcpy(o, "/images/");
        for (const unsigned char *c = (const unsigned char *) ref; *c; c++)
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("._-/:@", *c))
                        *o++ = (char) *c;
                else {
                        *o++ = '%';
                        *o++ = hex[*c >> 4];
                        *o++ = hex[*c & 15];
                }
        strcpy(o, suffix);
        return p;
}

int docker_image_exists(struct docker *d, const char *ref) {
        _cleanup_free_ char *path = image_path(ref, "/json");
        if (!path)
                return -ENOMEM;
        struct buf b = {};
        long status = 0;
        int r = get(d, path, &status, &b);
        free(b.data);
        if (r < 0)
                return r;
        return status == 200 ? 1 : status == 404 ? 0 : -EIO;
}

/* The load response is JSON lines: {"stream": "Loaded image: x"} or
 * {"error": "...", "errorDetail": {...}}. */
static int load_result(const char *body, char **error) {
        int r = 0;
        for (const char *p = body; p && *p;) {
                const char *nl = strchr(p, '\n');
                _cleanup_free_ char *line = strndup(p, nl ? (size_t) (nl - p) : strlen(p));
                cJSON *j = line ? cJSON_Parse(line) : NULL;
                const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(j, "error"));
                if (!msg)
                        msg = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "errorDetail"), "message"));
                if (msg) {
                        if (error && !*error)
                                *error = strdup(msg);
                        r = -EIO;
                }
                cJSON_Delete(j);
                p = nl ? nl + 1 : NULL;
        }
        return r;
}

int docker_image_load(struct docker *d, const char *archive_path, char **error) {
        _cleanup_fclose_ FILE *f = fopen(archive_path, "re");
        struct stat st;
        if (!f || fstat(fileno(f), &st) < 0)
                return negative_errno();
        struct buf b = {};
        CURL *c = request(d, "/images/load?quiet=1", &b, 600000);
        if (!c)
                return -ENOMEM;
        struct curl_slist *h = sym_curl_slist_append(NULL, "Content-Type: application/x-tar");
        sym_curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        sym_curl_easy_setopt(c, CURLOPT_POST, 1L);
        sym_curl_easy_setopt(c, CURLOPT_READDATA, f);       /* default read callback: fread */
        sym_curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) st.st_size);
        long status = 0;
        int r = perform(d, c, &status);
        sym_curl_slist_free_all(h);
        if (r >= 0 && status != 200) {
                /* the daemon answers {"message": ...} with a 4xx/5xx when the
                 * load fails before any output was flushed */
                cJSON *j = b.data ? cJSON_Parse(b.data) : NULL;
                const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(j, "message"));
                if (error && !*error && asprintf(error, "HTTP %ld: %s", status, msg ? msg : "no message") < 0)
                        *error = NULL;
                cJSON_Delete(j);
                r = -EIO;
        } else if (r >= 0)
                r = load_result(b.data, error);
        free(b.data);
        return r;
}

static int refs_from_json(const char *name, const char *text, char ***ret) {
        cJSON *j = cJSON_Parse(text);
        const cJSON *it;
        if (!j)
                return -EBADMSG;
        if (STREQ(name, "manifest.json")) {
                cJSON_ArrayForEach(it, j) {
                        const cJSON *tag;
                        cJSON_ArrayForEach(tag, cJSON_GetObjectItem(it, "RepoTags"))
                                if (cJSON_IsString(tag))
                                        strv_extend(ret, tag->valuestring);
                }
        } else {
                cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "manifests")) {
                        const char *ref = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(it, "annotations"),
                                                                                  "io.containerd.image.name"));
                        if (!ref)
                                ref = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(it, "annotations"),
                                                                               "org.opencontainers.image.ref.name"));
                        if (ref)
                                strv_extend(ret, ref);
                }
        }
        cJSON_Delete(j);
        return 0;
}

int docker_archive_image_refs(const char *archive_path, char ***ret, char **error) {
        int r = libload_archive(error);
        if (r < 0)
                return r;
        struct archive *a = sym_archive_read_new();
        struct archive_entry *e;
        if (!a)
                return -ENOMEM;
        sym_archive_read_support_filter_all(a);
        sym_archive_read_support_format_tar(a);
        if (sym_archive_read_open_filename(a, archive_path, 1 << 16) != ARCHIVE_OK) {
                const char *why = sym_archive_error_string(a);
                if (error)
                        *error = strdup(why ? why : "cannot open the archive");
                sym_archive_read_free(a);
                return -EIO;
        }
        r = -ENOENT;
        char **refs = NULL;
        while (sym_archive_read_next_header(a, &e) == ARCHIVE_OK) {
                const char *name = sym_archive_entry_pathname(e);
                if (name && strncmp(name, "./", 2) == 0)
                        name += 2;
                if (!name || (!STREQ(name, "manifest.json") && !STREQ(name, "index.json")))
                        continue;
                la_int64_t size = sym_archive_entry_size(e);
                if (size <= 0 || size > (1 << 20))
                        continue;
                _cleanup_free_ char *text = calloc(1, (size_t) size + 1);
                if (!text || sym_archive_read_data(a, text, (size_t) size) != size) {
                        r = -EIO;
                        break;
                }
                r = refs_from_json(name, text, &refs);
                if (r < 0 || (refs && STREQ(name, "manifest.json")))
                        break;
        }
        sym_archive_read_free(a);
        if (r < 0) {
                strv_free(refs);
                return r;
        }
        *ret = refs ? refs : calloc(1, sizeof(char *));
        return *ret ? 0 : -ENOMEM;
}
