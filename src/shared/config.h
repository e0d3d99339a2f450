/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The one config model: a NoCloud seed (meta-data + user-data) parsed once
 * into struct node_config and validated strictly. The schema is documented,
 * key by key, in cloud-init/README.md (schema_version 1). Nothing else in the
 * agent reads the seed's YAML. */

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "basic/diag.h"
#include "basic/secret.h"

#define CONFIG_SCHEMA_VERSION 1

/* Where a value came from, for cross-checks reported after parsing. */
struct config_pos {
        const char *file;       /* points into struct node_config.*_file */
        size_t line, col;
};

enum topology {
        TOPOLOGY_100K,          /* "100k": one group per node (guide pp.17-30) */
        TOPOLOGY_FEW_DEVICES,   /* "few-devices": a single worker holds every volume */
        _TOPOLOGY_MAX,
};

enum lb_mode {
        LB_MODE_NONE,           /* not an lb node */
        LB_MODE_HAPROXY,        /* "haproxy": 100k, TCP only */
        LB_MODE_NGINX,          /* "nginx": few devices, with LwM2M over UDP */
};

/* Which deploy.yaml tag set the master applies (docs/dojot-v0.5.0.md#deploy-order). */
enum dojot_variant {
        VARIANT_VERNEMQ,        /* "vernemq", the default (no tags) */
        VARIANT_100K,           /* "100k" */
        VARIANT_MOSCA,          /* "mosca" */
        VARIANT_VERNEMQ_LWM2M,  /* "vernemq+lwm2m" */
        VARIANT_MOSCA_LWM2M,    /* "mosca+lwm2m" */
        _VARIANT_MAX,
};

struct net_config {
        char *interface;        /* NULL: the first non-loopback interface */
        char *address;          /* "IP/prefix"; NULL: leave the interface alone (DHCP) */
        char *gateway;          /* IP or NULL */
        char **dns;             /* strv of IPs, may be NULL */
        bool present;           /* user-data has a network section */
        struct config_pos pos;  /* of its key */
};

/* A cluster node as the seed names it (lb backends, the master's node list). */
struct node_ref {
        char *name;             /* hostname = Kubernetes node name */
        char *address;          /* IPv4 or IPv6 literal */
        char *role;             /* a role of the catalog */
        struct config_pos pos;
};

struct node_list {
        size_t n;
        struct node_ref *nodes;
};

struct cluster_config {
        char *api_endpoint;     /* "host:port"; workers: required; master: defaults to advertise_address:6443 */
        char *advertise_address;/* master only: IP literal */
        secret token;           /* bootstrap token [a-z0-9]{6}.[a-z0-9]{16} */
        int64_t token_expires;  /* unix seconds, from RFC 3339 "token_expires"; 0 if absent */
        char **ca_cert_hashes;  /* workers: "sha256:<64 hex>" (at least one) */
        char *ca_cert;          /* master: PEM certificate */
        secret ca_key;          /* master: PEM private key */
        char *pod_subnet;       /* CIDR, default 10.244.0.0/16 (docs/dojot-v0.5.0.md#networks) */
        char *service_subnet;   /* CIDR, default 10.96.0.0/12 */
        struct node_list nodes; /* master: every node of the rollout, for label reconciliation */
        bool kured;             /* master: deploy kured, which reboots nodes one at a time for updates */
        struct config_pos kured_pos;    /* where the seed set it; line 0: absent */
        struct config_pos pos;
};

/* One backend list of the lb section, "<service>_nodes": which services
 * exist is the role catalog's data (roles/lb/role.yaml lb.services), checked
 * in role_check_config(), not here. */
struct lb_backends {
        char *service;          /* "mqtt" for mqtt_nodes */
        struct node_list nodes;
        struct config_pos pos;  /* the key */
};

struct lb_config {
        enum lb_mode mode;
        size_t n_groups;
        struct lb_backends *groups;     /* in the seed's order */
        struct config_pos pos;
};

/* The seed's backends for one lb service; an empty list when it has none. */
const struct node_list *lb_backends(const struct lb_config *lb, const char *service);
/* The number of backends over every service. */
size_t lb_backends_total(const struct lb_config *lb);

struct dojot_config {
        enum dojot_variant variant;
        /* The group_vars/all/dojot.yaml variables, by their Ansible names,
         * type-checked against the known set; defaults filled in. */
        cJSON *vars;
};

struct node_config {
        char *meta_data_file;   /* names used in messages */
        char *user_data_file;

        char *instance_id;      /* meta-data instance-id */
        char *seed_key;         /* meta-data nodeos-seed-key: the rollout's Ed25519 key, base64 */
        char *seed_signature;   /* meta-data nodeos-seed-signature, base64; verified by seed.c */
        struct config_pos signature_pos;
        char *hostname;         /* user-data hostname, else meta-data local-hostname */
        char *role;             /* validated against the catalog given to config_parse() */
        enum topology topology;
        struct config_pos role_pos;

        struct net_config network;
        /* The seed's network-config file (netconfig.h), or NULL; set by
         * seed_load_config(). One source of network truth: a seed never has
         * both this and network.present. */
        struct net_plan *network_config;
        bool has_cluster, has_lb;
        struct cluster_config cluster;
        struct lb_config lb;
        struct dojot_config dojot;
        char **ssh_authorized_keys;
};

/* Parses and validates a seed given as text. known_roles is the role
 * catalog's names. Every problem is added to d as "file:line:col: ..."; the
 * return is 0, -EINVAL when d has errors, or -ENOMEM. */
int config_parse(const char *meta_data, size_t meta_len, const char *meta_file,
                 const char *user_data, size_t user_len, const char *user_file,
                 char * const *known_roles, struct node_config **ret, struct diag *d);
/* The same for an OpenStack config drive: META_DATA is its
 * meta_data.json (uuid, hostname, public_keys, ...; cloud-init/README.md,
 * config drive), USER_DATA its user_data, the same #cloud-config. */
int config_parse_config_drive(const char *meta_data, size_t meta_len, const char *meta_file,
                              const char *user_data, size_t user_len, const char *user_file,
                              char * const *known_roles, struct node_config **ret, struct diag *d);

struct ynode;
/* The checks of a seed's dojot.vars, on an inventory's own variables file
 * (ansible-dojot's group_vars/all/dojot.yaml, parsed into vars): problems at
 * that file's lines and columns. 0, -EINVAL (d has them) or -ENOMEM. */
int config_check_dojot_vars(const struct ynode *vars, const char *file, struct diag *d);

/* Reads SEED_DIR/meta-data and SEED_DIR/user-data, then config_parse(). */
int config_load_dir(const char *seed_dir, char * const *known_roles, struct node_config **ret, struct diag *d);

void config_free(struct node_config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct node_config *, config_free)
#define _cleanup_config_ _cleanup_(config_freep)

const char *topology_to_string(enum topology t);        /* "100k", "few-devices" */
const char *lb_mode_to_string(enum lb_mode m);          /* "none", "haproxy", "nginx" */
const char *dojot_variant_to_string(enum dojot_variant v);

/* Typed reads of a dojot variable (its default when the seed omits it). */
bool config_dojot_bool(const struct node_config *c, const char *name);
long long config_dojot_int(const struct node_config *c, const char *name);
const char *config_dojot_string(const struct node_config *c, const char *name);
