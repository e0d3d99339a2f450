/* SPDX-License-Identifier: Apache-2.0 */
/* kubeadm-standin: a TEST STAND-IN for kubeadm v1.17.3, for the QEMU tests
 * only. It is installed as /usr/bin/kubeadm in a test overlay of a guest,
 * never in a product image.
 *
 * It is stricter than kubeadm about the configuration and does nothing
 * kubeadm does to a cluster:
 *   - `init|join --config F [flags]`: F must hold only the documents and
 *     fields that kubeadm 1.17 knows (kubeadm.k8s.io/v1beta2
 *     InitConfiguration, ClusterConfiguration, JoinConfiguration;
 *     kubelet.config.k8s.io/v1beta1 KubeletConfiguration;
 *     kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration; field lists
 *     from the Kubernetes v1.17.3 types.go files), each with its Go type;
 *     unknown or mistyped fields, malformed tokens and pins are errors.
 *   - init writes what kubeadm init would leave for the node and its tests:
 *     /etc/kubernetes/{admin.conf,kubelet.conf} (client certificates signed
 *     by the existing /etc/kubernetes/pki/ca.{crt,key}) and the kubelet's
 *     flags; it starts no control plane.
 *   - join does token discovery as kubeadm does (cluster-info over
 *     unverified TLS, the detached JWS of the token, the CA pin), then
 *     writes /etc/kubernetes/pki/ca.crt, kubelet.conf and the flags.
 *   - `version -o short` prints v1.17.3.
 * KUBEADM_STANDIN_ROOT=DIR writes under DIR instead of /;
 * KUBEADM_STANDIN_VALIDATE_ONLY=1 stops after validating. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <yaml.h>

#define VERSION "v1.17.3"
#define BANNER "kubeadm-standin: TEST STAND-IN for kubeadm " VERSION " (qemu-tests only, not kubeadm): " \
               "validates the configuration strictly and writes the files kubeadm would; it runs no control plane"

/* ---- schema ------------------------------------------------------------- */

enum kind {
        K_STRING, K_BOOL, K_INT, K_FLOAT, K_DURATION, K_TIME, K_TOKEN, K_OBJECT,
        K_LIST_STRING, K_LIST_OBJECT, K_MAP_STRING, K_MAP_BOOL, K_MAP_LIST_STRING,
};

struct field {
        const char *name;
        enum kind kind;
        const struct field *sub;        /* K_OBJECT, K_LIST_OBJECT */
};

#define END { NULL, 0, NULL }
#define TYPEMETA { "apiVersion", K_STRING, NULL }, { "kind", K_STRING, NULL }

/* kubeadm.k8s.io/v1beta2 (cmd/kubeadm/app/apis/kubeadm/v1beta2/types.go) */
static const struct field f_api_endpoint[] = { { "advertiseAddress", K_STRING, NULL }, { "bindPort", K_INT, NULL }, END };
static const struct field f_taint[] = {
        { "key", K_STRING, NULL }, { "value", K_STRING, NULL }, { "effect", K_STRING, NULL }, { "timeAdded", K_TIME, NULL }, END };
static const struct field f_node_registration[] = {
        { "name", K_STRING, NULL }, { "criSocket", K_STRING, NULL }, { "taints", K_LIST_OBJECT, f_taint },
        { "kubeletExtraArgs", K_MAP_STRING, NULL }, { "ignorePreflightErrors", K_LIST_STRING, NULL }, END };
static const struct field f_bootstrap_token[] = {
        { "token", K_TOKEN, NULL }, { "description", K_STRING, NULL }, { "ttl", K_DURATION, NULL },
        { "expires", K_TIME, NULL }, { "usages", K_LIST_STRING, NULL }, { "groups", K_LIST_STRING, NULL }, END };
static const struct field f_init[] = {
        TYPEMETA, { "bootstrapTokens", K_LIST_OBJECT, f_bootstrap_token }, { "nodeRegistration", K_OBJECT, f_node_registration },
        { "localAPIEndpoint", K_OBJECT, f_api_endpoint }, { "certificateKey", K_STRING, NULL }, END };
static const struct field f_host_path_mount[] = {
        { "name", K_STRING, NULL }, { "hostPath", K_STRING, NULL }, { "mountPath", K_STRING, NULL },
        { "readOnly", K_BOOL, NULL }, { "pathType", K_STRING, NULL }, END };
static const struct field f_component[] = {
        { "extraArgs", K_MAP_STRING, NULL }, { "extraVolumes", K_LIST_OBJECT, f_host_path_mount }, END };
static const struct field f_api_server[] = {
        { "extraArgs", K_MAP_STRING, NULL }, { "extraVolumes", K_LIST_OBJECT, f_host_path_mount },
        { "certSANs", K_LIST_STRING, NULL }, { "timeoutForControlPlane", K_DURATION, NULL }, END };
static const struct field f_dns[] = {
        { "type", K_STRING, NULL }, { "imageRepository", K_STRING, NULL }, { "imageTag", K_STRING, NULL }, END };
static const struct field f_local_etcd[] = {
        { "imageRepository", K_STRING, NULL }, { "imageTag", K_STRING, NULL }, { "dataDir", K_STRING, NULL },
        { "extraArgs", K_MAP_STRING, NULL }, { "serverCertSANs", K_LIST_STRING, NULL }, { "peerCertSANs", K_LIST_STRING, NULL }, END };
static const struct field f_external_etcd[] = {
        { "endpoints", K_LIST_STRING, NULL }, { "caFile", K_STRING, NULL }, { "certFile", K_STRING, NULL },
        { "keyFile", K_STRING, NULL }, END };
static const struct field f_etcd[] = { { "local", K_OBJECT, f_local_etcd }, { "external", K_OBJECT, f_external_etcd }, END };
static const struct field f_networking[] = {
        { "serviceSubnet", K_STRING, NULL }, { "podSubnet", K_STRING, NULL }, { "dnsDomain", K_STRING, NULL }, END };
static const struct field f_cluster[] = {
        TYPEMETA, { "etcd", K_OBJECT, f_etcd }, { "networking", K_OBJECT, f_networking },
        { "kubernetesVersion", K_STRING, NULL }, { "controlPlaneEndpoint", K_STRING, NULL },
        { "apiServer", K_OBJECT, f_api_server }, { "controllerManager", K_OBJECT, f_component },
        { "scheduler", K_OBJECT, f_component }, { "dns", K_OBJECT, f_dns }, { "certificatesDir", K_STRING, NULL },
        { "imageRepository", K_STRING, NULL }, { "useHyperKubeImage", K_BOOL, NULL }, { "featureGates", K_MAP_BOOL, NULL },
        { "clusterName", K_STRING, NULL }, END };
