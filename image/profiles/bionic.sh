# bionic profile: the production target. Ubuntu 18.04 LTS, Docker CE 19.03
# and Kubernetes 1.17.3 packages, as ansible-dojot v0.5.0 installed them
# (docs/dojot-v0.5.0.md#kubernetes-versions, #docker), but pinned and from sources the operator names:
#
#   BIONIC_MIRROR=<url>    Ubuntu archive (suites $BIONIC_SUITES, main universe)  required
#   DOCKER_MIRROR=<url>    Docker CE apt repo for Ubuntu ("<url> bionic stable")  or DEB_BUNDLE
#   K8S_MIRROR=<url>       legacy-layout Kubernetes repo ("<url> kubernetes-xenial main") or DEB_BUNDLE
#   DEB_BUNDLE=<dir>       flat apt repo: the .debs and their Packages index
#   *_KEYRING=<file>|none  key for each mirror; none = [trusted=yes]
#   CJSON_SRC=<dir|tar>    cJSON source (>= 1.7.13) for the agent, which is
#                          compiled in a bionic chroot (image/agent.sh)
#
# The Google-hosted Kubernetes repo that ansible-dojot used was removed in
# 2024 and the community repo starts at 1.24 (docs/dojot-v0.5.0.md#kubernetes-repository), so nothing here
# has a default host: no host name is written anywhere. Everything is read
# from the environment (make passes its command-line variables through).
# Plan mode (profile_plan) works with none of them set and names what is
# missing; profile_mmdebstrap refuses to start until all of it is given.
# shellcheck shell=bash
# shellcheck disable=SC2016  # mmdebstrap hooks are sh code run later, with $1 = the chroot

# shellcheck disable=SC2034  # as in bookworm.sh
# The base image's timestamps (SOURCE_DATE_EPOCH of stages 1-2): fixed, so a
# base depends only on its package set (2024-01-01T00:00:00Z).
PROFILE_EPOCH=1704067200
PROFILE_SUITE=bionic
BIONIC_MIRROR=${BIONIC_MIRROR:-}
BIONIC_SUITES=${BIONIC_SUITES:-bionic bionic-updates bionic-security}
BIONIC_KERNEL=${BIONIC_KERNEL:-linux-image-generic}
DOCKER_MIRROR=${DOCKER_MIRROR:-}
DOCKER_SUITE=${DOCKER_SUITE:-bionic}
K8S_MIRROR=${K8S_MIRROR:-}
K8S_SUITE=${K8S_SUITE:-kubernetes-xenial}
DEB_BUNDLE=${DEB_BUNDLE:-}
# Ubuntu's key as Debian's ubuntu-keyring package installs it, if it is there.
BIONIC_DEFAULT_KEYRING=/usr/share/keyrings/ubuntu-archive-keyring.gpg
BIONIC_KEYRING=${BIONIC_KEYRING:-}
[ -n "$BIONIC_KEYRING" ] || [ ! -f "$BIONIC_DEFAULT_KEYRING" ] || BIONIC_KEYRING=$BIONIC_DEFAULT_KEYRING
DOCKER_KEYRING=${DOCKER_KEYRING:-}
K8S_KEYRING=${K8S_KEYRING:-}

# Pins. Docker: 19.03.14 and containerd.io 1.2.10-3 are ansible-dojot's own
# later pin (PR #106, docs/dojot-v0.5.0.md#docker); v0.5.0 left Docker unpinned and drifted to
# 20.10. Kubernetes: 1.17.3-00 (docs/dojot-v0.5.0.md#kubernetes-versions). kubernetes-cni came in
# unpinned (docs/dojot-v0.5.0.md#kubernetes-versions); 0.8.7-00 is what that resolved to in late 2020.
# cri-tools stays unpinned unless CRI_TOOLS_VERSION is given.
DOCKER_VERSION=${DOCKER_VERSION:-5:19.03.14~3-0~ubuntu-bionic}
CONTAINERD_VERSION=${CONTAINERD_VERSION:-1.2.10-3}
K8S_VERSION=${K8S_VERSION:-1.17.3-00}
K8S_CNI_VERSION=${K8S_CNI_VERSION:-0.8.7-00}
CRI_TOOLS_VERSION=${CRI_TOOLS_VERSION:-}

