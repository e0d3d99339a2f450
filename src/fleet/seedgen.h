/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The fleet side: from an ansible-dojot inventory directory (hosts.yaml +
 * group_vars/all/dojot.yaml), decide each host's role, mint the rollout's
 * CA and bootstrap token, and write one NoCloud seed per node: a directory,
 * a cidata ISO, and an HTTP tree keyed by hostname and MAC. Every seed is
 * checked with the agent's own validation before it is written out.
 *
 * Output layout (OUT_DIR):
 *   seeds/<hostname>/{meta-data,user-data,cidata.iso}   0600
 *   http/hostname/<hostname>/{meta-data,user-data}      0600 (ds=nocloud;s=.../hostname/<hostname>/)
 *   http/mac/<mac>/{meta-data,user-data}                0600 (<mac> as 52-54-00-12-34-56)
 *   ca.crt (0644), ca.key (0600)                        the rollout's CA, kept by every rerun
 *   nodes.tsv                                           hostname, address, role, mac, lb mode, host,
 *                                                       data disk (no secrets; image/make-pxe reads it)
 *   rollout.tsv                                         the rollout's state (rollout.h; no secrets)
 *   tokens/bootstrap-token-<id>.yaml                    0600, a rerun's token as a Secret to apply
 *   retired/<rollout>/                                  a rollout replaced by --new-rollout
 *
 * A rerun into OUT_DIR updates the rollout there (rollout.h): same CA, the
 * unchanged nodes' seeds kept byte for byte, all or nothing. */

#include <stdbool.h>
#include "basic/diag.h"

struct inventory;
struct ynode;
struct role_catalog;

struct seedgen_options {
        const char *inventory_dir;
        const char *out_dir;
        const char *roles_dir;
        const char *ca_cert_file;       /* reuse an existing CA (with ca_key_file) */
        const char *ca_key_file;
        long token_ttl_s;               /* explicit TTL; default 24 h */
        int prefix;                     /* network prefix for the seeds' addresses; default 24 */
        const char *gateway;            /* optional */
        const char *topology;           /* NULL: few-devices with one worker, else 100k */
        const char *variant;            /* NULL: 100k in topology 100k, else vernemq */
        int no_iso;                     /* skip the cidata ISOs (no xorriso/genisoimage) */
        bool new_rollout;               /* OUT_DIR holds a rollout: retire it, start a new one */
        bool kured;                     /* the master's seed: cluster.kured: true */
        char **renew;                   /* hosts (inventory name or hostname) whose seed is written anew */
};

struct seedgen_node {
        char *host;             /* inventory name */
        char *hostname;
        char *address;
        char *role;
        char *lb_mode;          /* lb only */
        char *mac;              /* normalized, 52-54-00-12-34-56; NULL when the inventory has none */
        char *data_disk;        /* a PXE node's state disk (nodeos.data=), or NULL: diskless */
};

struct seedgen_plan {
        size_t n;
        struct seedgen_node *nodes;
        char *topology;
        char *variant;
        struct inventory *inv;
        struct ynode *vars;             /* group_vars/all/dojot.yaml, or NULL when absent */
        struct role_catalog *cat;
};

/* Maps the inventory to nodes and roles; one diag per problem, naming the
 * host (or group) and the key. -EINVAL when the inventory cannot be mapped. */
int seedgen_plan_load(const struct seedgen_options *o, struct seedgen_plan *ret, struct diag *d);
void seedgen_plan_done(struct seedgen_plan *p);
/* True when the rollout has an lb and the inventory leaves
 * dojot_fixed_nodeports_enabled out: the seeds then set it to true. */
bool seedgen_plan_fixes_nodeports(const struct seedgen_plan *p);
/* Does everything: plan, mint, write, validate. Prints a summary on stdout. */
int seedgen_run(const struct seedgen_options *o, struct diag *d);
/* "36", "36h", "90m", "3600s", "7d" -> seconds (a bare number is hours).
 * -EINVAL for anything else, zero, or more than ten years. */
int seedgen_parse_ttl(const char *s, long *ret);