static const struct field f_bootstrap_token_discovery[] = {
        { "token", K_TOKEN, NULL }, { "apiServerEndpoint", K_STRING, NULL }, { "caCertHashes", K_LIST_STRING, NULL },
        { "unsafeSkipCAVerification", K_BOOL, NULL }, END };
static const struct field f_file_discovery[] = { { "kubeConfigPath", K_STRING, NULL }, END };
static const struct field f_discovery[] = {
        { "bootstrapToken", K_OBJECT, f_bootstrap_token_discovery }, { "file", K_OBJECT, f_file_discovery },
        { "tlsBootstrapToken", K_TOKEN, NULL }, { "timeout", K_DURATION, NULL }, END };
static const struct field f_join_control_plane[] = {
        { "localAPIEndpoint", K_OBJECT, f_api_endpoint }, { "certificateKey", K_STRING, NULL }, END };
static const struct field f_join[] = {
        TYPEMETA, { "nodeRegistration", K_OBJECT, f_node_registration }, { "caCertPath", K_STRING, NULL },
        { "discovery", K_OBJECT, f_discovery }, { "controlPlane", K_OBJECT, f_join_control_plane }, END };

/* kubelet.config.k8s.io/v1beta1 (staging/src/k8s.io/kubelet/config/v1beta1/types.go, v1.17.3) */
static const struct field f_kubelet_x509[] = { { "clientCAFile", K_STRING, NULL }, END };
static const struct field f_kubelet_webhook_authn[] = { { "enabled", K_BOOL, NULL }, { "cacheTTL", K_DURATION, NULL }, END };
static const struct field f_kubelet_anonymous[] = { { "enabled", K_BOOL, NULL }, END };
static const struct field f_kubelet_authn[] = {
        { "x509", K_OBJECT, f_kubelet_x509 }, { "webhook", K_OBJECT, f_kubelet_webhook_authn },
        { "anonymous", K_OBJECT, f_kubelet_anonymous }, END };
static const struct field f_kubelet_webhook_authz[] = {
        { "cacheAuthorizedTTL", K_DURATION, NULL }, { "cacheUnauthorizedTTL", K_DURATION, NULL }, END };
static const struct field f_kubelet_authz[] = { { "mode", K_STRING, NULL }, { "webhook", K_OBJECT, f_kubelet_webhook_authz }, END };
static const struct field f_kubelet[] = {
        TYPEMETA,
        { "staticPodPath", K_STRING, NULL }, { "syncFrequency", K_DURATION, NULL }, { "fileCheckFrequency", K_DURATION, NULL },
        { "httpCheckFrequency", K_DURATION, NULL }, { "staticPodURL", K_STRING, NULL },
        { "staticPodURLHeader", K_MAP_LIST_STRING, NULL }, { "address", K_STRING, NULL }, { "port", K_INT, NULL },
        { "readOnlyPort", K_INT, NULL }, { "tlsCertFile", K_STRING, NULL }, { "tlsPrivateKeyFile", K_STRING, NULL },
        { "tlsCipherSuites", K_LIST_STRING, NULL }, { "tlsMinVersion", K_STRING, NULL }, { "rotateCertificates", K_BOOL, NULL },
        { "serverTLSBootstrap", K_BOOL, NULL }, { "authentication", K_OBJECT, f_kubelet_authn },
        { "authorization", K_OBJECT, f_kubelet_authz }, { "registryPullQPS", K_INT, NULL }, { "registryBurst", K_INT, NULL },
        { "eventRecordQPS", K_INT, NULL }, { "eventBurst", K_INT, NULL }, { "enableDebuggingHandlers", K_BOOL, NULL },
        { "enableContentionProfiling", K_BOOL, NULL }, { "healthzPort", K_INT, NULL }, { "healthzBindAddress", K_STRING, NULL },
        { "oomScoreAdj", K_INT, NULL }, { "clusterDomain", K_STRING, NULL }, { "clusterDNS", K_LIST_STRING, NULL },
        { "streamingConnectionIdleTimeout", K_DURATION, NULL }, { "nodeStatusUpdateFrequency", K_DURATION, NULL },
        { "nodeStatusReportFrequency", K_DURATION, NULL }, { "nodeLeaseDurationSeconds", K_INT, NULL },
        { "imageMinimumGCAge", K_DURATION, NULL }, { "imageGCHighThresholdPercent", K_INT, NULL },
        { "imageGCLowThresholdPercent", K_INT, NULL }, { "volumeStatsAggPeriod", K_DURATION, NULL },
        { "kubeletCgroups", K_STRING, NULL }, { "systemCgroups", K_STRING, NULL }, { "cgroupRoot", K_STRING, NULL },
        { "cgroupsPerQOS", K_BOOL, NULL }, { "cgroupDriver", K_STRING, NULL }, { "cpuManagerPolicy", K_STRING, NULL },
        { "cpuManagerReconcilePeriod", K_DURATION, NULL }, { "topologyManagerPolicy", K_STRING, NULL },
        { "qosReserved", K_MAP_STRING, NULL }, { "runtimeRequestTimeout", K_DURATION, NULL }, { "hairpinMode", K_STRING, NULL },
        { "maxPods", K_INT, NULL }, { "podCIDR", K_STRING, NULL }, { "podPidsLimit", K_INT, NULL },
        { "resolvConf", K_STRING, NULL }, { "cpuCFSQuota", K_BOOL, NULL }, { "cpuCFSQuotaPeriod", K_DURATION, NULL },
        { "maxOpenFiles", K_INT, NULL }, { "contentType", K_STRING, NULL }, { "kubeAPIQPS", K_INT, NULL },
        { "kubeAPIBurst", K_INT, NULL }, { "serializeImagePulls", K_BOOL, NULL }, { "evictionHard", K_MAP_STRING, NULL },
        { "evictionSoft", K_MAP_STRING, NULL }, { "evictionSoftGracePeriod", K_MAP_STRING, NULL },
        { "evictionPressureTransitionPeriod", K_DURATION, NULL }, { "evictionMaxPodGracePeriod", K_INT, NULL },
        { "evictionMinimumReclaim", K_MAP_STRING, NULL }, { "podsPerCore", K_INT, NULL },
        { "enableControllerAttachDetach", K_BOOL, NULL }, { "protectKernelDefaults", K_BOOL, NULL },
        { "makeIPTablesUtilChains", K_BOOL, NULL }, { "iptablesMasqueradeBit", K_INT, NULL }, { "iptablesDropBit", K_INT, NULL },
        { "featureGates", K_MAP_BOOL, NULL }, { "failSwapOn", K_BOOL, NULL }, { "containerLogMaxSize", K_STRING, NULL },
        { "containerLogMaxFiles", K_INT, NULL }, { "configMapAndSecretChangeDetectionStrategy", K_STRING, NULL },
        { "systemReserved", K_MAP_STRING, NULL }, { "kubeReserved", K_MAP_STRING, NULL }, { "reservedSystemCPUs", K_STRING, NULL },
        { "systemReservedCgroup", K_STRING, NULL }, { "kubeReservedCgroup", K_STRING, NULL },
        { "enforceNodeAllocatable", K_LIST_STRING, NULL }, { "allowedUnsafeSysctls", K_LIST_STRING, NULL }, END };

