/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <string.h>
#include "basic/fileio.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "shared/yaml2json.h"
#include "shared/yamlnode.h"

/* --- YAML to JSON ---------------------------------------------------------- */

/* A plain scalar as YAML 1.1 (go-yaml v2, which Kubernetes' YAML reader
 * uses) resolves it: null, bool, int (decimal, 0x hex, 0-prefixed octal),
 * float, else a string. */
static cJSON *scalar_to_json(const struct ynode *n) {
        bool b;
        if (n->quoted)
                return cJSON_CreateString(n->value);
        if (ynode_is_null(n))
                return cJSON_CreateNull();
        if (ynode_bool(n, &b) == 0)
                return cJSON_CreateBool(b);
        const char *s = n->value, *digits = s + (*s == '-' || *s == '+');
        char *end;
        if (*digits && isdigit((unsigned char) *digits)) {
                int base = 10;
                if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
                        base = 16;
                else if (digits[0] == '0' && digits[1])
                        base = 8;
                errno = 0;
                long long v = strtoll(s, &end, base);
                if (!*end && errno == 0)
                        return cJSON_CreateNumber((double) v);
        }
        if (*digits && (isdigit((unsigned char) *digits) || *digits == '.') && strpbrk(s, ".eE")) {
                double d = strtod(s, &end);
                if (!*end && strspn(s, "+-0123456789.eE") == strlen(s))
                        return cJSON_CreateNumber(d);
        }
        return cJSON_CreateString(s);
}

static cJSON *ynode_to_json(const struct ynode *n) {
        cJSON *j;
        switch (n->kind) {
        case YNODE_SCALAR:
                return scalar_to_json(n);
        case YNODE_SEQUENCE:
                if (!(j = cJSON_CreateArray()))
                        return NULL;
                for (size_t i = 0; i < n->n; i++) {
                        cJSON *c = ynode_to_json(n->items[i]);
                        if (!c || !cJSON_AddItemToArray(j, c)) {
                                cJSON_Delete(c);
                                cJSON_Delete(j);
                                return NULL;
                        }
                }
                return j;
        case YNODE_MAPPING:
                if (!(j = cJSON_CreateObject()))
                        return NULL;
                for (size_t i = 0; i < n->n; i++) {
                        cJSON *c = ynode_to_json(n->items[i]);
                        if (!c || !cJSON_AddItemToObject(j, n->keys[i]->value, c)) {
                                cJSON_Delete(c);
                                cJSON_Delete(j);
                                return NULL;
                        }
                }
                return j;
        }
        return NULL;
}

/* "---" alone (or followed by blanks or a comment) starts a document. */
static bool is_doc_separator(const char *line, size_t len) {
        if (len < 3 || strncmp(line, "---", 3) != 0)
                return false;
        for (size_t i = 3; i < len; i++) {
                if (line[i] == '#')
                        return true;
                if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
                        return false;
        }
        return true;
}

/* Parses the document of text[start, end), whose first line is first_line,
 * keeping libyaml's positions true to the whole file. */
static int parse_doc(const char *text, size_t start, size_t end, size_t first_line, const char *file,
                     cJSON *arr, size_t **lines, struct diag *diag) {
        _cleanup_free_ char *buf = malloc(first_line - 1 + (end - start) + 1);
        _cleanup_ynode_ struct ynode *root = NULL;
        if (!buf)
                return -ENOMEM;
        memset(buf, '\n', first_line - 1);
        memcpy(buf + first_line - 1, text + start, end - start);
        buf[first_line - 1 + end - start] = 0;
        int r = ynode_parse(buf, first_line - 1 + end - start, file, &root, diag);
        if (r < 0)
                return r;
        if (root->kind == YNODE_MAPPING && root->n == 0)
                return 0;       /* only comments */
        if (root->kind != YNODE_MAPPING) {
                diag_add(diag, file, root->line, root->col, "a Kubernetes object must be a mapping");
                return -EINVAL;
        }
        cJSON *j = ynode_to_json(root);
        if (!j || !cJSON_AddItemToArray(arr, j)) {
                cJSON_Delete(j);
                return -ENOMEM;
        }
        if (lines) {
                int n = cJSON_GetArraySize(arr);
                size_t *l = realloc(*lines, (size_t) n * sizeof(size_t));
                if (!l)
                        return -ENOMEM;
                *lines = l;
                l[n - 1] = root->line;
        }
        return 0;
}

int manifest_yaml_to_json(const char *text, const char *file, cJSON **ret_array, size_t **ret_lines, struct diag *diag) {
        cJSON *arr = cJSON_CreateArray();
        size_t *lines = NULL, doc_start = 0, doc_line = 1, lineno = 0;
        int r = 0;
        if (!arr)
                return -ENOMEM;
        for (size_t pos = 0;;) {
                const char *nl = strchr(text + pos, '\n');
                size_t len = nl ? (size_t) (nl - text - pos) : strlen(text + pos);
                bool last = !nl;
                lineno++;
                if (is_doc_separator(text + pos, len) || last) {
                        size_t end = is_doc_separator(text + pos, len) ? pos : pos + len;
                        if (end > doc_start) {
                                r = parse_merge(r, parse_doc(text, doc_start, end, doc_line, file, arr,
                                                             ret_lines ? &lines : NULL, diag));
                                if (!parse_may_go_on(r))
                                        break;
                        }
                        doc_start = pos + len + (nl ? 1 : 0);
                        doc_line = lineno + 1;
                }
                if (last)
                        break;
                pos += len + 1;
        }
        if (r < 0) {
                cJSON_Delete(arr);
                free(lines);
                return r;
        }
        *ret_array = arr;
        if (ret_lines)
                *ret_lines = lines;
        else
                free(lines);
        return 0;
}
