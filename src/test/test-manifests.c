/* SPDX-License-Identifier: Apache-2.0 */
/* The master's cluster manifests: role data + seed -> objects in apply
 * order. The expectations are the tables of docs/dojot-v0.5.0.md (#deploy-order,
 * #local-volumes, #verne-workers), written out here independently of the templates. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "basic/fileio.h"
#include "basic/strv.h"
#include "shared/config.h"
#include "shared/manifests.h"
#include "shared/role.h"

struct fixture {
        struct role_catalog *cat;
        const struct role *master;
};

static int setup(void **state) {
        static struct fixture f;
        struct diag d = {};
        assert_int_equal(role_catalog_load("roles", &f.cat, &d), 0);
        f.master = role_catalog_find(f.cat, "master");
        assert_non_null(f.master);
        assert_non_null(f.master->manifests);
        *state = &f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        role_catalog_free(f->cat);
        return 0;
}

/* Replaces every occurrence of from with to (new string). */
static char *replace(const char *s, const char *from, const char *to) {
        size_t n = 0;
        for (const char *p = strstr(s, from); p; p = strstr(p + 1, from))
                n++;
        char *out = malloc(strlen(s) + n * (strlen(to) + 1) + 1), *o = out;
        assert_non_null(out);
        for (const char *p; (p = strstr(s, from)); s = p + strlen(from)) {
                memcpy(o, s, (size_t) (p - s));
                o += p - s;
                o = stpcpy(o, to);
        }
        strcpy(o, s);
        return out;
}

/* The example master seed of a topology, with up to two text edits. */
static struct node_config *seed(const struct fixture *f, const char *dir, const char *from1, const char *to1,
                                const char *from2, const char *to2) {
        char path[256], *meta = NULL, *user = NULL;
        size_t ml, ul;
        snprintf(path, sizeof(path), "%s/meta-data", dir);
        assert_int_equal(read_full_file(path, &meta, &ml), 0);
        snprintf(path, sizeof(path), "%s/user-data", dir);
        assert_int_equal(read_full_file(path, &user, &ul), 0);
        if (from1) {
                assert_non_null(strstr(user, from1));
                char *u = replace(user, from1, to1);
                free(user);
                user = u;
        }
        if (from2) {
                assert_non_null(strstr(user, from2));
                char *u = replace(user, from2, to2);
                free(user);
                user = u;
        }
        char **names = role_catalog_names(f->cat);
        struct node_config *c = NULL;
        struct diag d = {};
        int r = config_parse(meta, ml, "meta-data", user, strlen(user), "user-data", names, &c, &d);
        if (r < 0)
                diag_print(&d, stderr);
        assert_int_equal(r, 0);
        diag_done(&d);
        strv_free(names);
        free(meta);
        free(user);
        return c;
}

#define SEED_100K "cloud-init/examples/master"
#define SEED_FEW "cloud-init/examples/few-devices/master"

static void render(const struct fixture *f, const struct node_config *c, struct manifest_render *mr) {
        struct diag d = {};
        int r = manifests_render(f->master->manifests, f->master->dir, c, mr, &d);
        if (r < 0)
                diag_print(&d, stderr);
        assert_int_equal(r, 0);
        diag_done(&d);
}

static const char *str(const cJSON *o, const char *path) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", path);
        const cJSON *cur = o;
        for (char *save = NULL, *t = strtok_r(buf, ".", &save); t && cur; t = strtok_r(NULL, ".", &save))
                cur = cJSON_IsArray(cur) ? cJSON_GetArrayItem(cur, atoi(t)) : cJSON_GetObjectItemCaseSensitive(cur, t);
        return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

static const cJSON *get(const cJSON *o, const char *path) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", path);
        const cJSON *cur = o;
        for (char *save = NULL, *t = strtok_r(buf, ".", &save); t && cur; t = strtok_r(NULL, ".", &save))
                cur = cJSON_IsArray(cur) ? cJSON_GetArrayItem(cur, atoi(t)) : cJSON_GetObjectItemCaseSensitive(cur, t);
        return cur;
}

/* Index of kind/name in apply order, or -1. */
static int find(const struct manifest_render *mr, const char *kind, const char *name) {
        for (size_t i = 0; i < mr->n_objects; i++)
                if (STREQ(str(mr->objects[i].obj, "kind"), kind) && STREQ(str(mr->objects[i].obj, "metadata.name"), name))
                        return (int) i;
        return -1;
}

static const cJSON *object(const struct manifest_render *mr, const char *kind, const char *name) {
        int i = find(mr, kind, name);
        assert_true(i >= 0);
        return mr->objects[i].obj;
}

/* The nodePort of the Service port with this port number, 0 if unset, -1
 * if the Service has no such port. */
