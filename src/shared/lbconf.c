/* SPDX-License-Identifier: Apache-2.0 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "basic/macro.h"
#include "shared/lbconf.h"

/* dojot_nodeports' entry at a path such as "mqtts" or "apigw.https" */
static int nodeport(const struct node_config *c, const char *path) {
        const cJSON *v = cJSON_GetObjectItem(c->dojot.vars, "dojot_nodeports");
        const char *dot = strchr(path, '.');
        if (dot) {
                _cleanup_free_ char *group = strndup(path, dot - path);
                v = group ? cJSON_GetObjectItem(v, group) : NULL;
                path = dot + 1;
        }
        return (int) cJSON_GetNumberValue(cJSON_GetObjectItem(v, path));
}

int lb_listeners(const struct role *lb_role, const struct node_config *c, struct lb_listener *out, size_t cap, char **error) {
        size_t n = 0;
        for (size_t i = 0; i < lb_role->n_lb_services; i++) {
                const struct role_lb_service *svc = &lb_role->lb_services[i];
                if (!(svc->modes & LB_MODE_BIT(c->lb.mode)))
                        continue;
                for (size_t j = 0; j < svc->n_listeners; j++) {
                        const struct role_lb_listener *l = &svc->listeners[j];
                        const struct node_list *backends = lb_backends(&c->lb, svc->name);
                        /* nothing to forward to: no listener (both renderers) */
                        if ((l->when && !config_dojot_bool(c, l->when)) || backends->n == 0)
                                continue;
                        if (n == cap) {
                                if (asprintf(error, "role %s: more lb listeners than the %zu a renderer takes", lb_role->name, cap) < 0)
                                        *error = NULL;
                                return -E2BIG;
                        }
                        out[n++] = (struct lb_listener) { l->name, l->port, l->proto, backends,
                                                          nodeport(c, l->nodeport), l->long_lived };
                }
        }
        return (int) n;
}
