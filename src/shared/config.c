/* SPDX-License-Identifier: Apache-2.0 */
/* The seed (NoCloud meta-data + #cloud-config user-data) -> struct
 * node_config, validated strictly. The schema is documented key by key in
 * cloud-init/README.md; keep the two in step. */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <time.h>
#include "basic/fileio.h"
#include "basic/strv.h"
#include "shared/config.h"
#include "shared/netconfig.h"
#include "shared/schema.h"
#include "shared/validate.h"
#include "shared/yamlnode.h"

/* --- parsing context ------------------------------------------------------- */

struct parser {
        struct schema_ctx s;
        struct node_config *c;
        char * const *known_roles;
};

static struct config_pos pos_of(const struct parser *p, const struct ynode *n) {
        return (struct config_pos) { .file = p->c->user_data_file, .line = n->line, .col = n->col };
}

static int role_value(struct parser *p, const struct ynode *n, const char *path, char **ret) {
        int r = schema_read_string(&p->s, n, path, ret);
        if (r < 0)
                return r;
        if (strv_contains(p->known_roles, *ret))
                return 0;
        _cleanup_free_ char *known = strv_join(p->known_roles, ", ");
        schema_error(&p->s, n, "%s: unknown role '%s' (known: %s)", path, *ret, known ? known : "");
        return -EINVAL;
}

/* --- node lists ----------------------------------------------------------- */

static int parse_node_ref(struct parser *p, const struct ynode *m, const char *path, struct node_ref *nr) {
        static const char * const keys[] = { "name", "address", "role", NULL };
        char sub[128];
        nr->pos = pos_of(p, m);
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, path) < 0 || schema_check_keys(&p->s, m, keys, path) < 0)
                return -EINVAL;
        int ok = 0;
        const char *names[] = { "name", "address", "role" };
        const struct ynode *v[3];
        for (int i = 0; i < 3; i++)
                if (!(v[i] = ynode_get(m, names[i]))) {
                        schema_missing(&p->s, m, path, names[i]);
                        ok = parse_merge(ok, -EINVAL);
                }
        if (ok < 0)
                return -EINVAL;
        snprintf(sub, sizeof(sub), "%s.name", path);
        if (schema_read_string(&p->s, v[0], sub, &nr->name) < 0)
                ok = parse_merge(ok, -EINVAL);
        else if (!hostname_is_valid(nr->name)) {
                schema_error(&p->s, v[0], "%s: '%s' is not a valid hostname", sub, nr->name);
                ok = parse_merge(ok, -EINVAL);
        }
        snprintf(sub, sizeof(sub), "%s.address", path);
        ok = parse_merge(ok, schema_read_ip(&p->s, v[1], sub, &nr->address));
        snprintf(sub, sizeof(sub), "%s.role", path);
        ok = parse_merge(ok, role_value(p, v[2], sub, &nr->role));
        return ok;
}

static int parse_node_list(struct parser *p, const struct ynode *n, const char *path, struct node_list *l) {
        if (schema_check_kind(&p->s, n, YNODE_SEQUENCE, path) < 0)
                return -EINVAL;
        l->nodes = calloc(n->n ? n->n : 1, sizeof(*l->nodes));
        if (!l->nodes)
                return -ENOMEM;
        int ok = 0;
        for (size_t i = 0; i < n->n; i++) {
                char sub[96];
                snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                ok = parse_merge(ok, parse_node_ref(p, n->items[i], sub, &l->nodes[l->n++]));
                /* earlier entries that failed to parse may have no name */
                for (size_t j = 0; ok >= 0 && j + 1 < l->n; j++)
                        if (l->nodes[j].name && STREQ(l->nodes[j].name, l->nodes[l->n - 1].name)) {
                                schema_error(&p->s, n->items[i], "%s: node '%s' is listed twice", sub, l->nodes[j].name);
                                ok = parse_merge(ok, -EINVAL);
                        }
        }
        return ok;
}

/* --- sections -------------------------------------------------------------- */

static int parse_network(struct parser *p, const struct ynode *m) {
        static const char * const keys[] = { "interface", "address", "gateway", "dns", NULL };
        struct net_config *n = &p->c->network;
        const struct ynode *v;
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, "network") < 0)
                return -EINVAL;
        int ok = schema_check_keys(&p->s, m, keys, "network");
        if ((v = ynode_get(m, "interface"))) {
                if (schema_read_string(&p->s, v, "network.interface", &n->interface) >= 0 &&
                    (strlen(n->interface) > 15 || strpbrk(n->interface, "/ \t"))) {
                        schema_error(&p->s, v, "network.interface: '%s' is not an interface name", n->interface);
                        ok = parse_merge(ok, -EINVAL);
                }
        }
        if ((v = ynode_get(m, "address")))
                ok = parse_merge(ok, schema_read_cidr(&p->s, v, "network.address", false, &n->address));
        if ((v = ynode_get(m, "gateway")))
                ok = parse_merge(ok, schema_read_ip(&p->s, v, "network.gateway", &n->gateway));
        if ((v = ynode_get(m, "dns"))) {
                if (schema_read_string_list(&p->s, v, "network.dns", &n->dns) >= 0)
                        for (size_t i = 0; n->dns[i]; i++)
                                if (!ip_address_is_valid(n->dns[i])) {
                                        schema_error(&p->s, v->items[i], "network.dns[%zu]: '%s' is not an IP address", i, n->dns[i]);
                                        ok = parse_merge(ok, -EINVAL);
                                }
        }
        return ok;
}

static int parse_secret(struct parser *p, const struct ynode *v, const char *path, secret *s) {
        if (v->kind != YNODE_SCALAR || ynode_is_null(v) || v->value[0] == 0) {
                schema_error(&p->s, v, "%s: expected a non-empty string", path);
                return -EINVAL;
        }
        int r = secret_set(s, v->value);
        return r < 0 ? r : 0;
}