/* kubeproxy.config.k8s.io/v1alpha1 (staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go and
 * component-base ClientConnectionConfiguration, v1.17.3) */
static const struct field f_client_connection[] = {
        { "kubeconfig", K_STRING, NULL }, { "acceptContentTypes", K_STRING, NULL }, { "contentType", K_STRING, NULL },
        { "qps", K_FLOAT, NULL }, { "burst", K_INT, NULL }, END };
static const struct field f_proxy_iptables[] = {
        { "masqueradeBit", K_INT, NULL }, { "masqueradeAll", K_BOOL, NULL }, { "syncPeriod", K_DURATION, NULL },
        { "minSyncPeriod", K_DURATION, NULL }, END };
static const struct field f_proxy_ipvs[] = {
        { "syncPeriod", K_DURATION, NULL }, { "minSyncPeriod", K_DURATION, NULL }, { "scheduler", K_STRING, NULL },
        { "excludeCIDRs", K_LIST_STRING, NULL }, { "strictARP", K_BOOL, NULL }, END };
static const struct field f_proxy_conntrack[] = {
        { "maxPerCore", K_INT, NULL }, { "min", K_INT, NULL }, { "tcpEstablishedTimeout", K_DURATION, NULL },
        { "tcpCloseWaitTimeout", K_DURATION, NULL }, END };
static const struct field f_proxy_winkernel[] = {
        { "networkName", K_STRING, NULL }, { "sourceVip", K_STRING, NULL }, { "enableDSR", K_BOOL, NULL }, END };
static const struct field f_proxy[] = {
        TYPEMETA, { "featureGates", K_MAP_BOOL, NULL }, { "bindAddress", K_STRING, NULL },
        { "healthzBindAddress", K_STRING, NULL }, { "metricsBindAddress", K_STRING, NULL }, { "enableProfiling", K_BOOL, NULL },
        { "clusterCIDR", K_STRING, NULL }, { "hostnameOverride", K_STRING, NULL },
        { "clientConnection", K_OBJECT, f_client_connection }, { "iptables", K_OBJECT, f_proxy_iptables },
        { "ipvs", K_OBJECT, f_proxy_ipvs }, { "oomScoreAdj", K_INT, NULL }, { "mode", K_STRING, NULL },
        { "portRange", K_STRING, NULL }, { "udpIdleTimeout", K_DURATION, NULL }, { "conntrack", K_OBJECT, f_proxy_conntrack },
        { "configSyncPeriod", K_DURATION, NULL }, { "nodePortAddresses", K_LIST_STRING, NULL },
        { "winkernel", K_OBJECT, f_proxy_winkernel }, END };

struct doc_type {
        const char *api_version, *kind;
        const struct field *fields;
};

static const struct doc_type doc_types[] = {
        { "kubeadm.k8s.io/v1beta2", "InitConfiguration", f_init },
        { "kubeadm.k8s.io/v1beta2", "ClusterConfiguration", f_cluster },
        { "kubeadm.k8s.io/v1beta2", "JoinConfiguration", f_join },
        { "kubelet.config.k8s.io/v1beta1", "KubeletConfiguration", f_kubelet },
        { "kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration", f_proxy },
};

/* ---- checking ----------------------------------------------------------- */

static const char *config_file;
static unsigned n_errors;

static void errorf(const yaml_node_t *n, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "kubeadm-standin: %s:%zu:%zu: ", config_file, n ? n->start_mark.line + 1 : 0,
                n ? n->start_mark.column + 1 : 0);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        n_errors++;
}

/* How Go's YAML decoder (yaml.v2, YAML 1.1) types a plain scalar. */
enum scalar_type { S_NULL, S_BOOL, S_INT, S_FLOAT, S_STRING };

static enum scalar_type scalar_type(const yaml_node_t *n) {
        const char *v = (const char *) n->data.scalar.value;
        static const char * const bools[] = { "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True",
                                              "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF" };
        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return S_STRING;
        if (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"))
                return S_NULL;
        for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
                if (!strcmp(v, bools[i]))
                        return S_BOOL;
        char *end;
        errno = 0;
        (void) strtoll(v, &end, 0);
        if (!*end && end != v)
                return S_INT;
        (void) strtod(v, &end);
        if (!*end && end != v && strspn(v, "+-0123456789.eE") == strlen(v))
                return S_FLOAT;
        return S_STRING;
}

static const char *scalar_type_name(enum scalar_type t) {
        return (const char *[]) { "null", "bool", "number", "number", "string" }[t];
}

/* Go's time.ParseDuration: [-+]?(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h) repeated, or "0".
 * With ret, also its value in seconds. */
static bool parse_duration(const char *s, double *ret) {
        static const struct { const char *unit; double seconds; } units[] = {
                { "ns", 1e-9 }, { "us", 1e-6 }, { "\xc2\xb5s", 1e-6 }, { "ms", 1e-3 }, { "s", 1 }, { "m", 60 }, { "h", 3600 },
        };
        double sign = *s == '-' ? -1 : 1, total = 0;
        if (*s == '-' || *s == '+')
                s++;
        if (!strcmp(s, "0") || !*s) {
                if (ret)
                        *ret = 0;
                return *s != 0;
        }
        while (*s) {
                const char *start = s;
                size_t digits = strspn(s, "0123456789");
                s += digits;
                if (*s == '.') {
                        s++;
                        size_t frac = strspn(s, "0123456789");
                        s += frac;
                        digits += frac;
                }
                if (!digits)
                        return false;
                double v = strtod(start, NULL);
                size_t best = 0, unit = 0;
                for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                        if (!strncmp(s, units[i].unit, strlen(units[i].unit)) && strlen(units[i].unit) > best)
                                best = strlen(units[i].unit), unit = i;
                if (!best)
                        return false;
                total += v * units[unit].seconds;
                s += best;
        }
        if (ret)
                *ret = sign * total;
        return true;
}

/* RFC 3339 as metav1.Time reads it: 2006-01-02T15:04:05(.frac)?(Z|±hh:mm). */
static bool is_rfc3339(const char *s) {
        int y, mo, d, h, mi, se, n = 0;
        if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 19)
                return false;
        s += 19;
        if (*s == '.')
                for (s++; isdigit((unsigned char) *s); s++)
                        ;
        if (!strcmp(s, "Z"))
                return true;
        return (s[0] == '+' || s[0] == '-') && isdigit((unsigned char) s[1]) && isdigit((unsigned char) s[2]) && s[3] == ':' &&
               isdigit((unsigned char) s[4]) && isdigit((unsigned char) s[5]) && !s[6];
}

