/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The cluster manifests a role applies (the master: flannel, storage, the
 * ten local PVs, dojot), as role data: role.yaml's `manifests:` names the
 * template files in apply order, the deploy.yaml-like tags that select them
 * per dojot variant, and the template variables drawn from the seed. This
 * module parses that declaration, renders the templates and turns them into
 * the JSON objects the API receives. It never names a dojot component.
 *
 * Template syntax (documented in roles/master/manifests/README.md):
 *   {{name}}                   the variable's value (string, integer, bool)
 *   {{#if name}} / {{/if}}     on lines of their own: keep the lines between
 *   {{#unless name}} / {{/unless}}   when the bool is true (false), nestable
 * String values are restricted to [A-Za-z0-9._:/@+-] (or empty), so a seed
 * value cannot change a manifest's YAML structure. */

#include <stdbool.h>
#include <cjson/cJSON.h>
#include "basic/diag.h"
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
 * be declared). Problems go to s->diag with positions. */
bool manifest_decl_parse(struct schema_ctx *s, const struct ynode *n, struct manifest_decl **ret);
void manifest_decl_free(struct manifest_decl *d);

/* The label value for a node of group (a role's group): the render
 * context's label_values_from map entry, else the group itself. New string. */
int manifests_node_label_value(const struct manifest_decl *d, const struct node_config *c, const char *group, char **ret);

/* One rendered set: its file name and text (what --root writes). */
struct manifest_doc {
        char *file;
        char *text;
};

/* One object, in apply order. */
struct manifest_object {
        const char *file;               /* points into the doc's file */
        size_t line;                    /* of the document's first line */
        cJSON *obj;
};

struct manifest_render {
        size_t n_docs;
        struct manifest_doc *docs;
        size_t n_objects;
        struct manifest_object *objects;
};

/* Renders the sets the seed's variant selects, from role_dir/decl->dir, and
 * parses every document into an object (apiVersion, kind and metadata.name
 * required). Errors: "file:line: problem" in diag, -EINVAL; -ENOMEM. */
int manifests_render(const struct manifest_decl *decl, const char *role_dir, const struct node_config *c,
                     struct manifest_render *ret, struct diag *diag);
void manifest_render_done(struct manifest_render *r);

/* The objects as one JSON array, in apply order (new string). */
char *manifests_objects_json(const struct manifest_render *r);

/* Renders one template text with a variable table (a JSON object of
 * name -> string/number/bool). Exposed for the tests. */
int manifest_template_render(const char *text, const char *file, const cJSON *vars, char **ret, struct diag *diag);

/* Parses a multi-document YAML text ("---" lines) into a JSON array of its
 * non-empty documents, with the YAML 1.1 scalar rules Kubernetes' YAML
 * reader applies (true/yes/on, ints, floats, null; quoted scalars are
 * strings). *ret_lines (new array, may be NULL) gets each document's first
 * line. Errors carry file:line:col. Exposed for the tests. */
int manifest_yaml_to_json(const char *text, const char *file, cJSON **ret_array, size_t **ret_lines, struct diag *diag);
