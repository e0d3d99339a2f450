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

#include <cjson/cJSON.h>
#include "basic/diag.h"
#include "shared/config.h"

#include "shared/manifest-decl.h"
#include "shared/template.h"
#include "shared/yaml2json.h"

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
