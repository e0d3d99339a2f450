#!/usr/bin/env bash
# The agent built in a build chroot (image/agent.sh, what the bionic profile
# always does), with bookworm, the suite this machine can reach: mmdebstrap
# makes the chroot from this machine's apt sources, the agent is compiled in
# it with the project's Makefile, and the binary must run, link the suite's
# libraries and be fortified (Ubuntu's gcc default). Then the bionic-only
# paths on the same chroot: libcurl's pre-7.77 TLS path (NODEOS_CURL_COMPAT)
# against the HTTPS Kubernetes API stand-in, and cJSON compiled from a
# source tarball into the agent (AGENT_CJSON=source, CJSON_SRC: Debian's
# cjson source if apt has deb-src for it, else skipped). Part of
# `make qemu-test` (a few minutes: one mmdebstrap, three compiles). TAP.
# Usage: tests/image/agent-chroot.sh   (as root: mmdebstrap --mode=root, chroot)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
tmp=${TMPDIR:-/tmp}/nodeos-agent-chroot.$$; mkdir -p "$tmp"; trap 'rm -rf "$tmp"' EXIT
export NODEOS_CACHE=$tmp/cache NODEOS_OUT=$tmp/out AGENT_BUILD=chroot
unset AGENT_CJSON CJSON_SRC AGENT_BUILD_CFLAGS
log=$tmp/out/bookworm/agent/logs/1-agent.log

