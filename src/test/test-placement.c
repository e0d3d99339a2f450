/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of placement.c (the fleet tool): which node each inventory
 * host becomes (role, lb mode, MAC) in both topologies, the checks of the
 * inventory as a whole with their named errors, and token TTLs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "basic/diag.h"
#include "basic/fileio.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "fleet/seedgen.h"

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

/* Every tests/data/bad-inventories/<case>/ (and the guide's 100k
 * inventory as written) is refused with exactly the errors in its
 * expected-error file, paths relative to the case directory. */
static void check_refused_exactly(const char *dir) {
        struct diag d = {};
        struct seedgen_plan p = {};
        struct seedgen_options o = { .inventory_dir = dir, .roles_dir = "roles" };
        _cleanup_free_ char *expected_file = NULL, *expected = NULL, *prefix = NULL;
        assert_true(asprintf(&expected_file, "%s/expected-error", dir) > 0);
        assert_true(asprintf(&prefix, "%s/", dir) > 0);
        assert_int_equal(read_full_file(expected_file, &expected, NULL), 0);
        assert_int_equal(seedgen_plan_load(&o, &p, &d), -EINVAL);
        char *got = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&got, &len);
        assert_non_null(f);
        STRV_FOREACH(l, d.lines)
                fprintf(f, "%s\n", strncmp(*l, prefix, strlen(prefix)) == 0 ? *l + strlen(prefix) : *l);
        fclose(f);
        if (strcmp(got, expected) != 0)
                fprintf(stderr, "case %s:\n--- expected\n%s--- got\n%s", dir, expected, got);
        assert_string_equal(got, expected);
        free(got);
        diag_done(&d);
}

static int not_hidden(const struct dirent *e) {
        return e->d_name[0] != '.';
}

static void refuses_each_bad_inventory_with_its_named_errors(void **state) {
        (void) state;
        struct dirent **names = NULL;
        int n = scandir("tests/data/bad-inventories", &names, not_hidden, alphasort);
        assert_true(n >= 10);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *dir = NULL;
                assert_true(asprintf(&dir, "tests/data/bad-inventories/%s", names[i]->d_name) > 0);
                check_refused_exactly(dir);
                free(names[i]);
        }
        free(names);
        check_refused_exactly("cloud-init/inventories/guide-as-written");
}

/* Writes text to dir/hosts.yaml in a new temporary directory. */
static char *inventory_dir_with(const char *hosts_yaml) {
        char tmpl[] = "/tmp/test-fleet-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        char *dir = strdup(tmpl), *file = NULL;
        assert_true(asprintf(&file, "%s/hosts.yaml", dir) > 0);
        FILE *f = fopen(file, "w");
        assert_non_null(f);
        fputs(hosts_yaml, f);
        fclose(f);
        free(file);
        return dir;
}

static void remove_inventory_dir(char *dir) {
        char *file = NULL;
        assert_true(asprintf(&file, "%s/hosts.yaml", dir) > 0);
        unlink(file);
        rmdir(dir);
        free(file);
        free(dir);
}

static const struct seedgen_node *node_named(const struct seedgen_plan *p, const char *host) {
        for (size_t i = 0; i < p->n; i++)
                if (strcmp(p->nodes[i].host, host) == 0)
                        return &p->nodes[i];
        return NULL;
}

static void reads_the_mac_from_any_of_its_three_variables(void **state) {
        (void) state;
        char *dir = inventory_dir_with(
                "all:\n  hosts:\n"
                "    m:\n      ansible_host: 10.1.0.10\n      nodeos_mac: 52:54:00:AA:00:01\n      mac: 52:54:00:aa:00:99\n"
                "    w:\n      ansible_host: 10.1.0.11\n      mac: 52-54-00-aa-00-02\n"
                "    nginx:\n      ansible_host: 10.1.0.12\n      ansible_default_ipv4:\n        macaddress: 525400aa0003\n"
                "  children:\n    k8s-nodes:\n      children:\n"
                "        master_nodes:\n          hosts:\n            m:\n"
                "        worker_nodes:\n          hosts:\n            w:\n"
                "    apigw_nodes:\n      hosts:\n        10.1.0.11:\n    mqtt_nodes:\n      hosts:\n        10.1.0.11:\n");
        struct diag d = {};
        struct seedgen_plan p = {};
        struct seedgen_options o = { .inventory_dir = dir, .roles_dir = "roles" };
        assert_int_equal(seedgen_plan_load(&o, &p, &d), 0);
        assert_string_equal(node_named(&p, "m")->mac, "52-54-00-aa-00-01");    /* nodeos_mac wins over mac */
        assert_string_equal(node_named(&p, "w")->mac, "52-54-00-aa-00-02");
        assert_string_equal(node_named(&p, "nginx")->mac, "52-54-00-aa-00-03");
        assert_string_equal(node_named(&p, "w")->role, "dojot");
        seedgen_plan_done(&p);
        diag_done(&d);
        remove_inventory_dir(dir);
}

