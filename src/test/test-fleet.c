/* SPDX-License-Identifier: Apache-2.0 */
/* The fleet side: inventory parsing, role decisions, CA/token minting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "basic/diag.h"
#include "basic/fileio.h"
#include "basic/strv.h"
#include "fleet/inventory.h"
#include "fleet/seedgen.h"
#include "shared/pki.h"

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
                cmocka_unit_test(refuses_each_bad_inventory_with_its_named_errors),
                cmocka_unit_test(reads_the_mac_from_any_of_its_three_variables),
                cmocka_unit_test(takes_the_role_from_the_node_label_variable),
                cmocka_unit_test(normalizes_macs_to_ipxe_hexhyp),
                cmocka_unit_test(parses_token_ttls_with_units_and_refuses_nonsense),
                cmocka_unit_test(mints_a_ca_whose_pin_has_kubeadms_form),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
