/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of yamlnode.c: YAML documents with positions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "basic/diag.h"
#include "shared/yamlnode.h"
#include "test-util.h"

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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(yamlnode_keeps_positions_and_refuses_duplicates),
                cmocka_unit_test(yamlnode_scalars_types),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
