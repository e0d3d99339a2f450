/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The manifests' template language (roles/master/manifests/README.md):
 *   {{name}}                   the variable's value (string, integer, bool)
 *   {{#if name}} / {{/if}}     on lines of their own: keep the lines between
 *   {{#unless name}} / {{/unless}}   when the bool is true (false), nestable
 * String values are restricted to [A-Za-z0-9._:/@+-] (or empty), so a seed
 * value cannot change a manifest's YAML structure. */

#include <cjson/cJSON.h>
#include "basic/diag.h"

/* Renders one template text with a variable table (a JSON object of
 * name -> string/number/bool). Exposed for the tests. */
int manifest_template_render(const char *text, const char *file, const cJSON *vars, char **ret, struct diag *diag);
