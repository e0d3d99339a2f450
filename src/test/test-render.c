/* SPDX-License-Identifier: Apache-2.0 */
/* The renderers over the example seeds: byte-for-byte against the golden
 * files in tests/data/golden/ (regenerate with UPDATE_GOLDEN=1 after a
 * deliberate change, and read the diff), plus the dojot-v0.5.0.md facts each output must
 * carry whatever its layout: every lb port mapping (docs/dojot-v0.5.0.md#ports-and-nodeports), the
 * conditional listeners, HAProxy's checks and timeouts, one cgroup driver for
 * Docker and the kubelet. And the file step that installs them: a checker's
 * rejection keeps the previous file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agent/steps/step.h"
#include "basic/exec.h"
#include "basic/fileio.h"
#include "basic/strv.h"
#include "shared/config.h"
#include "shared/renderer.h"
#include "shared/role.h"
#include "test-util.h"

#define EXAMPLES "cloud-init/examples/"
#define GOLDEN "tests/data/golden/"

static struct role_catalog *catalog;
static char **role_names;

static int load_catalog(void **state) {
        (void) state;
        struct diag d = {};
        int r = role_catalog_load("roles", &catalog, &d);
        for (size_t i = 0; i < diag_count(&d); i++)
                fprintf(stderr, "%s\n", d.lines[i]);
        diag_done(&d);
        if (r < 0)
                return -1;
        role_names = role_catalog_names(catalog);
        return 0;
}

static int free_catalog(void **state) {
        (void) state;
        strv_free(role_names);
        role_catalog_free(catalog);
        return 0;
}

/* A seed directory's text with each (from, to) pair replaced once, parsed
 * and cross-checked against the catalog. Returns the config, or NULL with the
 * first error in *error when it does not validate. */
static struct node_config *seed_edited(const char *dir, const char * const *edits, char **error) {
        _cleanup_free_ char *mp = NULL, *up = NULL, *meta = NULL, *user = NULL;
        size_t ml, ul;
        assert_true(asprintf(&mp, "%s/meta-data", dir) > 0 && asprintf(&up, "%s/user-data", dir) > 0);
        assert_int_equal(read_full_file(mp, &meta, &ml), 0);
        assert_int_equal(read_full_file(up, &user, &ul), 0);
        for (const char * const *e = edits; e && e[0]; e += 2) {
                char *at = strstr(user, e[0]);
                assert_non_null(at);    /* the edit must apply: the example changed otherwise */
                char *n = NULL;
                assert_true(asprintf(&n, "%.*s%s%s", (int) (at - user), user, e[1], at + strlen(e[0])) > 0);
                free(user);
                user = n;
        }
        struct diag d = {};
        struct node_config *c = NULL;
        int r = config_parse(meta, strlen(meta), "meta-data", user, strlen(user), "user-data", role_names, &c, &d);
        if (r >= 0)
                r = role_check_config(catalog, c, &d);
        if (r < 0) {
                if (error)
                        *error = diag_count(&d) > 0 ? strdup(d.lines[0]) : strdup("?");
                diag_done(&d);
                config_free(c);
                return NULL;
        }
        diag_done(&d);
        return c;
}

static struct node_config *seed(const char *dir) {
        char *err = NULL;
        struct node_config *c = seed_edited(dir, NULL, &err);
        if (!c)
                fail_msg("%s: %s", dir, err);
        return c;
}

/* Renders for an image whose base package list is packages (NULL: none). */
static char *render_for(const struct node_config *c, const char *renderer, const char *packages) {
        const struct renderer *rd = renderer_find(renderer);
        assert_non_null(rd);
        const struct role *role = role_catalog_find(catalog, c->role);
        assert_non_null(role);
        _cleanup_(base_packages_done) struct base_packages pk = {};
        _cleanup_free_ char *pk_error = NULL;
        if (packages)
                assert_int_equal(base_packages_parse(packages, "packages", &pk, &pk_error), 0);
        struct render_ctx ctx = { .config = c, .role = role, .catalog = catalog, .packages = &pk };
        char *text = NULL, *error = NULL;
        int r = rd->render(&ctx, &text, &error);
        if (r < 0)
                fail_msg("render %s: %s", renderer, error ? error : strerror(-r));
        /* pure: the same input gives the same bytes */
        char *again = NULL;
        assert_int_equal(rd->render(&ctx, &again, &error), 0);
        assert_string_equal(text, again);
        free(again);
        return text;
}

