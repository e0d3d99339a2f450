/* SPDX-License-Identifier: Apache-2.0 */
/* The seed parser (config.c + yamlnode.c + schema.c) and its cross-check
 * with the role catalog, as `node-agent validate` runs them:
 *  - every case under tests/data/bad-seeds/<case>/ is rejected with exactly
 *    the lines of its expected-error (one cmocka test per case);
 *  - every example seed under cloud-init/examples/ is accepted;
 *  - typed fields and defaults, from seeds written inline here (the examples
 *    are regenerated with fresh tokens, so values are not pinned to them).
 * Paths are relative to the repo root; the tests walk up to it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "basic/fileio.h"
#include "basic/strv.h"
#include "shared/config.h"
#include "shared/role.h"
#include "shared/seed.h"

#define BAD_SEEDS "tests/data/bad-seeds"
#define EXAMPLES "cloud-init/examples"

static struct role_catalog *catalog;
static char **role_names;

/* --- helpers ----------------------------------------------------------------- */

/* What `node-agent validate DIR` does before it renders, minus the
 * printing: the seed's files read as a datasource delivers them (the
 * optional ones too), parsed, checked against the catalog, its signature
 * verified. */
static int validate_dir(const char *dir, struct node_config **ret, struct diag *d) {
        struct seed s = {};
        struct role_catalog *cat = NULL;
        struct node_config *c = NULL;
        int r = seed_read_dir(dir, &s);
        if (r >= 0)
                r = seed_load_config("roles", &s, &cat, &c, d);
        seed_done(&s);
        role_catalog_free(cat);
        if (r >= 0 && ret)
                *ret = c;
        else
                config_free(c);
        return r;
}

static int parse(const char *meta, const char *user, struct node_config **ret, struct diag *d) {
        return config_parse(meta, strlen(meta), "meta-data", user, strlen(user), "user-data", role_names, ret, d);
}

static void print_diag(const struct diag *d) {
        STRV_FOREACH(l, d->lines)
                print_message("#   %s\n", *l);
}

/* Parses a seed that must be valid; fails the test with its messages. */
static struct node_config *parse_ok(const char *meta, const char *user) {
        struct diag d = {};
        struct node_config *c = NULL;
        int r = parse(meta, user, &c, &d);
        if (r < 0 || diag_count(&d) > 0)
                print_diag(&d);
        assert_int_equal(r, 0);
        assert_int_equal(diag_count(&d), 0);
        diag_done(&d);
        return c;
}

/* Parses a seed that must fail with exactly one message, returned. */
static char *parse_one_error(const char *meta, const char *user) {
        struct diag d = {};
        struct node_config *c = NULL;
        int r = parse(meta, user, &c, &d);
        if (diag_count(&d) != 1)
                print_diag(&d);
        assert_int_equal(r, -EINVAL);
        assert_null(c);
        assert_int_equal(diag_count(&d), 1);
        char *line = strdup(d.lines[0]);
        diag_done(&d);
        return line;
}

static bool is_dir(const char *p) {
        struct stat st;
        return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int not_hidden(const struct dirent *de) {
        return de->d_name[0] != '.';
}

/* Subdirectories of dir holding a meta-data file, recursively, sorted. */
static void find_seed_dirs(const char *dir, char ***ret) {
        struct dirent **names = NULL;
        int n = scandir(dir, &names, not_hidden, alphasort);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *sub = NULL, *meta = NULL, *drive = NULL;
                assert_true(asprintf(&sub, "%s/%s", dir, names[i]->d_name) >= 0);
                assert_true(asprintf(&meta, "%s/meta-data", sub) >= 0);
                /* a NoCloud seed, or a config drive's tree */
                assert_true(asprintf(&drive, "%s/openstack/latest/meta_data.json", sub) >= 0);
                if (access(meta, F_OK) == 0 || access(drive, F_OK) == 0)
                        assert_int_equal(strv_extend(ret, sub), 0);
                else if (is_dir(sub))
                        find_seed_dirs(sub, ret);
                free(names[i]);
        }
        free(names);
}

/* --- the malformed-seed corpus --------------------------------------------- */

