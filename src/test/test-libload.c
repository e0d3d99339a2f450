/* SPDX-License-Identifier: Apache-2.0 */
/* libload.c: libcurl and libarchive opened on first use. A load lasts for
 * the life of the process, so the order below matters: every failure case
 * runs first (each asks for its soname through the test hook, which refuses
 * once a library is loaded, so a wrong order fails instead of passing),
 * then the real loads, then what uses them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent/docker.h"
#include "agent/kubeapi.h"
#include "basic/clock.h"
#include "shared/http.h"
#include "shared/libload.h"
#include "test-util.h"

#define ABSENT_CURL "libcurl-nodeos-absent.so.4"
#define ABSENT_ARCHIVE "libarchive-nodeos-absent.so.13"

#define ASSERT_UNSET(s) assert_null(sym_##s);
#define ASSERT_SET(s) assert_non_null(sym_##s);
static void assert_no_curl_symbol(void) { LIBLOAD_CURL_SYMBOLS(ASSERT_UNSET) }
static void assert_no_archive_symbol(void) { LIBLOAD_ARCHIVE_SYMBOLS(ASSERT_UNSET) }

static void assert_contains(const char *s, const char *part) {
        assert_non_null(s);
        if (!strstr(s, part))
                fail_msg("'%s' does not contain '%s'", s, part);
}

/* The loader's message: the soname, why the agent wants it, dlerror(). */
static void assert_load_message(const char *err, const char *soname) {
        _cleanup_free_ char *head = NULL;
        assert_true(asprintf(&head, "cannot load %s (needed ", soname) > 0);
        assert_non_null(err);
        if (strncmp(err, head, strlen(head)) != 0)
                fail_msg("'%s' does not start with '%s'", err, head);
}

/* --- failures: nothing loaded, nothing set ----------------------------------- */

static void a_missing_libcurl_fails_naming_the_soname_and_sets_no_symbol(void **state) {
        (void) state;
        _cleanup_free_ char *err = NULL;
        assert_int_equal(libload_set_sonames_for_test(ABSENT_CURL, ABSENT_ARCHIVE), 0);
        assert_int_equal(libload_curl(&err), -ELIBACC);
        assert_load_message(err, ABSENT_CURL);
        /* dlerror()'s reason follows */
        assert_contains(err, "): " ABSENT_CURL ": cannot open shared object file");
        assert_no_curl_symbol();
        /* tried again, not remembered; error may be NULL */
        assert_int_equal(libload_curl(NULL), -ELIBACC);
        assert_no_curl_symbol();
}

static void a_missing_libarchive_fails_naming_the_soname_and_sets_no_symbol(void **state) {
        (void) state;
        _cleanup_free_ char *err = NULL;
        assert_int_equal(libload_set_sonames_for_test(ABSENT_CURL, ABSENT_ARCHIVE), 0);
        assert_int_equal(libload_archive(&err), -ELIBACC);
        assert_load_message(err, ABSENT_ARCHIVE);
        assert_contains(err, "image archives");
        assert_no_archive_symbol();
}

/* Builds a shared object with the first n_defined functions of libcurl's
 * list (curl_global_init returning global_init_result): a library that is
 * there but is not the one wanted. Its path, in dir; the caller frees. */
static char *build_partial_curl(const char *dir, const char *name, size_t n_defined, int global_init_result) {
        static const char *const names[] = {
#define NAME(s) #s,
                LIBLOAD_CURL_SYMBOLS(NAME)
#undef NAME
        };
        _cleanup_free_ char *src = NULL, *so = NULL, *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        assert_non_null(f);
        fprintf(f, "int curl_global_init(long flags) { (void) flags; return %d; }\n"
                   "const char *curl_easy_strerror(int c) { (void) c; return \"standin init failure\"; }\n",
                global_init_result);
        for (size_t i = 0; i < ELEMENTSOF(names) && i < n_defined; i++)
                if (!STREQ(names[i], "curl_global_init") && !STREQ(names[i], "curl_easy_strerror"))
                        fprintf(f, "void *%s(void) { return 0; }\n", names[i]);
        assert_int_equal(fclose(f), 0);
        assert_true(asprintf(&src, "%s.c", name) > 0 && asprintf(&so, "%s/%s.so", dir, name) > 0);
        write_text(dir, src, text);
        _cleanup_free_ char *src_path = NULL;
        assert_true(asprintf(&src_path, "%s/%s", dir, src) > 0);
        struct exec_result er;
        assert_int_equal(exec_run((char *[]) { "cc", "-shared", "-fPIC", "-o", so, src_path, NULL }, 60000, &er), 0);
        if (er.status != 0)
                fail_msg("cc: %s", er.output);
        exec_result_done(&er);
        return TAKE_PTR(so);
}

