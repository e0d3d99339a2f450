/* SPDX-License-Identifier: Apache-2.0 */
/* /etc/nginx/nginx.conf for the few-devices lb (facts §5): stream proxying
 * of TCP and LwM2M's UDP, least_conn upstreams. One file instead of the
 * original's stream-conf.d includes, so a check covers all of it. */
#include <string.h>
#include "basic/macro.h"
#include "shared/lbconf.h"
#include "shared/renderer.h"

static int render_nginx(const struct render_ctx *ctx, char **ret, char **error) {
        struct lb_listener ls[32];
        int n = lb_listeners(ctx->role, ctx->config, ls, ELEMENTSOF(ls));
        if (n < 0) {
                if (asprintf(error, "role %s: more lb listeners than the %zu the renderer takes", ctx->role->name, ELEMENTSOF(ls)) < 0)
                        *error = NULL;
                return n;
        }
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fputs("# Written by node-agent (role lb, mode nginx) from the seed; do not edit:\n"
              "# the agent rewrites it. Facts: ansible-dojot v0.5.0 roles/nginx.\n"
              "# Debian runs nginx as www-data (the original's 'nginx' user does not exist here).\n"
              "user www-data;\n"
              "worker_processes auto;\n"
              "worker_rlimit_nofile 800000;\n"
              "pid /run/nginx.pid;\n"
              "error_log /var/log/nginx/error.log;\n"
              "# Debian builds the stream module as a dynamic module\n"
              "include /etc/nginx/modules-enabled/*.conf;\n"
              "\n"
              "events {\n"
              "    worker_connections 400000;\n"
              "}\n"
              "\n"
              "stream {\n"
              "    access_log off;\n", f);
        for (int i = 0; i < n; i++) {
                const struct lb_listener *l = &ls[i];
                if (l->backends->n == 0)
                        continue;
                fprintf(f, "\n    upstream %s {\n        least_conn;\n", l->name);
                if (l->long_lived)
                        fprintf(f, "        zone %s 256k;\n", l->name);
                for (size_t b = 0; b < l->backends->n; b++)
                        fprintf(f, strchr(l->backends->nodes[b].address, ':') ? "        server [%s]:%d;\n" : "        server %s:%d;\n",
                                l->backends->nodes[b].address, l->nodeport);
                fprintf(f, "    }\n    server {\n        listen %d%s;\n        proxy_pass %s;\n", l->port,
                        l->proto == LB_UDP ? " udp" : "", l->name);
                if (l->long_lived)
                        fputs("        proxy_timeout 10m;\n        proxy_connect_timeout 5s;\n        proxy_buffer_size 16k;\n", f);
                fputs("    }\n", f);
        }
        fputs("}\n", f);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}

const struct renderer renderer_nginx = { .name = "nginx", .render = render_nginx };