static char *render(const struct node_config *c, const char *renderer) {
        return render_for(c, renderer, NULL);
}

static void assert_golden(const char *text, const char *name) {
        _cleanup_free_ char *path = NULL, *want = NULL;
        assert_true(asprintf(&path, GOLDEN "%s", name) > 0);
        if (getenv("UPDATE_GOLDEN")) {
                assert_int_equal(write_file_atomic(NULL, path, text, strlen(text), 0644, -1, -1, NULL), 0);
                return;
        }
        if (read_full_file(path, &want, NULL) < 0)
                fail_msg("%s is missing: run with UPDATE_GOLDEN=1 to create it", path);
        if (!STREQ(text, want)) {
                fprintf(stderr, "--- %s\n+++ rendered\n%s\n", path, text);
                fail_msg("%s differs from the rendered text (UPDATE_GOLDEN=1 after a deliberate change)", path);
        }
}

static bool matches(const char *text, const char *re) {
        regex_t rx;
        assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
        bool m = regexec(&rx, text, 0, NULL, 0) == 0;
        regfree(&rx);
        return m;
}

#define assert_matches(text, re) do { if (!matches(text, re)) fail_msg("no match for /%s/ in:\n%s", re, text); } while (0)
#define assert_no_match(text, re) do { if (matches(text, re)) fail_msg("unexpected match for /%s/ in:\n%s", re, text); } while (0)

/* The text of the `listen <name>` section of a haproxy.cfg (new string). */
static char *haproxy_section(const char *cfg, const char *name) {
        _cleanup_free_ char *hdr = NULL;
        assert_true(asprintf(&hdr, "\nlisten %s\n", name) > 0);
        const char *s = strstr(cfg, hdr);
        if (!s)
                return NULL;
        s += 1;
        const char *e = strstr(s, "\n\n");
        return strndup(s, e ? (size_t) (e - s) + 1 : strlen(s));
}

/* The nginx upstream block a `listen <port>[ udp];` server proxies to. */
static char *nginx_upstream_for(const char *cfg, int port, bool udp) {
        _cleanup_free_ char *listen = NULL;
        assert_true(asprintf(&listen, "listen %d%s;\n", port, udp ? " udp" : "") > 0);
        const char *l = strstr(cfg, listen);
        if (!l)
                return NULL;
        char name[64];
        assert_int_equal(sscanf(strstr(l, "proxy_pass ") + strlen("proxy_pass "), "%63[^;]", name), 1);
        _cleanup_free_ char *up = NULL;
        assert_true(asprintf(&up, "upstream %s {", name) > 0);
        const char *s = strstr(cfg, up);
        assert_non_null(s);
        return strndup(s, (size_t) (strchr(s, '}') - s) + 1);
}

/* --- haproxy, 100k --------------------------------------------------------- */

static void haproxy_100k_matches_golden(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *c = seed(EXAMPLES "lb");
        _cleanup_free_ char *cfg = render(c, "haproxy");
        assert_golden(cfg, "haproxy-100k.cfg");
}