static int parse_cluster(struct parser *p, const struct ynode *m) {
        static const char * const keys[] = { "api_endpoint", "advertise_address", "token", "token_expires", "ca_cert_hashes",
                                             "ca_cert", "ca_key", "pod_subnet", "service_subnet", "nodes", "kured", NULL };
        struct cluster_config *k = &p->c->cluster;
        const struct ynode *v;
        k->pos = pos_of(p, m);
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, "cluster") < 0)
                return -EINVAL;
        p->c->has_cluster = true;
        int ok = schema_check_keys(&p->s, m, keys, "cluster");
        if ((v = ynode_get(m, "api_endpoint")) && schema_read_string(&p->s, v, "cluster.api_endpoint", &k->api_endpoint) >= 0) {
                const char *why = endpoint_problem(k->api_endpoint);
                if (why) {
                        schema_error(&p->s, v, "cluster.api_endpoint: '%s' is not host:port (%s)", k->api_endpoint, why);
                        ok = parse_merge(ok, -EINVAL);
                }
        } else
                ok = parse_merge(ok, v == NULL ? 0 : -EINVAL);
        if ((v = ynode_get(m, "advertise_address")))
                ok = parse_merge(ok, schema_read_ip(&p->s, v, "cluster.advertise_address", &k->advertise_address));
        if ((v = ynode_get(m, "token"))) {
                /* Never echo the value: it is a credential, even when malformed. */
                if (parse_secret(p, v, "cluster.token", &k->token) < 0)
                        ok = parse_merge(ok, -EINVAL);
                else if (!bootstrap_token_is_valid(secret_reveal(&k->token))) {
                        schema_error(&p->s, v, "cluster.token: malformed bootstrap token (want [a-z0-9]{6}.[a-z0-9]{16})");
                        ok = parse_merge(ok, -EINVAL);
                } else if (STREQ(secret_reveal(&k->token), "abcdef.0123456789abcdef")) {
                        schema_error(&p->s, v, "cluster.token: this is the public example token the original install used; mint one per rollout");
                        ok = parse_merge(ok, -EINVAL);
                }
        }
        if ((v = ynode_get(m, "token_expires"))) {
                _cleanup_free_ char *t = NULL;
                const char *why = NULL;
                if (schema_read_string(&p->s, v, "cluster.token_expires", &t) < 0)
                        ok = parse_merge(ok, -EINVAL);
                else if ((why = rfc3339_problem(t, &k->token_expires))) {
                        schema_error(&p->s, v, "cluster.token_expires: '%s' %s", t, why);
                        ok = parse_merge(ok, -EINVAL);
                }
        }
        if ((v = ynode_get(m, "ca_cert_hashes")) && schema_read_string_list(&p->s, v, "cluster.ca_cert_hashes", &k->ca_cert_hashes) >= 0) {
                for (size_t i = 0; k->ca_cert_hashes[i]; i++)
                        if (!ca_cert_hash_is_valid(k->ca_cert_hashes[i])) {
                                schema_error(&p->s, v->items[i], "cluster.ca_cert_hashes[%zu]: '%s' is not sha256:<64 lowercase hex>", i,
                                    k->ca_cert_hashes[i]);
                                ok = parse_merge(ok, -EINVAL);
                        }
        } else
                ok = parse_merge(ok, v == NULL ? 0 : -EINVAL);
        if ((v = ynode_get(m, "ca_cert")) && schema_read_string(&p->s, v, "cluster.ca_cert", &k->ca_cert) >= 0) {
                if (!strstr(k->ca_cert, "-----BEGIN CERTIFICATE-----")) {
                        schema_error(&p->s, v, "cluster.ca_cert: not a PEM certificate");
                        ok = parse_merge(ok, -EINVAL);
                }
        } else
                ok = parse_merge(ok, v == NULL ? 0 : -EINVAL);
        if ((v = ynode_get(m, "ca_key"))) {
                if (parse_secret(p, v, "cluster.ca_key", &k->ca_key) < 0)
                        ok = parse_merge(ok, -EINVAL);
                else if (!strstr(secret_reveal(&k->ca_key), "-----BEGIN") || !strstr(secret_reveal(&k->ca_key), "PRIVATE KEY-----")) {
                        schema_error(&p->s, v, "cluster.ca_key: not a PEM private key");
                        ok = parse_merge(ok, -EINVAL);
                }
        }
        if ((v = ynode_get(m, "pod_subnet")))
                ok = parse_merge(ok, schema_read_cidr(&p->s, v, "cluster.pod_subnet", true, &k->pod_subnet));
        if ((v = ynode_get(m, "service_subnet")))
                ok = parse_merge(ok, schema_read_cidr(&p->s, v, "cluster.service_subnet", true, &k->service_subnet));
        if ((v = ynode_get(m, "nodes")))
                ok = parse_merge(ok, parse_node_list(p, v, "cluster.nodes", &k->nodes));
        if ((v = ynode_get(m, "kured"))) {
                k->kured_pos = pos_of(p, v);
                ok = parse_merge(ok, schema_read_bool(&p->s, v, "cluster.kured", &k->kured));
        }
        return ok;
}

#define LB_NODES_SUFFIX "_nodes"

/* "mqtt" for "mqtt_nodes"; NULL for any other key */
static char *lb_service_of_key(const char *key) {
        size_t n = strlen(key), sn = strlen(LB_NODES_SUFFIX);
        if (n <= sn || !STREQ(key + n - sn, LB_NODES_SUFFIX))
                return NULL;
        return strndup(key, n - sn);
}

static int parse_lb(struct parser *p, const struct ynode *m) {
        struct lb_config *lb = &p->c->lb;
        const struct ynode *v;
        lb->pos = pos_of(p, m);
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, "lb") < 0)
                return -EINVAL;
        p->c->has_lb = true;
        int ok = 0;
        if (!(v = ynode_get(m, "mode"))) {
                schema_missing(&p->s, m, "lb", "mode");
                ok = parse_merge(ok, -EINVAL);
        } else if (v->kind == YNODE_SCALAR && STREQ(v->value, "haproxy"))
                lb->mode = LB_MODE_HAPROXY;
        else if (v->kind == YNODE_SCALAR && STREQ(v->value, "nginx"))
                lb->mode = LB_MODE_NGINX;
        else {
                schema_error(&p->s, v, "lb.mode: expected haproxy or nginx, got '%s'", v->kind == YNODE_SCALAR ? v->value : "?");
                ok = parse_merge(ok, -EINVAL);
        }
        lb->groups = calloc(m->n ? m->n : 1, sizeof(*lb->groups));
        if (!lb->groups)
                return -ENOMEM;
        for (size_t i = 0; i < m->n; i++) {
                const struct ynode *k = m->keys[i];
                if (STREQ(k->value, "mode"))
                        continue;
                _cleanup_free_ char *service = lb_service_of_key(k->value);
                if (!service) {
                        schema_error(&p->s, k, "unknown key '%s' in lb", k->value);
                        ok = parse_merge(ok, -EINVAL);
                        continue;
                }
                struct lb_backends *g = &lb->groups[lb->n_groups++];
                g->service = TAKE_PTR(service);
                g->pos = pos_of(p, k);
                char path[96];
                snprintf(path, sizeof(path), "lb.%s", k->value);
                ok = parse_merge(ok, parse_node_list(p, m->items[i], path, &g->nodes));
        }
        return ok;
}

