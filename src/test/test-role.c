/* SPDX-License-Identifier: Apache-2.0 */
/* The role catalog loader (role.c): the repo's roles/ all load, and a
 * broken role file is refused with file:line:col and the key path, so a
 * typo in the data is caught when the catalog loads, not halfway through a
 * node's run. Paths are relative to the repo root; the tests walk up to it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>
#include "basic/diag.h"
#include "basic/exec.h"
#include "basic/fileio.h"
#include "basic/strv.h"
#include "shared/role.h"
#include "test-util.h"

/* --- helpers ----------------------------------------------------------------- */

#define HEAD "schema_version: 1\nname: test\nkubernetes: none\n"

static void print_diag(const struct diag *d) {
        STRV_FOREACH(l, d->lines)
                print_message("#   %s\n", *l);
}

static struct role *parse_ok(const char *yaml) {
        struct diag d = {};
        struct role *r = NULL;
        int k = role_parse(yaml, strlen(yaml), "role.yaml", "test", &r, &d);
        if (k < 0 || diag_count(&d) > 0)
                print_diag(&d);
        assert_int_equal(k, 0);
        assert_int_equal(diag_count(&d), 0);
        diag_done(&d);
        return r;
}

/* role.yaml text must be refused with exactly the messages in want. */
static void assert_refused(const char *yaml, const char * const *want) {
        struct diag d = {};
        struct role *r = NULL;
        int k = role_parse(yaml, strlen(yaml), "role.yaml", "test", &r, &d);
        size_t n = strv_length((char **) want);
        if (diag_count(&d) != n)
                print_diag(&d);
        assert_int_equal(k, -EINVAL);
        assert_null(r);
        assert_int_equal(diag_count(&d), n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(d.lines[i], want[i]);
        diag_done(&d);
}

#define REFUSED(yaml, ...) assert_refused((yaml), (const char * const[]) { __VA_ARGS__, NULL })

/* Which lb services exist is the lb role's data, so a target is checked
 * against the catalog it is loaded with. */
static void lb_target_must_name_a_service_of_the_catalog(void **state) {
        (void) state;
        _cleanup_free_ char *dir = make_tmpdir("nodeos-roles-"), *lb_yaml = NULL, *sub = NULL, *file = NULL;
        _cleanup_free_ char *lb_dir = NULL, *test_dir = NULL;
        assert_int_equal(read_full_file("roles/lb/role.yaml", &lb_yaml, NULL), 0);
        assert_true(asprintf(&lb_dir, "%s/lb", dir) > 0 && asprintf(&test_dir, "%s/test", dir) > 0);
        assert_int_equal(mkdir(lb_dir, 0755), 0);
        assert_int_equal(mkdir(test_dir, 0755), 0);
        write_text(lb_dir, "role.yaml", lb_yaml);
        write_text(lb_dir, "images", "");
        write_text(test_dir, "role.yaml", HEAD "lb_targets:\n  - {service: mqtts}\n");
        write_text(test_dir, "images", "");
        struct diag d = {};
        struct role_catalog *cat = NULL;
        assert_int_equal(role_catalog_load(dir, &cat, &d), -EINVAL);
        assert_null(cat);
        assert_true(asprintf(&file, "%s/role.yaml:5:15: lb_targets[0].service: 'mqtts' is not an lb service (mqtt, apigw, metrics, lwm2m)",
                             test_dir) > 0);
        assert_int_equal(diag_count(&d), 1);
        assert_string_equal(d.lines[0], file);
        diag_done(&d);
        rm_rf(dir);
}

/* --- the repo's catalog --------------------------------------------------------- */

static void every_repo_role_loads(void **state) {
        (void) state;
        /* the roles are the directories of roles/ with a role.yaml, read here
         * independently of the loader (not a list written in the test) */
        _cleanup_strv_free_ char **expected = test_role_names();
        struct diag d = {};
        _cleanup_role_catalog_ struct role_catalog *cat = NULL;
        int r = role_catalog_load("roles", &cat, &d);
        if (r < 0)
                print_diag(&d);
        assert_int_equal(r, 0);
        assert_int_equal(diag_count(&d), 0);
        assert_int_equal(cat->n, strv_length(expected));
        for (size_t i = 0; i < cat->n; i++) {
                const struct role *role = cat->roles[i];
                assert_string_equal(role->name, expected[i]);   /* sorted by name */
                assert_non_null(role->kubernetes);
                assert_non_null(role->description);
                /* a Kubernetes node needs preloaded images (at least kubeadm's);
                 * the lb runs HAProxy/NGINX from packages and may have none */
                if (!STREQ(role->kubernetes, "none"))
                        assert_true(strv_length(role->images) > 0);
                for (size_t f = 0; f < role->n_files; f++)
                        assert_true(role->files[f].dest[0] == '/');
                for (size_t v = 0; v < role->n_volumes; v++)
                        assert_true(strncmp(role->volumes[v].path, "/mnt/data/", 10) == 0);
        }
        _cleanup_strv_free_ char **names = role_catalog_names(cat);
        _cleanup_free_ char *joined = strv_join(names, ","), *want = strv_join(expected, ",");
        assert_string_equal(joined, want);
        diag_done(&d);
}

static void only_verne_may_be_an_mqtt_backend_in_100k(void **state) {
        (void) state;
        /* externalTrafficPolicy: Local drops MQTT NodePort traffic on nodes
         * without a VerneMQ pod (docs/dojot-v0.5.0.md#verne-workers): this is data, check the data */
        struct diag d = {};
        _cleanup_role_catalog_ struct role_catalog *cat = NULL;
        assert_int_equal(role_catalog_load("roles", &cat, &d), 0);
        for (size_t i = 0; i < cat->n; i++) {
                const struct role *role = cat->roles[i];
                bool mqtt_100k = false;
                for (size_t t = 0; t < role->n_lb_targets; t++)
                        mqtt_100k |= STREQ(role->lb_targets[t].service, "mqtt") &&
                                     (role->lb_targets[t].topologies & TOPOLOGY_BIT(TOPOLOGY_100K));
                assert_int_equal(mqtt_100k, STREQ(role->name, "verne"));
        }
        const struct role *verne = role_catalog_find(cat, "verne");
        assert_non_null(verne);
        assert_string_equal(verne->kubernetes, "join");
        assert_string_equal(verne->group, "vernemq");
        assert_true(verne->swap_off);
        assert_true(strv_contains(verne->kernel_modules, "br_netfilter"));
        assert_null(role_catalog_find(cat, "vernemq"));
        diag_done(&d);
}

static void a_full_role_file_fills_every_field(void **state) {
        (void) state;
        struct role *r = parse_ok(
                "schema_version: 1\nname: test\ndescription: a test role\ngroup: g\nkubernetes: join\nswap_off: yes\n"
                "kernel_modules: [overlay]\n"
                "sysctls:\n  - {key: net.ipv4.ip_forward, value: \"1\", origin: kubeadm}\n"
                "volumes:\n  - {path: /mnt/data/a, owner: 1000, group: 10001, mode: \"0750\", topologies: [few-devices]}\n"
                "limits:\n  - {unit: docker.service, nofile: 1048576, origin: ours}\n"
                "files:\n  - {renderer: haproxy, dest: /etc/haproxy/haproxy.cfg, mode: \"0640\", when_lb_mode: haproxy,\n"
                "     check: [haproxy, -c, -f, \"{}\"], reload: haproxy.service}\n"
                "services: [docker.service, {unit: nginx.service, when_lb_mode: nginx}]\n"
                "lb_targets:\n  - {service: apigw, topologies: [100k]}\n");
        assert_string_equal(r->name, "test");
        assert_string_equal(r->group, "g");
        assert_string_equal(r->kubernetes, "join");
        assert_true(r->swap_off);
        assert_int_equal(r->n_sysctls, 1);
        assert_string_equal(r->sysctls[0].value, "1");
        assert_int_equal(r->n_volumes, 1);
        assert_int_equal(r->volumes[0].uid, 1000);
        assert_int_equal(r->volumes[0].gid, 10001);
        assert_int_equal(r->volumes[0].mode, 0750);
        assert_int_equal(r->volumes[0].topologies, TOPOLOGY_BIT(TOPOLOGY_FEW_DEVICES));
        assert_int_equal(r->limits[0].nofile, 1048576);
        assert_string_equal(r->files[0].renderer, "haproxy");
        assert_int_equal(r->files[0].mode, 0640);
        assert_string_equal(r->files[0].when_lb_mode, "haproxy");
        assert_string_equal(r->files[0].check[3], "{}");
        assert_string_equal(r->files[0].reload, "haproxy.service");
        assert_int_equal(r->n_services, 2);
        assert_null(r->services[0].when_lb_mode);
        assert_string_equal(r->services[1].unit, "nginx.service");
        assert_string_equal(r->services[1].when_lb_mode, "nginx");
        assert_int_equal(r->lb_targets[0].topologies, TOPOLOGY_BIT(TOPOLOGY_100K));
        role_free(r);
        /* topologies omitted: every topology */
        r = parse_ok(HEAD "lb_targets:\n  - {service: mqtt}\n");
        assert_int_equal(r->lb_targets[0].topologies, TOPOLOGY_ALL);
        role_free(r);
}

/* --- broken role files ---------------------------------------------------------- */

static void refuses_unknown_keys_with_positions(void **state) {
        (void) state;
        REFUSED(HEAD "swapoff: true\n", "role.yaml:4:1: unknown key 'swapoff' in role");
        REFUSED(HEAD "volumes:\n  - {path: /mnt/data/a, owner: 0, group: 0, mode: \"0750\", mod: \"0750\"}\n",
                "role.yaml:5:59: unknown key 'mod' in volumes[0]");
        REFUSED(HEAD "files:\n  - renderer: nginx\n    dest: /etc/nginx/nginx.conf\n    mode: \"0644\"\n    reolad: nginx.service\n",
                "role.yaml:8:5: unknown key 'reolad' in files[0]");
}

static void refuses_bad_modes(void **state) {
        (void) state;
        REFUSED(HEAD "volumes:\n  - {path: /mnt/data/a, owner: 0, group: 0, mode: \"0999\"}\n",
                "role.yaml:5:51: volumes[0].mode: expected an octal mode like \"0750\" (quoted)");
        /* unquoted, YAML 1.1 tools read 0750 as octal and others as decimal */
        REFUSED(HEAD "files:\n  - {renderer: nginx, dest: /etc/nginx/nginx.conf, mode: 0644}\n",
                "role.yaml:5:58: files[0].mode: expected an octal mode like \"0750\" (quoted)");
        REFUSED(HEAD "files:\n  - {renderer: nginx, dest: /etc/nginx/nginx.conf, mode: \"644\"}\n",
                "role.yaml:5:58: files[0].mode: expected an octal mode like \"0750\" (quoted)");
}

static void refuses_relative_and_escaping_paths(void **state) {
        (void) state;
        REFUSED(HEAD "volumes:\n  - {path: mnt/data/a, owner: 0, group: 0, mode: \"0750\"}\n",
                "role.yaml:5:12: volumes[0].path: 'mnt/data/a' must be an absolute path without . or .. components");
        REFUSED(HEAD "volumes:\n  - {path: /mnt/data/../../etc, owner: 0, group: 0, mode: \"0750\"}\n",
                "role.yaml:5:12: volumes[0].path: '/mnt/data/../../etc' must be an absolute path without . or .. components");
        REFUSED(HEAD "volumes:\n  - {path: /mnt/data/.., owner: 0, group: 0, mode: \"0750\"}\n",
                "role.yaml:5:12: volumes[0].path: '/mnt/data/..' must be an absolute path without . or .. components");
        REFUSED(HEAD "files:\n  - {renderer: nginx, dest: ./nginx.conf, mode: \"0644\"}\n",
                "role.yaml:5:29: files[0].dest: './nginx.conf' must be an absolute path without . or .. components");
        REFUSED(HEAD "files:\n  - {renderer: nginx, dest: /etc//nginx.conf, mode: \"0644\"}\n",
                "role.yaml:5:29: files[0].dest: '/etc//nginx.conf' must be an absolute path without . or .. components");
}

static void refuses_unknown_renderer(void **state) {
        (void) state;
        REFUSED(HEAD "files:\n  - {renderer: envoy, dest: /etc/envoy.yaml, mode: \"0644\"}\n",
                "role.yaml:5:16: files[0].renderer: unknown renderer 'envoy' (see src/shared/renderer.c)");
}

static void refuses_a_name_that_differs_from_its_directory(void **state) {
        (void) state;
        struct diag d = {};
        struct role *r = NULL;
        const char *y = "schema_version: 1\nname: verne\nkubernetes: none\n";
        assert_int_equal(role_parse(y, strlen(y), "roles/vernemq/role.yaml", "vernemq", &r, &d), -EINVAL);
        assert_int_equal(diag_count(&d), 1);
        assert_string_equal(d.lines[0], "roles/vernemq/role.yaml:2:7: name: 'verne' differs from its directory 'vernemq'");
        diag_done(&d);

        /* and through role_load, which takes the name from the directory */
        _cleanup_free_ char *root = make_tmpdir("nodeos-test-role-"), *dir = NULL, *want = NULL;
        assert_true(asprintf(&dir, "%s/kafka", root) >= 0);
        assert_int_equal(mkdir(dir, 0755), 0);
        write_text(dir, "role.yaml", y);
        assert_int_equal(role_load(dir, &r, &d), -EINVAL);
        assert_true(asprintf(&want, "%s/role.yaml:2:7: name: 'verne' differs from its directory 'kafka'", dir) >= 0);
        assert_int_equal(diag_count(&d), 1);
        assert_string_equal(d.lines[0], want);
        diag_done(&d);
        /* a catalog holding it does not load */
        struct role_catalog *cat = NULL;
        assert_int_equal(role_catalog_load(root, &cat, &d), -EINVAL);
        assert_null(cat);
        assert_string_equal(d.lines[0], want);
        diag_done(&d);
        rm_rf(root);
}

static void refuses_missing_and_mistyped_required_keys(void **state) {
        (void) state;
        REFUSED("schema_version: 1\nname: test\n", "role.yaml:1:1: role: missing required key 'kubernetes'");
        REFUSED("name: test\nkubernetes: none\n", "role.yaml:1:1: role: missing required key 'schema_version'");
        REFUSED("schema_version: 2\nname: test\nkubernetes: none\n",
                "role.yaml:1:17: schema_version: 2 is not supported (this agent reads 1)");
        REFUSED("schema_version: 1\nname: test\nkubernetes: joined\n",
                "role.yaml:3:13: kubernetes: 'joined' is not one of init, join, none");
        REFUSED("schema_version: 1\nname: test\nkubernetes: join\n",
                "role.yaml:1:1: role: a role that joins the cluster needs a group (its dojot.components/group label)");
        REFUSED(HEAD "swap_off: \"true\"\n",
                "role.yaml:4:11: swap_off: expected true or false, got the quoted string \"true\" (drop the quotes)");
        REFUSED(HEAD "kernel_modules: overlay\n", "role.yaml:4:17: kernel_modules: expected a list, got a scalar");
        REFUSED(HEAD "sysctls:\n  - {key: fs.nr_open, value: \"1\"}\n", "role.yaml:5:5: sysctls[0]: missing required key 'origin'");
        REFUSED("- a\n- b\n", "role.yaml:1:1: role: expected a mapping, got a list");
}

static void refuses_bad_values_with_their_paths(void **state) {
        (void) state;
        REFUSED(HEAD "sysctls:\n  - {key: \"net/ipv4/ip_forward\", value: \"1\", origin: x}\n",
                "role.yaml:5:11: sysctls[0].key: 'net/ipv4/ip_forward' is not a sysctl name");
        REFUSED(HEAD "sysctls:\n  - {key: fs.nr_open, value: \"1\", origin: x}\n  - {key: fs.nr_open, value: \"2\", origin: y}\n",
                "role.yaml:6:11: sysctls[1].key: 'fs.nr_open' is set twice");
        REFUSED(HEAD "volumes:\n  - {path: /mnt/data/a, owner: 0, group: 0, mode: \"0750\", topologies: [10k]}\n",
                "role.yaml:5:72: volumes[0].topologies[0]: unknown topology '10k' (known: 100k, few-devices)");
        REFUSED(HEAD "volumes:\n  - {path: /mnt/data/a, owner: 70000, group: 0, mode: \"0750\"}\n",
                "role.yaml:5:32: volumes[0].owner: 70000 is out of range (0..65535)");
        REFUSED(HEAD "limits:\n  - {unit: docker.service, nofile: 10, origin: x}\n",
                "role.yaml:5:36: limits[0].nofile: 10 is out of range (1024..1073741824)");
        REFUSED(HEAD "files:\n  - {renderer: nginx, dest: /etc/nginx/nginx.conf, mode: \"0644\", check: [nginx, -t]}\n",
                "role.yaml:5:73: files[0].check: must name the candidate file as \"{}\"");
        REFUSED(HEAD "services:\n  - {unit: nginx.service, when_lb_mode: envoy}\n",
                "role.yaml:5:41: services[0].when_lb_mode: 'envoy' is not an lb mode (haproxy, nginx)");
}

static void a_bad_entry_does_not_hide_the_next_ones(void **state) {
        (void) state;
        /* the duplicate checks used to compare against the failed entry's
         * NULL key and crash (found by fuzz-role, also in manifests.sets) */
        REFUSED(HEAD "sysctls:\n  - {key: [], value: \"1\", origin: x}\n  - {key: a.b, value: \"1\", origin: x}\n"
                "  - {key: a.b, value: \"2\", origin: x}\n",
                "role.yaml:5:11: sysctls[0].key: expected a value, got a list",
                "role.yaml:7:11: sysctls[2].key: 'a.b' is set twice");
        REFUSED(HEAD "volumes:\n  - {path: [], owner: 0, group: 0, mode: \"0750\"}\n"
                "  - {path: /mnt/data/a, owner: x, group: 0, mode: \"0750\"}\n",
                "role.yaml:5:12: volumes[0].path: expected a value, got a list",
                "role.yaml:6:32: volumes[1].owner: expected an integer, got 'x'");
        REFUSED(HEAD "manifests:\n  dir: manifests\n"
                "  variants: {vernemq: [a], 100k: [a], mosca: [a], vernemq+lwm2m: [a], mosca+lwm2m: [a]}\n"
                "  sets:\n    - {file: [], tags: [a]}\n    - {file: a.yaml, tags: [a]}\n",
                "role.yaml:8:14: manifests.sets[0]: expected a value, got a list");
        REFUSED(HEAD "manifests:\n  dir: manifests\n"
                "  variants: {vernemq: [a], 100k: [a], mosca: [a], vernemq+lwm2m: [a], mosca+lwm2m: [a]}\n"
                "  sets:\n    - {file: .yaml, tags: [a]}\n    - {file: a.yml, tags: [a]}\n"
                "    - {file: a.yaml.bak, tags: [a]}\n    - {file: a.yaml, tags: [a]}\n",
                "role.yaml:8:14: manifests.sets[0].file: '.yaml' must be a plain *.yaml file name",
                "role.yaml:9:14: manifests.sets[1].file: 'a.yml' must be a plain *.yaml file name",
                "role.yaml:10:14: manifests.sets[2].file: 'a.yaml.bak' must be a plain *.yaml file name");
}

static void refuses_yaml_errors_with_positions(void **state) {
        (void) state;
        REFUSED(HEAD "kernel_modules: [overlay\nsysctls: []\n",
                "role.yaml:5:8: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence that starts at 4:17");
        REFUSED(HEAD "name: again\n", "role.yaml:4:1: duplicate key 'name'");
        REFUSED(HEAD "kernel_modules: &m [overlay]\n", "role.yaml:4:17: YAML anchors are not supported");
}

static void images_file_is_one_reference_per_line(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_tmpdir("nodeos-test-role-"), *dir = NULL, *want = NULL;
        assert_true(asprintf(&dir, "%s/test", root) >= 0);
        assert_int_equal(mkdir(dir, 0755), 0);
        write_text(dir, "role.yaml", HEAD);
        write_text(dir, "images", "# comment\n\ndojot/a:v0.5.0   # why\n  dojot/b@sha256:00\n");
        struct diag d = {};
        struct role *r = NULL;
        assert_int_equal(role_load(dir, &r, &d), 0);
        assert_int_equal(strv_length(r->images), 2);
        assert_string_equal(r->images[0], "dojot/a:v0.5.0");
        assert_string_equal(r->images[1], "dojot/b@sha256:00");
        assert_string_equal(r->dir, dir);
        role_free(r);
        /* blank and comment lines count: the error names the file's own line */
        write_text(dir, "images", "dojot/a:v0.5.0\n\n# c\n\ndojot/b v2\n");
        assert_int_equal(role_load(dir, &r, &d), -EINVAL);
        assert_true(asprintf(&want, "%s/images:5:1: 'dojot/b v2' is not one image reference", dir) >= 0);
        assert_int_equal(diag_count(&d), 1);
        assert_string_equal(d.lines[0], want);
        diag_done(&d);
        rm_rf(root);
}

static void an_empty_catalog_is_an_error(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_tmpdir("nodeos-test-role-"), *want = NULL;
        struct diag d = {};
        struct role_catalog *cat = NULL;
        assert_int_equal(role_catalog_load(root, &cat, &d), -ENOENT);
        assert_true(asprintf(&want, "%s: no roles found (expected <role>/role.yaml)", root) >= 0);
        assert_string_equal(d.lines[0], want);
        diag_done(&d);
        rm_rf(root);
}

/* --- main ---------------------------------------------------------------------- */

int main(void) {
        for (int i = 0; i < 6 && access("roles/verne/role.yaml", F_OK) < 0; i++)
                if (chdir("..") < 0)
                        break;
        if (access("roles/verne/role.yaml", F_OK) < 0) {
                fprintf(stderr, "test-role: run from the repo root (no roles/ here)\n");
                return 1;
        }
        static const struct CMUnitTest tests[] = {
                cmocka_unit_test(every_repo_role_loads),
                cmocka_unit_test(lb_target_must_name_a_service_of_the_catalog),
                cmocka_unit_test(only_verne_may_be_an_mqtt_backend_in_100k),
                cmocka_unit_test(a_full_role_file_fills_every_field),
                cmocka_unit_test(refuses_unknown_keys_with_positions),
                cmocka_unit_test(refuses_bad_modes),
                cmocka_unit_test(refuses_relative_and_escaping_paths),
                cmocka_unit_test(refuses_unknown_renderer),
                cmocka_unit_test(refuses_a_name_that_differs_from_its_directory),
                cmocka_unit_test(refuses_missing_and_mistyped_required_keys),
                cmocka_unit_test(refuses_bad_values_with_their_paths),
                cmocka_unit_test(a_bad_entry_does_not_hide_the_next_ones),
                cmocka_unit_test(refuses_yaml_errors_with_positions),
                cmocka_unit_test(images_file_is_one_reference_per_line),
                cmocka_unit_test(an_empty_catalog_is_an_error),
        };
        return cmocka_run_group_tests_name("role", tests, NULL, NULL);
}