static void haproxy_forwards_each_tcp_port_to_its_nodeport(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *c = seed(EXAMPLES "lb");
        _cleanup_free_ char *cfg = render(c, "haproxy");
        static const struct { const char *name; int port, nodeport; const char *servers[4]; } want[] = {
                { "mqtt", 1883, 30004, { "verne-1 192.168.0.14", "verne-2 192.168.0.15", "verne-3 192.168.0.16" } },
                { "mqtts", 8883, 30005, { "verne-1 192.168.0.14", "verne-2 192.168.0.15", "verne-3 192.168.0.16" } },
                { "apigw", 80, 30001, { "dojot 192.168.0.11" } },
                { "metrics", 8080, 30003, { "dojot 192.168.0.11" } },
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                _cleanup_free_ char *sec = haproxy_section(cfg, want[i].name), *bind = NULL;
                if (!sec)
                        fail_msg("no listen %s", want[i].name);
                assert_true(asprintf(&bind, "^    bind \\*:%d$", want[i].port) > 0);
                assert_matches(sec, bind);
                assert_matches(sec, "^    balance leastconn$");
                size_t n = 0;
                for (const char * const *s = want[i].servers; *s; s++, n++) {
                        _cleanup_free_ char *line = NULL;
                        assert_true(asprintf(&line, "^    server %s:%d check inter 1000ms fall 3 rise 5$", *s, want[i].nodeport) > 0);
                        assert_matches(sec, line);
                }
                /* nothing but the seed's backends */
                size_t servers = 0;
                for (const char *p = sec; (p = strstr(p, "    server ")); p++)
                        servers++;
                assert_int_equal(servers, n);
        }
        /* TCP only: no LwM2M (docs/dojot-v0.5.0.md#haproxy); 443 only with mutual TLS (below) */
        assert_no_match(cfg, "udp|5683|5684|5693|5694|5896|:443|3000[26789]|30010");
}

static void haproxy_has_the_guides_timeouts_and_100k_sizing(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *c = seed(EXAMPLES "lb");
        _cleanup_free_ char *cfg = render(c, "haproxy");
        assert_matches(cfg, "^    timeout connect 5s$");
        assert_matches(cfg, "^    timeout client 300s$");
        assert_matches(cfg, "^    timeout server 300s$");
        assert_matches(cfg, "^    mode tcp$");
        /* 100,000 clients, each a client socket and a server socket */
        const char *mc = strstr(cfg, "\n    maxconn "), *ul = strstr(cfg, "\n    ulimit-n ");
        assert_non_null(mc);
        assert_non_null(ul);
        long maxconn = strtol(mc + strlen("\n    maxconn "), NULL, 10);
        long ulimit = strtol(ul + strlen("\n    ulimit-n "), NULL, 10);
        assert_true(maxconn >= 100000);
        assert_true(ulimit >= 2 * maxconn);
        /* the lb role's LimitNOFILE must let haproxy raise its limit that far */
        const struct role *lb = role_catalog_find(catalog, "lb");
        bool found = false;
        for (size_t i = 0; i < lb->n_limits; i++)
                if (STREQ(lb->limits[i].unit, "haproxy.service")) {
                        found = true;
                        assert_true(lb->limits[i].nofile >= (unsigned long long) ulimit);
                }
        assert_true(found);
        /* every server is health-checked as the original does */
        size_t servers = 0, checked = 0;
        for (const char *p = cfg; (p = strstr(p, "\n    server ")); p++) {
                servers++;
                const char *e = strchr(p + 1, '\n');
                checked += e && (size_t) (e - p) > 33 && strncmp(e - 33, " check inter 1000ms fall 3 rise 5", 33) == 0;
        }
        assert_int_equal(servers, 8);
        assert_int_equal(checked, servers);
}

static void insecure_mqtt_false_drops_1883_in_both_modes(void **state) {
        (void) state;
        /* the original's string 'false' kept 1883 on (docs/dojot-v0.5.0.md#inventory); here it is off,
         * quoted or not */
        static const char *values[] = { "dojot_insecure_mqtt: \"false\"", "dojot_insecure_mqtt: false" };
        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                const char *edit[] = { "dojot_insecure_mqtt: \"true\"", values[i], NULL };
                char *err = NULL;
                _cleanup_config_ struct node_config *h = seed_edited(EXAMPLES "lb", edit, &err);
                _cleanup_config_ struct node_config *n = seed_edited(EXAMPLES "few-devices/lb", edit, &err);
                assert_non_null(h);
                assert_non_null(n);
                _cleanup_free_ char *hc = render(h, "haproxy"), *nc = render(n, "nginx");
                assert_no_match(hc, "1883|30004|listen mqtt$");
                assert_matches(hc, "^listen mqtts$");
                assert_no_match(nc, "1883|30004");
                assert_matches(nc, "listen 8883;");
        }
}