static void takes_the_role_from_the_node_label_variable(void **state) {
        (void) state;
        char *dir = inventory_dir_with(
                "all:\n  hosts:\n"
                "    m:\n      ansible_host: 10.1.0.10\n"
                "    a:\n      ansible_host: 10.1.0.11\n      dojot.components/group: dojot\n"
                "    b:\n      ansible_host: 10.1.0.12\n      dojot.components/group: vernemq\n"
                "    c:\n      ansible_host: 10.1.0.13\n      dojot_role: kafka\n"
                "    node-x509:\n      ansible_host: 10.1.0.14\n"
                "  children:\n    k8s-nodes:\n      children:\n"
                "        master_nodes:\n          hosts:\n            m:\n"
                "        worker_nodes:\n          hosts:\n            a:\n            b:\n            c:\n            node-x509:\n");
        struct diag d = {};
        struct seedgen_plan p = {};
        struct seedgen_options o = { .inventory_dir = dir, .roles_dir = "roles" };
        assert_int_equal(seedgen_plan_load(&o, &p, &d), 0);
        assert_string_equal(p.topology, "100k");
        assert_string_equal(node_named(&p, "m")->role, "master");
        assert_string_equal(node_named(&p, "a")->role, "dojot");
        assert_string_equal(node_named(&p, "b")->role, "verne");
        assert_string_equal(node_named(&p, "c")->role, "kafka");
        assert_string_equal(node_named(&p, "node-x509")->role, "x509");   /* from its name */
        assert_null(node_named(&p, "a")->mac);
        seedgen_plan_done(&p);
        diag_done(&d);
        remove_inventory_dir(dir);
}

static void parses_token_ttls_with_units_and_refuses_nonsense(void **state) {
        (void) state;
        long s = 0;
        assert_int_equal(seedgen_parse_ttl("36", &s), 0);
        assert_int_equal(s, 36 * 3600);
        assert_int_equal(seedgen_parse_ttl("90m", &s), 0);
        assert_int_equal(s, 5400);
        assert_int_equal(seedgen_parse_ttl("2d", &s), 0);
        assert_int_equal(s, 172800);
        assert_int_equal(seedgen_parse_ttl("600s", &s), 0);
        assert_int_equal(s, 600);
        assert_int_equal(seedgen_parse_ttl("0", &s), -EINVAL);
        assert_int_equal(seedgen_parse_ttl("-5", &s), -EINVAL);
        assert_int_equal(seedgen_parse_ttl("5x", &s), -EINVAL);
        assert_int_equal(seedgen_parse_ttl("5hh", &s), -EINVAL);
        assert_int_equal(seedgen_parse_ttl("h", &s), -EINVAL);
        assert_int_equal(seedgen_parse_ttl("100000d", &s), -EINVAL);
        assert_int_equal(seedgen_parse_ttl("99999999999999999999", &s), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(plans_roles_for_both_topologies),
                cmocka_unit_test(refuses_the_guides_contradictory_inventory),
                cmocka_unit_test(refuses_each_bad_inventory_with_its_named_errors),
                cmocka_unit_test(reads_the_mac_from_any_of_its_three_variables),
                cmocka_unit_test(takes_the_role_from_the_node_label_variable),
                cmocka_unit_test(parses_token_ttls_with_units_and_refuses_nonsense),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