/* kubeadm's BootstrapTokenString: ^([a-z0-9]{6})\.([a-z0-9]{16})$ */
static bool is_token(const char *t) {
        if (strlen(t) != 23 || t[6] != '.')
                return false;
        for (size_t i = 0; i < 23; i++)
                if (i != 6 && !(islower((unsigned char) t[i]) || isdigit((unsigned char) t[i])))
                        return false;
        return true;
}

static void check_node(yaml_document_t *doc, yaml_node_t *n, enum kind kind, const struct field *sub, const char *path);

static void check_mapping(yaml_document_t *doc, yaml_node_t *n, const struct field *fields, const char *path) {
        if (n->type != YAML_MAPPING_NODE) {
                if (!(n->type == YAML_SCALAR_NODE && scalar_type(n) == S_NULL))
                        errorf(n, "%s: want an object", path);
                return;
        }
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
                if (k->type != YAML_SCALAR_NODE) {
                        errorf(k, "%s: a key must be a string", path);
                        continue;
                }
                const char *name = (const char *) k->data.scalar.value;
                for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
                        yaml_node_t *k2 = yaml_document_get_node(doc, q->key);
                        if (k2->type == YAML_SCALAR_NODE && !strcmp((const char *) k2->data.scalar.value, name))
                                errorf(k, "%s: duplicate field \"%s\"", path, name);
                }
                const struct field *f = fields;
                while (f->name && strcmp(f->name, name) != 0)
                        f++;
                char sub[512];
                snprintf(sub, sizeof(sub), "%s.%s", path, name);
                if (!f->name) {
                        /* JSON field names match case-insensitively in Go, but
                         * kubeadm's own files use the exact case: say which */
                        const struct field *g = fields;
                        while (g->name && strcasecmp(g->name, name) != 0)
                                g++;
                        if (g->name)
                                errorf(k, "%s: unknown field \"%s\" (did you mean \"%s\"?)", path, name, g->name);
                        else
                                errorf(k, "%s: unknown field \"%s\"", path, name);
                        continue;
                }
                check_node(doc, v, f->kind, f->sub, sub);
        }
}

static void check_scalar(yaml_node_t *n, enum kind kind, const char *path) {
        if (n->type != YAML_SCALAR_NODE) {
                errorf(n, "%s: want a scalar, not a %s", path, n->type == YAML_MAPPING_NODE ? "mapping" : "sequence");
                return;
        }
        enum scalar_type t = scalar_type(n);
        const char *v = (const char *) n->data.scalar.value;
        if (t == S_NULL)
                return;
        switch (kind) {
        case K_BOOL:
                if (t != S_BOOL)
                        errorf(n, "%s: cannot unmarshal %s \"%s\" into a bool", path, scalar_type_name(t), v);
                break;
        case K_INT:
                if (t != S_INT)
                        errorf(n, "%s: cannot unmarshal %s \"%s\" into an integer", path, scalar_type_name(t), v);
                break;
        case K_FLOAT:
                if (t != S_INT && t != S_FLOAT)
                        errorf(n, "%s: cannot unmarshal %s \"%s\" into a number", path, scalar_type_name(t), v);
                break;
        case K_STRING:
        case K_DURATION:
        case K_TIME:
        case K_TOKEN:
                if (t != S_STRING) {
                        errorf(n, "%s: cannot unmarshal %s %s into a string", path, scalar_type_name(t), v);
                        break;
                }
                if (kind == K_DURATION && !parse_duration(v, NULL))
                        errorf(n, "%s: \"%s\" is not a duration like 4m0s", path, v);
                if (kind == K_TIME && !is_rfc3339(v))
                        errorf(n, "%s: \"%s\" is not an RFC 3339 time", path, v);
                if (kind == K_TOKEN && !is_token(v))
                        errorf(n, "%s: the bootstrap token does not match [a-z0-9]{6}.[a-z0-9]{16}", path);
                break;
        default:
                break;
        }
}

static void check_node(yaml_document_t *doc, yaml_node_t *n, enum kind kind, const struct field *sub, const char *path) {
        char item[512];
        switch (kind) {
        case K_OBJECT:
                check_mapping(doc, n, sub, path);
                return;
        case K_LIST_STRING:
        case K_LIST_OBJECT:
                if (n->type != YAML_SEQUENCE_NODE) {
                        if (!(n->type == YAML_SCALAR_NODE && scalar_type(n) == S_NULL))
                                errorf(n, "%s: want a list", path);
                        return;
                }
                for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
                        snprintf(item, sizeof(item), "%s[%ld]", path, (long) (i - n->data.sequence.items.start));
                        yaml_node_t *v = yaml_document_get_node(doc, *i);
                        if (kind == K_LIST_OBJECT)
                                check_mapping(doc, v, sub, item);
                        else
                                check_scalar(v, K_STRING, item);
                }
                return;
        case K_MAP_STRING:
        case K_MAP_BOOL:
        case K_MAP_LIST_STRING:
                if (n->type != YAML_MAPPING_NODE) {
                        if (!(n->type == YAML_SCALAR_NODE && scalar_type(n) == S_NULL))
                                errorf(n, "%s: want a map", path);
                        return;
                }
                for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                        yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
                        snprintf(item, sizeof(item), "%s[%s]", path, k->type == YAML_SCALAR_NODE ? (const char *) k->data.scalar.value : "?");
                        if (kind == K_MAP_LIST_STRING)
                                check_node(doc, v, K_LIST_STRING, NULL, item);
                        else
                                check_scalar(v, kind == K_MAP_BOOL ? K_BOOL : K_STRING, item);
                }
                return;
        default:
                check_scalar(n, kind, path);
        }
}

/* ---- the configuration -------------------------------------------------- */

struct config {
        yaml_document_t docs[8];
        size_t n;
        yaml_document_t *init, *cluster, *join, *kubelet, *proxy;
};

