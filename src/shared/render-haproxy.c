/* SPDX-License-Identifier: Apache-2.0 */
/* /etc/haproxy/haproxy.cfg for the 100k lb (docs/dojot-v0.5.0.md#haproxy): TCP only, leastconn,
 * health checks that drop nodes without a local VerneMQ. */
#include <string.h>
#include "basic/macro.h"
#include "shared/lbconf.h"
#include "shared/renderer.h"

static void put_addr(FILE *f, const char *a) {
        fprintf(f, strchr(a, ':') ? "[%s]" : "%s", a);
}

/* HAProxy 2.6 loads the system's CA store at every start, reload and check
 * for its HTTP client, which only Lua scripts use, and this file loads none.
 * That is two thirds of `haproxy -c`'s time on Debian 12 (24 ms to 8 ms
 * natively). With verification off for a client that never connects, haproxy
 * skips the load. 1.8 (bionic) has no HTTP client and rejects the keyword. */
static void put_httpclient(FILE *f, const struct base_packages *packages) {
        if (base_package_at_least(packages, "haproxy", 2, 6))
                fputs("    # no Lua here, so haproxy's HTTP client is unused: no system CA store for it\n"
                      "    httpclient.ssl.verify none\n", f);
}

static int emit_haproxy(const struct render_ctx *ctx, FILE *f, char **error) {
        struct lb_listener ls[32];
        int n = lb_listeners(ctx->role, ctx->config, ls, ELEMENTSOF(ls), error);
        if (n < 0)
                return n;
        fputs("# Written by node-agent (role lb, mode haproxy) from the seed; do not edit:\n"
              "# the agent rewrites it. Facts: ansible-dojot v0.5.0 roles/haproxy.\n"
              "global\n"
              "    log /dev/log local0\n"
              "    log /dev/log local1 notice\n"
              "    chroot /var/lib/haproxy\n"
              "    stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners\n"
              "    stats timeout 30s\n"
              "    user haproxy\n"
              "    group haproxy\n"
              "    daemon\n"
              "    # 100,000 clients, one upstream socket each: ~2 fds per connection\n"
              "    maxconn 100000\n"
              "    ulimit-n 200099\n", f);
        put_httpclient(f, ctx->packages);
        fputs("\n"
              "defaults\n"
              "    log global\n"
              "    mode tcp\n"
              "    option tcplog\n"
              "    maxconn 100000\n"
              "    timeout connect 5s\n"
              "    timeout client 300s\n"
              "    timeout server 300s\n"
              "    default-server init-addr last,libc,none\n", f);
        for (int i = 0; i < n; i++) {
                const struct lb_listener *l = &ls[i];
                fprintf(f, "\nlisten %s\n    bind *:%d\n    balance leastconn\n", l->name, l->port);
                for (size_t b = 0; b < l->backends->n; b++) {
                        fprintf(f, "    server %s ", l->backends->nodes[b].name);
                        put_addr(f, l->backends->nodes[b].address);
                        fprintf(f, ":%d check inter 1000ms fall 3 rise 5\n", l->nodeport);
                }
        }
        return 0;
}

static int render_haproxy(const struct render_ctx *ctx, char **ret, char **error) {
        return render_text(ctx, emit_haproxy, ret, error);
}

const struct renderer renderer_haproxy = { .name = "haproxy", .render = render_haproxy };
