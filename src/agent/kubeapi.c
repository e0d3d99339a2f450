/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <string.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include "agent/kubeapi.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/secret.h"
#include "basic/strv.h"
#include "shared/http.h"
#include "shared/libload.h"
#include "shared/yamlnode.h"

#define KUBE_TIMEOUT_MS 30000

/* Discovery of one group/version: kind -> resource name, scope. */
struct kube_gv {
        char *api_version;
        cJSON *resources;       /* the APIResourceList's "resources" */
};

struct kubeapi {
        char *server;           /* "https://host:port", no trailing slash */
        char *ca_pem;           /* NULL: system store */
        char *cert_pem;
        secret key_pem;
        secret token;
        CURL *curl;
        size_t n_gv;
        struct kube_gv *gv;
};

int kube_base64_decode(const char *in, unsigned char **ret, size_t *len) {
        _cleanup_free_ char *clean = malloc(strlen(in) + 1);
        size_t n = 0;
        if (!clean)
                return -ENOMEM;
        for (const char *p = in; *p; p++)
                if (!isspace((unsigned char) *p))
                        clean[n++] = *p;
        clean[n] = 0;
        if (n == 0 || n % 4 != 0)
                return -EINVAL;
        unsigned char *out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        int k = EVP_DecodeBlock(out, (const unsigned char *) clean, (int) n);
        if (k < 0) {
                free(out);
                return -EINVAL;
        }
        /* EVP_DecodeBlock counts the padding as zero bytes */
        size_t l = (size_t) k - (clean[n - 1] == '=') - (clean[n - 2] == '=');
        out[l] = 0;
        *ret = out;
        *len = l;
        return 0;
}

/* --- kubeconfig ------------------------------------------------------------ */

static const struct ynode *named_entry(const struct ynode *root, const char *list, const char *name, const char *field) {
        const struct ynode *l = ynode_get(root, list);
        if (!l || l->kind != YNODE_SEQUENCE)
                return NULL;
        for (size_t i = 0; i < l->n; i++) {
                const struct ynode *n = ynode_get(l->items[i], "name");
                if (n && n->kind == YNODE_SCALAR && (!name || STREQ(n->value, name)))
                        return ynode_get(l->items[i], field);
        }
        return NULL;
}

static const char *scalar(const struct ynode *m, const char *key) {
        const struct ynode *n = m && m->kind == YNODE_MAPPING ? ynode_get(m, key) : NULL;
        return n && n->kind == YNODE_SCALAR && n->value[0] ? n->value : NULL;
}

/* PEM from "<key>-data" (base64) or "<key>" (a file), or NULL. */
static int pem_from(const struct ynode *m, const char *key, char **ret, char **error) {
        char data_key[64];
        snprintf(data_key, sizeof(data_key), "%s-data", key);
        const char *d = scalar(m, data_key), *f = scalar(m, key);
        *ret = NULL;
        if (d) {
                unsigned char *buf;
                size_t len;
                int r = kube_base64_decode(d, &buf, &len);
                if (r < 0)
                        return errorf(error, r, "kubeconfig: %s is not base64", data_key);
                *ret = (char *) buf;
                return 0;
        }
        if (f) {
                int r = read_full_file(f, ret, NULL);
                return r < 0 ? errorf(error, r, "kubeconfig: cannot read %s %s: %s", key, f, strerror(-r)) : r;
        }
        return 0;
}

