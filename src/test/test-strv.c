/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of strv.c: string vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "basic/strv.h"
#include "test-util.h"

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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(strv_join_and_contains),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
