/* SPDX-License-Identifier: Apache-2.0 */
/* /etc/docker/daemon.json: the cgroup driver the kubelet also uses, and
 * rotated logs (ansible-dojot v0.6.0's hardening, docs/dojot-v0.5.0.md#cgroup-driver). */
#include <cjson/cJSON.h>
#include <string.h>
#include "shared/cgroup.h"
#include "shared/renderer.h"

static int render_docker_daemon(const struct render_ctx *ctx, char **ret, char **error) {
        (void) ctx;
        (void) error;
        cJSON *o = cJSON_CreateObject(), *opts = cJSON_CreateArray(), *logs = cJSON_CreateObject();
        if (!o || !opts || !logs) {
                cJSON_Delete(o);
                cJSON_Delete(opts);
                cJSON_Delete(logs);
                return -ENOMEM;
        }
        cJSON_AddItemToArray(opts, cJSON_CreateString("native.cgroupdriver=" NODEOS_CGROUP_DRIVER));
        cJSON_AddItemToObject(o, "exec-opts", opts);
        cJSON_AddStringToObject(o, "log-driver", "json-file");
        cJSON_AddStringToObject(logs, "max-size", "100m");
        cJSON_AddItemToObject(o, "log-opts", logs);
        cJSON_AddStringToObject(o, "storage-driver", "overlay2");
        char *s = cJSON_Print(o);
        cJSON_Delete(o);
        if (!s)
                return -ENOMEM;
        char *t = NULL;
        int r = asprintf(&t, "%s\n", s);
        free(s);
        if (r < 0)
                return -ENOMEM;
        *ret = t;
        return 0;
}

const struct renderer renderer_docker_daemon = { .name = "docker-daemon", .render = render_docker_daemon };
