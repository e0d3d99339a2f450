/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The inventory's lb vocabulary, read from the role catalog: the lb
 * backend groups are the catalog's lb services (roles/lb/role.yaml
 * lb_services) as "<service>_nodes", which is also the seed's key. The
 * plan itself (seedgen_plan_load) is declared in seedgen.h. */

struct role_catalog;

/* New strv of the catalog's lb services, in the catalog's order. */
char **fleet_lb_services(const struct role_catalog *cat);
/* "mqtt_nodes" for "mqtt" (a static buffer: for one message or lookup). */
const char *fleet_lb_group(const char *service);