static int nodeport_of(const cJSON *svc, int port) {
        const cJSON *p;
        cJSON_ArrayForEach(p, get(svc, "spec.ports"))
                if (cJSON_GetNumberValue(cJSON_GetObjectItem(p, "port")) == port) {
                        const cJSON *np = cJSON_GetObjectItem(p, "nodePort");
                        return np ? (int) cJSON_GetNumberValue(np) : 0;
                }
        return -1;
}

static size_t count_kind(const struct manifest_render *mr, const char *kind) {
        size_t n = 0;
        for (size_t i = 0; i < mr->n_objects; i++)
                n += STREQ(str(mr->objects[i].obj, "kind"), kind);
        return n;
}

/* --- variants and order ---------------------------------------------------- */

static void vernemq_variant_applies_cni_storage_then_deploy_yaml_order(void **state) {
        struct fixture *f = *state;
        struct node_config *c = seed(f, SEED_FEW, NULL, NULL, NULL, NULL);
        struct manifest_render mr = {};
        assert_int_equal(c->dojot.variant, VARIANT_VERNEMQ);
        render(f, c, &mr);
        /* flannel first (nodes stay NotReady without a CNI), then storage */
        assert_string_equal(str(mr.objects[0].obj, "metadata.name"), "psp.flannel.unprivileged");
        const char *order[][2] = {
                { "DaemonSet", "kube-flannel-ds-amd64" }, { "StorageClass", "local-storage" },
                { "PersistentVolume", "local-pv-kong" }, { "PersistentVolume", "local-pv-zk-log" },
                { "Namespace", "dojot" }, { "StatefulSet", "minio" }, { "Namespace", "dojot-monitoring" },
                { "StatefulSet", "zookeeper" }, { "StatefulSet", "postgres" }, { "StatefulSet", "mongodb" },
                { "StatefulSet", "kafka-server" }, { "CustomResourceDefinition", "vernemqs.vernemq.com" },
                { "VerneMQ", "k8s" }, { "Deployment", "rabbitmq" }, { "Deployment", "image-manager" },
                { "Deployment", "kong" }, { "Deployment", "auth" }, { "Deployment", "backstage" },
                { "Deployment", "data-broker" }, { "Deployment", "device-manager" }, { "Deployment", "history" },
                { "Deployment", "persister" }, { "Deployment", "gui" }, { "Deployment", "flowbroker" },
                { "Deployment", "data-manager" }, { "Deployment", "cron" }, { "StatefulSet", "v2k-bridge" },
                { "StatefulSet", "k2v-bridge" }, { "Deployment", "kafka2ftp" }, { "Deployment", "kafka-ws" },
                { "Deployment", "x509-identity-mgmt" },
        };
        int prev = -1;
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                int at = find(&mr, order[i][0], order[i][1]);
                if (at <= prev)
                        fail_msg("%s %s at %d, expected after %d", order[i][0], order[i][1], at, prev);
                prev = at;
        }
        /* only amd64 flannel; the never-tagged roles stay out; the CRD precedes its CR */
        assert_int_equal(count_kind(&mr, "DaemonSet"), 2);     /* flannel, node-exporter */
        assert_int_equal(find(&mr, "Deployment", "iotagent-mosca"), -1);
        assert_int_equal(find(&mr, "Deployment", "iotagent-lwm2m"), -1);
        assert_int_equal(find(&mr, "StatefulSet", "kafka-loopback"), -1);
        assert_int_equal(find(&mr, "Deployment", "gui-v2"), -1);        /* dojot_guiv2_enabled: false */
        manifest_render_done(&mr);
        config_free(c);
}

