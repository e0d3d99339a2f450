/* SPDX-License-Identifier: Apache-2.0 */
/* The fleet side: inventory parsing, role decisions, CA/token minting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <regex.h>
#include <string.h>
#include "diag.h"
#include "inventory.h"
#include "pki.h"
#include "seedgen.h"
#include "strv.h"

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

static void plans_roles_for_both_topologies(void **state) {
        (void) state;
        struct diag d = {};
        struct seedgen_plan p = {};
        struct seedgen_options o = { .inventory_dir = "cloud-init/inventories/100k", .roles_dir = "roles" };
        assert_int_equal(seedgen_plan_load(&o, &p, &d), 0);
        assert_string_equal(p.topology, "100k");
        assert_string_equal(p.variant, "100k");
        size_t verne = 0;
        for (size_t i = 0; i < p.n; i++) {
                verne += strcmp(p.nodes[i].role, "verne") == 0;
                if (strcmp(p.nodes[i].host, "kafka_worker_host") == 0)
                        assert_string_equal(p.nodes[i].role, "kafka");
                if (strcmp(p.nodes[i].host, "haproxy") == 0) {
                        assert_string_equal(p.nodes[i].role, "lb");
                        assert_string_equal(p.nodes[i].lb_mode, "haproxy");
                }
        }
        assert_int_equal(verne, 3);
        assert_int_equal(p.n, 8);
        seedgen_plan_done(&p);

        o.inventory_dir = "cloud-init/inventories/few-devices";
        assert_int_equal(seedgen_plan_load(&o, &p, &d), 0);
        assert_string_equal(p.topology, "few-devices");
        for (size_t i = 0; i < p.n; i++)
                if (strcmp(p.nodes[i].host, "worker_host") == 0)
                        assert_string_equal(p.nodes[i].role, "dojot");
                else if (strcmp(p.nodes[i].host, "nginx") == 0)
                        assert_string_equal(p.nodes[i].lb_mode, "nginx");
        seedgen_plan_done(&p);
        diag_done(&d);
}

static void refuses_the_guides_contradictory_inventory(void **state) {
        (void) state;
        struct diag d = {};
        struct seedgen_plan p = {};
        struct seedgen_options o = { .inventory_dir = "cloud-init/inventories/guide-as-written", .roles_dir = "roles" };
        assert_int_equal(seedgen_plan_load(&o, &p, &d), -EINVAL);
        _cleanup_free_ char *all = diag_join(&d);
        assert_non_null(strstr(all, "host 'haproxy': ansible_host 192.168.0.12 is also the address of host 'kafka_worker_host'"));
        diag_done(&d);
}

static void mints_a_ca_whose_pin_has_kubeadms_form(void **state) {
        (void) state;
        char *cert = NULL, *hash = NULL;
        secret key = {}, tok = {};
        regex_t re;
        assert_int_equal(pki_make_ca(&cert, &key), 0);
        assert_non_null(strstr(cert, "-----BEGIN CERTIFICATE-----"));
        assert_non_null(strstr(secret_reveal(&key), "PRIVATE KEY-----"));
        assert_int_equal(pki_ca_cert_hash(cert, &hash), 0);
        assert_int_equal(regcomp(&re, "^sha256:[0-9a-f]{64}$", REG_EXTENDED | REG_NOSUB), 0);
        assert_int_equal(regexec(&re, hash, 0, NULL, 0), 0);
        regfree(&re);
        assert_int_equal(pki_make_token(&tok), 0);
        assert_int_equal(regcomp(&re, "^[a-z0-9]{6}\\.[a-z0-9]{16}$", REG_EXTENDED | REG_NOSUB), 0);
        assert_int_equal(regexec(&re, secret_reveal(&tok), 0, NULL, 0), 0);
        regfree(&re);
        assert_int_equal(pki_ca_cert_hash("not a pem", &hash), -EINVAL);
        secret_clear(&key);
        secret_clear(&tok);
        free(cert);
        free(hash);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parses_the_guides_100k_inventory),
                cmocka_unit_test(rejects_a_misindented_group_with_position),
                cmocka_unit_test(plans_roles_for_both_topologies),
                cmocka_unit_test(refuses_the_guides_contradictory_inventory),
                cmocka_unit_test(mints_a_ca_whose_pin_has_kubeadms_form),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
