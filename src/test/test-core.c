/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the agent's core helpers: fileio, exec, state, diag, strv,
 * secret, yamlnode and basepkg. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>
#include "agent/state.h"
#include "basic/diag.h"
#include "basic/exec.h"
#include "basic/fileio.h"
#include "basic/secret.h"
#include "basic/strv.h"
#include "shared/basepkg.h"
#include "shared/yamlnode.h"
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

static void path_in_root_joins_without_double_slashes(void **state) {
        (void) state;
        _cleanup_free_ char *a = path_in_root("/tmp/r/", "/etc/x"), *b = path_in_root("/", "/etc/x"),
                           *c = path_in_root(NULL, "/etc/x");
        assert_string_equal(a, "/tmp/r/etc/x");
        assert_string_equal(b, "/etc/x");
        assert_string_equal(c, "/etc/x");
}

static void exec_run_captures_output_and_status(void **state) {
        (void) state;
        struct exec_result r;
        assert_int_equal(exec_run((char *[]) { "sh", "-c", "echo one; echo two >&2; exit 3", NULL }, 5000, &r), 0);
        assert_int_equal(r.status, 3);
        assert_non_null(strstr(r.output, "one"));
        assert_non_null(strstr(r.output, "two"));
        _cleanup_free_ char *tail = exec_output_tail(r.output, 1);
        assert_string_equal(tail, "two");
        exec_result_done(&r);
}

static void exec_run_kills_on_timeout(void **state) {
        (void) state;
        struct exec_result r;
        assert_int_equal(exec_run((char *[]) { "sleep", "10", NULL }, 200, &r), 0);
        assert_int_equal(r.status, 128 + 9);
        exec_result_done(&r);
}

static void exec_run_missing_program_is_enoent(void **state) {
        (void) state;
        struct exec_result r;
        assert_int_equal(exec_run((char *[]) { "/nonexistent/prog", NULL }, 1000, &r), -ENOENT);
        exec_result_done(&r);
}

static void state_records_steps_and_sentinels(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_tmpdir("nodeos-test-"), *failed = NULL, *success = NULL;
        struct state s;
        assert_int_equal(state_load(root, &s), 0);
        assert_int_equal(state_begin(&s, "i-1", "verne"), 0);
        assert_int_equal(state_record_step(&s, "hostname", STEP_DONE, 1, "ok"), 0);
        assert_int_equal(state_finish(&s, false, "step sysctl: boom"), 0);
        state_done(&s);

        failed = path_in_root(root, STATE_DIR "/failed");
        success = path_in_root(root, STATE_DIR "/success");
        assert_int_equal(access(failed, F_OK), 0);

        /* reloaded: the step record survives, the failed sentinel goes at begin */
        assert_int_equal(state_load(root, &s), 0);
        assert_int_equal(state_step_status(&s, "hostname"), STEP_DONE);
        assert_int_equal(state_step_status(&s, "sysctl"), STEP_PENDING);
        assert_int_equal(state_begin(&s, "i-1", "verne"), 0);
        assert_int_not_equal(access(failed, F_OK), 0);
        assert_int_equal(state_finish(&s, true, NULL), 0);
        assert_true(state_is_complete(&s, "i-1"));
        assert_false(state_is_complete(&s, "i-10"));

        /* another instance-id starts over */
        assert_int_equal(state_begin(&s, "i-2", "verne"), 0);
        assert_int_equal(state_step_status(&s, "hostname"), STEP_PENDING);
        assert_int_not_equal(access(success, F_OK), 0);
        state_done(&s);
        rm_rf(root);
}

static void state_survives_a_torn_file(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_tmpdir("nodeos-test-");
        assert_int_equal(write_file_atomic(root, STATE_DIR "/state.json", "{\"steps\": {", 11, 0644, -1, -1, NULL), 0);
        struct state s;
        assert_int_equal(state_load(root, &s), 0);
        assert_null(state_instance_id(&s));
        state_done(&s);
        rm_rf(root);
}

static void diag_formats_positions(void **state) {
        (void) state;
        struct diag d = {};
        diag_add(&d, "user-data", 3, 7, "bad %s", "thing");
        diag_add(&d, "meta-data", 0, 0, "missing");
        assert_int_equal(diag_count(&d), 2);
        assert_string_equal(d.lines[0], "user-data:3:7: bad thing");
        assert_string_equal(d.lines[1], "meta-data: missing");
        _cleanup_free_ char *j = diag_join(&d);
        assert_string_equal(j, "user-data:3:7: bad thing; meta-data: missing");
        diag_done(&d);
}