const struct node_list *lb_backends(const struct lb_config *lb, const char *service) {
        static const struct node_list none = {};
        for (size_t i = 0; i < lb->n_groups; i++)
                if (STREQ(lb->groups[i].service, service))
                        return &lb->groups[i].nodes;
        return &none;
}

size_t lb_backends_total(const struct lb_config *lb) {
        size_t n = 0;
        for (size_t i = 0; i < lb->n_groups; i++)
                n += lb->groups[i].nodes.n;
        return n;
}

/* --- dojot variables (group_vars/all/dojot.yaml names, docs/dojot-v0.5.0.md#inventory) -- */

enum var_type { V_STRING, V_BOOL, V_BOOL_OR_STRING, V_INT, V_MAP };

/* What a string must look like to be what it becomes (Kubernetes' rules for
 * the values that end up in Kubernetes objects: the master's manifests). */
enum var_format { F_ANY, F_DNS_LABEL, F_DNS_SUBDOMAIN, F_DNS_SUBDOMAIN_OR_EMPTY, F_LABEL_VALUE, F_IMAGE_TAG, F_IP };

struct var_spec {
        const char *name;
        enum var_type type;
        const char *dflt;               /* string/bool/int default as text */
        const struct var_spec *fields;  /* V_MAP: its keys (NULL-named end) */
        long long min, max;
        enum var_format format;         /* V_STRING */
};

static const struct {
        bool (*valid)(const char *);
        const char *what;
} var_formats[] = {
        [F_DNS_LABEL] = { dns1123_label_is_valid,
                          "a DNS-1123 label, as Kubernetes requires of a namespace (at most 63 of a-z, 0-9 and '-', "
                          "starting and ending with a letter or digit)" },
        [F_DNS_SUBDOMAIN] = { dns1123_subdomain_is_valid,
                              "a DNS-1123 subdomain, as Kubernetes requires of a name (dot-separated labels of a-z, 0-9 "
                              "and '-', at most 253)" },
        [F_DNS_SUBDOMAIN_OR_EMPTY] = { dns1123_subdomain_is_valid,
                                       "empty or a DNS-1123 subdomain, as Kubernetes requires of a StorageClass name" },
        [F_LABEL_VALUE] = { label_value_is_valid,
                            "a Kubernetes label value (at most 63 of A-Z, a-z, 0-9, '.', '_' and '-', starting and ending "
                            "with a letter or digit)" },
        [F_IMAGE_TAG] = { image_tag_is_valid, "an image tag (A-Z, a-z, 0-9, '_', '.' and '-', at most 128, not starting with '.' or '-')" },
        [F_IP] = { ip_address_is_valid, "an IP address" },
};

static const struct var_spec nodeports_apigw[] = {
        { "http", V_INT, "30001", NULL, 30000, 32767, F_ANY }, { "https", V_INT, "30002", NULL, 30000, 32767, F_ANY }, {} };
static const struct var_spec nodeports_lwm2m[] = {
        { "coap", V_INT, "30006", NULL, 30000, 32767, F_ANY }, { "coaps", V_INT, "30007", NULL, 30000, 32767, F_ANY },
        { "file_server", V_INT, "30008", NULL, 30000, 32767, F_ANY }, { "file_servers", V_INT, "30009", NULL, 30000, 32767, F_ANY },
        { "http", V_INT, "30010", NULL, 30000, 32767, F_ANY }, {} };
static const struct var_spec nodeports[] = {
        { "apigw", V_MAP, NULL, nodeports_apigw, 0, 0, F_ANY }, { "metrics", V_INT, "30003", NULL, 30000, 32767, F_ANY },
        { "mqtt", V_INT, "30004", NULL, 30000, 32767, F_ANY }, { "mqtts", V_INT, "30005", NULL, 30000, 32767, F_ANY },
        { "lwm2m", V_MAP, NULL, nodeports_lwm2m, 0, 0, F_ANY }, {} };
static const struct var_spec node_labels[] = {
        { "dojot", V_STRING, "dojot", NULL, 0, 0, F_LABEL_VALUE }, { "x509", V_STRING, "x509", NULL, 0, 0, F_LABEL_VALUE },
        { "kafka", V_STRING, "kafka", NULL, 0, 0, F_LABEL_VALUE }, { "vernemq", V_STRING, "vernemq", NULL, 0, 0, F_LABEL_VALUE }, {} };
static const struct var_spec locust[] = {
        { "ip", V_STRING, "127.0.0.1", NULL, 0, 0, F_IP }, { "port", V_INT, "9646", NULL, 1, 65535, F_ANY }, {} };

static const struct var_spec dojot_vars[] = {
        { "dojot_namespace", V_STRING, "dojot", NULL, 0, 0, F_DNS_LABEL },
        { "dojot_version", V_STRING, "v0.5.0", NULL, 0, 0, F_IMAGE_TAG },
        { "dojot_domain_name", V_STRING, "localhost", NULL, 0, 0, F_DNS_SUBDOMAIN },
        { "dojot_storage_class_name", V_STRING, "", NULL, 0, 0, F_DNS_SUBDOMAIN_OR_EMPTY },
        { "dojot_kubernetes_rbac", V_BOOL, "true", NULL, 0, 0, F_ANY },
        { "dojot_zk_persistent_volumes", V_BOOL, "false", NULL, 0, 0, F_ANY },
        { "dojot_psql_persistent_volumes", V_BOOL, "false", NULL, 0, 0, F_ANY },
        { "dojot_x509_identity_mgmt_persistent_volumes", V_BOOL, "false", NULL, 0, 0, F_ANY },
        { "dojot_mongodb_persistent_volumes", V_BOOL, "false", NULL, 0, 0, F_ANY },
        { "dojot_minio_persistent_volumes", V_BOOL, "false", NULL, 0, 0, F_ANY },
        { "dojot_kafka_persistent_volumes", V_BOOL, "false", NULL, 0, 0, F_ANY },
        { "dojot_kafka_ws_persistent_volumes", V_BOOL, "false", NULL, 0, 0, F_ANY },
        { "dojot_apigw_persistent_volumes", V_BOOL, "false", NULL, 0, 0, F_ANY },
        { "dojot_guiv2_enabled", V_BOOL, "true", NULL, 0, 0, F_ANY },
        { "dojot_auth_email_enabled", V_BOOL, "false", NULL, 0, 0, F_ANY },
        /* A string in the original, where 'false' was still true (docs/dojot-v0.5.0.md#inventory). */
        { "dojot_insecure_mqtt", V_BOOL_OR_STRING, "true", NULL, 0, 0, F_ANY },
        { "dojot_vernemq_replicas", V_INT, "1", NULL, 1, 1000, F_ANY },
        { "dojot_bridges_replicas", V_INT, "1", NULL, 1, 1000, F_ANY },
        { "dojot_x509_identity_mgmt_replicas", V_INT, "1", NULL, 1, 1000, F_ANY },
        { "dojot_kafka_ws_enable_tls", V_BOOL, "false", NULL, 0, 0, F_ANY },
        { "dojot_apigw_enable_mutual_tls", V_BOOL, "false", NULL, 0, 0, F_ANY },
        { "dojot_fixed_nodeports_enabled", V_BOOL, "false", NULL, 0, 0, F_ANY },
        { "dojot_nodeports", V_MAP, NULL, nodeports, 0, 0, F_ANY },
        { "dojot_enable_node_affinity", V_BOOL, "false", NULL, 0, 0, F_ANY },
        { "dojot_node_label", V_MAP, NULL, node_labels, 0, 0, F_ANY },
        { "dojot_enable_locust_exporter", V_BOOL, "false", NULL, 0, 0, F_ANY },
        { "dojot_locust_exporter", V_MAP, NULL, locust, 0, 0, F_ANY },
        {}
};

