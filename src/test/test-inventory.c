/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of inventory.c (the fleet tool): an ansible-dojot inventory
 * parsed into hosts and their flattened groups, and MACs normalized to
 * iPXE's form. What the hosts become is test-placement.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "basic/diag.h"
#include "fleet/inventory.h"

static void parses_the_guides_100k_inventory(void **state) {
        (void) state;
        struct diag d = {};
        struct inventory *inv = NULL;
        assert_int_equal(inventory_load("cloud-init/inventories/100k/hosts.yaml", &inv, &d), 0);
        assert_int_equal(diag_count(&d), 0);
        assert_int_equal(inv->n, 8);
        const struct inv_host *v = inventory_find(inv, "second_verne_worker_host");
        assert_non_null(v);
        assert_string_equal(v->address, "192.168.0.15");
        assert_true(inv_host_in(v, "worker_nodes"));
        assert_true(inv_host_in(v, "k8s-nodes"));      /* transitively */
        assert_true(inv_host_in(v, "mqtt_nodes"));     /* listed by address */
        const struct inv_host *dj = inventory_find(inv, "192.168.0.11");
        assert_string_equal(dj->name, "dojot_worker_host");
        assert_true(inv_host_in(dj, "apigw_nodes"));
        assert_false(inv_host_in(dj, "mqtt_nodes"));
        inventory_free(inv);
}

static void rejects_a_misindented_group_with_position(void **state) {
        (void) state;
        const char *y = "all:\n  hosts:\n    a:\n      ansible_host: 10.0.0.1\n  children:\n    k8s-nodes:\n      master_nodes:\n        hosts:\n          a:\n";
        struct diag d = {};
        struct inventory *inv = NULL;
        assert_int_equal(inventory_parse(y, strlen(y), "hosts.yaml", &inv, &d), -EINVAL);
        assert_string_equal(d.lines[0], "hosts.yaml:7:7: group 'k8s-nodes': unknown key 'master_nodes' (want hosts, children or vars; is the indentation right?)");
        diag_done(&d);
}

static void normalizes_macs_to_ipxe_hexhyp(void **state) {
        (void) state;
        char m[18];
        assert_int_equal(mac_normalize("52:54:00:AB:cd:EF", m), 0);
        assert_string_equal(m, "52-54-00-ab-cd-ef");
        assert_int_equal(mac_normalize("52-54-00-ab-cd-ef", m), 0);
        assert_string_equal(m, "52-54-00-ab-cd-ef");
        assert_int_equal(mac_normalize("525400abcdef", m), 0);
        assert_string_equal(m, "52-54-00-ab-cd-ef");
        assert_int_equal(mac_normalize("52:54:00:ab:cd", m), -EINVAL);
        assert_int_equal(mac_normalize("52:54:00:ab:cd:ef:01", m), -EINVAL);
        assert_int_equal(mac_normalize("52:54-00:ab:cd:ef", m), -EINVAL);    /* mixed separators */
        assert_int_equal(mac_normalize("525:400:abc:def", m), -EINVAL);
        assert_int_equal(mac_normalize("52:54:00:ab:cd:eg", m), -EINVAL);
        assert_int_equal(mac_normalize("52:54:00:ab:cd:ef:", m), -EINVAL);
        assert_int_equal(mac_normalize("", m), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parses_the_guides_100k_inventory),
                cmocka_unit_test(rejects_a_misindented_group_with_position),
                cmocka_unit_test(normalizes_macs_to_ipxe_hexhyp),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