static void hundred_k_variant_is_the_guides_subset(void **state) {
        struct fixture *f = *state;
        struct node_config *c = seed(f, SEED_100K, NULL, NULL, NULL, NULL);
        struct manifest_render mr = {};
        assert_int_equal(c->dojot.variant, VARIANT_100K);
        render(f, c, &mr);
        /* docs/dojot-v0.5.0.md#deploy-order: --tags 100k deploys only these roles ... */
        const char *in[][2] = {
                { "Namespace", "dojot" }, { "Deployment", "grafana" }, { "StatefulSet", "zookeeper" },
                { "StatefulSet", "postgres" }, { "StatefulSet", "mongodb" }, { "StatefulSet", "kafka-server" },
                { "VerneMQ", "k8s" }, { "Deployment", "kong" }, { "Deployment", "auth" }, { "Deployment", "data-broker" },
                { "StatefulSet", "v2k-bridge" }, { "StatefulSet", "k2v-bridge" }, { "StatefulSet", "kafka-loopback" },
                { "Deployment", "kafka-ws" }, { "Deployment", "x509-identity-mgmt" },
        };
        for (size_t i = 0; i < ELEMENTSOF(in); i++)
                if (find(&mr, in[i][0], in[i][1]) < 0)
                        fail_msg("100k lacks %s %s", in[i][0], in[i][1]);
        /* ... and omits these */
        const char *out[] = { "image-manager", "backstage", "device-manager", "history", "persister", "gui",
                              "flowbroker", "data-manager", "cron", "kafka2ftp", "rabbitmq", "iotagent-mosca" };
        for (size_t i = 0; i < ELEMENTSOF(out); i++)
                if (find(&mr, "Deployment", out[i]) >= 0)
                        fail_msg("100k deploys %s", out[i]);
        assert_int_equal(find(&mr, "StatefulSet", "minio"), -1);
        /* guide pp.22-25: 3 VerneMQ, 9 bridges, node affinity */
        assert_int_equal((int) cJSON_GetNumberValue(get(object(&mr, "VerneMQ", "k8s"), "spec.size")), 3);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(get(object(&mr, "VerneMQ", "k8s"), "spec.nodeSelector"),
                                                                     "dojot.components/group")), "vernemq");
        assert_int_equal((int) cJSON_GetNumberValue(get(object(&mr, "StatefulSet", "v2k-bridge"), "spec.replicas")), 9);
        assert_int_equal((int) cJSON_GetNumberValue(get(object(&mr, "StatefulSet", "k2v-bridge"), "spec.replicas")), 9);
        const cJSON *lb = object(&mr, "StatefulSet", "kafka-loopback");
        assert_string_equal(str(lb, "apiVersion"), "apps/v1");  /* the original had none */
        assert_int_equal((int) cJSON_GetNumberValue(get(lb, "spec.replicas")), 9);
        const char *aff = "spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
                          "nodeSelectorTerms.0.matchExpressions.0.values.0";
        assert_string_equal(str(object(&mr, "StatefulSet", "v2k-bridge"), aff), "vernemq");
        assert_string_equal(str(lb, aff), "kafka");
        assert_string_equal(str(object(&mr, "Deployment", "x509-identity-mgmt"), aff), "x509");
        assert_string_equal(str(object(&mr, "Deployment", "kong"), aff), "dojot");
        assert_string_equal(str(object(&mr, "StatefulSet", "zookeeper"), aff), "kafka");
        /* unpinned (docs/dojot-v0.5.0.md#node-affinity): the operator, node-exporter */
        assert_null(get(object(&mr, "Deployment", "vmq-operator"), "spec.template.spec.affinity"));
        assert_null(get(object(&mr, "DaemonSet", "node-exporter"), "spec.template.spec.affinity"));
        /* data-broker's partitions follow the bridges (docs/dojot-v0.5.0.md#inventory) */
        assert_string_equal(str(object(&mr, "Deployment", "data-broker"), "spec.template.spec.containers.0.env.0.value"), "9");
        manifest_render_done(&mr);
        config_free(c);
}

static void mosca_and_lwm2m_variants_swap_the_broker_and_add_the_agent(void **state) {
        struct fixture *f = *state;
        struct manifest_render mr = {};
        struct node_config *c = seed(f, SEED_FEW, "variant: vernemq", "variant: mosca+lwm2m", NULL, NULL);
        render(f, c, &mr);
        assert_int_equal(find(&mr, "VerneMQ", "k8s"), -1);
        assert_int_equal(find(&mr, "Service", "vernemq-k8s-external-service"), -1);
        assert_int_equal(find(&mr, "StatefulSet", "v2k-bridge"), -1);
        const cJSON *mosca = object(&mr, "Service", "iotagent-mosca");
        assert_string_equal(str(mosca, "spec.externalTrafficPolicy"), "Local");
        assert_int_equal(nodeport_of(mosca, 1883), 30004);
        assert_int_equal(nodeport_of(mosca, 8883), 30005);
        assert_true(find(&mr, "Deployment", "iotagent-lwm2m") > find(&mr, "Deployment", "iotagent-mosca"));
        assert_true(find(&mr, "Deployment", "rabbitmq") >= 0);
        manifest_render_done(&mr);
        config_free(c);

        c = seed(f, SEED_FEW, "variant: vernemq", "variant: vernemq+lwm2m", NULL, NULL);
        render(f, c, &mr);
        assert_true(find(&mr, "VerneMQ", "k8s") >= 0);
        assert_int_equal(find(&mr, "Service", "iotagent-mosca"), -1);
        const cJSON *lw = object(&mr, "Service", "iotagent-lwm2m");
        assert_string_equal(str(lw, "spec.externalTrafficPolicy"), "Local");
        /* docs/dojot-v0.5.0.md#ports-and-nodeports: 30006 coap, 30007 coaps, 30008/30009 file servers (udp), 30010 http (tcp) */
        const int ports[] = { 5683, 5684, 5693, 5694, 5896 }, nps[] = { 30006, 30007, 30008, 30009, 30010 };
        for (size_t i = 0; i < ELEMENTSOF(ports); i++)
                assert_int_equal(nodeport_of(lw, ports[i]), nps[i]);
        assert_string_equal(str(lw, "spec.ports.0.protocol"), "UDP");
        assert_string_equal(str(lw, "spec.ports.4.protocol"), "TCP");
        assert_int_equal(nodeport_of(lw, 5897), 0);     /* random */
        manifest_render_done(&mr);
        config_free(c);

        c = seed(f, SEED_FEW, "variant: vernemq", "variant: mosca", NULL, NULL);
        render(f, c, &mr);
        assert_true(find(&mr, "Deployment", "iotagent-mosca") >= 0);
        assert_int_equal(find(&mr, "Deployment", "iotagent-lwm2m"), -1);
        manifest_render_done(&mr);
        config_free(c);
}