static void rejects_bad_seed_with_its_expected_error(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *expected_path = NULL, *expected = NULL;
        assert_true(asprintf(&expected_path, "%s/expected-error", dir) >= 0);
        assert_int_equal(read_full_file(expected_path, &expected, NULL), 0);
        _cleanup_strv_free_ char **want = NULL;
        for (char *save = NULL, *l = strtok_r(expected, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                assert_int_equal(strv_extend(&want, l), 0);
        assert_true(strv_length(want) > 0);

        struct diag d = {};
        struct node_config *c = NULL;
        int r = validate_dir(dir, &c, &d);
        if (r >= 0 || diag_count(&d) != strv_length(want)) {
                print_message("# %s: got %zu message(s), want %zu:\n", dir, diag_count(&d), strv_length(want));
                print_diag(&d);
        }
        assert_int_equal(r, -EINVAL);
        assert_null(c);
        assert_int_equal(diag_count(&d), strv_length(want));
        for (size_t i = 0; want[i]; i++)
                assert_string_equal(d.lines[i], want[i]);
        diag_done(&d);
}

static void bad_seed_corpus_covers_at_least_20_cases(void **state) {
        (void) state;
        _cleanup_strv_free_ char **dirs = NULL;
        find_seed_dirs(BAD_SEEDS, &dirs);
        assert_true(strv_length(dirs) >= 20);
        /* a case without its expected error would silently test nothing */
        STRV_FOREACH(dir, dirs) {
                _cleanup_free_ char *p = NULL;
                assert_true(asprintf(&p, "%s/expected-error", *dir) >= 0);
                if (access(p, F_OK) < 0)
                        fail_msg("%s has no expected-error", *dir);
        }
}

/* --- the example seeds ------------------------------------------------------ */

static void every_example_seed_is_valid_for_its_role(void **state) {
        (void) state;
        _cleanup_strv_free_ char **dirs = NULL;
        find_seed_dirs(EXAMPLES, &dirs);
        assert_true(strv_length(dirs) >= 9);    /* six roles + few-devices' three */
        STRV_FOREACH(dir, dirs) {
                struct diag d = {};
                struct node_config *c = NULL;
                int r = validate_dir(*dir, &c, &d);
                if (r < 0 || diag_count(&d) > 0) {
                        print_message("# %s:\n", *dir);
                        print_diag(&d);
                        fail_msg("%s: example seed rejected", *dir);
                }
                /* examples live in <role>/ or <topology>/<role>/ */
                const char *base = strrchr(*dir, '/') + 1;
                assert_string_equal(c->role, base);
                assert_non_null(c->instance_id);
                assert_non_null(c->hostname);
                assert_int_equal(c->topology, strstr(*dir, "few-devices") ? TOPOLOGY_FEW_DEVICES : TOPOLOGY_100K);
                config_free(c);
                diag_done(&d);
        }
}

/* --- typed fields and defaults ---------------------------------------------- */

#define HASH "sha256:f62bc72152bf962a063f58572eaa42227589a1ff64c9e101b807ae64a2dd503a"
#define WORKER_META "instance-id: verne-1-test\nlocal-hostname: verne-1\n"
#define WORKER_USER \
        "#cloud-config\n" \
        "schema_version: 1\n" \
        "role: verne\n" \
        "topology: 100k\n" \
        "network:\n" \
        "  interface: ens3\n" \
        "  address: 192.168.0.14/24\n" \
        "  gateway: 192.168.0.1\n" \
        "  dns: [192.168.0.1, \"2001:db8::53\"]\n" \
        "cluster:\n" \
        "  api_endpoint: 192.168.0.10:6443\n" \
        "  ca_cert_hashes: [\"" HASH "\"]\n" \
        "  token: \"7i2gi9.93abwmwb7zjymj7j\"\n" \
        "  token_expires: \"2036-11-22T00:32:28Z\"\n" \
        "dojot:\n" \
        "  variant: 100k\n" \
        "  vars:\n" \
        "    dojot_insecure_mqtt: \"false\"\n" \
        "    dojot_vernemq_replicas: 3\n" \
        "    dojot_guiv2_enabled: no\n" \
        "    dojot_nodeports:\n" \
        "      mqtt: 31883\n" \
        "      lwm2m: {coap: 31000}\n" \
        "ssh_authorized_keys:\n" \
        "  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq9 ops@example\n"

static void worker_seed_fills_typed_fields(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *c = parse_ok(WORKER_META, WORKER_USER);
        assert_string_equal(c->instance_id, "verne-1-test");
        assert_string_equal(c->hostname, "verne-1");    /* from local-hostname */
        assert_string_equal(c->role, "verne");
        assert_int_equal(c->topology, TOPOLOGY_100K);
        assert_string_equal(c->network.interface, "ens3");
        assert_string_equal(c->network.address, "192.168.0.14/24");
        assert_string_equal(c->network.gateway, "192.168.0.1");
        assert_int_equal(strv_length(c->network.dns), 2);
        assert_string_equal(c->network.dns[1], "2001:db8::53");
        assert_true(c->has_cluster);
        assert_false(c->has_lb);
        assert_string_equal(c->cluster.api_endpoint, "192.168.0.10:6443");
        assert_string_equal(secret_reveal(&c->cluster.token), "7i2gi9.93abwmwb7zjymj7j");
        assert_int_equal(c->cluster.token_expires, 2110926748);        /* date -ud 2036-11-22T00:32:28Z +%s */
        assert_int_equal(strv_length(c->cluster.ca_cert_hashes), 1);
        assert_string_equal(c->cluster.ca_cert_hashes[0], HASH);
        assert_int_equal(c->dojot.variant, VARIANT_100K);
        /* the original's string "false" is a real false here (docs/dojot-v0.5.0.md#inventory) */
        assert_false(config_dojot_bool(c, "dojot_insecure_mqtt"));
        assert_int_equal(config_dojot_int(c, "dojot_vernemq_replicas"), 3);
        assert_false(config_dojot_bool(c, "dojot_guiv2_enabled"));
        cJSON *np = cJSON_GetObjectItem(c->dojot.vars, "dojot_nodeports");
        assert_int_equal((int) cJSON_GetNumberValue(cJSON_GetObjectItem(np, "mqtt")), 31883);
        /* a nested map given in part keeps the defaults of the keys it omits */
        cJSON *lw = cJSON_GetObjectItem(np, "lwm2m");
        assert_int_equal((int) cJSON_GetNumberValue(cJSON_GetObjectItem(lw, "coap")), 31000);
        assert_int_equal((int) cJSON_GetNumberValue(cJSON_GetObjectItem(lw, "coaps")), 30007);
        assert_int_equal((int) cJSON_GetNumberValue(cJSON_GetObjectItem(np, "mqtts")), 30005);
        assert_int_equal(strv_length(c->ssh_authorized_keys), 1);
        assert_string_equal(c->meta_data_file, "meta-data");
        assert_string_equal(c->user_data_file, "user-data");
}

static void omitted_values_get_their_defaults(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *c = parse_ok("instance-id: k-1\n",
                                                          "#cloud-config\nschema_version: 1\nrole: kafka\nhostname: kafka\n");
        assert_string_equal(c->hostname, "kafka");
        assert_int_equal(c->topology, TOPOLOGY_100K);
        assert_false(c->has_cluster);
        assert_false(c->has_lb);
        assert_int_equal(c->lb.mode, LB_MODE_NONE);
        assert_null(c->network.address);        /* DHCP: the interface is left alone */
        /* kubeadm's and the guide's subnets (docs/dojot-v0.5.0.md#networks) */
        assert_string_equal(c->cluster.pod_subnet, "10.244.0.0/16");
        assert_string_equal(c->cluster.service_subnet, "10.96.0.0/12");
        assert_int_equal(c->dojot.variant, VARIANT_VERNEMQ);
        assert_string_equal(config_dojot_string(c, "dojot_namespace"), "dojot");
        assert_string_equal(config_dojot_string(c, "dojot_version"), "v0.5.0");
        assert_string_equal(config_dojot_string(c, "dojot_storage_class_name"), "");
        assert_true(config_dojot_bool(c, "dojot_insecure_mqtt"));
        assert_true(config_dojot_bool(c, "dojot_kubernetes_rbac"));
        assert_false(config_dojot_bool(c, "dojot_kafka_persistent_volumes"));
        assert_int_equal(config_dojot_int(c, "dojot_vernemq_replicas"), 1);
        cJSON *np = cJSON_GetObjectItem(c->dojot.vars, "dojot_nodeports");
        assert_int_equal((int) cJSON_GetNumberValue(cJSON_GetObjectItem(np, "mqtt")), 30004);
        assert_int_equal((int) cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(np, "apigw"), "http")), 30001);
}