int kubeapi_open(const char *kubeconfig, struct kubeapi **ret, char **error) {
        _cleanup_free_ char *text = NULL, *key = NULL, *token = NULL;
        _cleanup_ynode_ struct ynode *root = NULL;
        struct diag d = {};
        size_t len;
        int r = read_full_file(kubeconfig, &text, &len);
        if (r < 0)
                return errorf(error, r, "cannot read %s: %s", kubeconfig, strerror(-r));
        r = ynode_parse(text, len, kubeconfig, &root, &d);
        if (r < 0) {
                *error = diag_join(&d);
                diag_done(&d);
                return r;
        }
        const char *current = scalar(root, "current-context");
        const struct ynode *ctx = named_entry(root, "contexts", current, "context");
        const struct ynode *cluster = named_entry(root, "clusters", scalar(ctx, "cluster"), "cluster");
        const struct ynode *user = named_entry(root, "users", scalar(ctx, "user"), "user");
        const char *server = scalar(cluster, "server");
        if (!server || (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0))
                return errorf(error, -EINVAL, "%s: no http(s) server for context '%s'", kubeconfig, current ? current : "(none)");
        struct kubeapi *k = calloc(1, sizeof(*k));
        if (!k || !(k->server = strdup(server))) {
                free(k);
                return -ENOMEM;
        }
        size_t sl = strlen(k->server);
        while (sl > 0 && k->server[sl - 1] == '/')
                k->server[--sl] = 0;
        if ((r = pem_from(cluster, "certificate-authority", &k->ca_pem, error)) < 0 ||
            (r = pem_from(user, "client-certificate", &k->cert_pem, error)) < 0 ||
            (r = pem_from(user, "client-key", &key, error)) < 0)
                goto fail;
        if (key && (r = secret_set(&k->key_pem, key)) < 0)
                goto fail;
        if (key)
                explicit_bzero(key, strlen(key));
        if (scalar(user, "token") && (r = secret_set(&k->token, scalar(user, "token"))) < 0)
                goto fail;
        if (!!k->cert_pem != !!key) {
                r = errorf(error, -EINVAL, "%s: a client certificate needs its key and the other way round", kubeconfig);
                goto fail;
        }
        if ((r = http_handle_new(&k->curl, error)) < 0)
                goto fail;
        *ret = k;
        return 0;
fail:
        kubeapi_free(k);
        return r;
}

void kubeapi_free(struct kubeapi *k) {
        if (!k)
                return;
        free(k->server);
        free(k->ca_pem);
        free(k->cert_pem);
        secret_clear(&k->key_pem);
        secret_clear(&k->token);
        if (k->curl)
                sym_curl_easy_cleanup(k->curl);
        for (size_t i = 0; i < k->n_gv; i++) {
                free(k->gv[i].api_version);
                cJSON_Delete(k->gv[i].resources);
        }
        free(k->gv);
        free(k);
}

const char *kubeapi_server(const struct kubeapi *k) {
        return k->server;
}

/* --- requests ---------------------------------------------------------------- */

int kubeapi_request(struct kubeapi *k, const char *method, const char *path, const char *content_type,
                    const char *body, long *status, char **resp, char **error) {
        _cleanup_free_ char *url = NULL, *ctype = NULL, *auth = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        struct curl_slist *hdrs = NULL;
        struct http_body b = {};
        CURL *c = k->curl;
        const struct http_options o = {
                .timeout_ms = KUBE_TIMEOUT_MS,
                .ca_pem = k->ca_pem,
                .cert_pem = k->cert_pem,
                .key_pem = k->cert_pem ? secret_reveal(&k->key_pem) : NULL,
        };

        *status = 0;
        *resp = NULL;
        if (asprintf(&url, "%s%s", k->server, path) < 0)
                return -ENOMEM;
        sym_curl_easy_reset(c);
        int r = http_handle_setup(c, url, &o, &b, errbuf);
        if (r < 0) {
                free(*error);
                *error = strdup(errbuf);
                return r;
        }
        http_handle_protocols(c, "http,https", NULL);
        sym_curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        hdrs = sym_curl_slist_append(hdrs, "Accept: application/json");
        if (secret_is_set(&k->token)) {
                if (asprintf(&auth, "Authorization: Bearer %s", secret_reveal(&k->token)) < 0)
                        goto oom;
                hdrs = sym_curl_slist_append(hdrs, auth);
        }
        if (body) {
                if (asprintf(&ctype, "Content-Type: %s", content_type ? content_type : "application/json") < 0)
                        goto oom;
                hdrs = sym_curl_slist_append(hdrs, ctype);
                sym_curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                sym_curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
        }
        sym_curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        CURLcode cc = sym_curl_easy_perform(c);
        sym_curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
        sym_curl_slist_free_all(hdrs);
        if (auth)
                explicit_bzero(auth, strlen(auth));
        if (cc != CURLE_OK || b.too_big) {
                free(b.data);
                free(*error);
                *error = strdup(b.too_big ? "response larger than 16 MiB" : errbuf[0] ? errbuf : sym_curl_easy_strerror(cc));
                return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : cc == CURLE_COULDNT_CONNECT ? -ECONNREFUSED : -EIO;
        }
        sym_curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        *resp = b.data;
        return 0;
oom:
        sym_curl_slist_free_all(hdrs);
        return -ENOMEM;
}