/* --- storage ---------------------------------------------------------------- */

static void renders_the_ten_local_pvs_exactly_as_tabled(void **state) {
        struct fixture *f = *state;
        struct node_config *c = seed(f, SEED_100K, NULL, NULL, NULL, NULL);
        struct manifest_render mr = {};
        render(f, c, &mr);
        /* docs/dojot-v0.5.0.md#local-volumes */
        static const struct { const char *name, *labels, *cap, *mode, *path, *group; } pv[] = {
                { "local-pv-kong", "type=local,app=dojot,name=kong", "5Mi", "ReadOnlyMany", "/mnt/data/kong", "dojot" },
                { "local-pv-kafka", "type=local,app=dojot,name=kafka-server", "2Gi", "ReadWriteOnce", "/mnt/data/kafka", "kafka" },
                { "local-pv-kafka-ws", "type=local,app=dojot,name=kafka-ws", "5Mi", "ReadOnlyMany", "/mnt/data/kafka_ws", "dojot" },
                { "local-pv-minio", "type=local,app=dojot,db=minio", "2Gi", "ReadWriteOnce", "/mnt/data/minio", "dojot" },
                { "local-pv-mongo", "type=local,app=dojot,db=mongodb", "2Gi", "ReadWriteOnce", "/mnt/data/mongodb", "dojot" },
                { "local-pv-postgres", "type=local,app=dojot,db=postgres", "2Gi", "ReadWriteOnce", "/mnt/data/postgres", "dojot" },
                { "local-pv-prometheus", "type=local,db=prometheus", "2Gi", "ReadWriteOnce", "/mnt/data/prometheus", "dojot" },
                { "local-pv-x509-identity-mgmt", "type=local,app=dojot,name=x509-identity-mgmt", "10Mi", "ReadWriteMany", "/mnt/data/ejbca", "x509" },
                { "local-pv-zk-data", "type=local,app=dojot,name=zookeeper-data", "1Gi", "ReadWriteOnce", "/mnt/data/zookeeper/data", "kafka" },
                { "local-pv-zk-log", "type=local,app=dojot,name=zookeeper-log", "1Gi", "ReadWriteOnce", "/mnt/data/zookeeper/log", "kafka" },
        };
        assert_int_equal(count_kind(&mr, "PersistentVolume"), ELEMENTSOF(pv));
        for (size_t i = 0; i < ELEMENTSOF(pv); i++) {
                const cJSON *o = object(&mr, "PersistentVolume", pv[i].name);
                const cJSON *labels = get(o, "metadata.labels"), *l;
                _cleanup_free_ char *got = NULL;
                cJSON_ArrayForEach(l, labels) {
                        char *n = NULL;
                        assert_true(asprintf(&n, "%s%s%s=%s", got ? got : "", got ? "," : "", l->string, l->valuestring) > 0);
                        free(got);
                        got = n;
                }
                assert_string_equal(got, pv[i].labels);
                assert_string_equal(str(o, "spec.capacity.storage"), pv[i].cap);
                assert_int_equal(cJSON_GetArraySize(get(o, "spec.accessModes")), 1);
                assert_string_equal(str(o, "spec.accessModes.0"), pv[i].mode);
                assert_string_equal(str(o, "spec.local.path"), pv[i].path);
                assert_string_equal(str(o, "spec.persistentVolumeReclaimPolicy"), "Retain");
                assert_string_equal(str(o, "spec.storageClassName"), "local-storage");
                assert_string_equal(str(o, "spec.nodeAffinity.required.nodeSelectorTerms.0.matchExpressions.0.key"),
                                    "dojot.components/group");
                assert_string_equal(str(o, "spec.nodeAffinity.required.nodeSelectorTerms.0.matchExpressions.0.operator"), "In");
                assert_string_equal(str(o, "spec.nodeAffinity.required.nodeSelectorTerms.0.matchExpressions.0.values.0"),
                                    pv[i].group);
        }
        const cJSON *sc = object(&mr, "StorageClass", "local-storage");
        assert_string_equal(str(sc, "provisioner"), "kubernetes.io/no-provisioner");
        assert_string_equal(str(sc, "volumeBindingMode"), "WaitForFirstConsumer");
        /* the claims select the PVs' labels (zookeeper's data claim here) */
        assert_string_equal(str(object(&mr, "StatefulSet", "zookeeper"), "spec.volumeClaimTemplates.0.spec.selector.matchLabels.name"),
                            "zookeeper-data");
        assert_string_equal(str(object(&mr, "StatefulSet", "zookeeper"), "spec.volumeClaimTemplates.0.spec.storageClassName"),
                            "local-storage");
        manifest_render_done(&mr);
        config_free(c);
}