static void explicit_subnets_replace_the_defaults(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *c = parse_ok(
                "instance-id: k-1\nlocal-hostname: kafka\n",
                "#cloud-config\nschema_version: 1\nrole: kafka\n"
                "cluster:\n  pod_subnet: 172.16.0.0/16\n  service_subnet: \"fd00:96::/108\"\n");
        assert_string_equal(c->cluster.pod_subnet, "172.16.0.0/16");
        assert_string_equal(c->cluster.service_subnet, "fd00:96::/108");
}

#define PEM_CERT "-----BEGIN CERTIFICATE-----\n    MIIBfake\n    -----END CERTIFICATE-----\n"
#define PEM_KEY "-----BEGIN EC PRIVATE KEY-----\n    MHcfake\n    -----END EC PRIVATE KEY-----\n"

static void master_api_endpoint_defaults_to_advertise_address(void **state) {
        (void) state;
        static const char user4[] =
                "#cloud-config\nschema_version: 1\nrole: master\nhostname: master\n"
                "cluster:\n  advertise_address: 192.168.0.10\n  token: \"7i2gi9.93abwmwb7zjymj7j\"\n"
                "  ca_cert: |\n    " PEM_CERT "  ca_key: |\n    " PEM_KEY;
        static const char user6[] =
                "#cloud-config\nschema_version: 1\nrole: master\nhostname: master\n"
                "cluster:\n  advertise_address: \"fd00::10\"\n  token: \"7i2gi9.93abwmwb7zjymj7j\"\n"
                "  ca_cert: |\n    " PEM_CERT "  ca_key: |\n    " PEM_KEY;
        _cleanup_config_ struct node_config *c4 = parse_ok("instance-id: m-1\n", user4);
        assert_string_equal(c4->cluster.api_endpoint, "192.168.0.10:6443");
        assert_non_null(strstr(c4->cluster.ca_cert, "BEGIN CERTIFICATE"));
        assert_non_null(strstr(secret_reveal(&c4->cluster.ca_key), "PRIVATE KEY-----"));
        assert_int_equal(c4->cluster.token_expires, 0);
        struct diag d = {};
        assert_int_equal(role_check_config(catalog, c4, &d), 0);
        diag_done(&d);
        _cleanup_config_ struct node_config *c6 = parse_ok("instance-id: m-1\n", user6);
        assert_string_equal(c6->cluster.api_endpoint, "[fd00::10]:6443");
}

