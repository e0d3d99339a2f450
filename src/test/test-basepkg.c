/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of basepkg.c: the image's base package list. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "basic/fileio.h"
#include "shared/basepkg.h"
#include "test-util.h"

static void basepkg_compares_upstream_versions(void **state) {
        (void) state;
        const char *list = "haproxy\t2.6.12-1+deb12u4\n"
                           "nginx\t1:1.22.1-9\n"
                           "libssl3:amd64\t3.0.17-1~deb12u3\n"
                           "odd\tgit20240101\n"
                           "ten\t2.10\n";
        struct base_packages p = {};
        _cleanup_free_ char *error = NULL;
        assert_int_equal(base_packages_parse(list, "list", &p, &error), 0);
        assert_true(base_package_at_least(&p, "haproxy", 2, 6));
        assert_true(base_package_at_least(&p, "haproxy", 1, 8));
        assert_false(base_package_at_least(&p, "haproxy", 2, 7));
        assert_false(base_package_at_least(&p, "haproxy", 3, 0));
        assert_true(base_package_at_least(&p, "ten", 2, 6));    /* numbers, not strings */
        assert_true(base_package_at_least(&p, "nginx", 1, 22)); /* the epoch is not the major */
        assert_false(base_package_at_least(&p, "nginx", 2, 0));
        assert_true(base_package_at_least(&p, "libssl3:amd64", 3, 0));
        assert_false(base_package_at_least(&p, "libssl3", 3, 0)); /* whole names only */
        assert_false(base_package_at_least(&p, "hapr", 0, 0));
        assert_false(base_package_at_least(&p, "odd", 0, 0));
        assert_false(base_package_at_least(&p, "absent", 0, 0));
        base_packages_done(&p);
        assert_false(base_package_at_least(&p, "haproxy", 0, 0)); /* no list: nothing known */
        assert_false(base_package_at_least(NULL, "haproxy", 0, 0));
}

static void basepkg_names_a_malformed_line(void **state) {
        (void) state;
        static const struct { const char *text, *want; } cases[] = {
                { "haproxy\t2.6\nnginx 1.22\n", "list:2: expected 'name<TAB>version'" },
                { "Haproxy\t2.6\n", "list:1: not a package name" },
                { "ab\t1.0\n\nhaproxy\t2.6 beta\n", "list:3: not a package version" },
                { "haproxy\t\n", "list:1: not a package version" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct base_packages p = {};
                _cleanup_free_ char *error = NULL;
                assert_int_equal(base_packages_parse(cases[i].text, "list", &p, &error), -EBADMSG);
                assert_string_equal(error, cases[i].want);
                assert_null(p.text);
        }
}

static void basepkg_loads_from_the_root_and_missing_is_none(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_tmpdir("nodeos-test-"), *error = NULL;
        struct base_packages p = {};
        assert_int_equal(base_packages_load(root, &p, &error), 0);
        assert_null(p.text);
        assert_int_equal(write_file_atomic(root, BASE_PACKAGES_PATH, "haproxy\t2.6.12-1\n", 17, 0644, -1, -1, NULL), 0);
        assert_int_equal(base_packages_load(root, &p, &error), 0);
        assert_true(base_package_at_least(&p, "haproxy", 2, 6));
        base_packages_done(&p);
        assert_int_equal(write_file_atomic(root, BASE_PACKAGES_PATH, "haproxy 2.6\n", 12, 0644, -1, -1, NULL), 0);
        assert_int_equal(base_packages_load(root, &p, &error), -EBADMSG);
        assert_non_null(strstr(error, "/usr/share/nodeos/base-packages:1: expected"));
        rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(basepkg_compares_upstream_versions),
                cmocka_unit_test(basepkg_names_a_malformed_line),
                cmocka_unit_test(basepkg_loads_from_the_root_and_missing_is_none),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
