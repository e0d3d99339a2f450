/* SPDX-License-Identifier: Apache-2.0 */
/* kubeadm v1beta2 configurations (docs/dojot-v0.5.0.md#master): the master's
 * InitConfiguration + ClusterConfiguration + KubeletConfiguration +
 * KubeProxyConfiguration, and the workers' JoinConfiguration. They carry the
 * bootstrap token, so the role data installs them 0600 and kubeadm reads
 * them with --config: the token is never on a command line. */
#include <string.h>
#include <time.h>
#include "shared/cgroup.h"
#include "shared/kube.h"
#include "shared/renderer.h"

/* Values are validated by config.c (IPs, CIDRs, hostnames, token, hashes);
 * quote them anyway so YAML never re-types them. */
static void q(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        fputc('\\', f);
                fputc(*s, f);
        }
        fputc('"', f);
}

static void feature_gates_args(FILE *f, const char *component) {
        /* docs/dojot-v0.5.0.md#packet-redirection: the VerneMQ service topology needs these */
        fprintf(f, "%s:\n  extraArgs:\n    feature-gates: \"ServiceTopology=true,EndpointSlice=true\"\n", component);
}

static int render_init(const struct render_ctx *ctx, char **ret, char **error) {
        const struct node_config *c = ctx->config;
        const struct cluster_config *k = &c->cluster;
        char *text = NULL;
        size_t len = 0;
        if (!secret_is_set(&k->token) || !k->advertise_address) {
                *error = strdup("cluster.token and cluster.advertise_address are required");
                return -EINVAL;
        }
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fputs("# Written by node-agent for kubeadm init --config; holds the bootstrap token (0600).\n"
              "apiVersion: kubeadm.k8s.io/v1beta2\nkind: InitConfiguration\nbootstrapTokens:\n- token: ", f);
        q(f, secret_reveal(&k->token));
        fputs("\n  description: \"dojot-nodeos rollout token\"\n", f);
        if (k->token_expires > 0) {
                char when[32];
                time_t t = (time_t) k->token_expires;
                strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
                fprintf(f, "  expires: \"%s\"\n", when);
        } else
                fputs("  ttl: \"24h0m0s\"\n", f);
        fputs("  groups:\n  - system:bootstrappers:kubeadm:default-node-token\n"
              "  usages:\n  - signing\n  - authentication\n"
              "localAPIEndpoint:\n  advertiseAddress: ", f);
        q(f, k->advertise_address);
        fputs("\n  bindPort: 6443\nnodeRegistration:\n  name: ", f);
        q(f, c->hostname);
        fputs("\n  criSocket: " NODEOS_CRI_SOCKET "\n"
              "  taints:\n  - effect: NoSchedule\n    key: node-role.kubernetes.io/master\n"
              "  kubeletExtraArgs:\n    pod-infra-container-image: \"" NODEOS_PAUSE_IMAGE "\"\n"
              "---\napiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\n"
              "kubernetesVersion: " NODEOS_KUBERNETES_VERSION "\n"
              "clusterName: kubernetes\ncertificatesDir: /etc/kubernetes/pki\n"
              "imageRepository: " NODEOS_IMAGE_REPOSITORY "\n"
              "dns:\n  type: CoreDNS\netcd:\n  local:\n    dataDir: /var/lib/etcd\n"
              "networking:\n  dnsDomain: cluster.local\n  podSubnet: ", f);
        q(f, k->pod_subnet);
        fputs("\n  serviceSubnet: ", f);
        q(f, k->service_subnet);
        fputs("\napiServer:\n  timeoutForControlPlane: 4m0s\n  extraArgs:\n"
              "    feature-gates: \"ServiceTopology=true,EndpointSlice=true\"\n", f);
        feature_gates_args(f, "controllerManager");
        feature_gates_args(f, "scheduler");
        fputs("---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
              "cgroupDriver: " NODEOS_CGROUP_DRIVER "\n"
              "---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
              "mode: iptables\nfeatureGates:\n  ServiceTopology: true\n  EndpointSlice: true\n", f);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}

static int render_join(const struct render_ctx *ctx, char **ret, char **error) {
        const struct node_config *c = ctx->config;
        const struct cluster_config *k = &c->cluster;
        char *text = NULL;
        size_t len = 0;
        if (!secret_is_set(&k->token) || !k->api_endpoint || !k->ca_cert_hashes || !ctx->role->group) {
                *error = strdup("cluster.token, cluster.api_endpoint, cluster.ca_cert_hashes and the role's group are required");
                return -EINVAL;
        }
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fputs("# Written by node-agent for kubeadm join --config; holds the bootstrap token (0600).\n"
              "apiVersion: kubeadm.k8s.io/v1beta2\nkind: JoinConfiguration\n"
              "discovery:\n  bootstrapToken:\n    apiServerEndpoint: ", f);
        q(f, k->api_endpoint);
        fputs("\n    token: ", f);
        q(f, secret_reveal(&k->token));
        fputs("\n    caCertHashes:\n", f);
        for (char **h = k->ca_cert_hashes; *h; h++) {
                fputs("    - ", f);
                q(f, *h);
                fputc('\n', f);
        }
        /* unsafeSkipCAVerification is never written (it defaults to
         * false): the pin is what makes the discovery trustworthy. */
        fputs("  timeout: 5m0s\n  tlsBootstrapToken: ", f);
        q(f, secret_reveal(&k->token));
        fputs("\nnodeRegistration:\n  name: ", f);
        q(f, c->hostname);
        /* The label the dojot workloads and PVs select on (docs/dojot-v0.5.0.md#labels). Not
         * a node-role.kubernetes.io label: kubelets 1.16+ refuse to set those.
         * The kubelet config (cgroup driver) comes from the cluster, which
         * the master seeded with its KubeletConfiguration. */
        fprintf(f, "\n  criSocket: " NODEOS_CRI_SOCKET "\n  kubeletExtraArgs:\n"
                   "    node-labels: \"" NODEOS_GROUP_LABEL "=%s\"\n"
                   "    pod-infra-container-image: \"" NODEOS_PAUSE_IMAGE "\"\n", ctx->role->group);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}

const struct renderer renderer_kubeadm_init = { .name = "kubeadm-init", .render = render_init };
const struct renderer renderer_kubeadm_join = { .name = "kubeadm-join", .render = render_join };
