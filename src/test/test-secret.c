/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of secret.c: the secret type. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "basic/secret.h"
#include "test-util.h"

static void secret_is_wiped_on_clear(void **state) {
        (void) state;
        secret s = {};
        assert_int_equal(secret_set(&s, "abc123.0123456789abcdef"), 0);
        assert_string_equal(secret_reveal(&s), "abc123.0123456789abcdef");
        secret_clear(&s);
        assert_false(secret_is_set(&s));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(secret_is_wiped_on_clear),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