static const char *scalar_at(yaml_document_t *doc, const char *path) {
        yaml_node_t *n = yaml_document_get_root_node(doc);
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
                yaml_node_t *next = NULL;
                if (!n || n->type != YAML_MAPPING_NODE)
                        return NULL;
                for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
                        if (kn->type == YAML_SCALAR_NODE && !strcmp((const char *) kn->data.scalar.value, k))
                                next = yaml_document_get_node(doc, p->value);
                }
                n = next;
        }
        return n && n->type == YAML_SCALAR_NODE ? (const char *) n->data.scalar.value : NULL;
}

static yaml_node_t *node_at(yaml_document_t *doc, const char *path) {
        yaml_node_t *n = yaml_document_get_root_node(doc);
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && n; k = strtok_r(NULL, ".", &save)) {
                yaml_node_t *next = NULL;
                if (n->type != YAML_MAPPING_NODE)
                        return NULL;
                for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
                        if (kn->type == YAML_SCALAR_NODE && !strcmp((const char *) kn->data.scalar.value, k))
                                next = yaml_document_get_node(doc, p->value);
                }
                n = next;
        }
        return n;
}

static int load_config(const char *path, struct config *c) {
        FILE *f = fopen(path, "r");
        yaml_parser_t parser;
        config_file = path;
        if (!f) {
                fprintf(stderr, "kubeadm-standin: unable to read config from \"%s\": %s\n", path, strerror(errno));
                return -1;
        }
        yaml_parser_initialize(&parser);
        yaml_parser_set_input_file(&parser, f);
        for (;;) {
                if (c->n == sizeof(c->docs) / sizeof(c->docs[0])) {
                        fprintf(stderr, "kubeadm-standin: %s: too many documents\n", path);
                        n_errors++;
                        break;
                }
                yaml_document_t *d = &c->docs[c->n];
                if (!yaml_parser_load(&parser, d)) {
                        fprintf(stderr, "kubeadm-standin: %s:%zu:%zu: YAML: %s\n", path, parser.problem_mark.line + 1,
                                parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error");
                        n_errors++;
                        break;
                }
                if (!yaml_document_get_root_node(d)) {
                        yaml_document_delete(d);
                        break;
                }
                c->n++;
                const char *av = scalar_at(d, "apiVersion"), *kind = scalar_at(d, "kind");
                const struct doc_type *t = NULL;
                for (size_t i = 0; i < sizeof(doc_types) / sizeof(doc_types[0]); i++)
                        if (av && kind && !strcmp(av, doc_types[i].api_version) && !strcmp(kind, doc_types[i].kind))
                                t = &doc_types[i];
                if (!t) {
                        errorf(yaml_document_get_root_node(d), "unknown document apiVersion=%s kind=%s (kubeadm %s knows v1beta2 Init/Cluster/JoinConfiguration, kubelet v1beta1, kube-proxy v1alpha1)",
                               av ? av : "(none)", kind ? kind : "(none)", VERSION);
                        continue;
                }
                yaml_document_t **slot = !strcmp(t->kind, "InitConfiguration") ? &c->init :
                                         !strcmp(t->kind, "ClusterConfiguration") ? &c->cluster :
                                         !strcmp(t->kind, "JoinConfiguration") ? &c->join :
                                         !strcmp(t->kind, "KubeletConfiguration") ? &c->kubelet : &c->proxy;
                if (*slot)
                        errorf(yaml_document_get_root_node(d), "a second %s", t->kind);
                *slot = d;
                check_mapping(d, yaml_document_get_root_node(d), t->fields, t->kind);
        }
        yaml_parser_delete(&parser);
        fclose(f);
        return n_errors ? -1 : 0;
}

static bool is_pin(const char *s) {
        if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 71)
                return false;
        return strspn(s + 7, "0123456789abcdefABCDEF") == 64;
}

/* The checks kubeadm's validation makes on what this project renders. */
static void validate_semantics(struct config *c, bool init) {
        if (init && !c->init && !c->cluster)
                errorf(NULL, "init needs an InitConfiguration or a ClusterConfiguration");
        if (!init && !c->join)
                errorf(NULL, "join needs a JoinConfiguration");
        if (c->cluster) {
                const char *v = scalar_at(c->cluster, "kubernetesVersion");
                if (v && strcmp(v, VERSION) != 0 && strncmp(v, "v1.17.", 6) != 0)
                        errorf(node_at(c->cluster, "kubernetesVersion"), "kubernetesVersion %s: this kubeadm %s supports v1.16.x-v1.17.x (stand-in: only v1.17.x)", v, VERSION);
        }
        if (c->join) {
                yaml_node_t *bt = node_at(c->join, "discovery.bootstrapToken");
                yaml_node_t *hashes = node_at(c->join, "discovery.bootstrapToken.caCertHashes");
                const char *skip = scalar_at(c->join, "discovery.bootstrapToken.unsafeSkipCAVerification");
                if (!bt && !node_at(c->join, "discovery.file"))
                        errorf(yaml_document_get_root_node(c->join), "discovery: bootstrapToken or file is required");
                if (bt && !scalar_at(c->join, "discovery.bootstrapToken.apiServerEndpoint"))
                        errorf(bt, "discovery.bootstrapToken.apiServerEndpoint is required");
                if (bt && (!hashes || hashes->type != YAML_SEQUENCE_NODE || hashes->data.sequence.items.top == hashes->data.sequence.items.start) &&
                    !(skip && !strcasecmp(skip, "true")))
                        errorf(bt, "using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification to continue");
                if (hashes && hashes->type == YAML_SEQUENCE_NODE)
                        for (yaml_node_item_t *i = hashes->data.sequence.items.start; i < hashes->data.sequence.items.top; i++) {
                                yaml_node_t *h = yaml_document_get_node(c->join, *i);
                                if (h->type == YAML_SCALAR_NODE && !is_pin((const char *) h->data.scalar.value))
                                        errorf(h, "invalid discovery token CA certificate hash \"%s\" (want sha256:<64 hex>)",
                                               (const char *) h->data.scalar.value);
                        }
        }
}

/* ---- files -------------------------------------------------------------- */

static const char *root(void) {
        const char *r = getenv("KUBEADM_STANDIN_ROOT");
        return r && *r ? r : "";
}

static char *rooted(const char *path) {
        char *p = NULL;
        if (asprintf(&p, "%s%s", root(), path) < 0)
                exit(1);
        return p;
}

static void mkdirs(const char *path) {
        char buf[4096];
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *s = buf + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        mkdir(buf, 0755);
                        *s = '/';
                }
}