static void few_devices_pins_every_pv_to_the_dojot_worker(void **state) {
        struct fixture *f = *state;
        /* a custom label value shows the pin follows dojot_node_label.dojot */
        struct node_config *c = seed(f, SEED_FEW, "      dojot: dojot\n", "      dojot: worker\n", NULL, NULL);
        struct manifest_render mr = {};
        render(f, c, &mr);
        size_t n = 0;
        for (size_t i = 0; i < mr.n_objects; i++)
                if (STREQ(str(mr.objects[i].obj, "kind"), "PersistentVolume")) {
                        assert_string_equal(str(mr.objects[i].obj, "spec.nodeAffinity.required.nodeSelectorTerms.0."
                                                "matchExpressions.0.values.0"), "worker");
                        n++;
                }
        assert_int_equal(n, 10);
        /* node affinity is off in few-devices: no workload is pinned */
        assert_null(get(object(&mr, "Deployment", "kong"), "spec.template.spec.affinity"));
        manifest_render_done(&mr);
        config_free(c);
}

/* A local PV's directory must be made by the volumes step of the role its
 * nodeAffinity pins it to, in that topology, or its pod never starts. */
static void every_pv_directory_is_made_by_the_pinned_role(void **state) {
        struct fixture *f = *state;
        const char *seeds[] = { SEED_100K, SEED_FEW };
        for (size_t s = 0; s < ELEMENTSOF(seeds); s++) {
                struct node_config *c = seed(f, seeds[s], NULL, NULL, NULL, NULL);
                struct manifest_render mr = {};
                render(f, c, &mr);
                for (size_t i = 0; i < mr.n_objects; i++) {
                        const cJSON *o = mr.objects[i].obj;
                        if (!STREQ(str(o, "kind"), "PersistentVolume"))
                                continue;
                        const char *group = str(o, "spec.nodeAffinity.required.nodeSelectorTerms.0.matchExpressions.0.values.0");
                        const char *path = str(o, "spec.local.path");
                        bool made = false;
                        for (size_t r = 0; r < f->cat->n; r++) {
                                const struct role *ro = f->cat->roles[r];
                                for (size_t v = 0; ro->group && STREQ(ro->group, group) && v < ro->n_volumes; v++)
                                        made |= STREQ(ro->volumes[v].path, path) &&
                                                (ro->volumes[v].topologies & TOPOLOGY_BIT(c->topology));
                        }
                        if (!made)
                                fail_msg("%s: %s pinned to %s, but no %s role makes it in %s", seeds[s], path, group, group,
                                         topology_to_string(c->topology));
                }
                manifest_render_done(&mr);
                config_free(c);
        }
}

/* --- services ----------------------------------------------------------------- */

static void fixed_nodeports_and_traffic_policies(void **state) {
        struct fixture *f = *state;
        struct node_config *c = seed(f, SEED_100K, NULL, NULL, NULL, NULL);
        struct manifest_render mr = {};
        render(f, c, &mr);
        const cJSON *kong = object(&mr, "Service", "kong-external");
        assert_string_equal(str(kong, "spec.type"), "NodePort");
        assert_int_equal(nodeport_of(kong, 8000), 30001);
        assert_int_equal(nodeport_of(kong, 8443), -1);          /* no mutual TLS: no 30002 */
        const cJSON *ext = object(&mr, "Service", "vernemq-k8s-external-service");
        assert_string_equal(str(ext, "spec.externalTrafficPolicy"), "Local");
        assert_int_equal(nodeport_of(ext, 1883), 30004);
        assert_int_equal(nodeport_of(ext, 8883), 30005);
        const cJSON *in = object(&mr, "Service", "vernemq-k8s");
        assert_string_equal(str(in, "spec.topologyKeys.0"), "kubernetes.io/hostname");
        assert_int_equal(cJSON_GetArraySize(get(in, "spec.topologyKeys")), 1);  /* no "*" fallback */
        assert_string_equal(str(in, "spec.sessionAffinity"), "ClientIP");
        assert_null(get(in, "spec.externalTrafficPolicy"));
        const cJSON *gr = object(&mr, "Service", "grafana");
        assert_string_equal(str(gr, "metadata.namespace"), "dojot-monitoring");
        assert_int_equal(nodeport_of(gr, 3000), 30003);
        manifest_render_done(&mr);
        config_free(c);

        c = seed(f, SEED_100K, "dojot_apigw_enable_mutual_tls: false", "dojot_apigw_enable_mutual_tls: true", NULL, NULL);
        render(f, c, &mr);
        assert_int_equal(nodeport_of(object(&mr, "Service", "kong-external"), 8443), 30002);
        manifest_render_done(&mr);
        config_free(c);

        /* without fixed NodePorts Kubernetes picks them, as in the original */
        c = seed(f, SEED_100K, "dojot_fixed_nodeports_enabled: true", "dojot_fixed_nodeports_enabled: false", NULL, NULL);
        render(f, c, &mr);
        assert_int_equal(nodeport_of(object(&mr, "Service", "kong-external"), 8000), 0);
        manifest_render_done(&mr);
        config_free(c);
}

