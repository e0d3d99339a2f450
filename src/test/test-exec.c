/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of exec.c: helpers run without a shell, output captured, timeouts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "basic/exec.h"
#include "test-util.h"

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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(exec_run_captures_output_and_status),
                cmocka_unit_test(exec_run_kills_on_timeout),
                cmocka_unit_test(exec_run_missing_program_is_enoent),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