static void port_443_is_forwarded_only_with_mutual_tls(void **state) {
        (void) state;
        /* kong-external has 8443->30002 only with mutual TLS (docs/dojot-v0.5.0.md#defects) */
        const char *edit[] = { "dojot_apigw_enable_mutual_tls: false", "dojot_apigw_enable_mutual_tls: true", NULL };
        _cleanup_config_ struct node_config *h = seed_edited(EXAMPLES "lb", edit, NULL);
        _cleanup_config_ struct node_config *n = seed_edited(EXAMPLES "few-devices/lb", edit, NULL);
        assert_non_null(h);
        assert_non_null(n);
        _cleanup_free_ char *hc = render(h, "haproxy"), *nc = render(n, "nginx"), *sec = haproxy_section(hc, "apigws");
        assert_non_null(sec);
        assert_matches(sec, "^    bind \\*:443$");
        assert_matches(sec, "^    server dojot 192.168.0.11:30002 check inter 1000ms fall 3 rise 5$");
        _cleanup_free_ char *up = nginx_upstream_for(nc, 443, false);
        assert_non_null(up);
        assert_matches(up, "server 192.168.0.11:30002;");
}

static void only_verne_nodes_may_be_mqtt_backends_in_100k(void **state) {
        (void) state;
        const char *edit[] = { "{name: verne-3, address: 192.168.0.16, role: verne}",
                               "{name: dojot, address: 192.168.0.11, role: dojot}", NULL };
        char *err = NULL;
        struct node_config *c = seed_edited(EXAMPLES "lb", edit, &err);
        assert_null(c);
        assert_non_null(err);
        assert_matches(err, "^user-data:[0-9]+:[0-9]+: lb\\.mqtt_nodes\\[2\\]: .*dojot.*cannot be an mqtt backend in topology 100k");
        free(err);
}

static void ipv6_backends_are_bracketed(void **state) {
        (void) state;
        const char *edit[] = { "address: 192.168.0.16", "address: \"fd00::16\"", NULL };
        _cleanup_config_ struct node_config *c = seed_edited(EXAMPLES "lb", edit, NULL);
        assert_non_null(c);
        _cleanup_free_ char *cfg = render(c, "haproxy");
        assert_matches(cfg, "^    server verne-3 \\[fd00::16\\]:30005 check");
}

/* --- nginx, few devices ---------------------------------------------------- */

static void nginx_few_devices_matches_golden(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *c = seed(EXAMPLES "few-devices/lb");
        _cleanup_free_ char *cfg = render(c, "nginx");
        assert_golden(cfg, "nginx-few-devices.conf");
}

static void nginx_forwards_tcp_and_lwm2m_udp_to_their_nodeports(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *c = seed(EXAMPLES "few-devices/lb");
        _cleanup_free_ char *cfg = render(c, "nginx");
        static const struct { int port; bool udp; int nodeport; } want[] = {
                { 80, false, 30001 }, { 1883, false, 30004 }, { 8883, false, 30005 },
                { 5683, true, 30006 }, { 5684, true, 30007 }, { 5693, true, 30008 }, { 5694, true, 30009 },
                /* the original never installed coap_http.conf (docs/dojot-v0.5.0.md#defects) */
                { 5896, false, 30010 },
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                _cleanup_free_ char *up = nginx_upstream_for(cfg, want[i].port, want[i].udp), *srv = NULL;
                if (!up)
                        fail_msg("no listen %d%s", want[i].port, want[i].udp ? " udp" : "");
                assert_matches(up, "least_conn;");
                assert_true(asprintf(&srv, "server 192\\.168\\.0\\.11:%d;", want[i].nodeport) > 0);
                assert_matches(up, srv);
                /* and not on the other protocol */
                _cleanup_free_ char *other = nginx_upstream_for(cfg, want[i].port, !want[i].udp);
                assert_null(other);
        }
        /* NGINX had no metrics listener (docs/dojot-v0.5.0.md#nginx); 443 only with mutual TLS */
        assert_no_match(cfg, "listen (8080|443)");
        assert_matches(cfg, "^worker_rlimit_nofile 800000;$");
        assert_matches(cfg, "^    worker_connections 400000;$");
        /* the stream module is a dynamic module on Debian */
        assert_matches(cfg, "^include /etc/nginx/modules-enabled/\\*\\.conf;$");
        /* MQTT's long-lived connections keep the original's proxy timeouts */
        _cleanup_free_ char *mqtt = strdup(strstr(cfg, "listen 8883;"));
        assert_matches(mqtt, "proxy_timeout 10m;");
        assert_matches(mqtt, "proxy_connect_timeout 5s;");
}

