# bookworm profile: Debian 12 from the mirror configured on the build
# machine (its apt sources file is passed to mmdebstrap; no host name is
# written anywhere), Debian's docker.io and containerd.
# shellcheck shell=bash
# shellcheck disable=SC2034  # the profile's variables are read by build-image, agent.sh and lib.sh

# The base image's timestamps (SOURCE_DATE_EPOCH of stages 1-2): fixed, so a
# base depends only on its package set (2024-01-01T00:00:00Z).
PROFILE_EPOCH=1704067200
PROFILE_SUITE=bookworm
# One base for every role: the role layer only adds the agent, the role
# data and the role's images, so six roles (and PXE clients) share it.
PROFILE_PACKAGES=(
  systemd systemd-sysv udev dbus kmod linux-image-amd64 initramfs-tools busybox
  iproute2 iputils-ping openssh-server e2fsprogs fdisk ca-certificates procps less
  cryptsetup-bin   # veritysetup: the initramfs opens base and layer through dm-verity
  systemd-boot     # systemd-bless-boot: marks a UEFI slot entry good after boot-complete.target
  grub-common      # grub-editenv: the BIOS slot choice lives in the ESP's grubenv
  docker.io containerd iptables apparmor conntrack ethtool socat
  haproxy nginx-light libnginx-mod-stream   # nginx.conf's stream {} (lb): a dynamic module on Debian
  libyaml-0-2 libcjson1 libcurl4 libsystemd0 libarchive13 libssl3
)

# The apt sources of the build machine, as mmdebstrap takes them.
profile_sources() {
  local f
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    [ -s "$f" ] && { echo "$f"; return; }
  done
  die "no apt sources on this machine (looked for /etc/apt/sources.list.d/debian.sources and /etc/apt/sources.list)"
}

profile_base_key() {  # what the cached base depends on
  printf '%s\n' bookworm "${PROFILE_PACKAGES[@]}"
}

# profile_mmdebstrap OUT.tar
profile_mmdebstrap() {
  local src; src=$(profile_sources)
  run mmdebstrap --mode=root --variant=minbase --skip=essential/unlink \
    --include="$(IFS=,; echo "${PROFILE_PACKAGES[*]}")" \
    --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
    --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
    bookworm "$1" "$src"
}

# The agent (image/agent.sh): this machine is Debian 12 too, so its own
# build is used unless AGENT_BUILD=chroot asks for a build chroot of the
# suite (what bionic always does; tests/image/agent-chroot.sh tests it here).
PROFILE_AGENT_BUILD=host
PROFILE_AGENT_BUILD_PACKAGES=(
  build-essential pkg-config
  libyaml-dev libcjson-dev libcurl4-openssl-dev libarchive-dev libsystemd-dev libssl-dev
  libcmocka-dev   # the Makefile checks every pkg-config name it knows before any target
)

profile_agent_env_key() {  # what the cached agent build chroot depends on
  printf '%s\n' bookworm-agent-env "${PROFILE_AGENT_BUILD_PACKAGES[@]}"
}

# profile_agent_env_mmdebstrap OUT.tar: the agent build chroot
profile_agent_env_mmdebstrap() {
  local src; src=$(profile_sources)
  run mmdebstrap --mode=root --variant=minbase \
    --include="$(IFS=,; echo "${PROFILE_AGENT_BUILD_PACKAGES[*]}")" \
    --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
    bookworm "$1" "$src"
}

profile_plan() {
  echo "profile:  bookworm (Debian 12)"
  echo "sources:  $(profile_sources) (the build machine's apt configuration)"
  echo "packages: ${PROFILE_PACKAGES[*]}"
  echo "pins:     none (Debian 12's own versions: docker.io, containerd)"
  echo "kubernetes: from K8S_BUNDLE=<dir> (bin/kubeadm, bin/kubelet, bin/kubectl, opt/cni/bin/*) if given, else not in the image"
}