static void lb_seed_fills_backends_with_positions(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *c = parse_ok(
                "instance-id: lb-1\nlocal-hostname: lb\n",
                "#cloud-config\nschema_version: 1\nrole: lb\ntopology: few-devices\n"
                "lb:\n  mode: nginx\n"
                "  apigw_nodes:\n    - {name: dojot, address: 192.168.0.11, role: dojot}\n"
                "  lwm2m_nodes:\n    - {name: dojot, address: \"fd00::11\", role: dojot}\n");
        assert_true(c->has_lb);
        assert_int_equal(c->lb.mode, LB_MODE_NGINX);
        assert_int_equal(c->topology, TOPOLOGY_FEW_DEVICES);
        assert_int_equal(lb_backends(&c->lb, "apigw")->n, 1);
        assert_string_equal(lb_backends(&c->lb, "apigw")->nodes[0].name, "dojot");
        assert_string_equal(lb_backends(&c->lb, "apigw")->nodes[0].address, "192.168.0.11");
        assert_string_equal(lb_backends(&c->lb, "apigw")->nodes[0].role, "dojot");
        assert_int_equal(lb_backends(&c->lb, "apigw")->nodes[0].pos.line, 8);
        assert_int_equal(lb_backends(&c->lb, "apigw")->nodes[0].pos.col, 7);
        assert_string_equal(lb_backends(&c->lb, "lwm2m")->nodes[0].address, "fd00::11");
        assert_int_equal(lb_backends(&c->lb, "mqtt")->n, 0);
        struct diag d = {};
        assert_int_equal(role_check_config(catalog, c, &d), 0);
        diag_done(&d);
}