/* --- docker daemon.json and kubeadm ----------------------------------------- */

static char *cgroup_driver_of_daemon_json(const char *json) {
        cJSON *j = cJSON_Parse(json), *it;
        char *driver = NULL;
        assert_non_null(j);
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "exec-opts"))
                if (cJSON_IsString(it) && strncmp(it->valuestring, "native.cgroupdriver=", 20) == 0)
                        driver = strdup(it->valuestring + 20);
        cJSON_Delete(j);
        return driver;
}

static void daemon_json_matches_golden_and_the_kubelet_driver(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *v = seed(EXAMPLES "verne");
        _cleanup_config_ struct node_config *m = seed(EXAMPLES "master");
        _cleanup_free_ char *json = render(v, "docker-daemon"), *init = render(m, "kubeadm-init");
        assert_golden(json, "daemon.json");
        _cleanup_free_ char *driver = cgroup_driver_of_daemon_json(json), *kubelet = NULL;
        assert_non_null(driver);
        /* kubelet and Docker must agree (docs/dojot-v0.5.0.md#cgroup-driver) */
        const char *k = strstr(init, "\nkind: KubeletConfiguration\n");
        assert_non_null(k);
        assert_non_null(strstr(k, "\ncgroupDriver: "));
        assert_int_equal(sscanf(strstr(k, "\ncgroupDriver: ") + 15, "%ms", &kubelet), 1);
        assert_string_equal(kubelet, driver);
        /* rotated json logs and overlay2, as ansible-dojot v0.6.0 settled on */
        cJSON *j = cJSON_Parse(json);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "log-driver")), "json-file");
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "log-opts"), "max-size")), "100m");
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "storage-driver")), "overlay2");
        cJSON_Delete(j);
}

static void kubeadm_init_matches_golden_and_the_facts(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *m = seed(EXAMPLES "master");
        _cleanup_free_ char *init = render(m, "kubeadm-init");
        assert_golden(init, "kubeadm-init.yaml");
        assert_matches(init, "^  advertiseAddress: \"192.168.0.10\"$");
        assert_matches(init, "^  bindPort: 6443$");
        assert_matches(init, "^  criSocket: /var/run/dockershim.sock$");
        assert_matches(init, "^    key: node-role.kubernetes.io/master$");
        assert_matches(init, "^  podSubnet: \"10.244.0.0/16\"$");
        assert_matches(init, "^  serviceSubnet: \"10.96.0.0/12\"$");
        /* ServiceTopology/EndpointSlice on apiserver, controller-manager,
         * scheduler and kube-proxy (docs/dojot-v0.5.0.md#master) */
        size_t gates = 0;
        for (const char *p = init; (p = strstr(p, "feature-gates: \"ServiceTopology=true,EndpointSlice=true\"")); p++)
                gates++;
        assert_int_equal(gates, 3);
        assert_matches(init, "^kind: KubeProxyConfiguration$");
        assert_matches(init, "^  ServiceTopology: true$");
        assert_matches(init, "^  EndpointSlice: true$");
        /* never the original's public token */
        assert_no_match(init, "abcdef\\.0123456789abcdef");
}

static void kubeadm_join_matches_golden_and_labels_the_group(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *v = seed(EXAMPLES "verne");
        _cleanup_free_ char *join = render(v, "kubeadm-join");
        assert_golden(join, "kubeadm-join-verne.yaml");
        assert_matches(join, "^kind: JoinConfiguration$");
        assert_matches(join, "^    apiServerEndpoint: \"192.168.0.10:6443\"$");
        assert_matches(join, "^    - \"sha256:[0-9a-f]{64}\"$");
        assert_matches(join, "^    node-labels: \"dojot.components/group=vernemq\"$");
        assert_no_match(join, "unsafeSkipCAVerification: true");
}

