/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of fileio.c: atomic writes under a root, path joining. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>
#include "basic/fileio.h"
#include "test-util.h"

static void write_file_atomic_reports_change_and_mode(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_tmpdir("nodeos-test-"), *p = NULL, *text = NULL;
        bool changed;
        assert_int_equal(write_file_atomic(root, "/etc/a/b.conf", "x\n", 2, 0600, -1, -1, &changed), 0);
        assert_true(changed);
        assert_int_equal(write_file_atomic(root, "/etc/a/b.conf", "x\n", 2, 0600, -1, -1, &changed), 0);
        assert_false(changed);
        assert_int_equal(write_file_atomic(root, "/etc/a/b.conf", "x\n", 2, 0644, -1, -1, &changed), 0);
        assert_true(changed);   /* a mode change is a change */
        p = path_in_root(root, "/etc/a/b.conf");
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(read_full_file(p, &text, NULL), 0);
        assert_string_equal(text, "x\n");
        rm_rf(root);
}

static void file_mode_none_sets_no_mode_and_ignores_it(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_tmpdir("nodeos-test-"), *p = NULL;
        bool changed;
        assert_int_equal(write_file_atomic(root, "/efi/x.conf", "x\n", 2, FILE_MODE_NONE, -1, -1, &changed), 0);
        assert_true(changed);
        p = path_in_root(root, "/efi/x.conf");
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777 & ~0644, 0);         /* 0644 less the umask */
        assert_int_equal(chmod(p, 0700), 0);
        assert_int_equal(write_file_atomic(root, "/efi/x.conf", "x\n", 2, FILE_MODE_NONE, -1, -1, &changed), 0);
        assert_false(changed);  /* the mode does not count */
        assert_int_equal(write_file_atomic(root, "/efi/x.conf", "y\n", 2, FILE_MODE_NONE, -1, -1, &changed), 0);
        assert_true(changed);
        rm_rf(root);
}

static void path_in_root_joins_without_double_slashes(void **state) {
        (void) state;
        _cleanup_free_ char *a = path_in_root("/tmp/r/", "/etc/x"), *b = path_in_root("/", "/etc/x"),
                           *c = path_in_root(NULL, "/etc/x");
        assert_string_equal(a, "/tmp/r/etc/x");
        assert_string_equal(b, "/etc/x");
        assert_string_equal(c, "/etc/x");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(write_file_atomic_reports_change_and_mode),
                cmocka_unit_test(file_mode_none_sets_no_mode_and_ignores_it),
                cmocka_unit_test(path_in_root_joins_without_double_slashes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