static bool is_still_open(const char *path) {
        void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
        if (h)
                dlclose(h);
        return h != NULL;
}

static void a_library_lacking_a_function_is_closed_again_with_no_symbol_set(void **state) {
        (void) state;
        _cleanup_free_ char *dir = make_tmpdir("test-libload."), *err = NULL;
        /* curl_easy_reset (the 6th) is missing: the five before it resolve first */
        _cleanup_free_ char *so = build_partial_curl(dir, "libcurl-partial-standin", 5, 0);
        assert_int_equal(libload_set_sonames_for_test(so, ABSENT_ARCHIVE), 0);
        assert_int_equal(libload_curl(&err), -ELIBACC);
        assert_load_message(err, so);
        assert_contains(err, "undefined symbol: curl_easy_reset");
        assert_no_curl_symbol();
        assert_false(is_still_open(so));
        rm_rf(dir);
}

static void a_libcurl_whose_global_init_fails_is_closed_again_with_no_symbol_set(void **state) {
        (void) state;
        _cleanup_free_ char *dir = make_tmpdir("test-libload."), *err = NULL;
        _cleanup_free_ char *so = build_partial_curl(dir, "libcurl-initfail-standin", SIZE_MAX, 2 /* CURLE_FAILED_INIT */);
        assert_int_equal(libload_set_sonames_for_test(so, ABSENT_ARCHIVE), 0);
        assert_int_equal(libload_curl(&err), -ELIBACC);
        assert_load_message(err, so);
        assert_contains(err, "initialisation failed: standin init failure");
        assert_no_curl_symbol();
        assert_false(is_still_open(so));
        rm_rf(dir);
}

/* --- the modules' error paths carry the message -------------------------------- */

static void http_get_without_libcurl_fails_at_once_with_the_loader_message(void **state) {
        (void) state;
        _cleanup_free_ char *err = NULL, *body = NULL;
        /* retries would take 6 s: a library that is not there is final */
        const struct http_options o = { .timeout_ms = 1000, .attempts = 3, .backoff_ms = 3000 };
        assert_int_equal(libload_set_sonames_for_test(ABSENT_CURL, ABSENT_ARCHIVE), 0);
        long long t0 = now_ms();
        assert_int_equal(http_get("file:///etc/hostname", &o, &body, NULL, &err), -ELIBACC);
        assert_true(now_ms() - t0 < 2000);
        assert_null(body);
        assert_load_message(err, ABSENT_CURL);
        /* and with nobody asking for the reason */
        assert_int_equal(http_get("file:///etc/hostname", &o, &body, NULL, NULL), -ELIBACC);
}

static void http_handle_new_tells_a_load_failure_from_no_memory(void **state) {
        (void) state;
        _cleanup_free_ char *err = NULL;
        CURL *c = NULL;
        assert_int_equal(libload_set_sonames_for_test(ABSENT_CURL, ABSENT_ARCHIVE), 0);
        assert_int_equal(http_handle_new(&c, &err), -ELIBACC);
        assert_null(c);
        assert_load_message(err, ABSENT_CURL);
}

static void kubeapi_open_without_libcurl_fails_with_the_loader_message(void **state) {
        (void) state;
        _cleanup_free_ char *dir = make_tmpdir("test-libload."), *kc = NULL, *err = NULL;
        write_text(dir, "admin.conf",
                   "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                   "contexts:\n- name: c\n  context: {cluster: k, user: u}\n"
                   "clusters:\n- name: k\n  cluster: {server: \"https://127.0.0.1:6443\"}\n"
                   "users:\n- name: u\n  user: {token: abc}\n");
        assert_true(asprintf(&kc, "%s/admin.conf", dir) > 0);
        struct kubeapi *k = NULL;
        assert_int_equal(libload_set_sonames_for_test(ABSENT_CURL, ABSENT_ARCHIVE), 0);
        assert_int_equal(kubeapi_open(kc, &k, &err), -ELIBACC);
        assert_null(k);
        assert_load_message(err, ABSENT_CURL);
        rm_rf(dir);
}