static void user_data_hostname_wins_over_local_hostname(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *c = parse_ok("instance-id: k-1\nlocal-hostname: old-name\n",
                                                          "#cloud-config\nschema_version: 1\nrole: kafka\nhostname: kafka-2\n");
        assert_string_equal(c->hostname, "kafka-2");
}

#define KEY_A "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA a@x"
#define KEY_B "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB b@x"

/* What cloud-localds and cloud-init's own meta-data carry: dsmode (local or
 * net: the same here) and public-keys in each of cloud-init's forms, merged
 * with user-data's keys, each once. */
static void meta_data_dsmode_and_public_keys_as_cloud_init_writes_them(void **state) {
        (void) state;
        static const char * const metas[] = {
                "instance-id: k-1\ndsmode: local\npublic-keys: \"" KEY_A "\"\n",
                "instance-id: k-1\ndsmode: net\npublic-keys:\n  - \"" KEY_A "\"\n",
                "instance-id: k-1\npublic-keys:\n  admin: \"" KEY_A "\"\n",
                "instance-id: k-1\npublic-keys:\n  admin:\n    - \"" KEY_A "\"\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(metas); i++) {
                _cleanup_config_ struct node_config *c = parse_ok(metas[i], "#cloud-config\nschema_version: 1\nrole: kafka\nhostname: kafka-2\n"
                                                                            "ssh_authorized_keys: [\"" KEY_A "\", \"" KEY_B "\"]\n");
                assert_int_equal(strv_length(c->ssh_authorized_keys), 2);
                assert_string_equal(c->ssh_authorized_keys[0], KEY_A);
                assert_string_equal(c->ssh_authorized_keys[1], KEY_B);
        }
}

static void seed_without_any_hostname_is_rejected(void **state) {
        (void) state;
        _cleanup_free_ char *e = parse_one_error("instance-id: k-1\n", "#cloud-config\nschema_version: 1\nrole: kafka\n");
        assert_string_equal(e, "user-data:2:1: hostname: missing (set hostname, or local-hostname in meta-data)");
}

static void token_expires_accepts_offsets_and_fractions(void **state) {
        (void) state;
        static const char * const times[] = {
                "2036-11-22T00:32:28Z", "2036-11-22T02:32:28+02:00", "2036-11-21T21:02:28-03:30", "2036-11-22T00:32:28.999Z",
        };
        for (size_t i = 0; i < ELEMENTSOF(times); i++) {
                _cleanup_free_ char *user = NULL;
                assert_true(asprintf(&user, "#cloud-config\nschema_version: 1\nrole: kafka\ncluster:\n  token_expires: \"%s\"\n",
                                     times[i]) >= 0);
                _cleanup_config_ struct node_config *c = parse_ok("instance-id: k\nlocal-hostname: kafka\n", user);
                assert_int_equal(c->cluster.token_expires, 2110926748);
        }
}

static void token_expires_refuses_near_misses(void **state) {
        (void) state;
        static const char * const times[] = {
                "2036-11-22T00:32:28", "2036-11-22t00:32:28Z", "2036-1-22T00:32:28Z", "2036-11-22T00:32:28+0200",
                "2036-11-22T00:32:28+24:00", "2036-11-22T24:00:00Z", "2036-11-22T00:32:60Z", "2036-13-01T00:00:00Z",
                "2036-11-22T00:32:28.Z", " 2036-11-22T00:32:28Z", "2036-11-22T00:32:28Z ",
        };
        for (size_t i = 0; i < ELEMENTSOF(times); i++) {
                _cleanup_free_ char *user = NULL, *want = NULL;
                assert_true(asprintf(&user, "#cloud-config\nschema_version: 1\nrole: kafka\ncluster:\n  token_expires: \"%s\"\n",
                                     times[i]) >= 0);
                _cleanup_free_ char *e = parse_one_error("instance-id: k\nlocal-hostname: kafka\n", user);
                assert_true(asprintf(&want, "user-data:5:18: cluster.token_expires: '%s' ", times[i]) >= 0);
                if (strncmp(e, want, strlen(want)) != 0)
                        fail_msg("%s: got \"%s\"", times[i], e);
        }
}

