#!/usr/bin/env bash
# Drives image/build-image --plan like an operator would, for both profiles:
# the bionic plan with no mirror configured (it names what is missing), with
# dummy file:// mirrors, with an offline bundle, with bad versions; the
# agent's build plan (a bionic build chroot, cJSON from CJSON_SRC; bookworm on
# request); the bookworm plan; unknown profile and role. Then the bionic profile's build
# path without root or network: profile_mmdebstrap's refusal when a source
# is missing, the mmdebstrap command it assembles (run stubbed), and that its
# apt pins really make apt pick Docker 19.03 / Kubernetes 1.17.3 over newer
# versions in the same repo (host apt against a local flat repo). TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
REPO=$PWD
# has WHAT FILE REGEX: FILE has a line matching the extended REGEX
has()  { local what=$1 f=$2 re=$3; if grep -qE -- "$re" "$f"; then ok "$what"; else nok "$what (no /$re/ in $(basename "$f"))"; sed 's/^/# /' "$f"; fi; }
hasnt() { local what=$1 f=$2 re=$3; if grep -qE -- "$re" "$f"; then nok "$what (/$re/ in $(basename "$f"))"; grep -E -- "$re" "$f" | sed 's/^/# /'; else ok "$what"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Every run starts from an empty environment: no mirror, key or version
# variable leaks in from the caller (make passes its variables through).
clean() { env -i PATH="$PATH" LC_ALL=C "$@"; }
# plan NAME ENV... -- ARGS...: runs build-image, stdout to $tmp/NAME.out,
# stderr to $tmp/NAME.err, exit status to $tmp/NAME.rc
plan() {
  local name=$1; shift; local envs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  clean "${envs[@]}" image/build-image "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  echo $? >"$tmp/$name.rc"
}
rc() { cat "$tmp/$1.rc"; }

# ---- bionic, nothing configured -------------------------------------------
plan none -- --profile bionic --role master --plan
check "bionic plan with no mirror set exits 0" test "$(rc none)" = 0
o=$tmp/none.out
has "plan names the profile and role" "$o" '^plan: bionic image for role master$'
has "base is Ubuntu 18.04, suite bionic, main universe" "$o" '^profile: +bionic \(Ubuntu 18\.04 LTS base, suite bionic, components main universe'
for s in bionic bionic-updates bionic-security; do
  has "ubuntu source for $s shows the unset BIONIC_MIRROR" "$o" "^  ubuntu +deb <not set: BIONIC_MIRROR> $s main universe$"
done
has "docker source shows the unset DOCKER_MIRROR" "$o" '^  docker +deb \[arch=amd64\] <not set: DOCKER_MIRROR or DEB_BUNDLE> bionic stable$'
has "kubernetes source shows the unset K8S_MIRROR" "$o" '^  kubernetes +deb <not set: K8S_MIRROR or DEB_BUNDLE> kubernetes-xenial main$'
has "docker-ce and docker-ce-cli pinned to 19.03" "$o" '^  docker-ce docker-ce-cli +5:19\.03\.[0-9]+~3-0~ubuntu-bionic$'
has "containerd.io pinned to 1.2.x" "$o" '^  containerd\.io +1\.2\.[0-9]+-[0-9]+$'
has "kubelet kubeadm kubectl pinned to 1.17.x" "$o" '^  kubelet kubeadm kubectl +1\.17\.[0-9]+-00$'
has "kubernetes-cni pinned" "$o" '^  kubernetes-cni +[0-9.]+-[0-9]+$'
pk=$(sed -n 's/^packages: //p' "$o")
for p in 'docker-ce=5:19\.03\.[0-9]+~3-0~ubuntu-bionic' 'docker-ce-cli=5:19\.03\.' 'containerd\.io=' \
         'kubelet=1\.17\.3-00' 'kubeadm=1\.17\.3-00' 'kubectl=1\.17\.3-00' 'kubernetes-cni=' 'cri-tools' \
         linux-image-generic initramfs-tools systemd haproxy 'nginx-core' libssl1\.1; do
  if grep -qE "(^| )$p( |$|[^ ]*( |$))" <<<"$pk"; then ok "package list has $p"; else nok "package list has $p: $pk"; fi
done
if grep -qE '(^| )(docker\.io|containerd|libcjson1|libssl3|linux-image-amd64|fdisk)( |$)' <<<"$pk"; then
  nok "package list has no Debian-only package: $pk"; else ok "package list has no Debian-only package"; fi
has "Kubernetes version 1.17.3" "$o" '^kubernetes: 1\.17\.3 '
has "missing section is printed" "$o" '^missing: '
has "missing names BIONIC_MIRROR" "$o" '^  BIONIC_MIRROR is not set'
has "missing names DOCKER_MIRROR or DEB_BUNDLE" "$o" '^  neither DOCKER_MIRROR nor DEB_BUNDLE is set'
has "missing names K8S_MIRROR or DEB_BUNDLE" "$o" '^  neither K8S_MIRROR nor DEB_BUNDLE is set'
# the role's images, exactly as roles/master/images lists them, in order
sed -e 's/#.*//' -e 's/[[:space:]]//g' roles/master/images | grep -v '^$' | sed 's/^/  /' >"$tmp/images.want"
sed -n '/^role images /,/^stages:/p' "$o" | sed '1d;$d' >"$tmp/images.got"
if [ -s "$tmp/images.want" ] && cmp -s "$tmp/images.want" "$tmp/images.got"; then ok "master images listed exactly as roles/master/images"
else nok "master images listed exactly as roles/master/images"; diff "$tmp/images.want" "$tmp/images.got" | sed 's/^/# /'; fi
has "master images include the 1.17.3 control plane" "$o" '^  k8s/kube-apiserver:v1\.17\.3$'
has "stages are listed" "$o" '^stages: 1 base \(mmdebstrap, cached\)'
has "the agent is a stage of its own" "$o" '^stages: .* 3 agent \(host binary or chroot build, cached\)'
check "a plan writes nothing to stderr" test ! -s "$tmp/none.err"
# the agent: compiled in a bionic chroot, not the build machine's binary
has "the agent is compiled in a bionic build chroot by default" "$o" '^agent: +compiled in a bionic build chroot \(AGENT_BUILD=chroot, the bionic default\); AGENT_BIN is not used$'
has "the build chroot is mmdebstrap'd bionic, cached, not in the image" "$o" '^  chroot: +mmdebstrap --variant=minbase bionic .*cache/bionic/agent-env-<key>/env\.tar, not in the image$'
ap=$(sed -n 's/^  packages: //p' "$o")
for p in build-essential pkg-config libyaml-dev libcurl4-openssl-dev libarchive-dev libsystemd-dev libssl-dev; do
  if grep -qE "(^| )$p( |$)" <<<"$ap"; then ok "agent build packages have $p"; else nok "agent build packages have $p: $ap"; fi
done
if grep -q libcjson <<<"$ap"; then nok "no libcjson-dev asked of bionic: $ap"; else ok "no libcjson-dev asked of bionic (Ubuntu 18.04 has none)"; fi
has "cJSON comes from CJSON_SRC, shown unset" "$o" '^  cjson: +CJSON_SRC=<not set: CJSON_SRC> \(1\.7\.13 or later; bionic has no libcjson-dev\): .*static libcjson\.a'
nsrc=$(git ls-files --cached --others --exclude-standard -- Makefile src/basic src/shared src/agent | while read -r f; do [ -f "$f" ] && echo "$f"; done | wc -l)
has "the sources copied in are the agent's, counted" "$o" "^  sources: +$nsrc files of Makefile, src/basic, src/shared, src/agent"
has "what is compiled: the Makefile's node-agent, fortified" "$o" "^  compile: +make BUILD=out VERSION=[^ ]+ CFLAGS='-O2 -g -D_FORTIFY_SOURCE=2' out/node-agent$"
has "missing names CJSON_SRC" "$o" '^  CJSON_SRC is not set: .*CJSON_SRC=<dir\|tar\.gz>$'
hasnt "no 'NOT runnable' verdict on the host's binary" "$o" 'NOT runnable'

# ---- bionic, dummy file:// mirrors and keys ---------------------------------
mkdir -p "$tmp/m/ubuntu" "$tmp/m/docker" "$tmp/m/k8s"
printf -- '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\ndummy\n-----END PGP PUBLIC KEY BLOCK-----\n' >"$tmp/docker.asc"
printf '\x99\x01\x0ddummy' >"$tmp/ubuntu.gpg"; printf '\x99\x01\x0ddummy' >"$tmp/k8s.gpg"
# a stand-in cJSON source tree: only the version lines the builder reads
cjson() {  # DIR VERSION
  mkdir -p "$1"; : >"$1/cJSON.c"
  printf '#define CJSON_VERSION_MAJOR %s\n#define CJSON_VERSION_MINOR %s\n#define CJSON_VERSION_PATCH %s\n' ${2//./ } >"$1/cJSON.h"
}
cjson "$tmp/cjson/cJSON-1.7.15" 1.7.15
mirrors=(BIONIC_MIRROR="file://$tmp/m/ubuntu" DOCKER_MIRROR="file://$tmp/m/docker" K8S_MIRROR="file://$tmp/m/k8s"
         BIONIC_KEYRING="$tmp/ubuntu.gpg" DOCKER_KEYRING="$tmp/docker.asc" K8S_KEYRING="$tmp/k8s.gpg" CJSON_SRC="$tmp/cjson")
plan set "${mirrors[@]}" -- --profile bionic --role master --plan
o=$tmp/set.out
check "bionic plan with mirrors set exits 0" test "$(rc set)" = 0
has "ubuntu line uses BIONIC_MIRROR as given" "$o" "^  ubuntu +deb file://$tmp/m/ubuntu bionic main universe$"
has "ubuntu updates pocket" "$o" "^  ubuntu +deb file://$tmp/m/ubuntu bionic-updates main universe$"
has "docker line uses DOCKER_MIRROR as given" "$o" "^  docker +deb \[arch=amd64\] file://$tmp/m/docker bionic stable$"
has "kubernetes line uses K8S_MIRROR as given" "$o" "^  kubernetes +deb file://$tmp/m/k8s kubernetes-xenial main$"
has "docker keyring shown" "$o" "^  DOCKER_KEYRING +$tmp/docker.asc$"
hasnt "nothing is reported unset" "$o" 'not set'
hasnt "no missing section" "$o" '^missing:'

plan suites "${mirrors[@]}" BIONIC_SUITES=bionic -- --profile bionic --role master --plan
hasnt "BIONIC_SUITES=bionic drops the other pockets" "$tmp/suites.out" 'bionic-(updates|security)'

plan trusted "${mirrors[@]}" K8S_KEYRING=none -- --profile bionic --role master --plan
has "K8S_KEYRING=none makes that line [trusted=yes]" "$tmp/trusted.out" "^  kubernetes +deb \[trusted=yes\] file://$tmp/m/k8s kubernetes-xenial main$"

plan nodir BIONIC_MIRROR="file://$tmp/m/nonexistent" DOCKER_MIRROR="file://$tmp/m/docker" K8S_MIRROR="file://$tmp/m/k8s" \
  BIONIC_KEYRING="$tmp/ubuntu.gpg" DOCKER_KEYRING="$tmp/docker.asc" -- --profile bionic --role master --plan
has "a file:// mirror that is not a directory is named" "$tmp/nodir.out" "^  BIONIC_MIRROR=file://$tmp/m/nonexistent: .* is not a directory$"
has "a mirror without its keyring is named" "$tmp/nodir.out" '^  K8S_KEYRING is not set'
hasnt "the Ubuntu mirror's keyring is not reported missing when given" "$tmp/nodir.out" '^  BIONIC_KEYRING( is not set|=)'

plan nourl BIONIC_MIRROR=some-host/ubuntu -- --profile bionic --role master --plan
has "a mirror that is not a URL is named" "$tmp/nourl.out" '^  BIONIC_MIRROR=some-host/ubuntu is not a URL'

# ---- bionic, offline bundle ---------------------------------------------------
mkdir -p "$tmp/bundle" "$tmp/empty-bundle"; : >"$tmp/bundle/Packages"
plan bundle BIONIC_MIRROR="file://$tmp/m/ubuntu" BIONIC_KEYRING="$tmp/ubuntu.gpg" DEB_BUNDLE="$tmp/bundle" CJSON_SRC="$tmp/cjson" -- --profile bionic --role master --plan
o=$tmp/bundle.out
check "bionic plan with DEB_BUNDLE exits 0" test "$(rc bundle)" = 0
has "the bundle is a trusted flat file:// repo" "$o" "^  bundle +deb \[trusted=yes\] file://$tmp/bundle \./$"
hasnt "no docker or kubernetes mirror line with a bundle" "$o" '^  (docker|kubernetes) '
hasnt "no docker or kubernetes keyring asked for with a bundle" "$o" '^  (DOCKER|K8S)_KEYRING'
hasnt "nothing missing with Ubuntu mirror + bundle" "$o" '^missing:'
plan nopkgs BIONIC_MIRROR="file://$tmp/m/ubuntu" BIONIC_KEYRING="$tmp/ubuntu.gpg" DEB_BUNDLE="$tmp/empty-bundle" -- --profile bionic --role master --plan
has "a bundle without a Packages index is named" "$tmp/nopkgs.out" "^  DEB_BUNDLE=$tmp/empty-bundle has no Packages index"

# ---- bionic, versions outside the profile ------------------------------------
plan dockerver DOCKER_VERSION=5:20.10.0~3-0~ubuntu-bionic -- --profile bionic --role master --plan
check "DOCKER_VERSION 20.10 is refused (exit 1)" test "$(rc dockerver)" = 1
has "the refusal names DOCKER_VERSION" "$tmp/dockerver.err" '^build-image: error: DOCKER_VERSION=5:20\.10\.0~3-0~ubuntu-bionic is not a Docker 19\.03'
plan k8sver K8S_VERSION=1.18.0-00 -- --profile bionic --role master --plan
check "K8S_VERSION 1.18 is refused (exit 1)" test "$(rc k8sver)" = 1
has "the refusal names K8S_VERSION" "$tmp/k8sver.err" '^build-image: error: K8S_VERSION=1\.18\.0-00 is not a Kubernetes 1\.17'
plan k8s1717 K8S_VERSION=1.17.17-00 CRI_TOOLS_VERSION=1.13.0-01 -- --profile bionic --role master --plan
has "another 1.17.x is accepted and pinned" "$tmp/k8s1717.out" '^  kubelet kubeadm kubectl +1\.17\.17-00$'
has "CRI_TOOLS_VERSION pins cri-tools" "$tmp/k8s1717.out" '^  cri-tools +1\.13\.0-01$'

plan all -- --profile bionic --role all --plan
check "--role all plans the six roles" test "$(grep -c '^plan: bionic image for role ' "$tmp/all.out")" = 6

# ---- the agent's build, as planned --------------------------------------------
has "CJSON_SRC given: the plan shows it" "$tmp/set.out" "^  cjson: +CJSON_SRC=$tmp/cjson \(1\.7\.13 or later"
cjson "$tmp/cjson-old/cJSON-1.7.7" 1.7.7
plan cjsonold "${mirrors[@]}" CJSON_SRC="$tmp/cjson-old" -- --profile bionic --role master --plan
has "a cJSON older than 1.7.13 is named missing, with its version" "$tmp/cjsonold.out" "^  CJSON_SRC=$tmp/cjson-old is cJSON 1\.7\.7: the agent needs 1\.7\.13 or later"
plan cjsonnone "${mirrors[@]}" CJSON_SRC="$tmp/nonexistent" -- --profile bionic --role master --plan
has "a CJSON_SRC that does not exist is named" "$tmp/cjsonnone.out" "^  CJSON_SRC=$tmp/nonexistent: no such file or directory$"
mkdir -p "$tmp/notcjson"; : >"$tmp/notcjson/README"
plan cjsonbad "${mirrors[@]}" CJSON_SRC="$tmp/notcjson" -- --profile bionic --role master --plan
has "a CJSON_SRC without cJSON.c is named" "$tmp/cjsonbad.out" "^  CJSON_SRC=$tmp/notcjson holds no cJSON\.c"
tar -czf "$tmp/cjson.tar.gz" -C "$tmp/cjson" cJSON-1.7.15
plan cjsontar "${mirrors[@]}" CJSON_SRC="$tmp/cjson.tar.gz" -- --profile bionic --role master --plan
hasnt "a cJSON release tarball is taken as CJSON_SRC" "$tmp/cjsontar.out" '^missing:'
abs_agent=$(cd "$(dirname "$AGENT")" 2>/dev/null && pwd)/$(basename "$AGENT")
plan bionichost "${mirrors[@]}" AGENT_BUILD=host AGENT_BIN="$abs_agent" -- --profile bionic --role master --plan
has "AGENT_BUILD=host on bionic: the given binary" "$tmp/bionichost.out" '^agent: +.*node-agent as built on this machine \(AGENT_BUILD=host, as asked\)'
hasnt "AGENT_BUILD=host: no chroot plan, no CJSON_SRC needed" "$tmp/bionichost.out" '^  (chroot|cjson): '
if [ -x "$abs_agent" ] && [ -n "$(prof -- "bionic_agent_problem '$abs_agent'" 2>/dev/null)" ]; then
  has "AGENT_BUILD=host: this machine's binary is flagged NOT runnable" "$tmp/bionichost.out" 'NOT runnable on the bionic base, it needs glibc'
else
  skip "no host agent $AGENT that Ubuntu 18.04 could not run"
fi
plan badmode AGENT_BUILD=cross -- --profile bionic --role master --plan
check "AGENT_BUILD=cross is refused (exit 1)" test "$(rc badmode)" = 1
has "the refusal names AGENT_BUILD" "$tmp/badmode.err" '^build-image: error: AGENT_BUILD=cross: host or chroot$'
plan bwchroot -- --profile bookworm --role master --plan --agent-build chroot
if [ "$(rc bwchroot)" = 0 ]; then
  has "--agent-build chroot: bookworm compiles in a bookworm chroot" "$tmp/bwchroot.out" '^agent: +compiled in a bookworm build chroot \(AGENT_BUILD=chroot, as asked\)'
  has "bookworm's chroot has libcjson-dev" "$tmp/bwchroot.out" '^  packages: .*(^| )libcjson-dev( |$)'
  has "bookworm's cJSON is its package" "$tmp/bwchroot.out" '^  cjson: +libcjson-dev of bookworm$'
  hasnt "nothing missing for a bookworm chroot build" "$tmp/bwchroot.out" '^missing:'
  plan bwsrc AGENT_BUILD=chroot AGENT_CJSON=source -- --profile bookworm --role master --plan
  has "AGENT_CJSON=source on bookworm asks for CJSON_SRC" "$tmp/bwsrc.out" '^  CJSON_SRC is not set: .*\(AGENT_CJSON=source\)'
else
  skip "bookworm chroot plan: $(cat "$tmp/bwchroot.err")"
fi

# ---- bookworm, errors ---------------------------------------------------------
plan bookworm -- --profile bookworm --role master --plan
o=$tmp/bookworm.out
if [ "$(rc bookworm)" = 0 ]; then
  ok "bookworm plan exits 0"
  has "bookworm base is Debian 12" "$o" '^profile: +bookworm \(Debian 12\)'
  has "bookworm uses Debian's docker.io" "$o" '^packages: .*(^| )docker\.io( |$)'
  has "bookworm lists the master images" "$o" '^  k8s/kube-apiserver:v1\.17\.3$'
elif grep -q 'no apt sources on this machine' "$tmp/bookworm.err"; then
  ok "# SKIP bookworm plan: this machine has no apt sources"
else
  nok "bookworm plan exits 0: $(cat "$tmp/bookworm.err")"
fi
plan badprofile -- --profile nosuch --role master --plan
check "unknown profile exits 1" test "$(rc badprofile)" = 1
has "unknown profile: one clear error line" "$tmp/badprofile.err" "^build-image: error: unknown profile 'nosuch' \(bookworm or bionic\)$"
plan badrole -- --profile bionic --role nosuch --plan
check "unknown role exits 1" test "$(rc badrole)" = 1
has "unknown role: names the role and the valid ones" "$tmp/badrole.err" "^build-image: error: unknown role 'nosuch' \(one of dojot kafka lb master verne x509\)"
plan norole -- --profile bionic --plan
has "missing --role is an error" "$tmp/norole.err" '^build-image: error: --role is required'

# ---- the bionic build path, with mmdebstrap stubbed --------------------------
# prof ENV... -- CODE: runs CODE in bash with lib.sh and the bionic profile
# sourced, as build-image sources them; `run` records instead of running.
prof() {
  local envs=(); while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  clean "${envs[@]}" CAP="$tmp/cap" bash -c '
    set -euo pipefail; REPO=$1; K8S_BUNDLE=; shift
    . "$REPO/image/lib.sh"; . "$REPO/image/profiles/bionic.sh"
    run() {
      mkdir -p "$CAP"; printf "%s\n" "$@" >"$CAP/argv"
      local a; for a in "$@"; do case $a in
        NODEOS_PINS=*) cp "${a#*=}" "$CAP/pins" ;;
        NODEOS_SOURCES=*) cp "${a#*=}" "$CAP/sources.list" ;;
        --keyring=*) ls "${a#*=}" >"$CAP/keyrings" ;;
      esac; done
    }
    eval "$1"' _ "$REPO" "$@"
}
rm -rf "$tmp/cap"
prof BIONIC_MIRROR="file://$tmp/m/ubuntu" -- 'profile_mmdebstrap "'"$tmp"'/out.tar"' >"$tmp/refuse.out" 2>"$tmp/refuse.err"
check "profile_mmdebstrap with sources missing exits non-zero" test $? -ne 0
check "... and never runs mmdebstrap" test ! -e "$tmp/cap/argv"
has "... naming the missing Docker source" "$tmp/refuse.err" '^build-image: error: neither DOCKER_MIRROR nor DEB_BUNDLE is set'
has "... naming the missing Kubernetes source" "$tmp/refuse.err" '^build-image: error: neither K8S_MIRROR nor DEB_BUNDLE is set'
has "... naming the missing Ubuntu keyring" "$tmp/refuse.err" '^build-image: error: BIONIC_KEYRING is not set'