static void write_file(const char *path, const char *text, mode_t mode) {
        char *p = rooted(path);
        mkdirs(p);
        FILE *f = fopen(p, "w");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "kubeadm-standin: cannot write %s: %s\n", p, strerror(errno));
                exit(1);
        }
        chmod(p, mode);
        free(p);
}

static char *read_file(const char *path) {
        char *p = rooted(path), *buf = NULL;
        size_t len = 0;
        FILE *f = fopen(p, "r"), *m = open_memstream(&buf, &len);
        free(p);
        if (!f) {
                fclose(m);
                free(buf);
                return NULL;
        }
        int ch;
        while ((ch = fgetc(f)) != EOF)
                fputc(ch, m);
        fclose(f);
        fclose(m);
        return buf;
}

static char *b64(const void *in, size_t len) {
        char *out = malloc(4 * ((len + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *) out, in, (int) len);
        return out;
}

/* A client certificate for cn/org signed by the CA, as PEM cert + key. */
static void client_cert(const char *ca_pem, const char *ca_key_pem, const char *cn, const char *org, char **cert_pem, char **key_pem) {
        BIO *cb = BIO_new_mem_buf(ca_pem, -1), *kb = BIO_new_mem_buf(ca_key_pem, -1);
        X509 *ca = PEM_read_bio_X509(cb, NULL, NULL, NULL);
        EVP_PKEY *ca_key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
        if (!ca || !ca_key) {
                fprintf(stderr, "kubeadm-standin: cannot read the CA in %s/etc/kubernetes/pki\n", root());
                exit(1);
        }
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *c = X509_new();
        ASN1_INTEGER_set(X509_get_serialNumber(c), (long) time(NULL));
        X509_set_version(c, 2);
        X509_gmtime_adj(X509_getm_notBefore(c), -300);
        X509_gmtime_adj(X509_getm_notAfter(c), 365L * 24 * 3600);
        X509_set_pubkey(c, key);
        X509_NAME *name = X509_get_subject_name(c);
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *) org, -1, -1, 0);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *) cn, -1, -1, 0);
        X509_set_issuer_name(c, X509_get_subject_name(ca));
        X509_sign(c, ca_key, EVP_sha256());
        BIO *o1 = BIO_new(BIO_s_mem()), *o2 = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(o1, c);
        PEM_write_bio_PrivateKey(o2, key, NULL, NULL, 0, NULL, NULL);
        char *d;
        long n = BIO_get_mem_data(o1, &d);
        *cert_pem = strndup(d, (size_t) n);
        n = BIO_get_mem_data(o2, &d);
        *key_pem = strndup(d, (size_t) n);
        BIO_free(o1);
        BIO_free(o2);
        BIO_free(cb);
        BIO_free(kb);
        X509_free(c);
        X509_free(ca);
        EVP_PKEY_free(key);
        EVP_PKEY_free(ca_key);
}

static void write_kubeconfig(const char *path, const char *server, const char *ca_pem, const char *user,
                             const char *cert_pem, const char *key_pem, const char *cert_file) {
        char *ca = b64(ca_pem, strlen(ca_pem)), *text = NULL, *auth = NULL;
        if (cert_pem) {
                char *c = b64(cert_pem, strlen(cert_pem)), *k = b64(key_pem, strlen(key_pem));
                if (asprintf(&auth, "    client-certificate-data: %s\n    client-key-data: %s\n", c, k) < 0)
                        exit(1);
                free(c);
                free(k);
        } else if (asprintf(&auth, "    client-certificate: %s\n    client-key: %s\n", cert_file, cert_file) < 0)
                exit(1);
        if (asprintf(&text,
                     "# Written by kubeadm-standin, a TEST STAND-IN for kubeadm (qemu-tests only).\n"
                     "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: %s\n    server: https://%s\n  name: kubernetes\n"
                     "contexts:\n- context:\n    cluster: kubernetes\n    user: %s\n  name: %s@kubernetes\n"
                     "current-context: %s@kubernetes\nkind: Config\npreferences: {}\nusers:\n- name: %s\n  user:\n%s",
                     ca, server, user, user, user, user, auth) < 0)
                exit(1);
        write_file(path, text, 0600);
        printf("[kubeconfig] Writing \"%s\" kubeconfig file (stand-in)\n", strrchr(path, '/') + 1);
        free(ca);
        free(text);
        free(auth);
}

/* /var/lib/kubelet/kubeadm-flags.env from nodeRegistration.kubeletExtraArgs. */
static void write_kubelet_flags(yaml_document_t *doc) {
        char *flags = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&flags, &len);
        fputs("KUBELET_KUBEADM_ARGS=\"--network-plugin=cni", f);
        yaml_node_t *args = node_at(doc, "nodeRegistration.kubeletExtraArgs");
        if (args && args->type == YAML_MAPPING_NODE)
                for (yaml_node_pair_t *p = args->data.mapping.pairs.start; p < args->data.mapping.pairs.top; p++)
                        fprintf(f, " --%s=%s", (const char *) yaml_document_get_node(doc, p->key)->data.scalar.value,
                                (const char *) yaml_document_get_node(doc, p->value)->data.scalar.value);
        fputs("\"\n", f);
        fclose(f);
        write_file("/var/lib/kubelet/kubeadm-flags.env", flags, 0644);
        printf("[kubelet-start] Writing kubelet environment file with flags to file \"/var/lib/kubelet/kubeadm-flags.env\" (stand-in)\n");
        free(flags);
}

/* ---- commands ----------------------------------------------------------- */