static cJSON *var_default(const struct var_spec *v) {
        switch (v->type) {
        case V_STRING: return cJSON_CreateString(v->dflt);
        case V_BOOL:
        case V_BOOL_OR_STRING: return cJSON_CreateBool(STREQ(v->dflt, "true"));
        case V_INT: return cJSON_CreateNumber((double) strtoll(v->dflt, NULL, 10));
        case V_MAP: {
                cJSON *o = cJSON_CreateObject();
                for (const struct var_spec *f = v->fields; o && f->name; f++)
                        cJSON_AddItemToObject(o, f->name, var_default(f));
                return o;
        }
        }
        return NULL;
}

static cJSON *parse_var(struct parser *p, const struct var_spec *spec, const struct ynode *n, const char *path);

static cJSON *parse_var_map(struct parser *p, const struct var_spec *spec, const struct ynode *n, const char *path) {
        if (schema_check_kind(&p->s, n, YNODE_MAPPING, path) < 0)
                return NULL;
        cJSON *o = var_default(spec);
        bool ok = o != NULL;
        for (size_t i = 0; o && i < n->n; i++) {
                const struct var_spec *f = spec->fields;
                while (f->name && !STREQ(f->name, n->keys[i]->value))
                        f++;
                char sub[160];
                snprintf(sub, sizeof(sub), "%s.%s", path, n->keys[i]->value);
                if (!f->name) {
                        schema_error(&p->s, n->keys[i], "unknown key '%s' in %s", n->keys[i]->value, path);
                        ok = false;
                        continue;
                }
                cJSON *v = parse_var(p, f, n->items[i], sub);
                if (!v)
                        ok = false;
                else
                        cJSON_ReplaceItemInObject(o, f->name, v);
        }
        if (!ok) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

static cJSON *parse_var(struct parser *p, const struct var_spec *spec, const struct ynode *n, const char *path) {
        bool b;
        long long i;
        switch (spec->type) {
        case V_STRING:
                if (n->kind != YNODE_SCALAR || (ynode_is_null(n) && !n->quoted)) {
                        schema_error(&p->s, n, "%s: expected a string", path);
                        return NULL;
                }
                const char *text = ynode_is_null(n) ? "" : n->value;
                if (spec->format != F_ANY && !(spec->format == F_DNS_SUBDOMAIN_OR_EMPTY && !*text) &&
                    !var_formats[spec->format].valid(text)) {
                        schema_error(&p->s, n, "%s: '%s' is not %s", path, text, var_formats[spec->format].what);
                        return NULL;
                }
                return cJSON_CreateString(text);
        case V_BOOL_OR_STRING:
                if (n->kind == YNODE_SCALAR && n->quoted && (STREQ(n->value, "true") || STREQ(n->value, "false")))
                        return cJSON_CreateBool(STREQ(n->value, "true"));
                _fallthrough_;
        case V_BOOL:
                return schema_read_bool(&p->s, n, path, &b) >= 0 ? cJSON_CreateBool(b) : NULL;
        case V_INT:
                return schema_read_int(&p->s, n, path, spec->min, spec->max, &i) >= 0 ? cJSON_CreateNumber((double) i) : NULL;
        case V_MAP:
                return parse_var_map(p, spec, n, path);
        }
        return NULL;
}

/* The variables of a mapping (a seed's dojot.vars, or an inventory's
 * group_vars/all/dojot.yaml itself) into p->c->dojot.vars; where names the
 * mapping in messages ("dojot.vars"; "" for a file of its own). */
static int parse_dojot_vars(struct parser *p, const struct ynode *v, const char *where) {
        int ok = 0;
        for (size_t i = 0; i < v->n; i++) {
                const struct var_spec *spec = dojot_vars;
                while (spec->name && !STREQ(spec->name, v->keys[i]->value))
                        spec++;
                char path[160];
                snprintf(path, sizeof(path), "%s%s%s", where, *where ? "." : "", v->keys[i]->value);
                if (!spec->name) {
                        schema_error(&p->s, v->keys[i], "unknown dojot variable '%s'%s%s", v->keys[i]->value, *where ? " in " : "", where);
                        ok = parse_merge(ok, -EINVAL);
                        continue;
                }
                cJSON *val = parse_var(p, spec, v->items[i], path);
                if (!val)
                        ok = parse_merge(ok, -EINVAL);
                else
                        cJSON_ReplaceItemInObject(p->c->dojot.vars, spec->name, val);
        }
        return ok;
}

static int parse_dojot(struct parser *p, const struct ynode *m) {
        static const char * const keys[] = { "variant", "vars", NULL };
        struct dojot_config *dj = &p->c->dojot;
        const struct ynode *v;
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, "dojot") < 0)
                return -EINVAL;
        int ok = schema_check_keys(&p->s, m, keys, "dojot");
        if ((v = ynode_get(m, "variant"))) {
                bool found = false;
                for (int i = 0; i < _VARIANT_MAX; i++)
                        if (v->kind == YNODE_SCALAR && STREQ(v->value, dojot_variant_to_string((enum dojot_variant) i))) {
                                dj->variant = (enum dojot_variant) i;
                                found = true;
                        }
                if (!found) {
                        schema_error(&p->s, v, "dojot.variant: '%s' is not one of vernemq, 100k, mosca, vernemq+lwm2m, mosca+lwm2m",
                            v->kind == YNODE_SCALAR ? v->value : "?");
                        ok = parse_merge(ok, -EINVAL);
                }
        }
        if ((v = ynode_get(m, "vars")) && schema_check_kind(&p->s, v, YNODE_MAPPING, "dojot.vars") >= 0)
                ok = parse_merge(ok, parse_dojot_vars(p, v, "dojot.vars"));
        else
                ok = parse_merge(ok, v == NULL ? 0 : -EINVAL);
        return ok;
}

