/* SPDX-License-Identifier: Apache-2.0 */
#include <cjson/cJSON.h>
#include "shared/lbconf.h"

static int nodeport(const struct node_config *c, const char *group, const char *key) {
        const cJSON *np = cJSON_GetObjectItem(c->dojot.vars, "dojot_nodeports");
        const cJSON *v = group ? cJSON_GetObjectItem(cJSON_GetObjectItem(np, group), key) : cJSON_GetObjectItem(np, key);
        return (int) cJSON_GetNumberValue(v);
}

size_t lb_listeners(const struct node_config *c, bool haproxy, struct lb_listener *out) {
        const struct lb_config *lb = &c->lb;
        size_t n = 0;
        if (config_dojot_bool(c, "dojot_insecure_mqtt"))
                out[n++] = (struct lb_listener) { "mqtt", 1883, LB_TCP, &lb->mqtt, nodeport(c, NULL, "mqtt"), true };
        out[n++] = (struct lb_listener) { "mqtts", 8883, LB_TCP, &lb->mqtt, nodeport(c, NULL, "mqtts"), true };
        out[n++] = (struct lb_listener) { "apigw", 80, LB_TCP, &lb->apigw, nodeport(c, "apigw", "http"), false };
        /* kong-external has 8443->30002 only with mutual TLS (facts §0.9) */
        if (config_dojot_bool(c, "dojot_apigw_enable_mutual_tls"))
                out[n++] = (struct lb_listener) { "apigws", 443, LB_TCP, &lb->apigw, nodeport(c, "apigw", "https"), false };
        if (haproxy) {
                out[n++] = (struct lb_listener) { "metrics", 8080, LB_TCP, &lb->metrics, nodeport(c, NULL, "metrics"), false };
                return n;
        }
        out[n++] = (struct lb_listener) { "coap", 5683, LB_UDP, &lb->lwm2m, nodeport(c, "lwm2m", "coap"), false };
        out[n++] = (struct lb_listener) { "coaps", 5684, LB_UDP, &lb->lwm2m, nodeport(c, "lwm2m", "coaps"), false };
        out[n++] = (struct lb_listener) { "file_server", 5693, LB_UDP, &lb->lwm2m, nodeport(c, "lwm2m", "file_server"), false };
        out[n++] = (struct lb_listener) { "file_servers", 5694, LB_UDP, &lb->lwm2m, nodeport(c, "lwm2m", "file_servers"), false };
        /* the original never installed coap_http.conf (facts §0.9) */
        out[n++] = (struct lb_listener) { "coap_http", 5896, LB_TCP, &lb->lwm2m, nodeport(c, "lwm2m", "http"), false };
        return n;
}