rm -rf "$tmp/cap"
prof "${mirrors[@]}" -- 'profile_mmdebstrap "'"$tmp"'/out.tar"' >"$tmp/build.out" 2>"$tmp/build.err"
check "profile_mmdebstrap with every source given runs" test $? -eq 0 -a -s "$tmp/cap/argv"
a=$tmp/cap/argv
has "runs mmdebstrap in root mode, minbase" "$a" '^--variant=minbase$'
has "suite bionic, then the target" "$a" '^bionic$'
check "the target is the OUT.tar given" grep -qx "$tmp/out.tar" "$a"
has "passes the Ubuntu source line" "$a" "^deb file://$tmp/m/ubuntu bionic main universe$"
has "passes the security pocket" "$a" "^deb file://$tmp/m/ubuntu bionic-security main universe$"
has "passes the Docker source line" "$a" "^deb \[arch=amd64\] file://$tmp/m/docker bionic stable$"
has "passes the Kubernetes source line" "$a" "^deb file://$tmp/m/k8s kubernetes-xenial main$"
has "asks for docker-ce at the pinned version" "$a" '^--include=.*(^|,)docker-ce=5:19\.03\.14~3-0~ubuntu-bionic(,|$)'
has "asks for kubeadm 1.17.3-00 and kubernetes-cni" "$a" '^--include=.*kubeadm=1\.17\.3-00.*kubernetes-cni='
has "mounts file:// mirrors into the chroot" "$a" '^--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount$'
has "stages the armored Docker key as .asc" "$tmp/cap/keyrings" '^nodeos-docker\.asc$'
has "stages the binary Ubuntu key as .gpg" "$tmp/cap/keyrings" '^nodeos-bionic\.gpg$'
has "pins file pins docker-ce at priority 1001" "$tmp/cap/pins" '^Package: docker-ce docker-ce-cli$'
has "pins file pins 5:19.03.14~3-0~ubuntu-bionic" "$tmp/cap/pins" '^Pin: version 5:19\.03\.14~3-0~ubuntu-bionic$'
has "pins file pins kubelet kubeadm kubectl" "$tmp/cap/pins" '^Package: kubelet kubeadm kubectl$'
hasnt "the image's sources.list keeps no Docker/Kubernetes line" "$tmp/cap/sources.list" '(docker|k8s)'
has "the image's sources.list keeps the Ubuntu lines" "$tmp/cap/sources.list" "^deb file://$tmp/m/ubuntu bionic-updates main universe$"
check "the work dir is removed afterwards" test ! -e "$tmp/out.tar.d"

