/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A NoCloud seed's network-config file, in either format cloud-init reads
 * (version 1, cloud-init's own; version 2, netplan's), parsed strictly into
 * one typed plan of links and rendered as systemd-networkd files. The keys
 * understood, and what each becomes, are listed in cloud-init/README.md
 * (network-config); anything else is refused at network-config:line:col.
 *
 * Upstream formats: cloud-init's doc/rtd/reference/network-config-format-v1.rst
 * and -v2.rst; netplan's doc/netplan-yaml.md (ethernets, match, set-name). */

#include <stdbool.h>
#include <stddef.h>
#include "basic/diag.h"

struct net_route {
        char *to;               /* CIDR; NULL: the default route of via's family */
        char *via;              /* IP */
        long long metric;       /* -1: none given */
};

struct net_link {
        char *id;               /* v2: the ethernets key; v1: the physical name */
        char *file_stem;        /* "10-nodeos-<id>" with id made safe for a file name */
        char *match_name;       /* networkd Name= pattern; NULL: none */
        char *match_mac;        /* lower-case aa:bb:..; NULL: none */
        char *set_name;         /* rename (a .link file); NULL: none */
        bool dhcp4, dhcp6;
        char **addresses;       /* "IP/prefix" */
        size_t n_routes;
        struct net_route *routes;
        char **dns, **search;
        unsigned mtu;           /* 0: not set */
        size_t line, col;       /* of the link's entry, for messages */
};

struct net_plan {
        char *file;             /* the name used in messages */
        int version;            /* 1 or 2; 0: OpenStack network_data.json */
        size_t n_links;
        struct net_link *links;
};

/* Parses TEXT (the file's contents; FILE names it in messages). Every
 * problem is added to d as "file:line:col: network-config: ..."; 0, -EINVAL
 * (d has them) or -ENOMEM. */
int netconfig_parse(const char *text, size_t len, const char *file, struct net_plan **ret, struct diag *d);
/* The same from an OpenStack config drive's network_data.json (links by
 * MAC, networks ipv4/ipv6 static or DHCP, routes, dns services). */
int netconfig_parse_openstack(const char *text, size_t len, const char *file, struct net_plan **ret, struct diag *d);
void net_plan_free(struct net_plan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct net_plan *, net_plan_free)
#define _cleanup_net_plan_ _cleanup_(net_plan_freep)

/* "the seed's network-config (version 2)", "the config drive's
 * network_data.json": where the plan came from, for messages. */
const char *netconfig_source(const struct net_plan *p);
/* The link's .network file (new string, NULL on ENOMEM). */
char *netconfig_render_network(const struct net_plan *p, const struct net_link *l);
/* The link's .link file when it renames the interface; *ret NULL when it
 * does not. 0 or -ENOMEM. */
int netconfig_render_link(const struct net_plan *p, const struct net_link *l, char **ret);
