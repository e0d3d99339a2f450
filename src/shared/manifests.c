/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <string.h>
#include "basic/fileio.h"
#include "basic/strv.h"
#include "shared/manifests.h"

/* --- rendering the role's sets ------------------------------------------- */

static const cJSON *context_get(const cJSON *ctx, const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        const cJSON *cur = ctx;
        if (!copy)
                return NULL;
        for (char *save = NULL, *tok = strtok_r(copy, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save))
                cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, tok) : NULL;
        return cur;
}

/* What templates may draw from: the seed's dojot vars, the cluster
 * networks, topology and variant. New object. */
static cJSON *render_context(const struct node_config *c) {
        cJSON *ctx = cJSON_CreateObject(), *cl;
        if (!ctx)
                return NULL;
        bool ok = cJSON_AddItemToObject(ctx, "dojot", c->dojot.vars ? cJSON_Duplicate(c->dojot.vars, true) : cJSON_CreateObject()) &&
                  (cl = cJSON_AddObjectToObject(ctx, "cluster")) &&
                  (!c->cluster.pod_subnet || cJSON_AddStringToObject(cl, "pod_subnet", c->cluster.pod_subnet)) &&
                  (!c->cluster.service_subnet || cJSON_AddStringToObject(cl, "service_subnet", c->cluster.service_subnet)) &&
                  cJSON_AddBoolToObject(cl, "kured", c->cluster.kured) &&
                  cJSON_AddStringToObject(ctx, "topology", topology_to_string(c->topology)) &&
                  cJSON_AddStringToObject(ctx, "variant", dojot_variant_to_string(c->dojot.variant));
        if (!ok) {
                cJSON_Delete(ctx);
                return NULL;
        }
        return ctx;
}

/* The variable table for this seed. Unresolvable paths are role-data bugs. */
static int resolve_vars(const struct manifest_decl *d, const struct node_config *c, const char *role_file,
                        cJSON **ret, struct diag *diag) {
        cJSON *ctx = render_context(c), *vars = cJSON_CreateObject();
        int r = 0;
        if (!ctx || !vars) {
                cJSON_Delete(ctx);
                cJSON_Delete(vars);
                return -ENOMEM;
        }
        for (size_t i = 0; i < d->n_vars; i++) {
                const struct manifest_var *v = &d->vars[i];
                const char *path = v->by_topology[c->topology] ? v->by_topology[c->topology] : v->from;
                const cJSON *val = context_get(ctx, path);
                if (!val || !(cJSON_IsString(val) || cJSON_IsNumber(val) || cJSON_IsBool(val))) {
                        diag_add(diag, role_file, 0, 0, "manifests.vars.%s: '%s' is %s", v->name, path,
                                 val ? "not a string, number or bool" : "not in the seed's render context");
                        r = -EINVAL;
                        continue;
                }
                if (!cJSON_AddItemToObject(vars, v->name, cJSON_Duplicate(val, false))) {
                        r = -ENOMEM;
                        break;
                }
        }
        cJSON_Delete(ctx);
        if (r < 0) {
                cJSON_Delete(vars);
                return r;
        }
        *ret = vars;
        return 0;
}

int manifests_node_label_value(const struct manifest_decl *d, const struct node_config *c, const char *group, char **ret) {
        cJSON *ctx = render_context(c);
        if (!ctx)
                return -ENOMEM;
        const cJSON *map = d->label_values_from ? context_get(ctx, d->label_values_from) : NULL;
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(map, group));
        *ret = strdup(v && *v ? v : group);
        cJSON_Delete(ctx);
        return *ret ? 0 : -ENOMEM;
}

static bool set_selected(const struct manifest_set *s, const struct manifest_variant *v) {
        STRV_FOREACH(t, s->tags)
                if (STREQ(*t, "always") || strv_contains(v->tags, *t))
                        return true;
        return false;
}