# package version pattern -> packages, in the order the plan shows them
bionic_pin_table() {
  printf '%s\t%s\n' \
    "$DOCKER_VERSION" "docker-ce docker-ce-cli" \
    "$CONTAINERD_VERSION" "containerd.io" \
    "$K8S_VERSION" "kubelet kubeadm kubectl" \
    "$K8S_CNI_VERSION" "kubernetes-cni"
  [ -z "$CRI_TOOLS_VERSION" ] || printf '%s\t%s\n' "$CRI_TOOLS_VERSION" "cri-tools"
}

# One base for every role, as in bookworm: the role layer adds only the agent,
# the role data and the role's images.
PROFILE_PACKAGES=(
  systemd systemd-sysv udev dbus kmod "$BIONIC_KERNEL" initramfs-tools busybox-initramfs
  iproute2 iputils-ping openssh-server e2fsprogs util-linux ca-certificates procps less
  cryptsetup-bin   # veritysetup: the initramfs opens base and layer through dm-verity
  iptables ebtables apparmor conntrack ethtool socat
  "docker-ce=$DOCKER_VERSION" "docker-ce-cli=$DOCKER_VERSION" "containerd.io=$CONTAINERD_VERSION"
  "kubelet=$K8S_VERSION" "kubeadm=$K8S_VERSION" "kubectl=$K8S_VERSION"
  "kubernetes-cni=$K8S_CNI_VERSION" "cri-tools${CRI_TOOLS_VERSION:+=$CRI_TOOLS_VERSION}"
  haproxy nginx-core libnginx-mod-stream
  libyaml-0-2 libcurl4 libsystemd0 libarchive13 libssl1.1
)

# For build-image's stages 2 and 3: the 4.15 kernel of Ubuntu 18.04 cannot
# unpack a zstd initramfs (Linux 5.9 added that), and xz is the squashfs
# compression Ubuntu's kernels are known to read (snaps use it). The kubelet
# package enables kubelet.service; like Docker, it waits for the agent
# (kubeadm init/join starts it).
# shellcheck disable=SC2034
PROFILE_INITRAMFS_COMPRESS=gzip PROFILE_SQUASHFS_COMP=xz PROFILE_DISABLE_UNITS=(kubelet.service)

# The agent is compiled in a bionic chroot (image/agent.sh): a binary built
# on the Debian 12 build machine needs glibc 2.34 and OpenSSL 3. Ubuntu 18.04
# has the -dev packages of every agent library but cJSON (no cjson package
# before Ubuntu 20.04), which is compiled from CJSON_SRC and linked in
# statically, so the base needs no libcjson either.
PROFILE_AGENT_BUILD=chroot
PROFILE_AGENT_CJSON=source
PROFILE_AGENT_BUILD_PACKAGES=(
  build-essential pkg-config
  libyaml-dev libcurl4-openssl-dev libarchive-dev libsystemd-dev libssl-dev
  libcmocka-dev   # the Makefile checks every pkg-config name it knows before any target
)

# The values that are wrong whatever the sources: the profile is Docker 19.03
# and Kubernetes 1.17, which the role data (roles/*/images) is written for.
bionic_check_versions() {
  local bad=0
  case $DOCKER_VERSION in *:19.03.*) ;; *) err "DOCKER_VERSION=$DOCKER_VERSION is not a Docker 19.03 package version (the bionic profile ships 19.03, e.g. 5:19.03.14~3-0~ubuntu-bionic)"; bad=1 ;; esac
  case $K8S_VERSION in 1.17.*) ;; *) err "K8S_VERSION=$K8S_VERSION is not a Kubernetes 1.17 package version (roles/*/images are v1.17.3; e.g. 1.17.3-00)"; bad=1 ;; esac
  return $bad
}

