#!/usr/bin/env bash
# Builds the test stand-ins (C, libyaml, libcrypto, libcurl) for the QEMU
# tests' overlays and the host-side tests. Never installed into a product
# image: only a test overlay puts kubeadm-standin at /usr/bin/kubeadm.
# Usage: qemu-tests/standin/build.sh [OUT_DIR]   (default: ${BUILD:-build}/standin)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-${BUILD:-build}/standin}
mkdir -p "$out"
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g \
  -o "$out/kubeadm-standin" qemu-tests/standin/kubeadm-standin.c \
  $(pkg-config --cflags --libs yaml-0.1 libcrypto libcurl)
echo "$out/kubeadm-standin"
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g \
  -o "$out/kubelet-standin" qemu-tests/standin/kubelet-standin.c \
  $(pkg-config --cflags --libs libcjson libcurl)
echo "$out/kubelet-standin"
