/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The Kubernetes version the images ship (kubelet/kubeadm/kubectl 1.17.3,
 * docs/dojot-v0.5.0.md#kubernetes-versions); kubernetesVersion follows it, so the control plane does not
 * run v1.17.0 under v1.17.3 kubelets as the original did. */
#define NODEOS_KUBERNETES_VERSION "v1.17.3"
/* Image repository for kubeadm's control-plane images and the pause image:
 * a registry-less name the image builder tags the preloaded images with, so
 * nothing is ever pulled from a public registry on an air-gapped node. */
#define NODEOS_IMAGE_REPOSITORY "k8s"
#define NODEOS_PAUSE_IMAGE NODEOS_IMAGE_REPOSITORY "/pause:3.1"
#define NODEOS_CRI_SOCKET "/var/run/dockershim.sock"
#define NODEOS_KUBEADM_DIR "/etc/kubernetes/nodeos"
#define NODEOS_GROUP_LABEL "dojot.components/group"

/* What kubeadm leaves behind, used to make the kubeadm step idempotent. */
#define KUBE_ADMIN_CONF "/etc/kubernetes/admin.conf"        /* kubeadm init */
#define KUBE_KUBELET_CONF "/etc/kubernetes/kubelet.conf"    /* init and join */
#define KUBE_PKI_DIR "/etc/kubernetes/pki"
/* kubeadm init waits up to timeoutForControlPlane (4m0s) for the API, join
 * up to discovery.timeout (5m0s) plus the TLS bootstrap: 15 minutes bounds
 * either with room for image loads on a slow disk. */
#define KUBE_KUBEADM_TIMEOUT_MS (15 * 60 * 1000)
/* After a reboot of a configured master, the kubelet restarts the static
 * control-plane pods; give the API this long to answer before deciding. */
#define KUBE_API_WAIT_MS (3 * 60 * 1000)
