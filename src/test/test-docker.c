/* SPDX-License-Identifier: Apache-2.0 */
/* docker.c and the images step against a recorded Docker Engine API exchange
 * (tests/data/docker-exchange/, see its README): a tiny unix-socket server
 * in a thread replays the daemon's recorded replies and keeps every request
 * it got, so the tests can compare method, path, headers and the streamed
 * body with what the real daemon was sent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "agent/docker.h"
#include "agent/steps/step.h"
#include "basic/exec.h"
#include "basic/fileio.h"
#include "basic/strv.h"
#include "shared/libload.h"
#include "test-util.h"

#define EXCHANGE "tests/data/docker-exchange/"
#define LOAD_PATH "/v1.40/images/load?quiet=1"

/* --- the replay server --------------------------------------------------- */

struct route {
        const char *method, *path;
        const char *resp;       /* fixture file name under EXCHANGE */
        bool reusable;
        bool used;
};

struct request {
        char *head;             /* request line + headers, up to and with the blank line */
        char *method, *path;
        char *body;
        size_t body_len;
        bool expect_continue;
};

struct fake {
        char dir[64], sock[128];
        int fd;
        pthread_t thread;
        volatile bool stop;
        struct route *routes;
        size_t n_routes;
        struct request reqs[32];
        size_t n_reqs;
        size_t unmatched;
};

static char *slurp(const char *path, size_t *len) {
        char *t = NULL;
        assert_int_equal(read_full_file(path, &t, len), 0);
        return t;
}

static char *fixture(const char *name, size_t *len) {
        char path[256];
        snprintf(path, sizeof(path), EXCHANGE "%s", name);
        return slurp(path, len);
}

static bool send_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k <= 0)
                        return false;
                p += k;
                n -= (size_t) k;
        }
        return true;
}

static const char *header_value(const char *head, const char *name, char *buf, size_t size) {
        size_t nl = strlen(name);
        for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n"))
                if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
                        const char *v = p + 3 + nl, *e = strstr(v, "\r\n");
                        while (*v == ' ')
                                v++;
                        snprintf(buf, size, "%.*s", (int) (e - v), v);
                        return buf;
                }
        return NULL;
}

static void serve_one(struct fake *f, int c) {
        char *buf = malloc(65536);
        size_t len = 0;
        char *end = NULL;
        while (!end && len < 65535) {
                ssize_t k = recv(c, buf + len, 65535 - len, 0);
                if (k <= 0)
                        break;
                len += (size_t) k;
                buf[len] = 0;
                end = strstr(buf, "\r\n\r\n");
        }
        if (!end || f->n_reqs >= ELEMENTSOF(f->reqs)) {
                free(buf);
                return;
        }
        struct request *rq = &f->reqs[f->n_reqs++];
        size_t head_len = (size_t) (end - buf) + 4;
        rq->head = strndup(buf, head_len);
        char m[16], p[1024], v[64];
        if (sscanf(rq->head, "%15s %1023s", m, p) == 2) {
                rq->method = strdup(m);
                rq->path = strdup(p);
        }
        rq->expect_continue = header_value(rq->head, "Expect", v, sizeof(v)) && strcasecmp(v, "100-continue") == 0;
        size_t want = header_value(rq->head, "Content-Length", v, sizeof(v)) ? strtoul(v, NULL, 10) : 0;

        struct route *rt = NULL;
        for (size_t i = 0; i < f->n_routes && !rt; i++)
                if ((!f->routes[i].used || f->routes[i].reusable) && rq->method && STREQ(f->routes[i].method, rq->method) &&
                    STREQ(f->routes[i].path, rq->path))
                        rt = &f->routes[i];
        size_t rlen = 0;
        char *resp = NULL, *rest;
        if (rt) {
                rt->used = true;
                char path[256];
                snprintf(path, sizeof(path), EXCHANGE "%s", rt->resp);
                if (read_full_file(path, &resp, &rlen) < 0)
                        resp = NULL;
        } else
                f->unmatched++;
        if (!resp) {
                resp = strdup("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 27\r\n\r\n{\"message\":\"no such route\"}");
                rlen = strlen(resp);
        }
        rest = resp;
        /* A recorded "100 Continue" goes out before the body is read, as the
         * daemon sent it; a client that did not ask for one does not get it. */
        if (strncmp(resp, "HTTP/1.1 100", 12) == 0) {
                char *e = strstr(resp, "\r\n\r\n") + 4;
                if (rq->expect_continue)
                        send_all(c, resp, (size_t) (e - resp));
                rest = e;
        }
        rq->body = malloc(want + 1);
        size_t have = len - head_len < want ? len - head_len : want;
        memcpy(rq->body, buf + head_len, have);
        while (have < want) {
                ssize_t k = recv(c, rq->body + have, want - have, 0);
                if (k <= 0)
                        break;
                have += (size_t) k;
        }
        rq->body_len = have;
        send_all(c, rest, rlen - (size_t) (rest - resp));
        free(resp);
        free(buf);
}