static void strv_join_and_contains(void **state) {
        (void) state;
        _cleanup_strv_free_ char **l = NULL;
        assert_int_equal(strv_extend(&l, "a"), 0);
        assert_int_equal(strv_extend(&l, "b"), 0);
        assert_true(strv_contains(l, "b"));
        assert_false(strv_contains(l, "c"));
        _cleanup_free_ char *j = strv_join(l, ", ");
        assert_string_equal(j, "a, b");
}

static void secret_is_wiped_on_clear(void **state) {
        (void) state;
        secret s = {};
        assert_int_equal(secret_set(&s, "abc123.0123456789abcdef"), 0);
        assert_string_equal(secret_reveal(&s), "abc123.0123456789abcdef");
        secret_clear(&s);
        assert_false(secret_is_set(&s));
}

static void yamlnode_keeps_positions_and_refuses_duplicates(void **state) {
        (void) state;
        struct diag d = {};
        const char *y = "a: 1\nb:\n  - x\n  - y\n";
        _cleanup_ynode_ struct ynode *n = NULL;
        assert_int_equal(ynode_parse(y, strlen(y), "f", &n, &d), 0);
        struct ynode *b = ynode_get(n, "b");
        assert_non_null(b);
        assert_int_equal(b->kind, YNODE_SEQUENCE);
        assert_int_equal(b->items[1]->line, 4);
        assert_int_equal(b->items[1]->col, 5);
        const char *dup = "a: 1\na: 2\n";
        _cleanup_ynode_ struct ynode *m = NULL;
        assert_int_equal(ynode_parse(dup, strlen(dup), "f", &m, &d), -EINVAL);
        assert_string_equal(d.lines[0], "f:2:1: duplicate key 'a'");
        diag_done(&d);
        const char *bad = "a: [1, 2\n";
        assert_int_equal(ynode_parse(bad, strlen(bad), "f", &m, &d), -EINVAL);
        assert_int_equal(diag_count(&d), 1);
        assert_non_null(strstr(d.lines[0], "f:2:1: invalid YAML"));
        diag_done(&d);
}

static void yamlnode_scalars_types(void **state) {
        (void) state;
        struct diag d = {};
        const char *y = "t: yes\nq: 'true'\ni: 42\nz: ~\n";
        _cleanup_ynode_ struct ynode *n = NULL;
        bool b;
        long long v;
        assert_int_equal(ynode_parse(y, strlen(y), "f", &n, &d), 0);
        assert_int_equal(ynode_bool(ynode_get(n, "t"), &b), 0);
        assert_true(b);
        assert_int_equal(ynode_bool(ynode_get(n, "q"), &b), -EINVAL);
        assert_int_equal(ynode_int(ynode_get(n, "i"), 0, 100, &v), 0);
        assert_int_equal(v, 42);
        assert_int_equal(ynode_int(ynode_get(n, "i"), 0, 10, &v), -ERANGE);
        assert_true(ynode_is_null(ynode_get(n, "z")));
        diag_done(&d);
}

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
                cmocka_unit_test(write_file_atomic_reports_change_and_mode),
                cmocka_unit_test(path_in_root_joins_without_double_slashes),
                cmocka_unit_test(exec_run_captures_output_and_status),
                cmocka_unit_test(exec_run_kills_on_timeout),
                cmocka_unit_test(exec_run_missing_program_is_enoent),
                cmocka_unit_test(state_records_steps_and_sentinels),
                cmocka_unit_test(state_survives_a_torn_file),
                cmocka_unit_test(diag_formats_positions),
                cmocka_unit_test(strv_join_and_contains),
                cmocka_unit_test(secret_is_wiped_on_clear),
                cmocka_unit_test(yamlnode_keeps_positions_and_refuses_duplicates),
                cmocka_unit_test(yamlnode_scalars_types),
                cmocka_unit_test(basepkg_compares_upstream_versions),
                cmocka_unit_test(basepkg_names_a_malformed_line),
                cmocka_unit_test(basepkg_loads_from_the_root_and_missing_is_none),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