static const char *json_str(const cJSON *o, const char *key) {
        return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* An object the API can take: apiVersion, kind, metadata.name (the
 * original's kafka-loopback template had no apiVersion, docs/dojot-v0.5.0.md#defects). */
static int check_object_complete(const cJSON *o, const char *file, size_t line, struct diag *diag) {
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
        const char *missing = !json_str(o, "apiVersion") || !*json_str(o, "apiVersion") ? "apiVersion"
                            : !json_str(o, "kind") || !*json_str(o, "kind") ? "kind"
                            : !json_str(md, "name") || !*json_str(md, "name") ? "metadata.name" : NULL;
        if (!missing)
                return 0;
        diag_add(diag, file, line, 1, "object has no %s (a string)", missing);
        return -EINVAL;
}

static bool same_object(const cJSON *a, const cJSON *b) {
        const char *na = json_str(cJSON_GetObjectItemCaseSensitive(a, "metadata"), "namespace");
        const char *nb = json_str(cJSON_GetObjectItemCaseSensitive(b, "metadata"), "namespace");
        const char *ga = json_str(a, "apiVersion"), *gb = json_str(b, "apiVersion");
        /* the same object can be reached through two versions of its group */
        size_t la = strchr(ga, '/') ? (size_t) (strchr(ga, '/') - ga) : 0;
        size_t lb = strchr(gb, '/') ? (size_t) (strchr(gb, '/') - gb) : 0;
        return la == lb && strncmp(ga, gb, la) == 0 && STREQ(json_str(a, "kind"), json_str(b, "kind")) &&
               STREQ(json_str(cJSON_GetObjectItemCaseSensitive(a, "metadata"), "name"),
                     json_str(cJSON_GetObjectItemCaseSensitive(b, "metadata"), "name")) &&
               STREQ(na ? na : "", nb ? nb : "");
}

static int add_objects(struct manifest_render *mr, const char *file, cJSON *arr, const size_t *lines, struct diag *diag) {
        int n = cJSON_GetArraySize(arr), r = 0;
        for (int i = 0; i < n; i++) {
                cJSON *o = cJSON_DetachItemFromArray(arr, 0);
                if (check_object_complete(o, file, lines[i], diag) < 0) {
                        cJSON_Delete(o);
                        r = -EINVAL;
                        continue;
                }
                for (size_t k = 0; k < mr->n_objects; k++)
                        if (same_object(mr->objects[k].obj, o)) {
                                diag_add(diag, file, lines[i], 1, "%s %s is also defined in %s:%zu", json_str(o, "kind"),
                                         json_str(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "name"),
                                         mr->objects[k].file, mr->objects[k].line);
                                r = -EINVAL;
                        }
                if (!GROW(mr->objects, mr->n_objects)) {
                        cJSON_Delete(o);
                        return -ENOMEM;
                }
                mr->objects[mr->n_objects++] = (struct manifest_object) { .file = file, .line = lines[i], .obj = o };
        }
        return r;
}

int manifests_render(const struct manifest_decl *decl, const char *role_dir, const struct node_config *c,
                     struct manifest_render *ret, struct diag *diag) {
        _cleanup_free_ char *role_file = NULL;
        const struct manifest_variant *variant = NULL;
        struct manifest_render mr = {};
        cJSON *vars = NULL;
        int r = 0;

        if (asprintf(&role_file, "%s/role.yaml", role_dir) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < decl->n_variants; i++)
                if (STREQ(decl->variants[i].name, dojot_variant_to_string(c->dojot.variant)))
                        variant = &decl->variants[i];
        if (!variant) {
                diag_add(diag, role_file, 0, 0, "manifests.variants: no entry for variant '%s'",
                         dojot_variant_to_string(c->dojot.variant));
                return -EINVAL;
        }
        r = resolve_vars(decl, c, role_file, &vars, diag);
        if (r < 0)
                return r;
        for (size_t i = 0; i < decl->n_sets && parse_may_go_on(r); i++) {
                const struct manifest_set *s = &decl->sets[i];
                _cleanup_free_ char *path = NULL, *text = NULL, *out = NULL;
                _cleanup_free_ size_t *lines = NULL;
                cJSON *arr = NULL;
                if (!set_selected(s, variant))
                        continue;
                if (s->when) {
                        const cJSON *w = cJSON_GetObjectItemCaseSensitive(vars, s->when);
                        if (!cJSON_IsBool(w)) {
                                diag_add(diag, role_file, 0, 0, "manifests.sets[%zu].when: variable '%s' is not a bool", i, s->when);
                                r = parse_merge(r, -EINVAL);
                                continue;
                        }
                        if (cJSON_IsFalse(w))
                                continue;
                }
                if (asprintf(&path, "%s/%s/%s", role_dir, decl->dir, s->file) < 0) {
                        r = -ENOMEM;
                        break;
                }
                int k = read_full_file(path, &text, NULL);
                if (k < 0) {
                        diag_add(diag, path, 0, 0, "cannot read: %s", strerror(-k));
                        r = parse_merge(r, k == -ENOMEM ? k : -EINVAL);
                        continue;
                }
                k = manifest_template_render(text, path, vars, &out, diag);
                if (k < 0) {
                        r = parse_merge(r, k);
                        continue;
                }
                if (!GROW(mr.docs, mr.n_docs)) {
                        r = -ENOMEM;
                        break;
                }
                struct manifest_doc *doc = &mr.docs[mr.n_docs++];
                doc->file = strdup(s->file);
                doc->text = TAKE_PTR(out);
                if (!doc->file) {
                        r = -ENOMEM;
                        break;
                }
                k = manifest_yaml_to_json(doc->text, path, &arr, &lines, diag);
                if (k >= 0)
                        k = add_objects(&mr, doc->file, arr, lines, diag);
                cJSON_Delete(arr);
                r = parse_merge(r, k);
        }
        cJSON_Delete(vars);
        if (r < 0) {
                manifest_render_done(&mr);
                return r;
        }
        *ret = mr;
        return 0;
}

void manifest_render_done(struct manifest_render *r) {
        for (size_t i = 0; i < r->n_objects; i++)
                cJSON_Delete(r->objects[i].obj);
        free(r->objects);
        for (size_t i = 0; i < r->n_docs; i++) {
                free(r->docs[i].file);
                free(r->docs[i].text);
        }
        free(r->docs);
        *r = (struct manifest_render) {};
}

char *manifests_objects_json(const struct manifest_render *r) {
        cJSON *arr = cJSON_CreateArray();
        char *s = NULL;
        if (!arr)
                return NULL;
        for (size_t i = 0; i < r->n_objects; i++)
                if (!cJSON_AddItemReferenceToArray(arr, r->objects[i].obj))
                        goto out;
        s = cJSON_Print(arr);
out:
        cJSON_Delete(arr);
        return s;
}
