/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* One step of the agent's plan. Every step type has the same small contract:
 * apply() is idempotent (running it twice leaves the node as running it
 * once), reports done/skipped with a short detail, or fails with a negative
 * errno and a one-line reason. Step types are generic mechanisms (write
 * sysctls, make volume dirs, render a file); the role data decides which
 * steps a node gets and with what arguments. */

#include <stdbool.h>
#include "agent/state.h"
#include "agent/sysmgr.h"
#include "basic/chase.h"
#include "shared/basepkg.h"
#include "shared/config.h"
#include "shared/renderer.h"
#include "shared/role.h"

struct agent_ctx {
        const char *root;               /* "/" on a node; a scratch tree with --root */
        bool live;                      /* root is "/": touch the running kernel and services */
        const struct node_config *config;
        const struct role *role;
        const struct role_catalog *catalog;
        const struct base_packages *packages;   /* the image's base package list (basepkg.h) */
        const char *image_store;        /* dir of preloaded image archives (in root) */
        const char *docker_socket;      /* NULL: default */
};

/* What a step's renderer sees of its context: the one place that maps the one
 * onto the other. */
static inline struct render_ctx step_render_ctx(const struct agent_ctx *ctx) {
        return (struct render_ctx) { .config = ctx->config, .role = ctx->role, .catalog = ctx->catalog,
                                     .packages = ctx->packages };
}

struct step;

struct step_result {
        enum step_status status;        /* STEP_DONE or STEP_SKIPPED on success */
        char *detail;                   /* summary, skip reason, or failure reason (new string) */
};

struct step_type {
        const char *kind;
        bool every_boot;                /* re-run at every boot, even for a completed instance */
        int (*apply)(const struct agent_ctx *ctx, const struct step *s, struct step_result *res);
        /* Writes to f what the step's outcome depends on: the seed values it
         * reads, its role data, the file it renders. The run keeps a digest
         * of it per step and applies a done step again when it changes (a
         * seed edited under the same instance-id, a new image whose role
         * data changed). NULL: the step runs once per instance. Never write
         * a secret: the digest is kept in the state file. */
        int (*inputs)(const struct agent_ctx *ctx, const struct step *s, FILE *f);
        /* Changed inputs that cannot be applied in place (cluster membership,
         * the node name once joined): the run refuses them, naming the step,
         * instead of half-applying. NULL: always applied again. */
        bool (*fixed)(const struct agent_ctx *ctx);
};

struct step {
        char *name;                     /* unique in a plan: "sysctl", "file:/etc/haproxy/haproxy.cfg" */
        const struct step_type *type;
        const void *data;               /* e.g. the role_file of a file step */
};

/* Sets res->detail from a format (replacing any previous detail). */
void step_result_set(struct step_result *res, enum step_status st, const char *fmt, ...) _printf_(3, 4);
/* Fails the step: sets the reason and returns r (a negative errno). */
int step_fail(struct step_result *res, int r, const char *fmt, ...) _printf_(3, 4);
/* Runs a helper; a non-zero exit fails the step with the command and the
 * tail of its output. Only call when ctx->live. */
int step_run(struct step_result *res, int timeout_ms, char * const *argv);
/* step_run() for helpers whose output may hold a secret: hide(output, data)
 * masks it before any of it reaches the step's detail; tail_lines of it are kept. */
int step_run_hiding(struct step_result *res, int timeout_ms, char * const *argv, size_t tail_lines,
                    void (*hide)(char *output, const void *data), const void *data);
/* Connects to systemd's manager (sysmgr.h), or fails the step saying so. */
int step_sysmgr_open(struct step_result *res, struct sysmgr **ret);
/* Fails the step with what the manager said about a call that returned r. */
int step_sysmgr_fail(struct step_result *res, const struct sysmgr *m, int r);

/* Image build time: writes role's limits as vendor drop-ins under
 * root/usr/lib/systemd/system (one path per line on stdout), which the limits
 * step then finds in place. */
int limits_bake(const char *root, const struct role *role);

extern const struct step_type step_type_hostname;
extern const struct step_type step_type_network;
extern const struct step_type step_type_ssh_keys;
extern const struct step_type step_type_swap;
extern const struct step_type step_type_kernel_modules;
extern const struct step_type step_type_sysctl;
extern const struct step_type step_type_limits;
extern const struct step_type step_type_volumes;
extern const struct step_type step_type_file;
extern const struct step_type step_type_services;
extern const struct step_type step_type_images;
extern const struct step_type step_type_kubeadm;
extern const struct step_type step_type_manifests;
extern const struct step_type step_type_node_labels;
