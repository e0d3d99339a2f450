/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the lb forwards, shared by the HAProxy and NGINX renderers: the
 * listen ports, protocols, backend lists and NodePorts of facts §0.7, §5, §6,
 * with the original's defects fixed (443 only when the NodePort exists,
 * 1883 really off when insecure MQTT is off, 5896 included). */

#include <stdbool.h>
#include "shared/config.h"

enum lb_proto { LB_TCP, LB_UDP };

struct lb_listener {
        const char *name;               /* "mqtt", "apigws", ... */
        int port;                       /* listen port on the lb */
        enum lb_proto proto;
        const struct node_list *backends;
        int nodeport;
        bool mqtt;                      /* long-lived device connections */
};

/* Fills out[] (capacity 16) with the listeners this config enables for the
 * given lb software ("haproxy": TCP only, no LwM2M; "nginx": all). */
size_t lb_listeners(const struct node_config *c, bool haproxy, struct lb_listener *out);