prof DEB_BUNDLE="$tmp/bundle" -- 'profile_base_key' >"$tmp/key1"
echo "Package: x" >"$tmp/bundle/Packages"
prof DEB_BUNDLE="$tmp/bundle" -- 'profile_base_key' >"$tmp/key2"
if ! cmp -s "$tmp/key1" "$tmp/key2"; then ok "the base cache key follows the bundle's Packages index"; else nok "the base cache key follows the bundle's Packages index"; fi

why=$(prof -- 'bionic_agent_problem /bin/ls' 2>&1)
glibc=$(ldd --version 2>/dev/null | sed -n 1p | grep -oE '[0-9]+\.[0-9]+$')
if [ -n "$glibc" ] && [ "$(printf '%s\n2.27\n' "$glibc" | sort -V | tail -1)" != 2.27 ]; then
  if grep -q 'needs glibc' <<<"$why"; then ok "a binary built against glibc $glibc is flagged as not runnable on 18.04"; else nok "glibc $glibc binary flagged: '$why'"; fi
else
  ok "# SKIP this machine's glibc ($glibc) is not newer than 18.04's"
fi

# the agent's build chroot: mmdebstrap from the Ubuntu lines only
rm -rf "$tmp/cap"
prof BIONIC_MIRROR="file://$tmp/m/ubuntu" -- 'profile_agent_env_mmdebstrap "'"$tmp"'/env.tar"' >"$tmp/envrefuse.out" 2>"$tmp/envrefuse.err"
check "the agent chroot without the Ubuntu keyring is refused" test $? -ne 0 -a ! -e "$tmp/cap/argv"
has "... naming BIONIC_KEYRING" "$tmp/envrefuse.err" '^build-image: error: BIONIC_KEYRING is not set'
hasnt "... and not Docker or Kubernetes, which the agent does not need" "$tmp/envrefuse.err" '(DOCKER|K8S)_MIRROR'
rm -rf "$tmp/cap"
prof BIONIC_MIRROR="file://$tmp/m/ubuntu" BIONIC_KEYRING="$tmp/ubuntu.gpg" -- 'profile_agent_env_mmdebstrap "'"$tmp"'/env.tar"' >/dev/null 2>"$tmp/env.err"
a=$tmp/cap/argv
check "the agent chroot needs only the Ubuntu mirror" test -s "$a"
has "agent chroot: bionic, minbase" "$a" '^--variant=minbase$'
has "agent chroot: the build packages" "$a" '^--include=build-essential,pkg-config,.*libcurl4-openssl-dev'
has "agent chroot: the Ubuntu lines" "$a" "^deb file://$tmp/m/ubuntu bionic-updates main universe$"
hasnt "agent chroot: no Docker or Kubernetes line" "$a" '(stable|kubernetes-xenial)'
check "agent chroot: to the OUT.tar given" grep -qx "$tmp/env.tar" "$a"
k1=$(prof BIONIC_MIRROR="file://$tmp/m/ubuntu" -- 'profile_agent_env_key' | sha256sum)
k2=$(prof BIONIC_MIRROR="file://$tmp/m/other" -- 'profile_agent_env_key' | sha256sum)
k3=$(prof BIONIC_MIRROR="file://$tmp/m/ubuntu" DOCKER_MIRROR="file://$tmp/m/docker" -- 'profile_agent_env_key' | sha256sum)
check "the agent chroot's cache key follows the Ubuntu mirror" test "$k1" != "$k2"
check "... but not the Docker mirror" test "$k1" = "$k3"

