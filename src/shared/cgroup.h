/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* The cgroup driver Docker (daemon.json) and the kubelet (KubeletConfiguration)
 * share: they must agree (docs/dojot-v0.5.0.md#cgroup-driver); systemd is what ansible-dojot v0.6.0
 * settled on and what kubeadm recommends on systemd hosts. */
#define NODEOS_CGROUP_DRIVER "systemd"
