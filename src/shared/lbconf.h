/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the lb forwards, shared by the HAProxy and NGINX renderers: the
 * listeners of the lb role's services (roles/lb/role.yaml lb_services, the
 * one place the ports, protocols and NodePorts are spelled) that the seed's
 * lb mode and dojot variables turn on, each with the seed's backends. */

#include <stdbool.h>
#include <stddef.h>
#include "shared/config.h"
#include "shared/role.h"

struct lb_listener {
        const char *name;               /* "mqtt", "apigws", ... */
        int port;                       /* listen port on the lb */
        enum lb_proto proto;
        const struct node_list *backends;
        int nodeport;
        bool long_lived;                /* device connections (MQTT) */
};

/* Fills out[] (capacity cap) with the listeners the role forwards for the
 * config's lb mode, those with at least one backend; returns how many, or -E2BIG (why in *error, a new
 * string) when out is too small. */
int lb_listeners(const struct role *lb_role, const struct node_config *c, struct lb_listener *out, size_t cap, char **error);
