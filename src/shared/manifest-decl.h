/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* role.yaml's `manifests:` block, typed: the template files in apply order,
 * the tags that select them per dojot variant, the template variables and
 * where in the seed each comes from (roles/README.md, "manifests"). */

#include <stdbool.h>
#include "shared/config.h"
#include "shared/schema.h"
#include "shared/yamlnode.h"

struct manifest_var {
        char *name;
        char *from;                     /* path in the render context: "dojot.dojot_namespace" */
        char *by_topology[_TOPOLOGY_MAX];       /* another path for that topology, or NULL */
};

struct manifest_variant {
        char *name;                     /* a dojot variant: "vernemq", "100k", ... */
        char **tags;
};

struct manifest_set {
        char *file;                     /* relative to the manifests dir, no "/" */
        char **tags;                    /* "always": every variant */
        char *when;                     /* a declared bool var: only when it is true; NULL: always */
};

struct manifest_decl {
        char *dir;                      /* relative to the role's directory */
        int attempts, delay_s;          /* per object, while the API comes up */
        int label_attempts, label_delay_s;      /* waiting for nodes to register */
        size_t n_vars;
        struct manifest_var *vars;
        size_t n_variants;
        struct manifest_variant *variants;
        size_t n_sets;
        struct manifest_set *sets;
        /* node labels the role reconciles on every node of the seed's
         * cluster.nodes whose role has a group (NULL key: none) */
        char *label_key;                /* "dojot.components/group" */
        char *label_values_from;        /* render-context map group -> value; NULL: the group itself */
};

/* Parses role.yaml's `manifests:` mapping (strict; every dojot variant must
 * be declared). Problems go to s->diag with positions: 0, -EINVAL or
 * -ENOMEM. */
int manifest_decl_parse(struct schema_ctx *s, const struct ynode *n, struct manifest_decl **ret);
void manifest_decl_free(struct manifest_decl *d);