/* --- documents ------------------------------------------------------------- */

/* One key of meta-data public-keys, added to the authorized keys. */
static int add_public_key(struct parser *p, const struct ynode *v, const char *path) {
        if (v->kind != YNODE_SCALAR || !ssh_public_key_is_valid(v->value)) {
                schema_error(&p->s, v, "%s: not an OpenSSH public key (ssh-ed25519, ssh-rsa, ecdsa-...)", path);
                return -EINVAL;
        }
        if (strv_contains(p->c->ssh_authorized_keys, v->value))
                return 0;
        return strv_extend(&p->c->ssh_authorized_keys, v->value);
}

/* meta-data public-keys, in the forms cloud-init reads: one key, a list of
 * keys, or a mapping of names to a key or a list of keys. */
static int parse_public_keys(struct parser *p, const struct ynode *v) {
        char path[128];
        int ok = 0;
        if (v->kind == YNODE_SCALAR)
                return add_public_key(p, v, "public-keys");
        for (size_t i = 0; i < v->n; i++) {
                const struct ynode *it = v->items[i];
                if (v->kind == YNODE_MAPPING)
                        snprintf(path, sizeof(path), "public-keys.%s", v->keys[i]->value);
                else
                        snprintf(path, sizeof(path), "public-keys[%zu]", i);
                if (v->kind == YNODE_MAPPING && it->kind == YNODE_SEQUENCE)
                        for (size_t k = 0; k < it->n; k++)
                                ok = parse_merge(ok, add_public_key(p, it->items[k], path));
                else
                        ok = parse_merge(ok, add_public_key(p, it, path));
        }
        return ok;
}

static int parse_meta(struct parser *p, const struct ynode *m) {
        static const char * const keys[] = { "instance-id", "local-hostname", "dsmode", "public-keys", "nodeos-seed-key",
                                             "nodeos-seed-signature", NULL };
        const struct ynode *v;
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, "meta-data") < 0)
                return -EINVAL;
        int ok = schema_check_keys(&p->s, m, keys, "meta-data");
        if (!(v = ynode_get(m, "instance-id"))) {
                diag_add(p->s.diag, p->s.file, m->line, m->col, "meta-data: missing required key 'instance-id'");
                ok = parse_merge(ok, -EINVAL);
        } else
                ok = parse_merge(ok, schema_read_string(&p->s, v, "instance-id", &p->c->instance_id));
        if ((v = ynode_get(m, "local-hostname")) && schema_read_string(&p->s, v, "local-hostname", &p->c->hostname) >= 0 &&
            !hostname_is_valid(p->c->hostname)) {
                schema_error(&p->s, v, "local-hostname: '%s' is not a valid hostname (RFC 1123, lowercase)", p->c->hostname);
                ok = parse_merge(ok, -EINVAL);
        }
        /* cloud-localds -m writes it; the agent reads its seed the same way
         * whether the seed is local or on the network */
        _cleanup_free_ char *dsmode = NULL;
        if ((v = ynode_get(m, "dsmode")) && schema_read_string(&p->s, v, "dsmode", &dsmode) >= 0 && !STREQ(dsmode, "local") &&
            !STREQ(dsmode, "net")) {
                schema_error(&p->s, v, "dsmode: '%s' is not local or net (what cloud-localds -m writes; both mean the same here)", dsmode);
                ok = parse_merge(ok, -EINVAL);
        }
        if ((v = ynode_get(m, "public-keys")))
                ok = parse_merge(ok, parse_public_keys(p, v));
        /* the rollout's signature (src/fleet, seed.c checks it): both or neither */
        const struct ynode *key = ynode_get(m, "nodeos-seed-key"), *sig = ynode_get(m, "nodeos-seed-signature");
        if (key && schema_read_string(&p->s, key, "nodeos-seed-key", &p->c->seed_key) >= 0 && strlen(p->c->seed_key) != 44) {
                schema_error(&p->s, key, "nodeos-seed-key: not an Ed25519 public key (44 characters of base64)");
                ok = parse_merge(ok, -EINVAL);
        }
        if (sig) {
                p->c->signature_pos = (struct config_pos) { .file = p->c->meta_data_file, .line = sig->line, .col = sig->col };
                if (schema_read_string(&p->s, sig, "nodeos-seed-signature", &p->c->seed_signature) >= 0 &&
                    strlen(p->c->seed_signature) != 88) {
                        schema_error(&p->s, sig, "nodeos-seed-signature: not an Ed25519 signature (88 characters of base64)");
                        ok = parse_merge(ok, -EINVAL);
                }
        }
        if (!key != !sig) {
                schema_error(&p->s, key ? key : sig, "meta-data: nodeos-seed-key and nodeos-seed-signature go together (a seed is signed whole, or not)");
                ok = parse_merge(ok, -EINVAL);
        }
        return ok;
}

/* An OpenStack config drive's meta_data.json (nova's metadata service
 * format, as Ironic writes it too). What the agent uses: uuid (the
 * instance-id), hostname, public_keys and keys. What describes the platform
 * and configures nothing is accepted and not used; what would configure the
 * node in a way the agent does not (injected files, an admin password) is
 * refused, as is any key not listed. */
