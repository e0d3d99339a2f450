/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of cmdline.c: words as the kernel splits them, and a
 * parameter's value, the last one winning. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include "basic/cmdline.h"
#include "basic/macro.h"

static void words_split_on_blanks_and_quotes_group(void **state) {
        (void) state;
        const char *p = "  boot=nodeos\tx=\"a b\" \"c\"d\n";
        char w[64];
        assert_true(cmdline_next_word(&p, w, sizeof(w)));
        assert_string_equal(w, "boot=nodeos");
        assert_true(cmdline_next_word(&p, w, sizeof(w)));
        assert_string_equal(w, "x=a b");
        assert_true(cmdline_next_word(&p, w, sizeof(w)));
        assert_string_equal(w, "cd");
        assert_false(cmdline_next_word(&p, w, sizeof(w)));
        /* a word longer than the buffer is cut, not overrun, and the next one is whole */
        p = "abcdefgh ij";
        char small[4];
        assert_true(cmdline_next_word(&p, small, sizeof(small)));
        assert_string_equal(small, "abc");
        assert_true(cmdline_next_word(&p, small, sizeof(small)));
        assert_string_equal(small, "ij");
}

static void a_value_is_the_last_one_and_only_of_the_whole_key(void **state) {
        (void) state;
        char *v = NULL;
        assert_int_equal(cmdline_get_value("ro nodeos.slot=a nodeos.slots=x nodeos.slot=b\n", "nodeos.slot", &v), 0);
        assert_string_equal(v, "b");
        free(v);
        assert_int_equal(cmdline_get_value("ro nodeos.slot nodeos.slotx=a", "nodeos.slot", &v), 0);
        assert_null(v);
        assert_int_equal(cmdline_get_value("nodeos.base.verity=\"ab:4096\"", "nodeos.base.verity", &v), 0);
        assert_string_equal(v, "ab:4096");
        free(v);
        assert_int_equal(cmdline_get_value("nodeos.slot=", "nodeos.slot", &v), 0);
        assert_string_equal(v, "");
        free(v);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(words_split_on_blanks_and_quotes_group),
                cmocka_unit_test(a_value_is_the_last_one_and_only_of_the_whole_key),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