static void cidr_and_endpoint_numbers_are_digits_only(void **state) {
        (void) state;
        static const struct { const char *key, *value, *error; } cases[] = {
                { "network:\n  address", "10.0.0.1/+8", "network.address: '10.0.0.1/+8' is not a valid CIDR (prefix must be 0..32)" },
                { "network:\n  address", "10.0.0.1/ 8", "network.address: '10.0.0.1/ 8' is not a valid CIDR (prefix must be 0..32)" },
                { "network:\n  address", "fd00::1/129", "network.address: 'fd00::1/129' is not a valid CIDR (prefix must be 0..128)" },
                { "network:\n  address", "10.0.0.1", "network.address: '10.0.0.1' is not a valid CIDR (missing /prefix)" },
                { "cluster:\n  api_endpoint", "10.0.0.1:+6443", "cluster.api_endpoint: '10.0.0.1:+6443' is not host:port (port must be 1..65535)" },
                { "cluster:\n  api_endpoint", "10.0.0.1: 6443", "cluster.api_endpoint: '10.0.0.1: 6443' is not host:port (port must be 1..65535)" },
                { "cluster:\n  api_endpoint", "[fd00::1]6443", "cluster.api_endpoint: '[fd00::1]6443' is not host:port (want [IPv6]:port)" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *user = NULL, *want = NULL;
                assert_true(asprintf(&user, "#cloud-config\nschema_version: 1\nrole: kafka\n%s: \"%s\"\n", cases[i].key,
                                     cases[i].value) >= 0);
                _cleanup_free_ char *e = parse_one_error("instance-id: k\nlocal-hostname: kafka\n", user);
                assert_true(asprintf(&want, "user-data:5:%d: %s", strstr(cases[i].key, "api_endpoint") ? 17 : 12,
                                     cases[i].error) >= 0);
                assert_string_equal(e, want);
        }
}

static void empty_lists_parse_as_empty(void **state) {
        (void) state;
        /* these used to dereference a NULL list (found by fuzz-config) */
        _cleanup_config_ struct node_config *c = parse_ok(
                "instance-id: k\nlocal-hostname: kafka\n",
                "#cloud-config\nschema_version: 1\nrole: kafka\nnetwork:\n  dns: []\nssh_authorized_keys: []\n");
        assert_non_null(c->network.dns);
        assert_int_equal(strv_length(c->network.dns), 0);
        assert_int_equal(strv_length(c->ssh_authorized_keys), 0);
        /* and a worker with no CA hash is still told it needs one */
        _cleanup_config_ struct node_config *w = parse_ok(
                WORKER_META, "#cloud-config\nschema_version: 1\nrole: verne\ncluster:\n  api_endpoint: 10.0.0.1:6443\n"
                             "  token: \"7i2gi9.93abwmwb7zjymj7j\"\n  ca_cert_hashes: []\n");
        struct diag d = {};
        assert_int_equal(role_check_config(catalog, w, &d), -EINVAL);
        assert_int_equal(diag_count(&d), 1);
        assert_string_equal(d.lines[0], "user-data:3:7: cluster.ca_cert_hashes: required for role verne (kubernetes: join)");
        diag_done(&d);
}

static void every_problem_is_reported_not_only_the_first(void **state) {
        (void) state;
        struct diag d = {};
        struct node_config *c = NULL;
        assert_int_equal(parse("instance-id: x\nlocal-hostname: Bad_Name\n",
                               "#cloud-config\nschema_version: 2\nrole: nope\ntopology: 10k\nnetwork:\n  gateway: 1.2.3\n", &c, &d),
                         -EINVAL);
        assert_null(c);
        assert_int_equal(diag_count(&d), 5);
        assert_string_equal(d.lines[0], "meta-data:2:17: local-hostname: 'Bad_Name' is not a valid hostname (RFC 1123, lowercase)");
        assert_string_equal(d.lines[1], "user-data:2:17: schema_version: 2 is not supported (this agent reads 1)");
        assert_string_equal(d.lines[2], "user-data:3:7: role: unknown role 'nope' (known: dojot, kafka, lb, master, verne, x509)");
        assert_string_equal(d.lines[3], "user-data:4:11: topology: expected 100k or few-devices, got '10k'");
        assert_string_equal(d.lines[4], "user-data:6:12: network.gateway: '1.2.3' is not an IP address");
        diag_done(&d);
}

static void malformed_secrets_are_never_echoed(void **state) {
        (void) state;
        static const char * const tokens[] = { "Secret.0123456789abcdef", "short.secret", "secret123456789.abcdef" };
        for (size_t i = 0; i < ELEMENTSOF(tokens); i++) {
                _cleanup_free_ char *user = NULL;
                assert_true(asprintf(&user, "#cloud-config\nschema_version: 1\nrole: kafka\ncluster:\n  token: \"%s\"\n", tokens[i]) >= 0);
                _cleanup_free_ char *e = parse_one_error("instance-id: k\nlocal-hostname: kafka\n", user);
                assert_null(strstr(e, "ecret"));
                assert_string_equal(e, "user-data:5:10: cluster.token: malformed bootstrap token (want [a-z0-9]{6}.[a-z0-9]{16})");
        }
        _cleanup_free_ char *k = parse_one_error("instance-id: k\nlocal-hostname: kafka\n",
                                                 "#cloud-config\nschema_version: 1\nrole: kafka\ncluster:\n  ca_key: \"secretkeymaterial\"\n");
        assert_null(strstr(k, "secretkeymaterial"));
        assert_string_equal(k, "user-data:5:11: cluster.ca_key: not a PEM private key");
}

static void cloud_config_header_allows_crlf_and_refuses_lookalikes(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *c = parse_ok("instance-id: k\r\nlocal-hostname: kafka\r\n",
                                                          "#cloud-config\r\nschema_version: 1\r\nrole: kafka\r\n");
        assert_string_equal(c->role, "kafka");
        _cleanup_free_ char *e1 = parse_one_error("instance-id: k\nlocal-hostname: kafka\n", "#cloud-configuration\nrole: kafka\n");
        assert_string_equal(e1, "user-data:1:1: user-data must start with '#cloud-config' (the NoCloud cloud-config format)");
        _cleanup_free_ char *e2 = parse_one_error("instance-id: k\nlocal-hostname: kafka\n", "");
        assert_string_equal(e2, "user-data:1:1: user-data must start with '#cloud-config' (the NoCloud cloud-config format)");
}

static void deep_nesting_is_refused_not_a_stack_overflow(void **state) {
        (void) state;
        size_t depth = 100000;
        _cleanup_free_ char *user = malloc(depth + 40);
        assert_non_null(user);
        int n = sprintf(user, "#cloud-config\nx: ");
        memset(user + n, '[', depth);
        user[n + depth] = 0;
        _cleanup_free_ char *e = parse_one_error("instance-id: k\nlocal-hostname: kafka\n", user);
        assert_string_equal(e, "user-data:2:67: YAML nested deeper than 64 levels");
}

static void oversized_yaml_is_refused_not_scanned_for_hours(void **state) {
        (void) state;
        /* duplicate keys are found by a linear scan: sizes are bounded */
        _cleanup_free_ char *keys = NULL, *nodes = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&keys, &len);
        assert_non_null(f);
        fputs("#cloud-config\nschema_version: 1\n", f);
        for (int i = 0; i < 1000; i++)
                fprintf(f, "k%d: 1\n", i);
        fclose(f);
        _cleanup_free_ char *e1 = parse_one_error("instance-id: k\nlocal-hostname: kafka\n", keys);
        assert_string_equal(e1, "user-data:1002:1: YAML mapping has more than 1000 keys");

        f = open_memstream(&nodes, &len);
        assert_non_null(f);
        fputs("#cloud-config\nx:\n", f);
        for (int i = 0; i < 1000; i++) {
                fputs("  - [", f);
                for (int j = 0; j < 100; j++)
                        fputs(j ? ",1" : "1", f);
                fputs("]\n", f);
        }
        fclose(f);
        _cleanup_free_ char *e2 = parse_one_error("instance-id: k\nlocal-hostname: kafka\n", nodes);
        /* root, key x, its list: 3 nodes; a row is 101: node 100001 is item 7 of row 991 */
        assert_string_equal(e2, "user-data:993:18: YAML document has more than 100000 nodes");
}

