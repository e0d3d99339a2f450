/* SPDX-License-Identifier: Apache-2.0 */
/* /etc/nginx/nginx.conf for the few-devices lb (docs/dojot-v0.5.0.md#nginx): stream proxying
 * of TCP and LwM2M's UDP, least_conn upstreams. One file instead of the
 * original's stream-conf.d includes, so a check covers all of it. */
#include <string.h>
#include "basic/macro.h"
#include "shared/lbconf.h"
#include "shared/renderer.h"

static int emit_nginx(const struct render_ctx *ctx, FILE *f, char **error) {
        struct lb_listener ls[32];
        int n = lb_listeners(ctx->role, ctx->config, ls, ELEMENTSOF(ls), error);
        if (n < 0)
                return n;
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
        return 0;
}

static int render_nginx(const struct render_ctx *ctx, char **ret, char **error) {
        return render_text(ctx, emit_nginx, ret, error);
}

const struct renderer renderer_nginx = { .name = "nginx", .render = render_nginx };