/* "HTTP 422: <Status.message>" from an error response. */
static void set_status_error(char **error, const char *what, long status, const char *resp) {
        cJSON *j = resp ? cJSON_Parse(resp) : NULL;
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
        free(*error);
        if (asprintf(error, "%s: HTTP %ld%s%s", what, status, msg ? ": " : "", msg ? msg : "") < 0)
                *error = NULL;
        cJSON_Delete(j);
}

int kubeapi_ping(struct kubeapi *k, char **error) {
        _cleanup_free_ char *resp = NULL;
        long status;
        int r = kubeapi_request(k, "GET", "/version", NULL, NULL, &status, &resp, error);
        if (r < 0)
                return r;
        if (status != 200) {
                set_status_error(error, "GET /version", status, resp);
                return -EIO;
        }
        return 0;
}

/* --- discovery ---------------------------------------------------------------- */

static int discover(struct kubeapi *k, const char *api_version, bool refresh, const cJSON **ret, char **error) {
        struct kube_gv *gv = NULL;
        for (size_t i = 0; i < k->n_gv; i++)
                if (STREQ(k->gv[i].api_version, api_version))
                        gv = &k->gv[i];
        if (gv && !refresh) {
                *ret = gv->resources;
                return 0;
        }
        _cleanup_free_ char *path = NULL, *resp = NULL;
        long status;
        if (asprintf(&path, strchr(api_version, '/') ? "/apis/%s" : "/api/%s", api_version) < 0)
                return -ENOMEM;
        int r = kubeapi_request(k, "GET", path, NULL, NULL, &status, &resp, error);
        if (r < 0)
                return r;
        if (status == 404) {
                free(*error);
                return errorf(error, -ENOENT, "apiVersion %s is not served", api_version);
        }
        if (status != 200) {
                set_status_error(error, path, status, resp);
                return -EIO;
        }
        cJSON *list = cJSON_Parse(resp), *res = cJSON_DetachItemFromObjectCaseSensitive(list, "resources");
        cJSON_Delete(list);
        if (!cJSON_IsArray(res)) {
                cJSON_Delete(res);
                free(*error);
                return errorf(error, -EIO, "%s: not an APIResourceList", path);
        }
        if (!gv) {
                struct kube_gv *a = realloc(k->gv, (k->n_gv + 1) * sizeof(*a));
                if (!a) {
                        cJSON_Delete(res);
                        return -ENOMEM;
                }
                k->gv = a;
                gv = &k->gv[k->n_gv++];
                *gv = (struct kube_gv) { .api_version = strdup(api_version) };
                if (!gv->api_version) {
                        cJSON_Delete(res);
                        return -ENOMEM;
                }
        }
        cJSON_Delete(gv->resources);
        gv->resources = res;
        *ret = res;
        return 0;
}

/* The resource (plural) and scope serving kind at api_version. -ENOENT
 * when not served (yet: a CRD is established asynchronously). */
static int resource_for(struct kubeapi *k, const char *api_version, const char *kind, const char **plural,
                        bool *namespaced, char **error) {
        for (int pass = 0; pass < 2; pass++) {
                const cJSON *res = NULL, *it;
                int r = discover(k, api_version, pass > 0, &res, error);
                if (r < 0)
                        return r;
                cJSON_ArrayForEach(it, res) {
                        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
                        const char *kd = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "kind"));
                        if (name && kd && STREQ(kd, kind) && !strchr(name, '/')) {      /* not a subresource */
                                *plural = name;
                                *namespaced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "namespaced"));
                                return 0;
                        }
                }
        }
        free(*error);
        return errorf(error, -ENOENT, "kind %s is not served at %s", kind, api_version);
}

/* --- apply ---------------------------------------------------------------------- */

static bool status_is_retryable(long status) {
        return status >= 500 || status == 429 || status == 409 || status == 404;
}

static char *resource_version(const char *resp) {
        cJSON *j = resp ? cJSON_Parse(resp) : NULL;
        const char *rv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "metadata"),
                                                                                "resourceVersion"));
        char *s = rv ? strdup(rv) : NULL;
        cJSON_Delete(j);
        return s;
}