static void missing_seed_files_are_reported_by_path(void **state) {
        (void) state;
        struct diag d = {};
        struct node_config *c = NULL;
        assert_int_equal(config_load_dir("tests/data/no-such-seed", role_names, &c, &d), -ENOENT);
        assert_int_equal(diag_count(&d), 1);
        assert_string_equal(d.lines[0], "tests/data/no-such-seed/meta-data: cannot read: No such file or directory");
        diag_done(&d);
}

/* --- main ---------------------------------------------------------------------- */

/* The tests name repo files relative to its root: find it from the cwd. */
static void chdir_to_repo_root(void) {
        for (int i = 0; i < 6 && access(BAD_SEEDS, F_OK) < 0; i++)
                if (chdir("..") < 0)
                        break;
        if (access(BAD_SEEDS, F_OK) < 0) {
                fprintf(stderr, "test-config: run from the repo root (no %s here)\n", BAD_SEEDS);
                exit(1);
        }
}

int main(void) {
        chdir_to_repo_root();
        struct diag d = {};
        if (role_catalog_load("roles", &catalog, &d) < 0 || !(role_names = role_catalog_names(catalog))) {
                diag_print(&d, stderr);
                return 1;
        }
        diag_done(&d);

        static const struct CMUnitTest fixed[] = {
                cmocka_unit_test(bad_seed_corpus_covers_at_least_20_cases),
                cmocka_unit_test(every_example_seed_is_valid_for_its_role),
                cmocka_unit_test(worker_seed_fills_typed_fields),
                cmocka_unit_test(omitted_values_get_their_defaults),
                cmocka_unit_test(explicit_subnets_replace_the_defaults),
                cmocka_unit_test(master_api_endpoint_defaults_to_advertise_address),
                cmocka_unit_test(lb_seed_fills_backends_with_positions),
                cmocka_unit_test(user_data_hostname_wins_over_local_hostname),
                cmocka_unit_test(seed_without_any_hostname_is_rejected),
                cmocka_unit_test(meta_data_dsmode_and_public_keys_as_cloud_init_writes_them),
                cmocka_unit_test(token_expires_accepts_offsets_and_fractions),
                cmocka_unit_test(token_expires_refuses_near_misses),
                cmocka_unit_test(cidr_and_endpoint_numbers_are_digits_only),
                cmocka_unit_test(empty_lists_parse_as_empty),
                cmocka_unit_test(every_problem_is_reported_not_only_the_first),
                cmocka_unit_test(malformed_secrets_are_never_echoed),
                cmocka_unit_test(cloud_config_header_allows_crlf_and_refuses_lookalikes),
                cmocka_unit_test(deep_nesting_is_refused_not_a_stack_overflow),
                cmocka_unit_test(oversized_yaml_is_refused_not_scanned_for_hours),
                cmocka_unit_test(missing_seed_files_are_reported_by_path),
        };
        /* one test per malformed seed, named after its case */
        _cleanup_strv_free_ char **bad = NULL, **names = NULL;
        find_seed_dirs(BAD_SEEDS, &bad);
        size_t nb = strv_length(bad), n = ELEMENTSOF(fixed) + nb;
        struct CMUnitTest *tests = calloc(n, sizeof(*tests));
        if (!tests)
                return 1;
        memcpy(tests, fixed, sizeof(fixed));
        for (size_t i = 0; i < nb; i++) {
                char *name = NULL;
                if (asprintf(&name, "rejects_bad_seed_%s_with_its_expected_error", strrchr(bad[i], '/') + 1) < 0 ||
                    strv_consume(&names, name) < 0)
                        return 1;
                tests[ELEMENTSOF(fixed) + i] = (struct CMUnitTest) {
                        .name = name, .test_func = rejects_bad_seed_with_its_expected_error, .initial_state = bad[i],
                };
        }
        int failed = _cmocka_run_group_tests("config", tests, n, NULL, NULL);
        free(tests);
        strv_free(role_names);
        role_catalog_free(catalog);
        return failed;
}