static void docker_without_its_libraries_fails_with_the_loader_message(void **state) {
        (void) state;
        _cleanup_free_ char *err = NULL, *aerr = NULL;
        struct docker *d = NULL;
        char **refs = NULL;
        assert_int_equal(libload_set_sonames_for_test(ABSENT_CURL, ABSENT_ARCHIVE), 0);
        assert_int_equal(docker_new("/run/docker.sock", &d, &err), -ELIBACC);
        assert_null(d);
        assert_load_message(err, ABSENT_CURL);
        assert_int_equal(docker_archive_image_refs("tests/data/docker-exchange/archive-pause.tar", &refs, &aerr),
                         -ELIBACC);
        assert_null(refs);
        assert_load_message(aerr, ABSENT_ARCHIVE);
}

/* --- the real libraries ----------------------------------------------------------- */

struct loader {
        pthread_t t;
        int curl, archive;
};

static void *load_both(void *p) {
        struct loader *l = p;
        l->curl = libload_curl(NULL);
        l->archive = libload_archive(NULL);
        return NULL;
}

/* The symbol as the library itself has it. */
static void *symbol_of(const char *soname, const char *name) {
        void *h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
        assert_non_null(h);     /* loaded by libload, not by this test */
        void *p = dlsym(h, name);
        dlclose(h);
        return p;
}