int kubeapi_apply(struct kubeapi *k, const cJSON *obj, enum kube_apply_result *res, bool *retryable, char **error) {
        const char *api_version = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "apiVersion"));
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind"));
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
        const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "namespace"));
        _cleanup_free_ char *collection = NULL, *item = NULL, *body = NULL, *resp = NULL, *what = NULL;
        _cleanup_free_ char *rv_before = NULL, *rv_after = NULL;
        const char *plural = NULL;
        bool namespaced = false;
        long status;

        *retryable = false;
        if (!api_version || !kind || !name)
                return -EINVAL;
        int r = resource_for(k, api_version, kind, &plural, &namespaced, error);
        if (r < 0) {
                *retryable = true;      /* API not up, or a CRD not yet established */
                return r;
        }
        if (asprintf(&collection, "%s/%s%s%s/%s", strchr(api_version, '/') ? "/apis" : "/api", api_version,
                     namespaced ? "/namespaces/" : "", namespaced ? (ns ? ns : "default") : "", plural) < 0 ||
            asprintf(&item, "%s/%s", collection, name) < 0 || asprintf(&what, "%s %s", kind, name) < 0 ||
            !(body = cJSON_PrintUnformatted(obj)))
                return -ENOMEM;

        r = kubeapi_request(k, "GET", item, NULL, NULL, &status, &resp, error);
        if (r < 0) {
                *retryable = true;
                return r;
        }
        if (status == 404) {
                free(resp);
                resp = NULL;
                r = kubeapi_request(k, "POST", collection, "application/json", body, &status, &resp, error);
                if (r < 0) {
                        *retryable = true;
                        return r;
                }
                if (status == 201 || status == 200) {
                        *res = KUBE_CREATED;
                        return 0;
                }
                set_status_error(error, what, status, resp);
                *retryable = status_is_retryable(status);       /* 404: its namespace is not there yet */
                return -EIO;
        }
        if (status != 200) {
                set_status_error(error, what, status, resp);
                *retryable = status_is_retryable(status);
                return -EIO;
        }
        rv_before = resource_version(resp);
        free(resp);
        resp = NULL;
        r = kubeapi_request(k, "PATCH", item, "application/merge-patch+json", body, &status, &resp, error);
        if (r < 0) {
                *retryable = true;
                return r;
        }
        if (status != 200) {
                set_status_error(error, what, status, resp);
                *retryable = status_is_retryable(status);
                return -EIO;
        }
        rv_after = resource_version(resp);
        *res = rv_before && rv_after && STREQ(rv_before, rv_after) ? KUBE_UNCHANGED : KUBE_CONFIGURED;
        return 0;
}

int kubeapi_label_node(struct kubeapi *k, const char *node, const char *key, const char *value, bool *changed,
                       char **error) {
        _cleanup_free_ char *path = NULL, *resp = NULL, *body = NULL, *what = NULL;
        long status;
        if (asprintf(&path, "/api/v1/nodes/%s", node) < 0 || asprintf(&what, "node %s", node) < 0)
                return -ENOMEM;
        int r = kubeapi_request(k, "GET", path, NULL, NULL, &status, &resp, error);
        if (r < 0)
                return r;
        if (status == 404)
                return -ENOENT;
        if (status != 200) {
                set_status_error(error, what, status, resp);
                return -EIO;
        }
        cJSON *n = cJSON_Parse(resp);
        const char *have = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n, "metadata"), "labels"), key));
        *changed = !have || !STREQ(have, value);
        cJSON_Delete(n);
        if (!*changed)
                return 0;
        cJSON *patch = cJSON_CreateObject(), *labels = NULL;
        if (!patch || !(labels = cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "metadata"), "labels")) ||
            !cJSON_AddStringToObject(labels, key, value) || !(body = cJSON_PrintUnformatted(patch))) {
                cJSON_Delete(patch);
                return -ENOMEM;
        }
        cJSON_Delete(patch);
        free(resp);
        resp = NULL;
        r = kubeapi_request(k, "PATCH", path, "application/merge-patch+json", body, &status, &resp, error);
        if (r < 0)
                return r;
        if (status != 200) {
                set_status_error(error, what, status, resp);
                return status == 404 ? -ENOENT : -EIO;
        }
        return 0;
}