/* HAProxy >= 2.6 loads the system's CAs at start for its HTTP client unless
 * told not to verify; 1.8 has no such client and refuses the keyword. */
static void haproxy_turns_off_the_unused_http_client_where_haproxy_has_one(void **state) {
        (void) state;
        _cleanup_config_ struct node_config *c = seed(EXAMPLES "lb");
        static const struct { const char *packages; bool line; } cases[] = {
                { NULL, false },
                { "nginx\t1.22.1-9\n", false },
                { "haproxy\t1.8.8-1ubuntu0.13\n", false },
                { "haproxy\t2.4.22-0ubuntu0.22.04.3\n", false },
                { "haproxy\t2.6.12-1+deb12u4\n", true },
                { "haproxy\t3.0.11-1\n", true },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *cfg = render_for(c, "haproxy", cases[i].packages);
                const char *line = strstr(cfg, "\n    httpclient.ssl.verify none\n"), *defaults = strstr(cfg, "\ndefaults\n");
                assert_non_null(defaults);
                if (!cases[i].line) {
                        assert_no_match(cfg, "httpclient");
                        continue;
                }
                assert_non_null(line);
                assert_true(line < defaults);   /* a global keyword */
                assert_null(strstr(line + strlen("\n    httpclient"), "httpclient")); /* once */
                /* nothing in the file that would use the client */
                assert_no_match(cfg, "lua|acme|ocsp-update");
        }
        /* the rest of the file is the same whatever the version */
        _cleanup_free_ char *old = render_for(c, "haproxy", "haproxy\t1.8.8-1\n"),
                            *new = render_for(c, "haproxy", "haproxy\t2.6.12-1\n");
        const char *cut = strstr(new, "    # no Lua here");
        assert_non_null(cut);
        const char *after = strchr(strchr(cut, '\n') + 1, '\n') + 1;
        assert_int_equal(strncmp(old, new, (size_t) (cut - new)), 0);
        assert_string_equal(old + (cut - new), after);
}

/* --- the file step ------------------------------------------------------- */

struct file_env {
        char *root;
        struct node_config *config;
        struct agent_ctx ctx;
        struct role_file file;
};

static void file_env_init(struct file_env *e, const char *renderer, char **check) {
        e->root = make_tmpdir("test-render.");
        e->config = seed(EXAMPLES "lb");
        e->file = (struct role_file) { .renderer = (char *) renderer, .dest = (char *) "/etc/haproxy/haproxy.cfg",
                                       .mode = 0640, .check = check };
        e->ctx = (struct agent_ctx) { .root = e->root, .live = false, .config = e->config,
                                      .role = role_catalog_find(catalog, "lb"), .catalog = catalog };
}

static void file_env_done(struct file_env *e) {
        rm_rf(e->root);
        free(e->root);
        config_free(e->config);
}

static void file_step_installs_a_checked_file(void **state) {
        (void) state;
        struct file_env e;
        file_env_init(&e, "haproxy", (char *[]) { "test", "-s", "{}", NULL });
        struct step s = { .name = (char *) "file:/etc/haproxy/haproxy.cfg", .type = &step_type_file, .data = &e.file };
        struct step_result res = {};
        assert_int_equal(step_type_file.apply(&e.ctx, &s, &res), 0);
        assert_int_equal(res.status, STEP_DONE);
        assert_string_equal(res.detail, "/etc/haproxy/haproxy.cfg written (checked)");
        _cleanup_free_ char *path = path_in_root(e.root, "/etc/haproxy/haproxy.cfg"), *cand = NULL;
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_true(asprintf(&cand, "%s.nodeos-new", path) > 0);
        assert_int_equal(access(cand, F_OK), -1);
        free(res.detail);
        file_env_done(&e);
}

