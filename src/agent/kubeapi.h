/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A small Kubernetes API client over libcurl, for what the master's
 * manifests step needs: discovery, create-or-update of arbitrary objects,
 * node listing and labelling. It speaks to the server a kubeconfig names
 * (kubeadm's admin.conf), with the kubeconfig's CA and client certificate
 * held in memory (curl blobs): the client key is never written elsewhere.
 *
 * Why not server-side apply: it is beta in 1.17 (GA in 1.22) with a
 * managedFields format that changed before GA. Instead an object is created
 * (POST) when absent and otherwise updated with a JSON merge patch
 * (RFC 7386) of the whole manifest, which works for built-in kinds and
 * custom resources alike, keeps server-set fields (clusterIP, defaults) and
 * is a no-op when nothing differs (the resourceVersion then stays). */

#include <stdbool.h>
#include <cjson/cJSON.h>

struct kubeapi;

/* Reads the kubeconfig's current context: server, CA
 * (certificate-authority-data or certificate-authority), client
 * certificate/key (*-data or files) or token, and loads libcurl
 * (-ELIBACC when it cannot, libload.h). *error: new string. */
int kubeapi_open(const char *kubeconfig, struct kubeapi **ret, char **error);
void kubeapi_free(struct kubeapi *k);
const char *kubeapi_server(const struct kubeapi *k);

/* One request. 0 when an HTTP response arrived (any status, in *status;
 * the body in *resp, may be NULL), -errno when none did. */
int kubeapi_request(struct kubeapi *k, const char *method, const char *path, const char *content_type,
                    const char *body, long *status, char **resp, char **error);

/* GET /version answered with 200. */
int kubeapi_ping(struct kubeapi *k, char **error);

enum kube_apply_result { KUBE_CREATED, KUBE_CONFIGURED, KUBE_UNCHANGED };

/* Creates or updates one object. On failure *retryable says whether trying
 * again later may help: the API still coming up, a CRD not yet served, the
 * namespace not yet there, a conflict; not a rejected object. */
int kubeapi_apply(struct kubeapi *k, const cJSON *obj, enum kube_apply_result *res, bool *retryable, char **error);

/* Sets label key=value on a node. -ENOENT: the node is not registered (yet).
 * *changed: whether it had another value. */
int kubeapi_label_node(struct kubeapi *k, const char *node, const char *key, const char *value, bool *changed,
                       char **error);

/* Standard base64 to bytes (whitespace ignored); new buffer. -EINVAL. */
int kube_base64_decode(const char *in, unsigned char **ret, size_t *len);