for t in mmdebstrap readelf chroot; do
  command -v "$t" >/dev/null || { echo "1..0 # SKIP $t missing"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (mmdebstrap --mode=root, chroot)"; exit 0; }

# build NAME [ENV...]: image/build-agent --profile bookworm; the binary's path in $tmp/NAME.bin
build() {
  local name=$1; shift
  local t0=$SECONDS
  if env "$@" image/build-agent --profile bookworm >"$tmp/$name.out" 2>&1; then
    tail -1 "$tmp/$name.out" >"$tmp/$name.bin"
    ok "$name: built in $((SECONDS - t0)) s ($(grep -a '^<== ' "$tmp/$name.out" | sed 's/^<== //'))"
  else
    nok "$name: image/build-agent failed"; tail -25 "$tmp/$name.out" | sed 's/^/# /'
    [ -f "$log" ] && tail -25 "$log" | sed 's/^/# log: /'
    : >"$tmp/$name.bin"; return 1
  fi
}
needed() { readelf -d "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'; }

# ---- the plain chroot build -------------------------------------------------
if build chroot; then
  bin=$(cat "$tmp/chroot.bin")
  check "the binary is the cached one, outside the repository" test -x "$bin" -a "${bin#"$NODEOS_CACHE"/bookworm/agent-env-}" != "$bin"
  want="node-agent $(git describe --always --dirty 2>/dev/null || echo unknown)"
  got=$("$bin" --version 2>&1)
  if [ "$got" = "$want" ]; then ok "it runs: --version says '$got'"; else nok "it runs: --version says '$got', not '$want'"; fi
  has_needed() { if needed "$bin" | grep -x "$1" >/dev/null; then ok "it links $1 (readelf)"; else nok "it links $1: $(needed "$bin" | tr '\n' ' ')"; fi; }
  for l in libyaml-0.so.2 libcjson.so.1 libsystemd.so.0 libcrypto.so.3 libc.so.6; do has_needed "$l"; done
  # opened on first use (src/shared/libload.c), by the soname of the suite's library
  for l in libcurl.so.4 libarchive.so.13; do
    if needed "$bin" | grep -x "$l" >/dev/null; then nok "it does not link $l: $(needed "$bin" | tr '\n' ' ')"
    elif readelf -p .rodata "$bin" | grep -F "$l" >/dev/null; then ok "it dlopens $l on first use (the soname is in .rodata, no NEEDED)"
    else nok "it names $l to dlopen"; fi
  done
  if readelf -p .comment "$bin" 2>/dev/null | grep 'GCC: (Debian' >/dev/null; then ok "compiled by the chroot's Debian gcc (.comment)"; else nok "compiled by the chroot's Debian gcc: $(readelf -p .comment "$bin" 2>&1 | tr '\n' ' ')"; fi
  # _FORTIFY_SOURCE=2 turns checked calls into __*_chk imports
  if readelf --dyn-syms -W "$bin" | grep '__[a-z]*printf_chk\|__memcpy_chk\|__strcpy_chk' >/dev/null; then ok "fortified (__*_chk imports): bionic's gcc default is caught here"; else nok "fortified (__*_chk imports)"; fi
  if grep -q "CFLAGS=.*-D_FORTIFY_SOURCE=2" "$log" || grep -q 'D_FORTIFY_SOURCE=2' "$log"; then ok "the build log shows the chroot's make with the CFLAGS"; else nok "the build log shows the chroot's make"; fi
  check "the build chroot is cached as a tar" test -s "$(ls -d "$NODEOS_CACHE"/bookworm/agent-env-*/env.tar 2>/dev/null | sed -n 1p)"
  check "the extracted chroot is removed" test -z "$(ls -d "$NODEOS_CACHE"/bookworm/agent-env-*/root.tmp 2>/dev/null)"
  check "this machine's own agent is not what was built" test "$bin" != "$PWD/build/node-agent"

  # a second build: nothing changed, nothing compiled
  if build again; then
    check "again: the same binary" test "$(cat "$tmp/again.bin")" = "$bin"
    check "again: taken from the cache" grep -q 'agent: cached' "$tmp/again.out"
    check "again: no mmdebstrap" grep -q 'build chroot: cached' "$tmp/again.out"
  fi
fi

# ---- libcurl < 7.77's TLS path, against the HTTPS API stand-in -------------
# The same sources with NODEOS_CURL_COMPAT: the PEMs go through
# CURLOPT_SSL_CTX_FUNCTION, as on Ubuntu 18.04's libcurl 7.58.
if build compat AGENT_BUILD_CFLAGS="-O2 -g -D_FORTIFY_SOURCE=2 -DNODEOS_CURL_COMPAT -DCURL_DISABLE_DEPRECATION"; then
  cbin=$(cat "$tmp/compat.bin")
  check "compat: a different binary (its flags are in the cache key)" test "$cbin" != "$(cat "$tmp/chroot.bin")"
  if readelf --dyn-syms -W "$cbin" | grep ' SSL_CTX_use_PrivateKey' >/dev/null; then ok "compat: the key goes to OpenSSL directly (SSL_CTX_use_PrivateKey)"; else nok "compat: SSL_CTX_use_PrivateKey imported"; fi
  if needed "$cbin" | grep -x 'libssl.so.3' >/dev/null; then ok "compat: it links libssl.so.3 (readelf)"; else nok "compat: it links libssl.so.3: $(needed "$cbin" | tr '\n' ' ')"; fi
  check "compat: the build chroot was reused" grep -q 'build chroot: cached' "$tmp/compat.out"
  if AGENT=$cbin tests/integration/manifests-apply.sh >"$tmp/manifests.tap" 2>&1; then
    ok "compat: the Kubernetes API client works over HTTPS with a client certificate ($(grep -c '^ok' "$tmp/manifests.tap") checks of tests/integration/manifests-apply.sh)"
  else
    nok "compat: tests/integration/manifests-apply.sh with the compat agent"; grep '^not ok' "$tmp/manifests.tap" | sed 's/^/# /'
  fi
fi

# ---- cJSON from a source tarball, linked in statically ----------------------
# Debian's cjson source through apt (the bionic profile's CJSON_SRC path);
# the mirror configured here may not carry sources.
fetch_cjson() {
  local a=$tmp/apt f
  mkdir -p "$a/lists/partial" "$a/parts" "$a/src"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sed 's/^Types: *deb$/Types: deb-src/' "$f" >"$a/parts/$(basename "$f")"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && sed -n 's/^deb /deb-src /p' "$f" >"$a/parts/$(basename "$f")"
  done
  local o=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$a/parts" -o Dir::State::Lists="$a/lists" -o Debug::NoLocking=1)
  apt-get "${o[@]}" -qq update >"$tmp/apt.log" 2>&1 &&
    (cd "$a/src" && apt-get "${o[@]}" -qq --download-only source cjson >>"$tmp/apt.log" 2>&1) &&
    ls "$a"/src/cjson_*.orig.tar.* 2>/dev/null | sed -n 1p
}
cjson_tar=$(fetch_cjson)
if [ -z "$cjson_tar" ]; then
  skip "cJSON from source: no cjson source from apt here ($(tail -1 "$tmp/apt.log" 2>/dev/null))"
else
  # a source too old for the agent is refused before anything is built
  mkdir -p "$tmp/old/cJSON-1.7.7"; printf '#define CJSON_VERSION_MAJOR 1\n#define CJSON_VERSION_MINOR 7\n#define CJSON_VERSION_PATCH 7\n' >"$tmp/old/cJSON-1.7.7/cJSON.h"
  : >"$tmp/old/cJSON-1.7.7/cJSON.c"
  if env AGENT_CJSON=source CJSON_SRC="$tmp/old" image/build-agent --profile bookworm >"$tmp/old.out" 2>&1; then nok "cJSON 1.7.7 is refused"
  else
    if grep -q "is cJSON 1.7.7: the agent needs 1.7.13 or later" "$tmp/old.out"; then ok "cJSON 1.7.7 is refused, naming the version it needs"; else nok "cJSON 1.7.7 refusal: $(tail -2 "$tmp/old.out")"; fi
  fi
  if build cjson AGENT_CJSON=source CJSON_SRC="$cjson_tar"; then
    sbin=$(cat "$tmp/cjson.bin")
    if needed "$sbin" | grep '^libcjson' >/dev/null; then nok "cjson: no libcjson.so needed: $(needed "$sbin" | tr '\n' ' ')"; else ok "cjson: no libcjson.so needed (cJSON $(basename "$cjson_tar") is inside)"; fi
    check "cjson: it runs" "$sbin" --version
    check "cjson: cJSON's license is shipped beside it" test -s "$(dirname "$sbin")/cJSON.LICENSE"
    if grep -q "cJSON .* from $cjson_tar: static" "$tmp/cjson.out"; then ok "cjson: the build says where cJSON came from"; else nok "cjson: the build says where cJSON came from"; fi
  fi
fi

tap_end