static int parse_meta_openstack(struct parser *p, const struct ynode *m) {
        static const char * const keys[] = { "uuid", "hostname", "name", "public_keys", "keys", "files", "admin_pass",
                                             "availability_zone", "launch_index", "project_id", "random_seed", "devices",
                                             "dedicated_cpus", "meta", NULL };
        const struct ynode *v;
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, "meta_data.json") < 0)
                return -EINVAL;
        int ok = schema_check_keys(&p->s, m, keys, "meta_data.json");
        if (!(v = ynode_get(m, "uuid"))) {
                diag_add(p->s.diag, p->s.file, m->line, m->col, "meta_data.json: missing required key 'uuid'");
                ok = parse_merge(ok, -EINVAL);
        } else
                ok = parse_merge(ok, schema_read_string(&p->s, v, "uuid", &p->c->instance_id));
        if ((v = ynode_get(m, "hostname")) && schema_read_string(&p->s, v, "hostname", &p->c->hostname) >= 0 &&
            !hostname_is_valid(p->c->hostname)) {
                schema_error(&p->s, v, "hostname: '%s' is not a valid hostname (RFC 1123, lowercase)", p->c->hostname);
                ok = parse_merge(ok, -EINVAL);
        }
        if ((v = ynode_get(m, "public_keys"))) {
                if (schema_check_kind(&p->s, v, YNODE_MAPPING, "public_keys") < 0)
                        ok = parse_merge(ok, -EINVAL);
                else
                        for (size_t i = 0; i < v->n; i++) {
                                char path[128];
                                snprintf(path, sizeof(path), "public_keys.%.100s", v->keys[i]->value);
                                ok = parse_merge(ok, add_public_key(p, v->items[i], path));
                        }
        }
        /* keys: [{name, type, data}], the same keys again in nova's newer form */
        if ((v = ynode_get(m, "keys"))) {
                if (schema_check_kind(&p->s, v, YNODE_SEQUENCE, "keys") < 0)
                        ok = parse_merge(ok, -EINVAL);
                for (size_t i = 0; v->kind == YNODE_SEQUENCE && i < v->n; i++) {
                        static const char * const kkeys[] = { "name", "type", "data", NULL };
                        const struct ynode *k = v->items[i], *data;
                        char path[64];
                        snprintf(path, sizeof(path), "keys[%zu]", i);
                        if (schema_check_kind(&p->s, k, YNODE_MAPPING, path) < 0 || schema_check_keys(&p->s, k, kkeys, path) < 0) {
                                ok = parse_merge(ok, -EINVAL);
                                continue;
                        }
                        if (!(data = ynode_get(k, "data"))) {
                                schema_missing(&p->s, k, path, "data");
                                ok = parse_merge(ok, -EINVAL);
                                continue;
                        }
                        snprintf(path, sizeof(path), "keys[%zu].data", i);
                        ok = parse_merge(ok, add_public_key(p, data, path));
                }
        }
        if ((v = ynode_get(m, "files")) && !(v->kind == YNODE_SEQUENCE && v->n == 0)) {
                schema_error(&p->s, v, "files: the agent writes no injected files: put what the node needs in user_data");
                ok = parse_merge(ok, -EINVAL);
        }
        if ((v = ynode_get(m, "admin_pass"))) {
                schema_error(&p->s, v, "admin_pass: the agent sets no passwords: give public_keys (root logs in with a key only)");
                ok = parse_merge(ok, -EINVAL);
        }
        if ((v = ynode_get(m, "meta")) && schema_check_kind(&p->s, v, YNODE_MAPPING, "meta") < 0)
                ok = parse_merge(ok, -EINVAL);
        return ok;
}

static int parse_user(struct parser *p, const struct ynode *m) {
        static const char * const keys[] = { "schema_version", "role", "hostname", "topology", "network", "cluster", "lb",
                                             "dojot", "ssh_authorized_keys", NULL };
        const struct ynode *v;
        long long version;
        if (schema_check_kind(&p->s, m, YNODE_MAPPING, "user-data") < 0)
                return -EINVAL;
        int ok = schema_check_keys(&p->s, m, keys, "user-data");
        if (!(v = ynode_get(m, "schema_version"))) {
                schema_missing(&p->s, m, "user-data", "schema_version");
                ok = parse_merge(ok, -EINVAL);
        } else if (schema_read_int(&p->s, v, "schema_version", 0, 1000, &version) >= 0 && version != CONFIG_SCHEMA_VERSION) {
                schema_error(&p->s, v, "schema_version: %lld is not supported (this agent reads %d)", version, CONFIG_SCHEMA_VERSION);
                ok = parse_merge(ok, -EINVAL);
        }
        if (!(v = ynode_get(m, "role"))) {
                schema_missing(&p->s, m, "user-data", "role");
                p->c->role_pos = pos_of(p, m);
                ok = parse_merge(ok, -EINVAL);
        } else {
                p->c->role_pos = pos_of(p, v);
                ok = parse_merge(ok, role_value(p, v, "role", &p->c->role));
        }
        if ((v = ynode_get(m, "hostname"))) {
                if (schema_read_string(&p->s, v, "hostname", &p->c->hostname) >= 0 && !hostname_is_valid(p->c->hostname)) {
                        schema_error(&p->s, v, "hostname: '%s' is not a valid hostname (RFC 1123, lowercase)", p->c->hostname);
                        ok = parse_merge(ok, -EINVAL);
                }
        }
        if ((v = ynode_get(m, "topology"))) {
                if (v->kind == YNODE_SCALAR && STREQ(v->value, "100k"))
                        p->c->topology = TOPOLOGY_100K;
                else if (v->kind == YNODE_SCALAR && STREQ(v->value, "few-devices"))
                        p->c->topology = TOPOLOGY_FEW_DEVICES;
                else {
                        schema_error(&p->s, v, "topology: expected 100k or few-devices, got '%s'", v->kind == YNODE_SCALAR ? v->value : "?");
                        ok = parse_merge(ok, -EINVAL);
                }
        }
        if ((v = ynode_get(m, "network"))) {
                p->c->network.present = true;
                p->c->network.pos = pos_of(p, ynode_get_key(m, "network"));
                ok = parse_merge(ok, parse_network(p, v));
        }
        if ((v = ynode_get(m, "cluster")))
                ok = parse_merge(ok, parse_cluster(p, v));
        if ((v = ynode_get(m, "lb")))
                ok = parse_merge(ok, parse_lb(p, v));
        if ((v = ynode_get(m, "dojot")))
                ok = parse_merge(ok, parse_dojot(p, v));
        _cleanup_strv_free_ char **ssh_keys = NULL;
        if ((v = ynode_get(m, "ssh_authorized_keys")) && schema_read_string_list(&p->s, v, "ssh_authorized_keys", &ssh_keys) >= 0) {
                for (size_t i = 0; ssh_keys[i]; i++)
                        if (!ssh_public_key_is_valid(ssh_keys[i])) {
                                schema_error(&p->s, v->items[i], "ssh_authorized_keys[%zu]: not an OpenSSH public key (ssh-ed25519, ssh-rsa, ecdsa-...)", i);
                                ok = parse_merge(ok, -EINVAL);
                        } else if (!strv_contains(p->c->ssh_authorized_keys, ssh_keys[i]) &&
                                   strv_extend(&p->c->ssh_authorized_keys, ssh_keys[i]) < 0)
                                return -ENOMEM;
        }
        return ok;
}

/* --- checks across values --------------------------------------------------- */

