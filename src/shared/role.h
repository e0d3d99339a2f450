/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Roles are data: roles/<role>/role.yaml says what a role does to a node;
 * this module loads the catalog into typed structs. The engine never tests a
 * role's name. Schema: roles/README.md. */

#include <stdbool.h>
#include <sys/types.h>
#include "basic/diag.h"
#include "shared/config.h"

/* topology filter: an entry applies to the topologies whose bit is set */
#define TOPOLOGY_BIT(t) (1u << (t))
#define TOPOLOGY_ALL ((1u << _TOPOLOGY_MAX) - 1)

struct role_sysctl {
        char *key;              /* "net.ipv4.ip_local_port_range" */
        char *value;            /* "1024 65535", as /proc/sys prints it */
        char *origin;           /* why: "dojot guide p.29", "kubeadm preflight", "nodeos: our choice" */
        char *value_from;       /* instead of value: "lb_listen_ports" (computed at load) */
        size_t line, col;       /* of the value */
};

struct role_volume {
        char *path;             /* absolute, under /mnt/data */
        uid_t uid;
        gid_t gid;
        mode_t mode;
        unsigned topologies;    /* TOPOLOGY_BIT set */
};

struct role_file {
        char *renderer;         /* a renderer the agent knows: "haproxy", "nginx", "docker-daemon", ... */
        char *dest;             /* absolute path in the node's tree */
        mode_t mode;
        char **check;           /* argv run on the candidate before it replaces dest; "{}" = its path; NULL: none */
        char *when_lb_mode;     /* render only for this lb mode ("haproxy"/"nginx"); NULL: always */
        char *reload;           /* unit to (re)start after a change, or NULL */
};

struct role_limit {
        char *unit;             /* "docker.service" */
        unsigned long long nofile;      /* LimitNOFILE= drop-in value */
        char *origin;
};

struct role_service {
        char *unit;             /* "docker.service" */
        char *when_lb_mode;     /* only for this lb mode; NULL: always */
};

struct manifest_decl;           /* manifests.h */

enum lb_proto { LB_TCP, LB_UDP };

/* A port the lb listens on for one service (role.yaml lb.services[].listeners). */
struct role_lb_listener {
        char *name;             /* "mqtts": haproxy's listen / nginx's upstream name */
        int port;               /* on the lb */
        enum lb_proto proto;
        char *nodeport;         /* the dojot_nodeports entry it forwards to: "mqtts", "apigw.https" */
        char *when;             /* a boolean dojot variable that turns it on; NULL: always */
        bool long_lived;        /* device connections (MQTT): long proxy timeouts */
};

/* A service the lb forwards: the seed's lb.<name>_nodes are its backends. */
struct role_lb_service {
        char *name;             /* "mqtt" */
        unsigned modes;         /* LB_MODE_BIT() of the lb modes that forward it */
        size_t n_listeners;
        struct role_lb_listener *listeners;
};
#define LB_MODE_BIT(m) (1u << (m))

struct role_lb_target {
        char *service;          /* "mqtt", "apigw", ... an lb backend list this role may appear in */
        unsigned topologies;
        size_t line, col;       /* of service, for the catalog's check */
};

struct role {
        char *name;             /* directory name == role.yaml name */
        char *dir;              /* roles/<name> */
        char *description;
        char *group;            /* value of dojot.components/group; NULL for non-Kubernetes roles */
        char *kubernetes;       /* "init", "join" or "none" */
        char **kernel_modules;
        size_t n_sysctls;
        struct role_sysctl *sysctls;
        size_t n_volumes;
        struct role_volume *volumes;
        size_t n_files;
        struct role_file *files;
        size_t n_limits;
        struct role_limit *limits;
        size_t n_lb_targets;
        struct role_lb_target *lb_targets;
        size_t n_services;
        struct role_service *services;  /* units enabled and started, in order */
        size_t n_lb_services;
        struct role_lb_service *lb_services;    /* a load balancer role's services, in order; else none */
        bool swap_off;
        char **images;          /* roles/<name>/images: one image reference per line */
        struct manifest_decl *manifests;        /* cluster manifests this role applies, or NULL */
};

struct role_catalog {
        size_t n;
        struct role **roles;
};

/* Loads one roles/<name>/role.yaml (+ images). Problems go to d with positions. */
int role_load(const char *role_dir, struct role **ret, struct diag *d);
void role_free(struct role *r);

/* Parses a role.yaml text; dirname is the role directory's name, which the
 * file's name: must equal. images are not read (role_load does that). */
int role_parse(const char *buf, size_t len, const char *file, const char *dirname, struct role **ret, struct diag *d);

/* Loads every roles/<x>/role.yaml under dir, sorted by name. */
int role_catalog_load(const char *dir, struct role_catalog **ret, struct diag *d);
void role_catalog_free(struct role_catalog *c);
const struct role *role_catalog_find(const struct role_catalog *c, const char *name);
/* The service named so of any lb role of the catalog, or NULL. */
const struct role_lb_service *role_catalog_lb_service(const struct role_catalog *c, const char *name);
/* The role that forwards in lb mode m (its lb services name the mode), or NULL. */
const struct role *role_catalog_lb_role(const struct role_catalog *c, enum lb_mode m);
/* New strv of the catalog's role names. */
char **role_catalog_names(const struct role_catalog *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct role_catalog *, role_catalog_free)
#define _cleanup_role_catalog_ _cleanup_(role_catalog_freep)

/* Cross-checks a parsed seed against the catalog: lb backends may only be
 * roles whose lb_targets list the service for the seed's topology (only
 * verne nodes behind MQTT in 100k). Errors carry the seed's positions. */
int role_check_config(const struct role_catalog *cat, const struct node_config *c, struct diag *d);
