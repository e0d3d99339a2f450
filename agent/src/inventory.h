/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* An ansible-dojot inventory (inventories/<name>/hosts.yaml) as operators
 * already have it: `all.hosts` with ansible_host, nested `children` groups
 * (k8s-nodes > master_nodes/worker_nodes, apigw_nodes, mqtt_nodes,
 * lwm2m_nodes, metrics_nodes, dojot-k8s), where the lb groups list bare
 * addresses as hosts. Parsed into hosts with the flattened set of groups
 * each belongs to (by name, or by address for the lb groups). */

#include <stddef.h>
#include "diag.h"

struct inv_host {
        char *name;             /* inventory name */
        char *address;          /* ansible_host (or the name when it is an address) */
        char *role_var;         /* dojot_role or dojot.components/group host var, if set */
        char *mac;              /* nodeos_mac host var, if set (PXE) */
        char *hostname_var;     /* nodeos_hostname host var, if set */
        char **groups;          /* every group it is in, transitively */
        size_t line, col;
};

struct inventory {
        char *file;
        size_t n;
        struct inv_host *hosts;
        /* group -> addresses/names listed under it that are not defined hosts */
        char **dangling;        /* "group\tref\tline:col" */
};

int inventory_parse(const char *buf, size_t len, const char *file, struct inventory **ret, struct diag *d);
int inventory_load(const char *path, struct inventory **ret, struct diag *d);
void inventory_free(struct inventory *inv);
const struct inv_host *inventory_find(const struct inventory *inv, const char *name_or_address);
/* True when h is in group (by name). */
int inv_host_in(const struct inv_host *h, const char *group);
