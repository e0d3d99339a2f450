/* SPDX-License-Identifier: Apache-2.0 */
/* kubelet-standin: a TEST STAND-IN for the kubelet, for the QEMU tests only
 * (a test overlay installs it with a kubelet.service; never a product image).
 *
 * It does the one thing of the kubelet the cluster tests observe: it
 * registers this node with the API server named in /etc/kubernetes/
 * kubelet.conf, with the labels of --node-labels in /var/lib/kubelet/
 * kubeadm-flags.env (what kubeadm wrote from the JoinConfiguration's
 * kubeletExtraArgs), retrying until the API accepts it. It runs no pods.
 * Like the real kubelet it refuses labels under the kubernetes.io and
 * k8s.io namespaces that 1.16+ reserves (node-role.kubernetes.io/...).
 * Then it stays running, as a service would. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#define TAG "kubelet-standin (TEST STAND-IN, not the kubelet)"

static char *read_all(const char *path) {
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        size_t cap = 4096, n = 0;
        char *b = malloc(cap);
        size_t k;
        while (b && (k = fread(b + n, 1, cap - n - 1, f)) > 0) {
                n += k;
                if (cap - n < 2) {
                        char *nb = realloc(b, cap *= 2);
                        if (!nb) {
                                free(b);
                                b = NULL;
                        } else
                                b = nb;
                }
        }
        fclose(f);
        if (b)
                b[n] = 0;
        return b;
}

/* "server: https://host:port" from a kubeconfig (one cluster, as kubeadm writes) */
static char *kubeconfig_server(const char *kc) {
        const char *p = strstr(kc, "server: ");
        if (!p)
                return NULL;
        p += strlen("server: ");
        size_t n = strcspn(p, " \r\n");
        return strndup(p, n);
}

/* Adds the --node-labels=k=v,k2=v2 of the flags file to labels; 0 or -1 (reserved label). */
static int add_node_labels(const char *flags, cJSON *labels) {
        const char *p = strstr(flags, "--node-labels=");
        if (!p)
                return 0;
        p += strlen("--node-labels=");
        char *list = strndup(p, strcspn(p, " \"\r\n"));
        int r = 0;
        for (char *save = NULL, *kv = strtok_r(list, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(kv, '=');
                if (!eq)
                        continue;
                *eq = 0;
                const char *slash = strchr(kv, '/');
                if (slash && (strstr(kv, "kubernetes.io/") || strstr(kv, "k8s.io/"))) {
                        fprintf(stderr, "%s: unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [%s]\n", TAG, kv);
                        r = -1;
                        continue;
                }
                cJSON_AddStringToObject(labels, kv, eq + 1);
        }
        free(list);
        return r;
}

static size_t sink(char *p, size_t s, size_t n, void *u) {
        (void) p;
        (void) u;
        return s * n;
}

int main(int argc, char **argv) {
        const char *root = argc > 1 ? argv[1] : "";
        char path[512], host[256] = "";
        gethostname(host, sizeof(host) - 1);
        for (char *c = host; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        snprintf(path, sizeof(path), "%s/etc/kubernetes/kubelet.conf", root);
        char *kc = read_all(path);
        snprintf(path, sizeof(path), "%s/var/lib/kubelet/kubeadm-flags.env", root);
        char *flags = read_all(path);
        if (!kc || !flags) {
                fprintf(stderr, "%s: no kubelet.conf or kubeadm-flags.env: this node has not been joined\n", TAG);
                return 1;
        }
        char *server = kubeconfig_server(kc);
        if (!server) {
                fprintf(stderr, "%s: no server in kubelet.conf\n", TAG);
                return 1;
        }
        cJSON *node = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(node, "metadata");
        cJSON_AddStringToObject(node, "apiVersion", "v1");
        cJSON_AddStringToObject(node, "kind", "Node");
        cJSON_AddStringToObject(meta, "name", host);
        cJSON *labels = cJSON_AddObjectToObject(meta, "labels");
        cJSON_AddStringToObject(labels, "kubernetes.io/hostname", host);
        cJSON_AddStringToObject(labels, "kubernetes.io/os", "linux");
        if (add_node_labels(flags, labels) < 0)
                return 1;
        char *body = cJSON_PrintUnformatted(node);
        char url[600];
        snprintf(url, sizeof(url), "%s/api/v1/nodes", server);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        for (int attempt = 1;; attempt++) {
                CURL *h = curl_easy_init();
                struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
                long status = 0;
                curl_easy_setopt(h, CURLOPT_URL, url);
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
                /* a stand-in: the real kubelet authenticates with its client certificate */
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
                curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
                curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
                CURLcode cc = curl_easy_perform(h);
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
                curl_slist_free_all(hd);
                curl_easy_cleanup(h);
                if (cc == CURLE_OK && (status == 201 || status == 200 || status == 409)) {
                        printf("%s: node %s registered with %s (HTTP %ld): %s\n", TAG, host, server, status, body);
                        fflush(stdout);
                        break;
                }
                fprintf(stderr, "%s: registering node %s (attempt %d): %s, HTTP %ld\n", TAG, host, attempt,
                        curl_easy_strerror(cc), status);
                sleep(attempt < 10 ? 2 : 10);
        }
        for (;;)
                pause();
}