static int cmd_init(struct config *c, bool skip_token_print) {
        yaml_document_t *d = c->init ? c->init : c->cluster;
        const char *addr = c->init ? scalar_at(c->init, "localAPIEndpoint.advertiseAddress") : NULL;
        const char *port = c->init ? scalar_at(c->init, "localAPIEndpoint.bindPort") : NULL;
        const char *cpe = c->cluster ? scalar_at(c->cluster, "controlPlaneEndpoint") : NULL;
        const char *name = c->init ? scalar_at(c->init, "nodeRegistration.name") : NULL;
        char server[300], node[300];
        snprintf(server, sizeof(server), "%s:%s", addr ? addr : "127.0.0.1", port ? port : "6443");
        if (cpe)
                snprintf(server, sizeof(server), "%s", cpe);
        printf("[init] Using Kubernetes version: %s\n", c->cluster && scalar_at(c->cluster, "kubernetesVersion") ? scalar_at(c->cluster, "kubernetesVersion") : VERSION);
        printf("[preflight] Running pre-flight checks (stand-in: none)\n");
        char *ca = read_file("/etc/kubernetes/pki/ca.crt"), *ca_key = read_file("/etc/kubernetes/pki/ca.key");
        if (!ca || !ca_key) {
                fprintf(stderr, "kubeadm-standin: no %s/etc/kubernetes/pki/ca.{crt,key}: kubeadm would generate a CA, this stand-in does not\n", root());
                return 1;
        }
        printf("[certs] Using existing ca certificate authority\n");
        char *cert, *key;
        client_cert(ca, ca_key, "kubernetes-admin", "system:masters", &cert, &key);
        write_kubeconfig("/etc/kubernetes/admin.conf", server, ca, "kubernetes-admin", cert, key, NULL);
        free(cert);
        free(key);
        char cn[320];
        snprintf(node, sizeof(node), "%s", name ? name : "node");
        snprintf(cn, sizeof(cn), "system:node:%s", node);
        client_cert(ca, ca_key, cn, "system:nodes", &cert, &key);
        write_kubeconfig("/etc/kubernetes/kubelet.conf", server, ca, cn, cert, key, NULL);
        free(cert);
        free(key);
        write_kubelet_flags(d);
        write_file("/etc/kubernetes/STANDIN", "These files were written by kubeadm-standin, a TEST STAND-IN for kubeadm (qemu-tests only).\n", 0644);
        yaml_node_t *tokens = c->init ? node_at(c->init, "bootstrapTokens") : NULL;
        if (!skip_token_print && tokens && tokens->type == YAML_SEQUENCE_NODE && tokens->data.sequence.items.top > tokens->data.sequence.items.start)
                printf("[bootstrap-token] Using token: %s\n", "(stand-in: see the config file)");
        printf("\nYour Kubernetes control-plane has initialized successfully! (stand-in: nothing is running)\n\n"
               "kubeadm join %s --token <value withheld> --discovery-token-ca-cert-hash sha256:<value withheld>\n", server);
        free(ca);
        free(ca_key);
        return 0;
}

struct body {
        char *data;
        size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *u) {
        struct body *b = u;
        char *d = realloc(b->data, b->len + size * n + 1);
        if (!d)
                return 0;
        memcpy(d + b->len, p, size * n);
        b->data = d;
        b->len += size * n;
        d[b->len] = 0;
        return size * n;
}

/* Reads a "key": "value" string out of the ConfigMap JSON with libyaml
 * (JSON is YAML flow syntax). */
static char *configmap_data(const char *json, const char *key) {
        yaml_parser_t p;
        yaml_document_t d;
        char *out = NULL, path[128];
        yaml_parser_initialize(&p);
        yaml_parser_set_input_string(&p, (const unsigned char *) json, strlen(json));
        if (yaml_parser_load(&p, &d)) {
                snprintf(path, sizeof(path), "data.%s", key);
                yaml_node_t *n = node_at(&d, "data");
                if (n && n->type == YAML_MAPPING_NODE)
                        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < n->data.mapping.pairs.top; q++)
                                if (!strcmp((const char *) yaml_document_get_node(&d, q->key)->data.scalar.value, key))
                                        out = strdup((const char *) yaml_document_get_node(&d, q->value)->data.scalar.value);
                yaml_document_delete(&d);
        }
        yaml_parser_delete(&p);
        return out;
}

static char *b64url(const unsigned char *in, size_t len) {
        char *s = b64(in, len);
        size_t n = strlen(s);
        while (n && s[n - 1] == '=')
                s[--n] = 0;
        for (char *c = s; *c; c++)
                *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
        return s;
}

static int cmd_join(struct config *c) {
        const char *ep = scalar_at(c->join, "discovery.bootstrapToken.apiServerEndpoint");
        const char *token = scalar_at(c->join, "discovery.bootstrapToken.token");
        const char *name = scalar_at(c->join, "nodeRegistration.name");
        yaml_node_t *hashes = node_at(c->join, "discovery.bootstrapToken.caCertHashes");
        if (!ep || !token) {
                fprintf(stderr, "kubeadm-standin: the stand-in supports bootstrap token discovery only\n");
                return 1;
        }
        printf("[preflight] Running pre-flight checks (stand-in: none)\n");
        printf("[discovery] Trying to connect to API Server \"%s\" (stand-in)\n", ep);
        char url[512], *kubeconfig = NULL, *sig = NULL, key[32];
        snprintf(url, sizeof(url), "https://%s/api/v1/namespaces/kube-public/configmaps/cluster-info", ep);
        snprintf(key, sizeof(key), "jws-kubeconfig-%.6s", token);
        /* as kubeadm: discovery retries until discovery.timeout (default 5m0s) */
        const char *to = scalar_at(c->join, "discovery.timeout");
        double timeout_s = 300;
        if (to)
                parse_duration(to, &timeout_s);        /* validated with the rest of the file */
        time_t deadline = time(NULL) + (time_t) timeout_s;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        for (int attempt = 0; !sig && (attempt == 0 || time(NULL) < deadline); attempt++) {
                struct body b = {};
                long status = 0;
                CURL *h = curl_easy_init();
                curl_easy_setopt(h, CURLOPT_URL, url);
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
                curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
                curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
                curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
                CURLcode cc = curl_easy_perform(h);
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
                curl_easy_cleanup(h);
                if (cc == CURLE_OK && status == 200 && b.data) {
                        free(kubeconfig);
                        kubeconfig = configmap_data(b.data, "kubeconfig");
                        sig = configmap_data(b.data, key);
                }
                free(b.data);
                if (!sig && time(NULL) < deadline)
                        sleep(2);
        }
        if (!kubeconfig || !sig) {
                fprintf(stderr, "error execution phase preflight: couldn't validate the identity of the API Server: "
                                "token id \"%.6s\" is invalid for this cluster or it has expired: no cluster-info with a "
                                "JWS signature for it at %s within discovery.timeout (stand-in)\n", token, ep);
                return 1;
        }
        /* the detached JWS kubeadm recomputes: HS256 over b64url(header).b64url(kubeconfig) */
        char header[64];
        snprintf(header, sizeof(header), "{\"alg\":\"HS256\",\"kid\":\"%.6s\"}", token);
        char *h64 = b64url((const unsigned char *) header, strlen(header));
        char *p64 = b64url((const unsigned char *) kubeconfig, strlen(kubeconfig)), *input = NULL;
        if (asprintf(&input, "%s.%s", h64, p64) < 0)
                return 1;
        unsigned char mac[32];
        unsigned int maclen = 0;
        HMAC(EVP_sha256(), token + 7, 16, (const unsigned char *) input, strlen(input), mac, &maclen);
        char *s64 = b64url(mac, maclen), *want = NULL;
        if (asprintf(&want, "%s..%s", h64, s64) < 0)
                return 1;
        if (strcmp(want, sig) != 0) {
                fprintf(stderr, "error execution phase preflight: failed to verify JWS signature of received cluster info object, can't trust this API Server (stand-in)\n");
                return 1;
        }
        /* the CA: certificate-authority-data of the kubeconfig, pinned */
        char *ca_b64 = NULL, *server = NULL;
        for (char *line = strtok(kubeconfig, "\n"); line; line = strtok(NULL, "\n")) {
                char *v;
                if ((v = strstr(line, "certificate-authority-data: ")))
                        ca_b64 = v + 28;
                else if ((v = strstr(line, "server: https://")))
                        server = v + 16;
        }
        if (!ca_b64) {
                fprintf(stderr, "error execution phase preflight: no certificate-authority-data in cluster-info (stand-in)\n");
                return 1;
        }
        size_t blen = strlen(ca_b64);
        unsigned char *pem = calloc(1, blen + 1);
        int plen = EVP_DecodeBlock(pem, (const unsigned char *) ca_b64, (int) blen);
        for (size_t i = blen; i > 0 && ca_b64[i - 1] == '='; i--)
                plen--;
        BIO *bio = BIO_new_mem_buf(pem, plen > 0 ? plen : 0);
        X509 *ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        bool ok = false;
        char actual[72] = "";
        if (ca) {
                unsigned char *der = NULL, md[32];
                int dl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ca), &der);
                SHA256(der, (size_t) dl, md);
                OPENSSL_free(der);
                strcpy(actual, "sha256:");
                for (int i = 0; i < 32; i++)
                        sprintf(actual + 7 + 2 * i, "%02x", md[i]);
                for (yaml_node_item_t *i = hashes->data.sequence.items.start; i < hashes->data.sequence.items.top; i++)
                        ok |= !strcasecmp((const char *) yaml_document_get_node(c->join, *i)->data.scalar.value, actual);
        }
        if (!ok) {
                fprintf(stderr, "error execution phase preflight: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"%s\" are pinned (stand-in)\n", actual);
                return 1;
        }
        printf("[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots (stand-in)\n");
        write_file("/etc/kubernetes/pki/ca.crt", (const char *) pem, 0644);
        char cn[320];
        snprintf(cn, sizeof(cn), "system:node:%s", name ? name : "node");
        write_kubeconfig("/etc/kubernetes/kubelet.conf", server ? server : ep, (const char *) pem, "default-auth", NULL, NULL,
                         "/var/lib/kubelet/pki/kubelet-client-current.pem");
        write_kubelet_flags(c->join);
        write_file("/etc/kubernetes/STANDIN", "These files were written by kubeadm-standin, a TEST STAND-IN for kubeadm (qemu-tests only).\n", 0644);
        printf("\nThis node has joined the cluster (stand-in: no kubelet was started):\n* Certificate signing request was sent to apiserver and a response was received. (stand-in: not really)\n");
        X509_free(ca);
        BIO_free(bio);
        free(pem);
        return 0;
}