static void the_libraries_built_against_load_once_from_many_threads(void **state) {
        (void) state;
        struct loader l[8];
        assert_int_equal(libload_set_sonames_for_test(NULL, NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(l); i++)
                assert_int_equal(pthread_create(&l[i].t, NULL, load_both, &l[i]), 0);
        for (size_t i = 0; i < ELEMENTSOF(l); i++) {
                assert_int_equal(pthread_join(l[i].t, NULL), 0);
                assert_int_equal(l[i].curl, 0);
                assert_int_equal(l[i].archive, 0);
        }
        LIBLOAD_CURL_SYMBOLS(ASSERT_SET)
        LIBLOAD_ARCHIVE_SYMBOLS(ASSERT_SET)
        assert_ptr_equal((void *) sym_curl_easy_perform, symbol_of(LIBCURL_SONAME, "curl_easy_perform"));
        assert_ptr_equal((void *) sym_archive_read_next_header, symbol_of(LIBARCHIVE_SONAME, "archive_read_next_header"));
        /* it is the real thing */
        assert_non_null(strstr(sym_curl_version_info(CURLVERSION_NOW)->version, "."));
}

static void loading_again_is_a_no_op_that_keeps_every_symbol(void **state) {
        (void) state;
        _cleanup_free_ char *err = NULL;
        void *perform = (void *) sym_curl_easy_perform, *next = (void *) sym_archive_read_next_header;
        assert_int_equal(libload_curl(&err), 0);
        assert_int_equal(libload_archive(&err), 0);
        assert_null(err);
        assert_ptr_equal((void *) sym_curl_easy_perform, perform);
        assert_ptr_equal((void *) sym_archive_read_next_header, next);
}

static void the_sonames_cannot_change_once_loaded(void **state) {
        (void) state;
        assert_int_equal(libload_set_sonames_for_test(ABSENT_CURL, NULL), -EBUSY);
        assert_int_equal(libload_set_sonames_for_test(NULL, ABSENT_ARCHIVE), -EBUSY);
        assert_int_equal(libload_set_sonames_for_test(LIBCURL_SONAME, NULL), 0);
        assert_int_equal(libload_curl(NULL), 0);
}

static void http_get_reads_a_file_url_end_to_end(void **state) {
        (void) state;
        _cleanup_free_ char *dir = make_tmpdir("test-libload."), *url = NULL, *missing = NULL;
        _cleanup_free_ char *body = NULL, *err = NULL;
        const struct http_options o = { .timeout_ms = 5000, .attempts = 1 };
        size_t len = 0;
        write_text(dir, "user-data", "#cloud-config\nhostname: lb1\n");
        assert_true(asprintf(&url, "file://%s/user-data", dir) > 0 && asprintf(&missing, "file://%s/nope", dir) > 0);
        assert_int_equal(http_get(url, &o, &body, &len, &err), 0);
        assert_string_equal(body, "#cloud-config\nhostname: lb1\n");
        assert_int_equal(len, strlen(body));
        free(body);
        body = NULL;
        assert_int_equal(http_get(missing, &o, &body, &len, &err), -ENOENT);
        assert_null(body);
        assert_non_null(err);
        rm_rf(dir);
}

/* the file's bytes, read whole from fd */
static char *fd_text(int fd) {
        off_t n = lseek(fd, 0, SEEK_END);
        char *b = calloc(1, (size_t) n + 1);
        assert_non_null(b);
        assert_int_equal(pread(fd, b, (size_t) n, 0), n);
        return b;
}

static void http_download_resumes_a_file_url_where_the_file_ends(void **state) {
        (void) state;
        _cleanup_free_ char *dir = make_tmpdir("test-libload."), *url = NULL, *missing = NULL, *part = NULL;
        const struct http_options o = { .timeout_ms = 5000, .attempts = 1 };
        const char *text = "0123456789abcdefghijklmnopqrstuvwxyz";
        write_text(dir, "bundle", text);
        assert_true(asprintf(&url, "file://%s/bundle", dir) > 0 && asprintf(&missing, "file://%s/nope", dir) > 0);
        assert_true(asprintf(&part, "%s/part", dir) > 0);

        /* from nothing */
        _cleanup_close_ int fd = open(part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(http_download(url, &o, fd, NULL, NULL, NULL), 0);
        _cleanup_free_ char *whole = fd_text(fd);
        assert_string_equal(whole, text);

        /* from the tenth byte: only the rest is appended */
        assert_int_equal(ftruncate(fd, 10), 0);
        assert_int_equal(http_download(url, &o, fd, NULL, NULL, NULL), 0);
        _cleanup_free_ char *resumed = fd_text(fd);
        assert_string_equal(resumed, text);

        /* complete already: nothing more, still complete */
        assert_int_equal(http_download(url, &o, fd, NULL, NULL, NULL), 0);
        _cleanup_free_ char *again = fd_text(fd);
        assert_string_equal(again, text);

        /* a missing file: -ENOENT with a reason, the file untouched */
        _cleanup_free_ char *err = NULL;
        assert_int_equal(http_download(missing, &o, fd, NULL, NULL, &err), -ENOENT);
        assert_non_null(err);
        assert_int_equal(lseek(fd, 0, SEEK_END), (off_t) strlen(text));

        /* not a regular file */
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(http_download(url, &o, dfd, NULL, NULL, NULL), -EBADFD);
        rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_missing_libcurl_fails_naming_the_soname_and_sets_no_symbol),
                cmocka_unit_test(a_missing_libarchive_fails_naming_the_soname_and_sets_no_symbol),
                cmocka_unit_test(a_library_lacking_a_function_is_closed_again_with_no_symbol_set),
                cmocka_unit_test(a_libcurl_whose_global_init_fails_is_closed_again_with_no_symbol_set),
                cmocka_unit_test(http_get_without_libcurl_fails_at_once_with_the_loader_message),
                cmocka_unit_test(http_handle_new_tells_a_load_failure_from_no_memory),
                cmocka_unit_test(kubeapi_open_without_libcurl_fails_with_the_loader_message),
                cmocka_unit_test(docker_without_its_libraries_fails_with_the_loader_message),
                cmocka_unit_test(the_libraries_built_against_load_once_from_many_threads),
                cmocka_unit_test(loading_again_is_a_no_op_that_keeps_every_symbol),
                cmocka_unit_test(the_sonames_cannot_change_once_loaded),
                cmocka_unit_test(http_get_reads_a_file_url_end_to_end),
                cmocka_unit_test(http_download_resumes_a_file_url_where_the_file_ends),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