static void insecure_mqtt_off_removes_1883_and_30004(void **state) {
        struct fixture *f = *state;
        /* the original compared the string 'false' as true (docs/dojot-v0.5.0.md#inventory) */
        struct node_config *c = seed(f, SEED_100K, "dojot_insecure_mqtt: \"true\"", "dojot_insecure_mqtt: \"false\"", NULL, NULL);
        struct manifest_render mr = {};
        render(f, c, &mr);
        const cJSON *ext = object(&mr, "Service", "vernemq-k8s-external-service");
        assert_int_equal(nodeport_of(ext, 1883), -1);
        assert_int_equal(nodeport_of(ext, 8883), 30005);
        assert_int_equal(cJSON_GetArraySize(get(ext, "spec.ports")), 1);
        manifest_render_done(&mr);
        config_free(c);

        c = seed(f, SEED_FEW, "dojot_insecure_mqtt: \"true\"", "dojot_insecure_mqtt: false", "variant: vernemq", "variant: mosca");
        render(f, c, &mr);
        assert_int_equal(nodeport_of(object(&mr, "Service", "iotagent-mosca"), 1883), -1);
        assert_int_equal(nodeport_of(object(&mr, "Service", "iotagent-mosca"), 8883), 30005);
        manifest_render_done(&mr);
        config_free(c);
}

static void flannel_network_follows_the_pod_subnet(void **state) {
        struct fixture *f = *state;
        struct node_config *c = seed(f, SEED_FEW, "cluster:\n", "cluster:\n  pod_subnet: 10.32.0.0/16\n", NULL, NULL);
        struct manifest_render mr = {};
        render(f, c, &mr);
        const char *net = cJSON_GetStringValue(cJSON_GetObjectItem(get(object(&mr, "ConfigMap", "kube-flannel-cfg"), "data"),
                                                                   "net-conf.json"));
        assert_non_null(net);
        assert_non_null(strstr(net, "\"Network\": \"10.32.0.0/16\""));
        const cJSON *ds = object(&mr, "DaemonSet", "kube-flannel-ds-amd64");
        assert_string_equal(str(ds, "spec.template.spec.containers.0.image"), "coreos/flannel:v0.11.0-amd64");
        assert_string_equal(str(ds, "spec.template.spec.containers.0.imagePullPolicy"), "IfNotPresent");
        manifest_render_done(&mr);
        config_free(c);
}

static void every_image_is_preloaded_by_some_role(void **state) {
        struct fixture *f = *state;
        const char *seeds[][2] = { { SEED_100K, NULL }, { SEED_FEW, "variant: mosca+lwm2m" }, { SEED_FEW, NULL } };
        for (size_t s = 0; s < ELEMENTSOF(seeds); s++) {
                struct node_config *c = seed(f, seeds[s][0], seeds[s][1] ? "variant: vernemq" : NULL, seeds[s][1], NULL, NULL);
                struct manifest_render mr = {};
                render(f, c, &mr);
                for (size_t i = 0; i < mr.n_objects; i++) {
                        const cJSON *cs;
                        const char *paths[] = { "spec.template.spec.containers", "spec.template.spec.initContainers" };
                        for (size_t p = 0; p < ELEMENTSOF(paths); p++)
                                cJSON_ArrayForEach(cs, get(mr.objects[i].obj, paths[p])) {
                                        const char *img = str(cs, "image");
                                        bool found = false;
                                        for (size_t r = 0; r < f->cat->n && !found; r++)
                                                found = strv_contains(f->cat->roles[r]->images, img);
                                        /* the 100k guide's v0.5.0-alpha.4 is not what the images ship */
                                        if (!found && !strstr(img, "alpha"))
                                                fail_msg("%s: image %s is in no role's images list", mr.objects[i].file, img);
                                        assert_string_equal(str(cs, "imagePullPolicy"), "IfNotPresent");
                                }
                }
                manifest_render_done(&mr);
                config_free(c);
        }
}

/* --- the template engine and the YAML reader ---------------------------------- */