/* The seed's node at a dotted path under user-data ("dojot.vars.x.y"), or NULL. */
static const struct ynode *seed_node_at(const struct ynode *user, const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        const struct ynode *n = user;
        char *save = NULL;
        for (char *k = copy ? strtok_r(copy, ".", &save) : NULL; n && k; k = strtok_r(NULL, ".", &save))
                n = n->kind == YNODE_MAPPING ? ynode_get(n, k) : NULL;
        return copy ? n : NULL;
}

struct nodeport {
        char path[96];          /* "apigw.http" under dojot_nodeports */
        long long port;
};

static size_t collect_nodeports(const cJSON *o, const char *prefix, struct nodeport *out, size_t n, size_t cap) {
        const cJSON *it;
        cJSON_ArrayForEach(it, o) {
                char path[96];
                if (snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", it->string) >= (int) sizeof(path))
                        continue;
                if (cJSON_IsObject(it))
                        n = collect_nodeports(it, path, out, n, cap);
                else if (cJSON_IsNumber(it) && n < cap) {
                        snprintf(out[n].path, sizeof(out[n].path), "%s", path);
                        out[n++].port = (long long) it->valuedouble;
                }
        }
        return n;
}

/* Two Services on one NodePort: the API server refuses the second ("provided
 * port is already allocated"), after the master has half applied dojot. */
static void check_nodeports_unique(struct parser *p, const struct ynode *user, const char *where) {
        struct nodeport ports[32];
        size_t n = collect_nodeports(cJSON_GetObjectItem(p->c->dojot.vars, "dojot_nodeports"), "", ports, 0, ELEMENTSOF(ports));
        for (size_t j = 1; j < n; j++)
                for (size_t i = 0; i < j; i++) {
                        if (ports[i].port != ports[j].port)
                                continue;
                        char pi[192], pj[192];
                        snprintf(pi, sizeof(pi), "%s%sdojot_nodeports.%.95s", where, *where ? "." : "", ports[i].path);
                        snprintf(pj, sizeof(pj), "%s%sdojot_nodeports.%.95s", where, *where ? "." : "", ports[j].path);
                        const struct ynode *at = seed_node_at(user, pj);
                        const char *here = pj, *other = pi;
                        if (!at) {
                                at = seed_node_at(user, pi);
                                here = pi, other = pj;
                        }
                        if (!at)
                                continue;
                        schema_error(&p->s, at, "%s: NodePort %lld is also %s%s; two services cannot share a NodePort "
                            "(the API server refuses the second)", here, ports[i].port, other,
                            seed_node_at(user, other) ? "" : " (its default)");
                        break;
                }
}

/* The lb forwards to the dojot NodePorts; without fixed NodePorts
 * Kubernetes picks them at random and the lb sends traffic nowhere. The
 * master's seed decides; an lb seed that says they are not fixed
 * contradicts itself (nodeos-seedgen checks the inventory as a whole). */
static void check_lb_needs_fixed_nodeports(struct parser *p, const struct ynode *user) {
        const struct node_config *c = p->c;
        const struct ynode *at = seed_node_at(user, "dojot.vars.dojot_fixed_nodeports_enabled");
        if (!c->has_lb || c->lb.mode == LB_MODE_NONE || !at || config_dojot_bool(c, "dojot_fixed_nodeports_enabled"))
                return;
        schema_error(&p->s, at, "dojot.vars.dojot_fixed_nodeports_enabled: false, but this lb forwards to the dojot NodePorts, "
            "which Kubernetes then assigns at random; set it to true");
}

/* VerneMQ's NodePort Service has externalTrafficPolicy: Local
 * (docs/dojot-v0.5.0.md#workers): kube-proxy hands an MQTT connection only
 * to a broker on the node it arrived at, so an lb backend without a broker
 * of its own drops every connection sent to it. Fewer VerneMQ replicas than
 * MQTT backends leaves at least one backend without one. */
static void check_brokers_cover_mqtt_backends(struct parser *p, const struct ynode *user) {
        const struct node_config *c = p->c;
        enum dojot_variant v = c->dojot.variant;
        if (!c->has_lb || c->lb.mode == LB_MODE_NONE || (v != VARIANT_VERNEMQ && v != VARIANT_100K && v != VARIANT_VERNEMQ_LWM2M))
                return;
        const struct node_list *mqtt = lb_backends(&c->lb, "mqtt");
        long long replicas = config_dojot_int(c, "dojot_vernemq_replicas");
        if (!mqtt || mqtt->n <= (size_t) replicas)
                return;
        const struct ynode *at = seed_node_at(user, "dojot.vars.dojot_vernemq_replicas");
        if (!at)
                at = seed_node_at(user, "lb.mqtt_nodes");
        schema_error(&p->s, at ? at : user, "dojot.vars.dojot_vernemq_replicas: %lld VerneMQ broker(s) for %zu MQTT backends: with "
            "externalTrafficPolicy: Local a backend without a broker of its own drops the connections sent to it; "
            "set it to at least %zu", replicas, mqtt->n, mqtt->n);
}

static int fill_defaults(struct node_config *c) {
        if (!c->cluster.pod_subnet && !(c->cluster.pod_subnet = strdup("10.244.0.0/16")))   /* docs/dojot-v0.5.0.md#networks */
                return -ENOMEM;
        if (!c->cluster.service_subnet && !(c->cluster.service_subnet = strdup("10.96.0.0/12")))
                return -ENOMEM;
        if (c->cluster.advertise_address && !c->cluster.api_endpoint) {
                bool v6 = strchr(c->cluster.advertise_address, ':') != NULL;
                if (asprintf(&c->cluster.api_endpoint, v6 ? "[%s]:6443" : "%s:6443", c->cluster.advertise_address) < 0)
                        return -ENOMEM;
        }
        return 0;
}

typedef int (*meta_parser)(struct parser *p, const struct ynode *m);

static int parse_documents(const char *meta_data, size_t meta_len, const char *meta_file, meta_parser read_meta,
                           const char *user_data, size_t user_len, const char *user_file,
                           char * const *known_roles, struct node_config **ret, struct diag *d);

int config_parse(const char *meta_data, size_t meta_len, const char *meta_file,
                 const char *user_data, size_t user_len, const char *user_file,
                 char * const *known_roles, struct node_config **ret, struct diag *d) {
        return parse_documents(meta_data, meta_len, meta_file, parse_meta, user_data, user_len, user_file, known_roles, ret, d);
}

int config_parse_config_drive(const char *meta_data, size_t meta_len, const char *meta_file,
                              const char *user_data, size_t user_len, const char *user_file,
                              char * const *known_roles, struct node_config **ret, struct diag *d) {
        return parse_documents(meta_data, meta_len, meta_file, parse_meta_openstack, user_data, user_len, user_file, known_roles,
                               ret, d);
}

static int parse_documents(const char *meta_data, size_t meta_len, const char *meta_file, meta_parser read_meta,
                           const char *user_data, size_t user_len, const char *user_file,
                           char * const *known_roles, struct node_config **ret, struct diag *d) {
        _cleanup_config_ struct node_config *c = calloc(1, sizeof(*c));
        size_t before = diag_count(d);
        if (!c || !(c->meta_data_file = strdup(meta_file)) || !(c->user_data_file = strdup(user_file)) ||
            !(c->dojot.vars = var_default(&(struct var_spec) { "vars", V_MAP, NULL, dojot_vars, 0, 0, F_ANY })))
                return -ENOMEM;
        struct parser p = { .c = c, .known_roles = known_roles, .s = { .diag = d } };

        _cleanup_ynode_ struct ynode *meta = NULL, *user = NULL;
        p.s.file = c->meta_data_file;
        int r = ynode_parse(meta_data, meta_len, c->meta_data_file, &meta, d);
        /* bad input is in d and the parse goes on to report all of it; any
         * other error (out of memory) ends it */
        if (r >= 0)
                r = read_meta(&p, meta);
        if (r < 0 && r != -EINVAL)
                return r;

        p.s.file = c->user_data_file;
        if (user_len < 13 || strncmp(user_data, "#cloud-config", 13) != 0 ||
            (user_len > 13 && user_data[13] != '\n' && user_data[13] != '\r' && user_data[13] != ' '))
                diag_add(d, c->user_data_file, 1, 1, "user-data must start with '#cloud-config' (the NoCloud cloud-config format)");
        else if ((r = ynode_parse(user_data, user_len, c->user_data_file, &user, d)) >= 0)
                r = parse_user(&p, user);
        if (r < 0 && r != -EINVAL)
                return r;

        if (!c->hostname && user && meta && diag_count(d) == before)
                diag_add(d, c->user_data_file, user->line, user->col, "hostname: missing (set hostname, or local-hostname in meta-data)");
        if (user && diag_count(d) == before) {
                check_nodeports_unique(&p, user, "dojot.vars");
                check_lb_needs_fixed_nodeports(&p, user);
                check_brokers_cover_mqtt_backends(&p, user);
        }
        if (diag_count(d) > before)
                return -EINVAL;
        r = fill_defaults(c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int config_load_dir(const char *seed_dir, char * const *known_roles, struct node_config **ret, struct diag *d) {
        _cleanup_free_ char *mp = NULL, *up = NULL, *m = NULL, *u = NULL;
        size_t ml, ul;
        if (asprintf(&mp, "%s/meta-data", seed_dir) < 0 || asprintf(&up, "%s/user-data", seed_dir) < 0)
                return -ENOMEM;
        int r = read_full_file(mp, &m, &ml);
        if (r < 0) {
                diag_add(d, mp, 0, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        r = read_full_file(up, &u, &ul);
        if (r < 0) {
                diag_add(d, up, 0, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        return config_parse(m, ml, mp, u, ul, up, known_roles, ret, d);
}

static void node_list_done(struct node_list *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->nodes[i].name);
                free(l->nodes[i].address);
                free(l->nodes[i].role);
        }
        free(l->nodes);
}

void config_free(struct node_config *c) {
        if (!c)
                return;
        free(c->meta_data_file);
        free(c->user_data_file);
        free(c->instance_id);
        free(c->seed_key);
        free(c->seed_signature);
        free(c->hostname);
        free(c->role);
        free(c->network.interface);
        free(c->network.address);
        free(c->network.gateway);
        strv_free(c->network.dns);
        net_plan_free(c->network_config);
        free(c->cluster.api_endpoint);
        free(c->cluster.advertise_address);
        secret_clear(&c->cluster.token);
        strv_free(c->cluster.ca_cert_hashes);
        free(c->cluster.ca_cert);
        secret_clear(&c->cluster.ca_key);
        free(c->cluster.pod_subnet);
        free(c->cluster.service_subnet);
        node_list_done(&c->cluster.nodes);
        for (size_t i = 0; i < c->lb.n_groups; i++) {
                free(c->lb.groups[i].service);
                node_list_done(&c->lb.groups[i].nodes);
        }
        free(c->lb.groups);
        cJSON_Delete(c->dojot.vars);
        strv_free(c->ssh_authorized_keys);
        free(c);
}

const char *topology_to_string(enum topology t) {
        return t == TOPOLOGY_FEW_DEVICES ? "few-devices" : "100k";
}

const char *lb_mode_to_string(enum lb_mode m) {
        return m == LB_MODE_HAPROXY ? "haproxy" : m == LB_MODE_NGINX ? "nginx" : "none";
}

const char *dojot_variant_to_string(enum dojot_variant v) {
        static const char * const names[] = {
                [VARIANT_VERNEMQ] = "vernemq", [VARIANT_100K] = "100k", [VARIANT_MOSCA] = "mosca",
                [VARIANT_VERNEMQ_LWM2M] = "vernemq+lwm2m", [VARIANT_MOSCA_LWM2M] = "mosca+lwm2m",
        };
        return v < _VARIANT_MAX ? names[v] : "?";
}

bool config_dojot_bool(const struct node_config *c, const char *name) {
        return cJSON_IsTrue(cJSON_GetObjectItem(c->dojot.vars, name));
}

long long config_dojot_int(const struct node_config *c, const char *name) {
        return (long long) cJSON_GetNumberValue(cJSON_GetObjectItem(c->dojot.vars, name));
}

const char *config_dojot_string(const struct node_config *c, const char *name) {
        return cJSON_GetStringValue(cJSON_GetObjectItem(c->dojot.vars, name));
}

int config_check_dojot_vars(const struct ynode *vars, const char *file, struct diag *d) {
        struct node_config c = {};
        size_t before = diag_count(d);
        struct parser p = { .c = &c, .s = { .diag = d, .file = file } };
        if (!(c.dojot.vars = var_default(&(struct var_spec) { "vars", V_MAP, NULL, dojot_vars, 0, 0, F_ANY })))
                return -ENOMEM;
        if (schema_check_kind(&p.s, vars, YNODE_MAPPING, "dojot.yaml") >= 0 && parse_dojot_vars(&p, vars, "") >= 0 &&
            diag_count(d) == before)
                check_nodeports_unique(&p, vars, "");
        cJSON_Delete(c.dojot.vars);
        return diag_count(d) > before ? -EINVAL : 0;
}