static void *serve(void *arg) {
        struct fake *f = arg;
        while (!f->stop) {
                struct pollfd pf = { .fd = f->fd, .events = POLLIN };
                if (poll(&pf, 1, 20) <= 0)
                        continue;
                int c = accept(f->fd, NULL, NULL);
                if (c < 0)
                        continue;
                serve_one(f, c);
                close(c);
        }
        return NULL;
}

static struct fake *fake_start(struct route *routes, size_t n) {
        struct fake *f = calloc(1, sizeof(*f));
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(f->dir, "/tmp/test-docker.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->sock, sizeof(f->sock), "%s/docker.sock", f->dir);
        strcpy(sa.sun_path, f->sock);
        f->routes = routes;
        f->n_routes = n;
        f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(f->fd >= 0);
        assert_int_equal(bind(f->fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(f->fd, 8), 0);
        assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
        return f;
}

static void fake_stop(struct fake *f) {
        f->stop = true;
        pthread_join(f->thread, NULL);
        close(f->fd);
        unlink(f->sock);
        rmdir(f->dir);
        for (size_t i = 0; i < f->n_reqs; i++) {
                free(f->reqs[i].head);
                free(f->reqs[i].method);
                free(f->reqs[i].path);
                free(f->reqs[i].body);
        }
        free(f);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* A request head in a comparable form: the request line, then the header
 * lines sorted with lower-cased names (HTTP does not order headers). */
static char *normalize_head(const char *head) {
        _cleanup_strv_free_ char **lines = NULL;
        const char *p = head;
        for (const char *e; (e = strstr(p, "\r\n")) && e != p; p = e + 2) {
                char *l = strndup(p, (size_t) (e - p));
                if (!lines || !lines[0]) {
                        strv_consume(&lines, l);
                        continue;
                }
                for (char *c = l; *c && *c != ':'; c++)
                        *c = (char) tolower((unsigned char) *c);
                strv_consume(&lines, l);
        }
        if (strv_length(lines) > 1)
                qsort(lines + 1, strv_length(lines) - 1, sizeof(char *), cmp_str);
        return strv_join(lines, "\n");
}

static void assert_head_is_recorded(const struct request *rq, const char *req_fixture) {
        _cleanup_free_ char *want_raw = fixture(req_fixture, NULL);
        _cleanup_free_ char *want = normalize_head(want_raw), *got = normalize_head(rq->head);
        assert_string_equal(got, want);
}

static struct docker *client(const struct fake *f) {
        struct docker *d = NULL;
        assert_int_equal(docker_new(f ? f->sock : "/nonexistent/docker.sock", &d, NULL), 0);
        return d;
}

/* --- helpers for archives -------------------------------------------------- */

/* A docker-save (manifest.json RepoTags) or OCI (index.json annotation)
 * archive naming ref, optionally gzip-compressed. */
static void write_archive(const char *path, const char *ref, bool oci, bool gzip) {
        struct archive *a = archive_write_new();
        archive_write_set_format_ustar(a);
        if (gzip)
                archive_write_add_filter_gzip(a);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        char layer[512] = "layer bytes";
        _cleanup_free_ char *meta = NULL;
        if (oci)
                assert_true(asprintf(&meta, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                                            "\"application/vnd.oci.image.manifest.v1+json\",\"annotations\":"
                                            "{\"io.containerd.image.name\":\"%s\"}}]}", ref) > 0);
        else
                assert_true(asprintf(&meta, "[{\"Config\":\"c.json\",\"RepoTags\":[\"%s\"],\"Layers\":[\"l/layer.tar\"]}]",
                                     ref) > 0);
        const struct { const char *name, *data; size_t len; } es[] = {
                { "l/layer.tar", layer, sizeof(layer) },
                { oci ? "index.json" : "manifest.json", meta, strlen(meta) },
        };
        for (size_t i = 0; i < ELEMENTSOF(es); i++) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, es[i].name);
                archive_entry_set_size(e, (la_int64_t) es[i].len);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                assert_int_equal(archive_write_data(a, es[i].data, es[i].len), (la_ssize_t) es[i].len);
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

static void write_bytes(const char *path, const char *data, size_t len) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
}

/* --- docker.c -------------------------------------------------------------- */

static void waits_for_ping_and_sends_the_recorded_request(void **state) {
        (void) state;
        struct route rt[] = { { "GET", "/v1.40/_ping", "01-ping.resp", false, false } };
        struct fake *f = fake_start(rt, ELEMENTSOF(rt));
        struct docker *d = client(f);
        assert_int_equal(docker_wait_ready(d, 5000), 0);
        assert_int_equal(f->n_reqs, 1);
        assert_head_is_recorded(&f->reqs[0], "01-ping.req");
        docker_free(d);
        fake_stop(f);
}

static void no_daemon_is_enoent_and_ping_times_out(void **state) {
        (void) state;
        struct docker *d = client(NULL);
        assert_int_equal(docker_image_exists(d, "k8s/pause:3.1"), -ENOENT);
        assert_int_equal(docker_wait_ready(d, 300), -ETIMEDOUT);
        docker_free(d);
}

static void a_socket_nobody_listens_on_is_econnrefused(void **state) {
        (void) state;
        _cleanup_free_ char *dir = make_tmpdir("test-docker-files."), *sock = NULL;
        assert_true(asprintf(&sock, "%s/docker.sock", dir) > 0);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, sock);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        close(fd);      /* the file stays, nobody accepts: a daemon that died */
        struct docker *d = NULL;
        assert_int_equal(docker_new(sock, &d, NULL), 0);
        assert_int_equal(docker_image_exists(d, "k8s/pause:3.1"), -ECONNREFUSED);
        docker_free(d);
        rm_rf(dir);
}

static void image_exists_reads_200_404_and_400_as_recorded(void **state) {
        (void) state;
        struct route rt[] = {
                { "GET", "/v1.40/images/k8s/pause:3.1/json", "04-image-present.resp", false, false },
                { "GET", "/v1.40/images/k8s/pause:3.1/json", "02-image-missing.resp", false, false },
                { "GET", "/v1.40/images/UPPER/case:1/json", "09-image-bad-reference.resp", false, false },
        };
        struct fake *f = fake_start(rt, ELEMENTSOF(rt));
        struct docker *d = client(f);
        assert_int_equal(docker_image_exists(d, "k8s/pause:3.1"), 1);
        assert_int_equal(docker_image_exists(d, "k8s/pause:3.1"), 0);
        assert_int_equal(docker_image_exists(d, "UPPER/case:1"), -EIO);
        assert_int_equal(f->n_reqs, 3);
        assert_int_equal(f->unmatched, 0);
        assert_head_is_recorded(&f->reqs[0], "04-image-present.req");
        assert_head_is_recorded(&f->reqs[1], "02-image-missing.req");
        assert_head_is_recorded(&f->reqs[2], "09-image-bad-reference.req");
        docker_free(d);
        fake_stop(f);
}

static void image_path_is_the_one_the_docker_cli_sends(void **state) {
        (void) state;
        /* the CLI's recorded request (API 1.41): the reference unescaped */
        _cleanup_free_ char *cli = fixture("10-cli-inspect.req", NULL);
        assert_non_null(strstr(cli, "GET /v1.41/images/k8s/pause:3.1/json HTTP/1.1\r\n"));
        struct route rt[] = {
                { "GET", "/v1.40/images/k8s/pause:3.1/json", "04-image-present.resp", false, false },
                { "GET", "/v1.40/images/dojot/auth@sha256:0123/json", "02-image-missing.resp", false, false },
                { "GET", "/v1.40/images/bad%20ref%3F%23/json", "09-image-bad-reference.resp", false, false },
        };
        struct fake *f = fake_start(rt, ELEMENTSOF(rt));
        struct docker *d = client(f);
        assert_int_equal(docker_image_exists(d, "k8s/pause:3.1"), 1);
        assert_int_equal(docker_image_exists(d, "dojot/auth@sha256:0123"), 0);
        /* characters outside the reference grammar cannot end the path */
        assert_int_equal(docker_image_exists(d, "bad ref?#"), -EIO);
        assert_int_equal(f->unmatched, 0);
        assert_string_equal(f->reqs[2].path, "/v1.40/images/bad%20ref%3F%23/json");
        docker_free(d);
        fake_stop(f);
}

static void load_streams_the_archive_as_the_recorded_request(void **state) {
        (void) state;
        struct route rt[] = { { "POST", LOAD_PATH, "03-load.resp", false, false } };
        struct fake *f = fake_start(rt, ELEMENTSOF(rt));
        struct docker *d = client(f);
        char *err = NULL;
        size_t alen;
        _cleanup_free_ char *archive = fixture("archive-pause.tar", &alen);
        assert_int_equal(docker_image_load(d, EXCHANGE "archive-pause.tar", &err), 0);
        assert_null(err);
        assert_int_equal(f->n_reqs, 1);
        assert_head_is_recorded(&f->reqs[0], "03-load.req");
        assert_int_equal(f->reqs[0].body_len, alen);
        assert_memory_equal(f->reqs[0].body, archive, alen);
        docker_free(d);
        fake_stop(f);
}

static void load_of_a_large_archive_asks_100_continue_and_sends_every_byte(void **state) {
        (void) state;
        /* the recorded large load was 3,020,800 bytes: same length, same head */
        const size_t n = 3020800;
        char *big = malloc(n);
        uint32_t x = 2463534242u;
        for (size_t i = 0; i < n; i++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                big[i] = (char) x;
        }
        _cleanup_free_ char *dir = make_tmpdir("test-docker-files."), *path = NULL;
        assert_true(asprintf(&path, "%s/big.tar", dir) > 0);
        write_bytes(path, big, n);
        struct route rt[] = { { "POST", LOAD_PATH, "08-load-large.resp", false, false } };
        struct fake *f = fake_start(rt, ELEMENTSOF(rt));
        struct docker *d = client(f);
        char *err = NULL;
        assert_int_equal(docker_image_load(d, path, &err), 0);
        assert_null(err);
        assert_head_is_recorded(&f->reqs[0], "08-load-large.req");
        assert_true(f->reqs[0].expect_continue);
        assert_int_equal(f->reqs[0].body_len, n);
        assert_memory_equal(f->reqs[0].body, big, n);
        free(big);
        docker_free(d);
        fake_stop(f);
        rm_rf(dir);
}

static void load_reports_the_error_line_of_the_reply_stream(void **state) {
        (void) state;
        size_t alen;
        _cleanup_free_ char *archive = fixture("archive-pause.tar", &alen);
        _cleanup_free_ char *dir = make_tmpdir("test-docker-files."), *trunc = NULL, *junk = NULL;
        assert_true(asprintf(&trunc, "%s/trunc.tar", dir) > 0 && asprintf(&junk, "%s/junk.tar", dir) > 0);
        write_bytes(trunc, archive, 10000);     /* as recorded: the first 10000 bytes */
        char noise[5000];
        memset(noise, 0x5a, sizeof(noise));
        write_bytes(junk, noise, sizeof(noise));
        struct route rt[] = {
                { "POST", LOAD_PATH, "05-load-truncated.resp", false, false },
                { "POST", LOAD_PATH, "06-load-not-a-tar.resp", false, false },
        };
        struct fake *f = fake_start(rt, ELEMENTSOF(rt));
        struct docker *d = client(f);
        char *err = NULL;
        /* the daemon answers 200 and puts the failure in the stream */
        assert_int_equal(docker_image_load(d, trunc, &err), -EIO);
        assert_string_equal(err, "Error processing tar file(exit status 1): unexpected EOF");
        free(err);
        err = NULL;
        assert_int_equal(docker_image_load(d, junk, &err), -EIO);
        assert_string_equal(err, "Error processing tar file(exit status 1): archive/tar: invalid tar header");
        free(err);
        assert_head_is_recorded(&f->reqs[0], "05-load-truncated.req");
        assert_head_is_recorded(&f->reqs[1], "06-load-not-a-tar.req");
        assert_memory_equal(f->reqs[0].body, archive, 10000);
        docker_free(d);
        fake_stop(f);
        rm_rf(dir);
}

static void load_reports_a_non_200_reply_with_its_status(void **state) {
        (void) state;
        struct route rt[] = { { "POST", LOAD_PATH, "11-load-status-500.resp", false, false } };
        struct fake *f = fake_start(rt, ELEMENTSOF(rt));
        struct docker *d = client(f);
        char *err = NULL;
        assert_int_equal(docker_image_load(d, EXCHANGE "archive-pause.tar", &err), -EIO);
        assert_string_equal(err, "HTTP 500: mkdir /var/lib/docker/tmp/docker-import-1234: no space left on device");
        free(err);
        docker_free(d);
        fake_stop(f);
}

static void load_of_a_missing_archive_is_enoent_and_sends_nothing(void **state) {
        (void) state;
        struct fake *f = fake_start(NULL, 0);
        struct docker *d = client(f);
        char *err = NULL;
        assert_int_equal(docker_image_load(d, "/nonexistent/x.tar", &err), -ENOENT);
        assert_null(err);
        assert_int_equal(f->n_reqs, 0);
        docker_free(d);
        fake_stop(f);
}

static void archive_refs_come_from_manifest_or_oci_index(void **state) {
        (void) state;
        char **refs = NULL;
        assert_int_equal(docker_archive_image_refs(EXCHANGE "archive-pause.tar", &refs, NULL), 0);
        assert_int_equal(strv_length(refs), 1);
        assert_string_equal(refs[0], "k8s/pause:3.1");
        strv_free(refs);

        _cleanup_free_ char *dir = make_tmpdir("test-docker-files."), *gz = NULL, *oci = NULL, *empty = NULL;
        assert_true(asprintf(&gz, "%s/a.tar.gz", dir) > 0 && asprintf(&oci, "%s/b.tar", dir) > 0 &&
                    asprintf(&empty, "%s/c.tar", dir) > 0);
        write_archive(gz, "dojot/auth:v0.5.0", false, true);
        write_archive(oci, "k8s/coredns:1.6.5", true, false);
        write_bytes(empty, "", 0);
        refs = NULL;
        assert_int_equal(docker_archive_image_refs(gz, &refs, NULL), 0);
        assert_string_equal(refs[0], "dojot/auth:v0.5.0");
        strv_free(refs);
        refs = NULL;
        assert_int_equal(docker_archive_image_refs(oci, &refs, NULL), 0);
        assert_string_equal(refs[0], "k8s/coredns:1.6.5");
        strv_free(refs);
        refs = NULL;
        /* not an archive: libarchive's reason comes back */
        _cleanup_free_ char *why = NULL;
        assert_int_equal(docker_archive_image_refs(empty, &refs, &why), -EIO);
        assert_null(refs);
        assert_non_null(why);
        assert_true(why[0] != 0);
        rm_rf(dir);
}

/* --- the images step over the same exchange ------------------------------- */

struct images_env {
        char *root;
        struct role role;
        struct agent_ctx ctx;
};

static void images_env_init(struct images_env *e, const struct fake *f, char **role_images) {
        e->root = make_tmpdir("test-docker-files.");
        e->role = (struct role) { .name = (char *) "verne", .images = role_images };
        e->ctx = (struct agent_ctx) { .root = e->root, .live = true, .role = &e->role,
                                      .image_store = "/usr/share/nodeos/images", .docker_socket = f->sock };
        _cleanup_free_ char *store = path_in_root(e->root, e->ctx.image_store);
        assert_int_equal(mkdir_p(store, 0755), 0);
}

static char *store_file(const struct images_env *e, const char *name) {
        char *p = NULL;
        assert_true(asprintf(&p, "%s%s/%s", e->root, e->ctx.image_store, name) > 0);
        return p;
}

static void images_step_loads_only_what_is_missing_and_names_role_images_not_loaded(void **state) {
        (void) state;
        struct route rt[] = {
                { "GET", "/v1.40/_ping", "01-ping.resp", true, false },
                { "GET", "/v1.40/images/k8s/pause:3.1/json", "04-image-present.resp", false, false },
                { "GET", "/v1.40/images/dojot/auth:v0.5.0/json", "07-image-missing-auth.resp", false, false },
                { "POST", LOAD_PATH, "08-load-large.resp", false, false },
                { "GET", "/v1.40/images/dojot/gui:v0.5.0/json", "02-image-missing.resp", false, false },
        };
        struct fake *f = fake_start(rt, ELEMENTSOF(rt));
        struct images_env e;
        char *role_images[] = { "k8s/pause:3.1", "dojot/auth:v0.5.0", "dojot/gui:v0.5.0", NULL };
        images_env_init(&e, f, role_images);
        _cleanup_free_ char *pause = store_file(&e, "k8s-pause.tar"), *auth = store_file(&e, "dojot-auth.tar.gz"),
                           *ignored = store_file(&e, "notes.txt");
        size_t plen, alen;
        _cleanup_free_ char *pbytes = fixture("archive-pause.tar", &plen);
        write_bytes(pause, pbytes, plen);
        write_archive(auth, "dojot/auth:v0.5.0", false, true);
        write_bytes(ignored, "not an archive", 14);
        _cleanup_free_ char *abytes = slurp(auth, &alen);

        struct step_result res = {};
        assert_int_equal(step_type_images.apply(&e.ctx, NULL, &res), 0);
        assert_int_equal(res.status, STEP_DONE);
        assert_string_equal(res.detail, "loaded 1, already present 1; role images not loaded: 1 (dojot/gui:v0.5.0)");
        assert_int_equal(f->unmatched, 0);
        /* archives in name order: auth (missing -> loaded), then pause (present) */
        const char *want[][2] = {
                { "GET", "/v1.40/_ping" },
                { "GET", "/v1.40/images/dojot/auth:v0.5.0/json" },
                { "POST", LOAD_PATH },
                { "GET", "/v1.40/images/k8s/pause:3.1/json" },
                { "GET", "/v1.40/images/dojot/gui:v0.5.0/json" },
        };
        assert_int_equal(f->n_reqs, ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                assert_string_equal(f->reqs[i].method, want[i][0]);
                assert_string_equal(f->reqs[i].path, want[i][1]);
        }
        assert_int_equal(f->reqs[2].body_len, alen);
        assert_memory_equal(f->reqs[2].body, abytes, alen);
        free(res.detail);
        fake_stop(f);
        rm_rf(e.root);
        free(e.root);
}

static void images_step_fails_naming_the_archive_docker_refused(void **state) {
        (void) state;
        struct route rt[] = {
                { "GET", "/v1.40/_ping", "01-ping.resp", true, false },
                { "POST", LOAD_PATH, "05-load-truncated.resp", false, false },
        };
        struct fake *f = fake_start(rt, ELEMENTSOF(rt));
        struct images_env e;
        images_env_init(&e, f, NULL);
        size_t plen;
        _cleanup_free_ char *pbytes = fixture("archive-pause.tar", &plen), *trunc = store_file(&e, "broken.tar");
        write_bytes(trunc, pbytes, 10000);      /* its manifest is cut off: refs unknown, so it is loaded */
        struct step_result res = {};
        assert_int_equal(step_type_images.apply(&e.ctx, NULL, &res), -EIO);
        assert_int_equal(res.status, STEP_FAILED);
        assert_string_equal(res.detail, "1 image archive(s) could not be loaded: broken.tar (loaded 0, already present 0)");
        free(res.detail);
        fake_stop(f);
        rm_rf(e.root);
        free(e.root);
}

static void images_step_runs_at_every_boot_and_not_under_an_offline_root(void **state) {
        (void) state;
        assert_true(step_type_images.every_boot);
        struct fake *f = fake_start(NULL, 0);
        struct images_env e;
        images_env_init(&e, f, NULL);
        e.ctx.live = false;
        _cleanup_free_ char *a = store_file(&e, "a.tar");
        write_archive(a, "k8s/pause:3.1", false, false);
        struct step_result res = {};
        assert_int_equal(step_type_images.apply(&e.ctx, NULL, &res), 0);
        assert_int_equal(res.status, STEP_SKIPPED);
        assert_int_equal(f->n_reqs, 0);
        free(res.detail);
        fake_stop(f);
        rm_rf(e.root);
        free(e.root);
}

/* First in main(): libarchive is not loaded yet (loads last the process). */
static void images_step_without_libarchive_fails_naming_it_and_loads_nothing(void **state) {
        (void) state;
        struct route rt[] = { { "GET", "/v1.40/_ping", "01-ping.resp", true, false } };
        struct fake *f = fake_start(rt, ELEMENTSOF(rt));
        struct images_env e;
        images_env_init(&e, f, NULL);
        _cleanup_free_ char *a = store_file(&e, "a.tar");
        write_archive(a, "k8s/pause:3.1", false, false);
        assert_int_equal(libload_set_sonames_for_test(NULL, "libarchive-nodeos-absent.so.13"), 0);
        struct step_result res = {};
        assert_int_equal(step_type_images.apply(&e.ctx, NULL, &res), -ELIBACC);
        assert_int_equal(res.status, STEP_FAILED);
        const char *want = "cannot load libarchive-nodeos-absent.so.13 (needed to read the image archives";
        assert_non_null(res.detail);
        assert_memory_equal(res.detail, want, strlen(want));
        /* the ping, no load: every archive would be loaded again at every boot */
        assert_int_equal(f->n_reqs, 1);
        assert_int_equal(libload_set_sonames_for_test(NULL, NULL), 0);
        free(res.detail);
        fake_stop(f);
        rm_rf(e.root);
        free(e.root);
}

/* The images step says "docker is not answering" for these alone; out of
 * memory (or any error of the agent's own) is said as what it is. */
static void only_the_socket_errors_say_docker_is_not_answering(void **state) {
        (void) state;
        struct docker *d = client(NULL);
        assert_true(docker_error_is_unreachable(docker_image_exists(d, "k8s/pause:3.1")));
        assert_true(docker_error_is_unreachable(docker_wait_ready(d, 100)));
        docker_free(d);
        assert_true(docker_error_is_unreachable(-ECONNREFUSED));
        assert_true(docker_error_is_unreachable(-EIO));
        assert_false(docker_error_is_unreachable(-ENOMEM));
        assert_false(docker_error_is_unreachable(-EINVAL));
        assert_false(docker_error_is_unreachable(0));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(images_step_without_libarchive_fails_naming_it_and_loads_nothing),
                cmocka_unit_test(waits_for_ping_and_sends_the_recorded_request),
                cmocka_unit_test(no_daemon_is_enoent_and_ping_times_out),
                cmocka_unit_test(a_socket_nobody_listens_on_is_econnrefused),
                cmocka_unit_test(image_exists_reads_200_404_and_400_as_recorded),
                cmocka_unit_test(image_path_is_the_one_the_docker_cli_sends),
                cmocka_unit_test(load_streams_the_archive_as_the_recorded_request),
                cmocka_unit_test(load_of_a_large_archive_asks_100_continue_and_sends_every_byte),
                cmocka_unit_test(load_reports_the_error_line_of_the_reply_stream),
                cmocka_unit_test(load_reports_a_non_200_reply_with_its_status),
                cmocka_unit_test(load_of_a_missing_archive_is_enoent_and_sends_nothing),
                cmocka_unit_test(archive_refs_come_from_manifest_or_oci_index),
                cmocka_unit_test(images_step_loads_only_what_is_missing_and_names_role_images_not_loaded),
                cmocka_unit_test(images_step_fails_naming_the_archive_docker_refused),
                cmocka_unit_test(images_step_runs_at_every_boot_and_not_under_an_offline_root),
                cmocka_unit_test(only_the_socket_errors_say_docker_is_not_answering),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
