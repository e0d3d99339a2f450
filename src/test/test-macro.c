/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of basic/macro.h's string helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "basic/macro.h"
#include "test-util.h"

static void endswith_points_at_the_suffix(void **state) {
        (void)state;
        const char *s = "nodeos-b.conf.tmp";
        assert_ptr_equal(endswith(s, ".tmp"), s + 13);
        assert_ptr_equal(endswith(s, s), s);
        assert_ptr_equal(endswith(s, ""), s + strlen(s));
        const char *empty = "";
        assert_ptr_equal(endswith(empty, ""), empty);
        assert_null(endswith(s, ".conf"));
        assert_null(endswith(".tmp", "x.tmp"));
        assert_null(endswith("", ".tmp"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(endswith_points_at_the_suffix),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
