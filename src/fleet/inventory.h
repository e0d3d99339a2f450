/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* An ansible-dojot inventory (inventories/<name>/hosts.yaml) as operators
 * already have it: `all.hosts` with ansible_host, nested `children` groups
 * (k8s-nodes > master_nodes/worker_nodes, apigw_nodes, mqtt_nodes,
 * lwm2m_nodes, metrics_nodes, dojot-k8s), where the lb groups list bare
 * addresses as hosts. Parsed into hosts with the flattened set of groups
 * each belongs to (by name, or by address for the lb groups). */

#include <stdbool.h>
#include <stddef.h>
#include "basic/diag.h"

/* Host variables read (everything else is left to Ansible):
 *   ansible_host                  the node's address (else the name, when it is one)
 *   dojot_role                    master, dojot, kafka, x509, verne, lb (or a label value)
 *   dojot.components/group        the node label value (dojot, kafka, x509, vernemq)
 *   nodeos_hostname               the hostname (else the inventory name, '_' -> '-')
 *   nodeos_mac, mac, or ansible_default_ipv4: {macaddress: ...}
 *                                 the boot NIC's MAC, for PXE (first one set wins;
 *                                 the last is Ansible's fact name, so an inventory
 *                                 filled from gathered facts works as is)
 *   nodeos_data_disk              the local disk (or partition) that holds a
 *                                 PXE node's state: /dev/..., LABEL=, PARTUUID= */
struct inv_host {
        char *name;             /* inventory name */
        char *address;          /* ansible_host (or the name when it is an address) */
        char *role_var;         /* dojot_role or dojot.components/group host var, if set */
        const char *role_key;   /* which of the two */
        char *mac;              /* MAC host var as written, if set (PXE) */
        const char *mac_key;    /* which variable gave it */
        char *hostname_var;     /* nodeos_hostname host var, if set */
        char *data_disk;        /* nodeos_data_disk host var, if set */
        size_t disk_line, disk_col;
        char **groups;          /* every group it is in, transitively */
        size_t line, col;       /* of its first definition */
        size_t addr_line, addr_col, mac_line, mac_col;  /* of the values, when set */
};

struct inv_group {
        char *name;
        size_t line, col;
};

struct inventory {
        char *file;
        size_t n;
        struct inv_host *hosts;
        size_t n_groups;
        struct inv_group *groups;       /* every group as written, in order */
        /* group -> addresses/names listed under it that are not defined hosts */
        char **dangling;        /* "group\tref\tline:col" */
};

int inventory_parse(const char *buf, size_t len, const char *file, struct inventory **ret, struct diag *d);
int inventory_load(const char *path, struct inventory **ret, struct diag *d);
void inventory_free(struct inventory *inv);
const struct inv_host *inventory_find(const struct inventory *inv, const char *name_or_address);
/* True when h is in group (by name). */
bool inv_host_in(const struct inv_host *h, const char *group);
/* "52:54:00:AB:cd:ef", "52-54-00-ab-cd-ef" or "525400abcdef" -> "52-54-00-ab-cd-ef"
 * (lower case, hyphens: what iPXE's ${mac:hexhyp} expands to, so the HTTP tree
 * and the boot scripts need no translation). 0 or -EINVAL. */
int mac_normalize(const char *s, char ret[static 18]);
