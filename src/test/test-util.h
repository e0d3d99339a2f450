/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Helpers the unit tests share: temporary directories and files.
 * Header-only (static inline) because each test binary is linked from its
 * own test-X.c and libagent.a alone (Makefile, rule $(1)/tests/%). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "basic/exec.h"
#include "basic/macro.h"

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