# What is missing or unusable, one problem per line ("" when all is given).
# With "ubuntu": only what the Ubuntu source needs (the agent build chroot).
bionic_problems() {
  local v f mirrors=(BIONIC_MIRROR DOCKER_MIRROR K8S_MIRROR)
  [ -n "$BIONIC_MIRROR" ] || echo "BIONIC_MIRROR is not set: the Ubuntu 18.04 archive to build from (BIONIC_MIRROR=<url>)"
  if [ "${1:-}" = ubuntu ]; then
    mirrors=(BIONIC_MIRROR)
  else
    [ -n "$DOCKER_MIRROR" ] || [ -n "$DEB_BUNDLE" ] || echo "neither DOCKER_MIRROR nor DEB_BUNDLE is set: no source for docker-ce $DOCKER_VERSION"
    [ -n "$K8S_MIRROR" ] || [ -n "$DEB_BUNDLE" ] || echo "neither K8S_MIRROR nor DEB_BUNDLE is set: no source for kubeadm $K8S_VERSION (the legacy Kubernetes repo no longer exists)"
  fi
  for v in "${mirrors[@]}"; do
    [ -n "${!v}" ] || continue
    case ${!v} in
      *[[:space:]]*) echo "$v='${!v}' contains white space" ;;
      file://*) [ -d "${!v#file://}" ] || echo "$v=${!v}: ${!v#file://} is not a directory" ;;
      *://*) ;;
      *) echo "$v=${!v} is not a URL (http://, https:// or file://)" ;;
    esac
  done
  for v in "${mirrors[@]%_MIRROR}"; do
    local m=${v}_MIRROR k=${v}_KEYRING
    [ -n "${!m}" ] || continue
    f=${!k}
    if [ -z "$f" ]; then
      echo "$k is not set: the key that signs $m (a .gpg or .asc file, or $k=none to trust it unchecked)"
    elif [ "$f" != none ] && [ ! -f "$f" ]; then
      echo "$k=$f: no such file"
    fi
  done
  if [ -n "$DEB_BUNDLE" ] && [ "${1:-}" != ubuntu ]; then
    case $DEB_BUNDLE in *[[:space:]]*) echo "DEB_BUNDLE='$DEB_BUNDLE' contains white space" ;; esac
    if [ ! -d "$DEB_BUNDLE" ]; then
      echo "DEB_BUNDLE=$DEB_BUNDLE is not a directory"
    elif [ -z "$(find "$DEB_BUNDLE" -maxdepth 1 -type f \( -name Packages -o -name Packages.gz -o -name Packages.xz \) -print -quit)" ]; then
      echo "DEB_BUNDLE=$DEB_BUNDLE has no Packages index (make one: cd $DEB_BUNDLE && apt-ftparchive packages . >Packages)"
    fi
  fi
}

