/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Helpers the unit tests share: temporary directories and files, the
 * repo's roles and their example seeds. Header-only (static inline) because
 * each test binary is linked from its own test-X.c and the zone libraries
 * alone (Makefile, rule $(1)/tests/%). Paths are relative to the repo root,
 * where the tests run. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "basic/exec.h"
#include "basic/macro.h"
#include "basic/strv.h"

/* A new empty directory /tmp/<prefix>XXXXXX; the caller frees the name. */
static inline char *make_tmpdir(const char *prefix) {
        char *d = NULL;
        assert_true(asprintf(&d, "/tmp/%sXXXXXX", prefix) > 0);
        assert_non_null(mkdtemp(d));
        return d;
}

/* Removes d and everything below it; fails the test when rm does. */
static inline void rm_rf(const char *d) {
        struct exec_result er;
        assert_int_equal(exec_run((char *[]) { "rm", "-rf", (char *) d, NULL }, 10000, &er), 0);
        assert_int_equal(er.status, 0);
        exec_result_done(&er);
}

/* Writes text to dir/name (created or truncated). */
static inline void write_text(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
        _cleanup_fclose_ FILE *f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
}

/* stdout and stderr into a file (path; "/dev/null" to drop them) while an
 * in-process run prints its step lines; output_restore() puts them back. */
struct saved_output {
        int out, err;
};

static inline struct saved_output output_to(const char *path) {
        fflush(stdout);
        fflush(stderr);
        struct saved_output s = { dup(1), dup(2) };
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(s.out >= 0 && s.err >= 0 && fd >= 0);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        return s;
}

static inline void output_restore(struct saved_output s) {
        fflush(stdout);
        fflush(stderr);
        dup2(s.out, 1);
        dup2(s.err, 2);
        close(s.out);
        close(s.err);
}

/* The roles of the repo, from the roles/ directory itself (not from the
 * catalog loader under test, and not a list written in a test): the
 * subdirectories holding a role.yaml, sorted by name. A new strv. */
static inline char **test_role_names(void) {
        struct dirent **names = NULL;
        char **l = NULL;
        int n = scandir("roles", &names, NULL, alphasort);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *file = NULL;
                assert_true(asprintf(&file, "roles/%s/role.yaml", names[i]->d_name) > 0);
                if (names[i]->d_name[0] != '.' && access(file, F_OK) == 0)
                        assert_int_equal(strv_extend(&l, names[i]->d_name), 0);
                free(names[i]);
        }
        free(names);
        assert_non_null(l);
        return l;
}

/* The example seed directories of a role, those that exist of
 * cloud-init/examples/<role> (100k) and cloud-init/examples/few-devices/<role>.
 * A new strv, NULL when the role has none. */
static inline char **test_role_examples(const char *role) {
        char **l = NULL;
        const char * const bases[] = { "cloud-init/examples", "cloud-init/examples/few-devices" };
        for (size_t b = 0; b < ELEMENTSOF(bases); b++) {
                _cleanup_free_ char *dir = NULL, *meta = NULL;
                assert_true(asprintf(&dir, "%s/%s", bases[b], role) > 0 && asprintf(&meta, "%s/meta-data", dir) > 0);
                if (access(meta, F_OK) == 0)
                        assert_int_equal(strv_extend(&l, dir), 0);
        }
        return l;
}