# ---- the pins, applied by real apt to a local flat repo ----------------------
# The bundle holds both the pinned and newer versions; apt must pick the pins.
if command -v apt-cache >/dev/null; then
  ar=$tmp/apt; mkdir -p "$ar/repo" "$ar/etc/apt/preferences.d" "$ar/etc/apt/apt.conf.d" "$ar/etc/apt/sources.list.d" \
    "$ar/var/lib/apt/lists/partial" "$ar/var/cache/apt/archives/partial" "$ar/var/lib/dpkg"
  : >"$ar/var/lib/dpkg/status"
  stanza() { printf 'Package: %s\nVersion: %s\nArchitecture: amd64\nFilename: ./%s_%s_amd64.deb\nSize: 1\nDescription: stand-in\n\n' "$1" "$2" "$1" "${2#*:}"; }
  { for v in 5:19.03.14~3-0~ubuntu-bionic 5:20.10.7~3-0~ubuntu-bionic; do stanza docker-ce "$v"; stanza docker-ce-cli "$v"; done
    for v in 1.2.10-3 1.4.6-1; do stanza containerd.io "$v"; done
    for v in 1.17.3-00 1.18.20-00 1.22.0-00; do stanza kubeadm "$v"; stanza kubelet "$v"; stanza kubectl "$v"; done
    for v in 0.8.7-00 1.1.1-00; do stanza kubernetes-cni "$v"; done
  } >"$ar/repo/Packages"
  prof DEB_BUNDLE="$ar/repo" -- 'bionic_pins' >"$ar/etc/apt/preferences.d/nodeos-pins"
  prof DEB_BUNDLE="$ar/repo" -- 'profile_sources' >"$ar/etc/apt/sources.list"
  aptopts=(-o Dir="$ar" -o Dir::State::status="$ar/var/lib/dpkg/status" -o Dir::Etc::Trusted="$ar/etc/apt/trusted.gpg"
           -o Dir::Etc::TrustedParts="$ar/etc/apt/trusted.gpg.d" -o APT::Architecture=amd64 -o APT::Architectures=amd64
           -o APT::Sandbox::User=root -o Debug::NoLocking=1 -o Acquire::Languages=none)
  if clean apt-get "${aptopts[@]}" -qq update >"$tmp/apt-update.log" 2>&1; then
    ok "apt accepts the bundle's source line"
    for p in docker-ce:5:19.03.14~3-0~ubuntu-bionic docker-ce-cli:5:19.03.14~3-0~ubuntu-bionic containerd.io:1.2.10-3 \
             kubeadm:1.17.3-00 kubelet:1.17.3-00 kubectl:1.17.3-00 kubernetes-cni:0.8.7-00; do
      pkg=${p%%:*} want=${p#*:}
      got=$(clean apt-cache "${aptopts[@]}" policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
      if [ "$got" = "$want" ]; then ok "apt picks $pkg $want over newer versions"; else nok "apt picks $pkg $want over newer versions (got '$got')"; fi
    done
  else
    nok "apt accepts the bundle's source line"; sed 's/^/# /' "$tmp/apt-update.log"
  fi
else
  ok "# SKIP no apt-cache on this machine"
fi

tap_end