static void template_substitutes_and_keeps_blocks(void **state) {
        (void) state;
        cJSON *v = cJSON_Parse("{\"ns\":\"dojot\",\"n\":3,\"on\":true,\"off\":false}");
        char *out = NULL;
        struct diag d = {};
        const char *t = "a: {{ns}}-{{n}}\n{{#if on}}\nb: 1\n  {{#unless off}}\nc: {{on}}\n  {{/unless}}\n{{/if}}\n"
                        "{{#if off}}\nd: {{ns}}\n{{/if}}\n";
        assert_int_equal(manifest_template_render(t, "t.yaml", v, &out, &d), 0);
        assert_string_equal(out, "a: dojot-3\nb: 1\nc: true\n");
        free(out);
        cJSON_Delete(v);
}

static void template_rejects_unknown_unsafe_and_unbalanced_with_position(void **state) {
        (void) state;
        cJSON *v = cJSON_Parse("{\"ns\":\"do jot\",\"on\":true,\"s\":\"x\"}");
        char *out = NULL;
        struct diag d = {};
        assert_int_equal(manifest_template_render("a: 1\nb: {{nope}}\n", "t.yaml", v, &out, &d), -EINVAL);
        assert_string_equal(d.lines[0], "t.yaml:2:4: {{nope}}: the variable is not declared in role.yaml's manifests.vars");
        diag_done(&d);
        assert_int_equal(manifest_template_render("a: {{ns}}\n", "t.yaml", v, &out, &d), -EINVAL);
        assert_string_equal(d.lines[0], "t.yaml:1:4: {{ns}}: the variable holds characters outside [A-Za-z0-9._:/@+-]");
        diag_done(&d);
        assert_int_equal(manifest_template_render("{{#if on}}\na: 1\n", "t.yaml", v, &out, &d), -EINVAL);
        assert_string_equal(d.lines[0], "t.yaml:1:1: block is never closed");
        diag_done(&d);
        assert_int_equal(manifest_template_render("{{#if s}}\n{{/unless}}\n{{/if}}\n", "t.yaml", v, &out, &d), -EINVAL);
        assert_string_equal(d.lines[0], "t.yaml:1:1: 's' is not a declared bool variable");
        assert_string_equal(d.lines[1], "t.yaml:2:1: {{/unless}} without a matching opening");
        diag_done(&d);
        /* a bad name inside a dropped block is still an error */
        cJSON_ReplaceItemInObject(v, "on", cJSON_CreateFalse());
        assert_int_equal(manifest_template_render("{{#if on}}\nx: {{typo}}\n{{/if}}\n", "t.yaml", v, &out, &d), -EINVAL);
        diag_done(&d);
        cJSON_Delete(v);
}

static void yaml_reader_resolves_scalars_like_kubernetes(void **state) {
        (void) state;
        cJSON *arr = NULL;
        size_t *lines = NULL;
        struct diag d = {};
        const char *y = "# c\n---\na: on\nb: 'on'\nc: 0644\nd: 1Gi\ne:\nf: 1.5\ng: \"3\"\nh: |\n  x\ni: -7\nj: 0x1f\n"
                        "---\n# only a comment\n---\nk: [1, two]\n";
        assert_int_equal(manifest_yaml_to_json(y, "y.yaml", &arr, &lines, &d), 0);
        assert_int_equal(cJSON_GetArraySize(arr), 2);
        assert_int_equal(lines[0], 3);
        assert_int_equal(lines[1], 17);
        char *s = cJSON_PrintUnformatted(arr);
        assert_string_equal(s, "[{\"a\":true,\"b\":\"on\",\"c\":420,\"d\":\"1Gi\",\"e\":null,\"f\":1.5,\"g\":\"3\",\"h\":\"x\\n\","
                               "\"i\":-7,\"j\":31},{\"k\":[1,\"two\"]}]");
        free(s);
        free(lines);
        cJSON_Delete(arr);
        assert_int_equal(manifest_yaml_to_json("a: 1\n---\n- x\n", "y.yaml", &arr, NULL, &d), -EINVAL);
        assert_string_equal(d.lines[0], "y.yaml:3:1: a Kubernetes object must be a mapping");
        diag_done(&d);
        assert_int_equal(manifest_yaml_to_json("a: 1\n---\nb: [\n", "y.yaml", &arr, NULL, &d), -EINVAL);
        assert_true(strncmp(d.lines[0], "y.yaml:", 7) == 0);
        diag_done(&d);
}

/* --- the declaration ---------------------------------------------------------- */

static int parse_decl(const char *yaml, struct diag *d) {
        struct role *r = NULL;
        _cleanup_free_ char *text = NULL;
        assert_true(asprintf(&text, "schema_version: 1\nname: m\nkubernetes: init\n%s", yaml) > 0);
        int k = role_parse(text, strlen(text), "role.yaml", "m", &r, d);
        role_free(r);
        return k;
}

