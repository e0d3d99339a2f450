/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of diag.c: file:line:col diagnostics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "basic/diag.h"
#include "test-util.h"

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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(diag_formats_positions),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
