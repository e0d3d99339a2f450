/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Rendered manifests (YAML) into the JSON objects the API server takes. */

#include <stddef.h>
#include <cjson/cJSON.h>
#include "basic/diag.h"

/* Parses a multi-document YAML text ("---" lines) into a JSON array of its
 * non-empty documents, with the YAML 1.1 scalar rules Kubernetes' YAML
 * reader applies (true/yes/on, ints, floats, null; quoted scalars are
 * strings). *ret_lines (new array, may be NULL) gets each document's first
 * line. Errors carry file:line:col. Exposed for the tests. */
int manifest_yaml_to_json(const char *text, const char *file, cJSON **ret_array, size_t **ret_lines, struct diag *diag);