bionic_abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
bionic_trusted() { [ "$1" = none ] && echo "trusted=yes"; }
bionic_opts() {  # [a b] from non-empty words, or nothing
  local w o=()
  for w in "$@"; do [ -n "$w" ] && o+=("$w"); done
  [ ${#o[@]} -eq 0 ] || echo "[${o[*]}] "
}

# The apt lines mmdebstrap gets, in order, as "<source>\t<line>". With
# "plan", an unset input shows as <not set: NAME> instead of failing.
bionic_source_lines() {
  local plan=${1:-} s m
  m=${BIONIC_MIRROR:-${plan:+<not set: BIONIC_MIRROR>}}
  for s in $BIONIC_SUITES; do
    [ -n "$m" ] || break
    printf 'ubuntu\tdeb %s%s %s main universe\n' "$(bionic_opts "$(bionic_trusted "$BIONIC_KEYRING")")" "$m" "$s"
  done
  if [ -n "$DOCKER_MIRROR" ] || { [ -n "$plan" ] && [ -z "$DEB_BUNDLE" ]; }; then
    printf 'docker\tdeb %s%s %s stable\n' "$(bionic_opts arch=amd64 "$(bionic_trusted "$DOCKER_KEYRING")")" \
      "${DOCKER_MIRROR:-<not set: DOCKER_MIRROR or DEB_BUNDLE>}" "$DOCKER_SUITE"
  fi
  if [ -n "$K8S_MIRROR" ] || { [ -n "$plan" ] && [ -z "$DEB_BUNDLE" ]; }; then
    printf 'kubernetes\tdeb %s%s %s main\n' "$(bionic_opts "$(bionic_trusted "$K8S_KEYRING")")" \
      "${K8S_MIRROR:-<not set: K8S_MIRROR or DEB_BUNDLE>}" "$K8S_SUITE"
  fi
  # a local flat repo the operator assembled: its files are the trust
  [ -z "$DEB_BUNDLE" ] || printf 'bundle\tdeb [trusted=yes] file://%s ./\n' "$(bionic_abs "$DEB_BUNDLE")"
}

# /etc/apt/preferences.d/nodeos-pins: apt may choose nothing else, even
# where a mirror carries newer versions (docker 20.10, kubeadm 1.18+).
bionic_pins() {
  local ver pkgs
  echo "# dojot-nodeos bionic profile: pinned versions (image/profiles/bionic.sh)"
  while IFS=$'\t' read -r ver pkgs; do
    printf '\nPackage: %s\nPin: version %s\nPin-Priority: 1001\n' "$pkgs" "$ver"
  done < <(bionic_pin_table)
}

# The image's own sources.list: the Ubuntu lines only. Docker, Kubernetes and
# bundle lines (and their keys) served the build; an immutable node never
# runs apt against them, and a bundle path means nothing on the node.
bionic_final_sources() {
  echo "# dojot-nodeos: the Ubuntu archive this base was built from (image/profiles/bionic.sh)"
  bionic_source_lines | awk -F'\t' '$1 == "ubuntu" {print $2}'
}

profile_sources() { bionic_source_lines | cut -f2; }

profile_base_key() {  # what the cached base depends on
  printf '%s\n' bionic "${PROFILE_PACKAGES[@]}"
  bionic_source_lines
  bionic_pins
  # a bundle changes under the same path: key on its index
  if [ -n "$DEB_BUNDLE" ]; then
    find "$DEB_BUNDLE" -maxdepth 1 -type f \( -name Packages -o -name Packages.gz -o -name Packages.xz \) -print0 | sort -z | xargs -0 -r sha256sum | cut -d' ' -f1
  fi
}

# Copies each mirror's key into DIR under the name apt's trusted.gpg.d
# wants (.asc armored, .gpg binary): apt as mmdebstrap runs it trusts DIR
# during the build only (--keyring), so no key path lands in the image.
bionic_stage_keyrings() {
  local dir=$1 v k f ext
  for v in BIONIC DOCKER K8S; do
    local m=${v}_MIRROR; k=${v}_KEYRING; f=${!k}
    if [ -z "${!m}" ] || [ -z "$f" ] || [ "$f" = none ]; then continue; fi
    if head -c 64 "$f" | grep -- '-----BEGIN PGP' >/dev/null; then ext=asc; else ext=gpg; fi
    install -m 0644 "$f" "$dir/nodeos-${v,,}.$ext"
  done
}

# Directories of file:// sources (the automount hook bind-mounts them into
# the chroot; their empty mount points are removed afterwards).
bionic_file_dirs() {
  profile_sources | sed -n 's|^deb \(\[[^]]*\] \)\{0,1\}file://\([^ ]*\) .*|\2|p' | sed 's|/*$||' | sort -u
}

# profile_mmdebstrap OUT.tar
profile_mmdebstrap() {
  local out=$1
  bionic_check_versions || exit 1
  die_listing "$(bionic_problems)" "the bionic profile needs these (see image/README.md, \"Profiles\"); make image PROFILE=bionic PLAN=1 shows what is set"
  local work=$out.d; rm -rf "$work"; mkdir -p "$work/keyrings"
  bionic_stage_keyrings "$work/keyrings"
  bionic_pins >"$work/nodeos-pins"
  bionic_final_sources >"$work/sources.list"
  local lines=() l
  while IFS= read -r l; do lines+=("$l"); done < <(profile_sources)
  # Hooks read these from the environment (mmdebstrap keeps it), so no path
  # is ever re-quoted into a shell string.
  run env NODEOS_PINS="$work/nodeos-pins" NODEOS_SOURCES="$work/sources.list" \
      NODEOS_FILE_DIRS="$(bionic_file_dirs | tr '\n' ' ')" \
    mmdebstrap --mode=root --variant=minbase --skip=essential/unlink --skip=check/signed-by \
    --keyring="$work/keyrings" \
    --include="$(IFS=,; echo "${PROFILE_PACKAGES[*]}")" \
    --setup-hook='mkdir -p "$1/etc/apt/preferences.d" && install -m 0644 "$NODEOS_PINS" "$1/etc/apt/preferences.d/nodeos-pins"' \
    --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --customize-hook='for d in $NODEOS_FILE_DIRS; do
        while [ "$d" != / ] && [ -d "$1$d" ] && ! chroot "$1" dpkg-query -S "$d" >/dev/null 2>&1 && rmdir "$1$d" 2>/dev/null; do d=$(dirname "$d"); done
      done' \
    --customize-hook='install -m 0644 "$NODEOS_SOURCES" "$1/etc/apt/sources.list"' \
    --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
    --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
    bionic "$out" "${lines[@]}"
  rm -rf "$work"
}

profile_agent_env_key() {  # what the cached agent build chroot depends on
  printf '%s\n' bionic-agent-env "${PROFILE_AGENT_BUILD_PACKAGES[@]}"
  bionic_source_lines | awk -F'\t' '$1 == "ubuntu"'
}

# profile_agent_env_mmdebstrap OUT.tar: the agent build chroot, from the
# Ubuntu lines only (Docker and Kubernetes have nothing the agent links).
profile_agent_env_mmdebstrap() {
  local out=$1
  die_listing "$(bionic_problems ubuntu)" "the agent's bionic build chroot needs these (see image/README.md, \"Profiles\")"
  local work=$out.d; rm -rf "$work"; mkdir -p "$work/keyrings"
  bionic_stage_keyrings "$work/keyrings"
  local lines=() l
  while IFS= read -r l; do lines+=("$l"); done < <(bionic_source_lines | awk -F'\t' '$1 == "ubuntu" {print $2}')
  run mmdebstrap --mode=root --variant=minbase --skip=check/signed-by \
    --keyring="$work/keyrings" \
    --include="$(IFS=,; echo "${PROFILE_AGENT_BUILD_PACKAGES[*]}")" \
    --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
    bionic "$out" "${lines[@]}"
  rm -rf "$work"
}

# Whether a node-agent binary can run on Ubuntu 18.04 (glibc 2.27, no
# libcjson1 package): prints nothing when it can, else the reason.
bionic_agent_problem() {
  local bin=$1 glibc libs
  command -v readelf >/dev/null || return 0
  glibc=$(readelf -V "$bin" 2>/dev/null | { grep -o 'GLIBC_[0-9.]*' || true; } | sed 's/GLIBC_//' | sort -V | tail -1)
  libs=$(readelf -d "$bin" 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' |
         { grep -E '^libcjson\.|^libssl\.so\.3|^libcrypto\.so\.3' || true; } | tr '\n' ' ')
  if [ -n "$glibc" ] && [ "$(printf '%s\n2.27\n' "$glibc" | sort -V | tail -1)" != 2.27 ]; then
    echo "needs glibc $glibc (Ubuntu 18.04 has 2.27)${libs:+ and ${libs% } (not in Ubuntu 18.04)}"
  elif [ -n "$libs" ]; then
    echo "needs ${libs% } (not in Ubuntu 18.04)"
  fi
}

profile_agent_problem() { bionic_agent_problem "$@"; }

# Whether the build can use an agent binary (the builder calls this, if it
# knows the hook, before it puts the agent into the role layer): the
# chroot's build is checked too, an AGENT_BUILD=host binary must pass it.
profile_agent_check() {
  local why; why=$(bionic_agent_problem "$1")
  [ -z "$why" ] || die "$1 cannot run on Ubuntu 18.04: it $why; leave AGENT_BUILD unset (the agent is then compiled in a bionic chroot), or give AGENT_BUILD=host with an AGENT_BIN built on Ubuntu 18.04"
}

profile_plan() {
  local line what ver pkgs k
  bionic_check_versions || exit 1
  echo "profile:  bionic (Ubuntu 18.04 LTS base, suite bionic, components main universe; kernel $BIONIC_KERNEL)"
  echo "sources:  (the apt lines given to mmdebstrap, in order)"
  while IFS=$'\t' read -r what line; do printf '  %-11s %s\n' "$what" "$line"; done < <(bionic_source_lines plan)
  echo "keyrings: (trusted by apt during the build only; none = [trusted=yes])"
  for k in BIONIC_KEYRING DOCKER_KEYRING K8S_KEYRING; do
    local m=${k%_KEYRING}_MIRROR
    # a Docker or Kubernetes source left to the bundle needs no key
    [ "$k" = BIONIC_KEYRING ] || [ -n "${!m}" ] || [ -z "$DEB_BUNDLE" ] || continue
    printf '  %-15s %s\n' "$k" "${!k:-<not set: $k>}"
  done
  echo "pins:     (/etc/apt/preferences.d/nodeos-pins, Pin-Priority 1001; also asked for as pkg=version)"
  while IFS=$'\t' read -r ver pkgs; do printf '  %-25s %s\n' "$pkgs" "$ver"; done < <(bionic_pin_table)
  [ -n "$CRI_TOOLS_VERSION" ] || printf '  %-25s %s\n' cri-tools "not pinned (CRI_TOOLS_VERSION=<version> pins it)"
  echo "packages: ${PROFILE_PACKAGES[*]}"
  echo "kubernetes: ${K8S_VERSION%-*} (kubelet, kubeadm, kubectl ${K8S_VERSION} and kubernetes-cni ${K8S_CNI_VERSION} as packages in the base)"
  [ -z "$K8S_BUNDLE" ] || echo "warning:  K8S_BUNDLE=$K8S_BUNDLE is for bookworm: its binaries would shadow the packaged kubelet/kubeadm/kubectl; leave it unset"
}

# What a build would stop at (build-image's plan lists it after the agent's).
profile_problems() { bionic_problems; }