static void declaration_must_cover_every_variant_and_known_keys(void **state) {
        (void) state;
        struct diag d = {};
        const char *vars = "  variants: {vernemq: [v], 100k: [k], mosca: [m], vernemq+lwm2m: [v, l], mosca+lwm2m: [m, l]}\n";
        _cleanup_free_ char *ok = NULL, *missing = NULL, *bad = NULL;
        assert_true(asprintf(&ok, "manifests:\n  dir: manifests\n%s  vars: {a: {from: dojot.x}}\n  sets: [{file: a.yaml, tags: [v]}]\n", vars) > 0);
        assert_int_equal(parse_decl(ok, &d), 0);
        assert_true(asprintf(&missing, "manifests:\n  dir: manifests\n  variants: {vernemq: [v]}\n  sets: []\n") > 0);
        assert_int_equal(parse_decl(missing, &d), -EINVAL);
        assert_string_equal(d.lines[0], "role.yaml:6:13: manifests.variants: variant '100k' is not declared");
        diag_done(&d);
        assert_true(asprintf(&bad, "manifests:\n  dir: ../x\n%s  sets: [{file: ../a.yaml, tags: [v], when: x, size: 1}]\n  colour: red\n", vars) > 0);
        assert_int_equal(parse_decl(bad, &d), -EINVAL);
        _cleanup_free_ char *all = diag_join(&d);
        assert_non_null(strstr(all, "role.yaml:8:3: unknown key 'colour' in manifests"));
        assert_non_null(strstr(all, "manifests.dir: '../x' must be a directory of the role"));
        assert_non_null(strstr(all, "unknown key 'size' in manifests.sets[0]"));
        diag_done(&d);
        /* when: names a declared variable */
        _cleanup_free_ char *when = NULL;
        assert_true(asprintf(&when, "manifests:\n  dir: manifests\n%s  vars: {a: {from: dojot.x}}\n  sets: [{file: a.yaml, tags: [v], when: b}]\n", vars) > 0);
        assert_int_equal(parse_decl(when, &d), -EINVAL);
        _cleanup_free_ char *w = diag_join(&d);
        assert_non_null(strstr(w, "role.yaml:8:42: manifests.sets[0].when: 'b' is not a variable of manifests.vars"));
        diag_done(&d);
}

static void rejects_an_object_without_apiversion_with_position(void **state) {
        struct fixture *f = *state;
        /* the original kafka-loopback template had no apiVersion (docs/dojot-v0.5.0.md#defects) */
        struct manifest_decl decl = *f->master->manifests;
        struct manifest_set set = { .file = (char *) "bad.yaml", .tags = (char *[]) { (char *) "always", NULL } };
        decl.sets = &set;
        decl.n_sets = 1;
        char tmp[] = "/tmp/test-manifests-XXXXXX";
        assert_non_null(mkdtemp(tmp));
        char dir[128], file[160], role_yaml[160];
        snprintf(dir, sizeof(dir), "%s/%s", tmp, decl.dir);
        snprintf(file, sizeof(file), "%s/bad.yaml", dir);
        snprintf(role_yaml, sizeof(role_yaml), "%s/role.yaml", tmp);
        assert_int_equal(mkdir_p(dir, 0755), 0);
        const char *y = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: StatefulSet\nmetadata:\n  name: kafka-loopback\n";
        assert_int_equal(write_file_atomic(NULL, file, y, strlen(y), 0644, -1, -1, NULL), 0);
        struct node_config *c = seed(f, SEED_FEW, NULL, NULL, NULL, NULL);
        struct manifest_render mr = {};
        struct diag d = {};
        assert_int_equal(manifests_render(&decl, tmp, c, &mr, &d), -EINVAL);
        assert_int_equal(diag_count(&d), 1);
        assert_non_null(strstr(d.lines[0], "bad.yaml:5:1: object has no apiVersion (a string)"));
        diag_done(&d);
        config_free(c);
        unlink(file);
        rmdir(dir);
        rmdir(tmp);
        (void) role_yaml;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(vernemq_variant_applies_cni_storage_then_deploy_yaml_order),
                cmocka_unit_test(hundred_k_variant_is_the_guides_subset),
                cmocka_unit_test(mosca_and_lwm2m_variants_swap_the_broker_and_add_the_agent),
                cmocka_unit_test(renders_the_ten_local_pvs_exactly_as_tabled),
                cmocka_unit_test(few_devices_pins_every_pv_to_the_dojot_worker),
                cmocka_unit_test(every_pv_directory_is_made_by_the_pinned_role),
                cmocka_unit_test(fixed_nodeports_and_traffic_policies),
                cmocka_unit_test(insecure_mqtt_off_removes_1883_and_30004),
                cmocka_unit_test(flannel_network_follows_the_pod_subnet),
                cmocka_unit_test(every_image_is_preloaded_by_some_role),
                cmocka_unit_test(template_substitutes_and_keeps_blocks),
                cmocka_unit_test(template_rejects_unknown_unsafe_and_unbalanced_with_position),
                cmocka_unit_test(yaml_reader_resolves_scalars_like_kubernetes),
                cmocka_unit_test(declaration_must_cover_every_variant_and_known_keys),
                cmocka_unit_test(rejects_an_object_without_apiversion_with_position),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