static void usage(FILE *f) {
        fprintf(f, "%s\n\n"
                   "Usage:\n"
                   "  kubeadm init --config FILE [--skip-token-print] [--ignore-preflight-errors=...] [--skip-phases=...] [-v N]\n"
                   "  kubeadm join --config FILE [--ignore-preflight-errors=...] [--skip-phases=...] [-v N]\n"
                   "  kubeadm version [-o short]\n\n"
                   "Environment: KUBEADM_STANDIN_ROOT=DIR writes under DIR; KUBEADM_STANDIN_VALIDATE_ONLY=1 only validates.\n",
                BANNER);
}

int main(int argc, char **argv) {
        if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
                usage(stdout);
                return argc < 2 ? 1 : 0;
        }
        const char *cmd = argv[1];
        if (!strcmp(cmd, "version")) {
                fprintf(stderr, "%s\n", BANNER);
                if (argc == 4 && !strcmp(argv[2], "-o") && !strcmp(argv[3], "short"))
                        printf("%s\n", VERSION);
                else
                        printf("kubeadm version: &version.Info{Major:\"1\", Minor:\"17\", GitVersion:\"%s\", Platform:\"linux/amd64\"} (stand-in)\n", VERSION);
                return 0;
        }
        if (strcmp(cmd, "init") != 0 && strcmp(cmd, "join") != 0) {
                fprintf(stderr, "kubeadm-standin: unknown command \"%s\" (the stand-in knows init, join, version)\n", cmd);
                return 1;
        }
        bool init = !strcmp(cmd, "init"), skip_token_print = false;
        const char *config = NULL;
        for (int i = 2; i < argc; i++) {
                const char *a = argv[i];
                if (!strcmp(a, "--config") && i + 1 < argc)
                        config = argv[++i];
                else if (!strncmp(a, "--config=", 9))
                        config = a + 9;
                else if (init && !strcmp(a, "--skip-token-print"))
                        skip_token_print = true;
                else if (!strncmp(a, "--ignore-preflight-errors=", 26) || !strncmp(a, "--skip-phases=", 14) ||
                         !strncmp(a, "--v=", 4) || !strncmp(a, "-v=", 3))
                        ;
                else if ((!strcmp(a, "-v") || !strcmp(a, "--v")) && i + 1 < argc)
                        i++;
                else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
                        usage(stdout);
                        return 0;
                } else {
                        /* kubeadm refuses other flags next to --config
                         * ("can not mix '--config' with arguments"); the
                         * stand-in refuses them always */
                        fprintf(stderr, "kubeadm-standin: can not mix '--config' with arguments [%s] (or unknown flag)\n", a);
                        return 1;
                }
        }
        printf("%s\n", BANNER);
        if (!config) {
                fprintf(stderr, "kubeadm-standin: %s needs --config FILE (the stand-in reads nothing else)\n", cmd);
                return 1;
        }
        struct config c = {};
        int r = load_config(config, &c);
        if (r == 0) {
                validate_semantics(&c, init);
                r = n_errors ? -1 : 0;
        }
        if (r < 0) {
                fprintf(stderr, "kubeadm-standin: %s: %u error(s) in the configuration\n", config, n_errors);
                return 1;
        }
        printf("[config] %s: %zu document(s) valid for kubeadm %s %s (stand-in)\n", config, c.n, VERSION, cmd);
        const char *vo = getenv("KUBEADM_STANDIN_VALIDATE_ONLY");
        if (vo && !strcmp(vo, "1"))
                r = 0;
        else
                r = init ? cmd_init(&c, skip_token_print) : cmd_join(&c);
        for (size_t i = 0; i < c.n; i++)
                yaml_document_delete(&c.docs[i]);
        return r;
}