static void file_step_keeps_the_previous_file_when_the_checker_refuses(void **state) {
        (void) state;
        struct file_env e;
        file_env_init(&e, "haproxy", (char *[]) { "sh", "-c", "echo \"checker: bad line 7 in $0\" >&2; exit 3", "{}", NULL });
        static const char previous[] = "# the running config\n";
        assert_int_equal(write_file_atomic(e.root, "/etc/haproxy/haproxy.cfg", previous, strlen(previous), 0640, -1, -1, NULL), 0);
        struct step s = { .name = (char *) "file:/etc/haproxy/haproxy.cfg", .type = &step_type_file, .data = &e.file };
        struct step_result res = {};
        assert_true(step_type_file.apply(&e.ctx, &s, &res) < 0);
        assert_int_equal(res.status, STEP_FAILED);
        _cleanup_free_ char *cand = path_in_root(e.root, "/etc/haproxy/haproxy.cfg.nodeos-new"), *want = NULL;
        assert_true(asprintf(&want, "/etc/haproxy/haproxy.cfg: rejected by 'sh' (exit 3), previous file kept: "
                                    "checker: bad line 7 in %s", cand) > 0);
        assert_string_equal(res.detail, want);
        assert_true(file_has_content(e.root, "/etc/haproxy/haproxy.cfg", previous, strlen(previous)));
        assert_int_equal(access(cand, F_OK), -1);
        free(res.detail);
        file_env_done(&e);
}

static void real_haproxy_rejects_a_foreign_file_and_the_step_quotes_it(void **state) {
        (void) state;
        if (access("/usr/sbin/haproxy", X_OK) < 0)
                skip();
        struct file_env e;
        /* daemon.json is no haproxy config: the real checker must refuse it */
        file_env_init(&e, "docker-daemon", (char *[]) { "haproxy", "-c", "-f", "{}", NULL });
        static const char previous[] = "global\n";
        assert_int_equal(write_file_atomic(e.root, "/etc/haproxy/haproxy.cfg", previous, strlen(previous), 0640, -1, -1, NULL), 0);
        struct step s = { .name = (char *) "file:/etc/haproxy/haproxy.cfg", .type = &step_type_file, .data = &e.file };
        struct step_result res = {};
        assert_true(step_type_file.apply(&e.ctx, &s, &res) < 0);
        assert_matches(res.detail, "^/etc/haproxy/haproxy.cfg: rejected by 'haproxy' \\(exit [1-9][0-9]*\\), previous file kept: .*ALERT");
        assert_true(file_has_content(e.root, "/etc/haproxy/haproxy.cfg", previous, strlen(previous)));
        free(res.detail);
        file_env_done(&e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(haproxy_100k_matches_golden),
                cmocka_unit_test(haproxy_forwards_each_tcp_port_to_its_nodeport),
                cmocka_unit_test(haproxy_has_the_guides_timeouts_and_100k_sizing),
                cmocka_unit_test(insecure_mqtt_false_drops_1883_in_both_modes),
                cmocka_unit_test(port_443_is_forwarded_only_with_mutual_tls),
                cmocka_unit_test(only_verne_nodes_may_be_mqtt_backends_in_100k),
                cmocka_unit_test(ipv6_backends_are_bracketed),
                cmocka_unit_test(nginx_few_devices_matches_golden),
                cmocka_unit_test(nginx_forwards_tcp_and_lwm2m_udp_to_their_nodeports),
                cmocka_unit_test(daemon_json_matches_golden_and_the_kubelet_driver),
                cmocka_unit_test(kubeadm_init_matches_golden_and_the_facts),
                cmocka_unit_test(kubeadm_join_matches_golden_and_labels_the_group),
                cmocka_unit_test(haproxy_turns_off_the_unused_http_client_where_haproxy_has_one),
                cmocka_unit_test(file_step_installs_a_checked_file),
                cmocka_unit_test(file_step_keeps_the_previous_file_when_the_checker_refuses),
                cmocka_unit_test(real_haproxy_rejects_a_foreign_file_and_the_step_quotes_it),
        };
        return cmocka_run_group_tests(tests, load_catalog, free_catalog);
}
