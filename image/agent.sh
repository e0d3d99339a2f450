# image/agent.sh: where the role layer's node-agent comes from (sourced by
# image/build-image and image/build-agent, after lib.sh and the profile).
#
# AGENT_BUILD=host    the binary AGENT_BIN (make's $(BUILD)/node-agent, built
#                     on this machine against its libraries)
# AGENT_BUILD=chroot  compiled inside a build chroot of the profile's own
#                     suite, so it links the libraries the image has. The
#                     chroot (mmdebstrap: build-essential, pkg-config, the
#                     -dev packages of the agent's libraries) is cached
#                     beside the base and never part of the image.
# The profile's PROFILE_AGENT_BUILD is the default (bookworm: host; bionic:
# chroot, a Debian 12 binary cannot run on Ubuntu 18.04). A profile that can
# build in a chroot defines PROFILE_AGENT_BUILD_PACKAGES,
# profile_agent_env_key (what the chroot depends on) and
# profile_agent_env_mmdebstrap OUT.tar; PROFILE_AGENT_CJSON=source says its
# suite has no libcjson-dev, so cJSON is compiled from CJSON_SRC.
# AGENT_BUILD_CFLAGS replaces the chroot build's CFLAGS (default below).
# shellcheck shell=bash
# shellcheck disable=SC2034  # AGENT_BIN, AGENT_VERSION, AGENT_NOTICES are for the caller

# cJSON_ParseWithLength and cJSON_GetNumberValue came with 1.7.13.
AGENT_CJSON_MIN=1.7.13
# Ubuntu's gcc turns _FORTIFY_SOURCE=2 on by itself: asking for it in every
# chroot makes a bookworm chroot build catch what a bionic one would.
AGENT_BUILD_CFLAGS=${AGENT_BUILD_CFLAGS:-"-O2 -g -D_FORTIFY_SOURCE=2"}

# cJSON: "package" (the suite's libcjson-dev) or "source" (CJSON_SRC, linked
# in statically). AGENT_CJSON=source takes the bionic path where the suite
# has the package too (tests/image/agent-chroot.sh does, on bookworm).
agent_cjson_mode() {
  local m=${AGENT_CJSON:-${PROFILE_AGENT_CJSON:-package}}
  case $m in package|source) echo "$m" ;; *) die "AGENT_CJSON=$m: package or source" ;; esac
}

agent_build_mode() {
  local m=${AGENT_BUILD:-${PROFILE_AGENT_BUILD:-host}}
  case $m in
    host) echo host ;;
    chroot)
      declare -F profile_agent_env_mmdebstrap >/dev/null || die "AGENT_BUILD=chroot: the $PROFILE profile has no agent build chroot"
      echo chroot ;;
    *) die "AGENT_BUILD=$m: host or chroot" ;;
  esac
}

# The files `make node-agent` reads, relative to the repository, sorted:
# what git knows of (tracked, or new and not ignored) and still exists.
agent_sources() {
  local f
  if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$REPO" ls-files --cached --others --exclude-standard -- Makefile src/basic src/shared src/agent
  else
    (cd "$REPO" && find Makefile src/basic src/shared src/agent -type f)
  fi | LC_ALL=C sort -u | while IFS= read -r f; do [ -f "$REPO/$f" ] && printf '%s\n' "$f"; done
}

agent_version() { git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown; }

# CJSON_SRC: a cJSON release as a directory or a tarball; prints the
# directory holding cJSON.c (in DIR when it unpacks a tarball), or nothing.
agent_cjson_dir() {
  local src=$1 dir=$2 c
  if [ -d "$src" ]; then
    c=$(find "$src" -maxdepth 2 -name cJSON.c -print | LC_ALL=C sort | sed -n 1p)
  elif [ -f "$src" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    tar -xf "$src" -C "$dir" 2>/dev/null || return 0
    c=$(find "$dir" -maxdepth 3 -name cJSON.c -print | LC_ALL=C sort | sed -n 1p)
  fi
  [ -z "${c:-}" ] || [ ! -f "$(dirname "$c")/cJSON.h" ] || dirname "$c"
}
agent_cjson_version() {  # DIR: x.y.z from its cJSON.h
  local d=$1 v p out=
  for p in MAJOR MINOR PATCH; do
    v=$(sed -n "s/^#define CJSON_VERSION_$p \\([0-9][0-9]*\\).*/\\1/p" "$d/cJSON.h")
    out+=${out:+.}${v:-?}
  done
  echo "$out"
}

# Why cJSON comes from source, for messages.
agent_cjson_why() { if [ -n "${AGENT_CJSON:-}" ]; then echo "AGENT_CJSON=$AGENT_CJSON"; else echo "$PROFILE_SUITE has no libcjson-dev"; fi; }

# What stops a chroot build before it starts, one problem per line.
agent_build_problems() {
  [ "$(agent_build_mode)" = chroot ] || return 0
  [ "$(agent_cjson_mode)" = source ] || return 0
  local tmp d v
  if [ -z "${CJSON_SRC:-}" ]; then
    echo "CJSON_SRC is not set: the agent's cJSON is compiled from source ($(agent_cjson_why)); give a cJSON release's source, a directory with cJSON.c and cJSON.h or its tarball (version $AGENT_CJSON_MIN or later), CJSON_SRC=<dir|tar.gz>"
    return 0
  fi
  [ -e "$CJSON_SRC" ] || { echo "CJSON_SRC=$CJSON_SRC: no such file or directory"; return 0; }
  tmp=$(mktemp -d); d=$(agent_cjson_dir "$CJSON_SRC" "$tmp/x")
  if [ -z "$d" ]; then
    echo "CJSON_SRC=$CJSON_SRC holds no cJSON.c with its cJSON.h (a cJSON release's source tree or tarball)"
  else
    v=$(agent_cjson_version "$d")
    [ "$(printf '%s\n%s\n' "$AGENT_CJSON_MIN" "$v" | sort -V | sed -n 1p)" = "$AGENT_CJSON_MIN" ] && [[ $v != *'?'* ]] ||
      echo "CJSON_SRC=$CJSON_SRC is cJSON $v: the agent needs $AGENT_CJSON_MIN or later (cJSON_ParseWithLength, cJSON_GetNumberValue)"
  fi
  rm -rf "$tmp"
}

agent_plan() {
  local mode why; mode=$(agent_build_mode)
  why=${AGENT_BUILD:+as asked}; why=${why:-the $PROFILE default}
  if [ "$mode" = host ]; then
    local bin=${AGENT_BIN:-$REPO/build/node-agent} problem=
    if [ -x "$bin" ] && declare -F profile_agent_problem >/dev/null; then problem=$(profile_agent_problem "$bin"); fi
    echo "agent:    ${bin#"$REPO"/} as built on this machine (AGENT_BUILD=host, $why)${problem:+: NOT runnable on the $PROFILE base, it $problem}"
    return 0
  fi
  local n cjson
  n=$(agent_sources | wc -l)
  echo "agent:    compiled in a $PROFILE_SUITE build chroot (AGENT_BUILD=chroot, $why); AGENT_BIN is not used"
  echo "  chroot:   mmdebstrap --variant=minbase $PROFILE_SUITE from the profile's sources, cached as cache/$PROFILE/agent-env-<key>/env.tar, not in the image"
  echo "  packages: ${PROFILE_AGENT_BUILD_PACKAGES[*]}"
  if [ "$(agent_cjson_mode)" = source ]; then
    cjson="CJSON_SRC=${CJSON_SRC:-<not set: CJSON_SRC>}"
    echo "  cjson:    $cjson ($AGENT_CJSON_MIN or later; $(agent_cjson_why)): cJSON.c compiled to a static libcjson.a, linked into the agent"
  else
    echo "  cjson:    libcjson-dev of $PROFILE_SUITE"
  fi
  echo "  sources:  $n files of Makefile, src/basic, src/shared, src/agent (git ls-files), copied to /build/src"
  echo "  compile:  make BUILD=out VERSION=$(agent_version) CFLAGS='$AGENT_BUILD_CFLAGS' out/node-agent"
  echo "  result:   the role layer's /usr/bin/node-agent, cached by the hash of all of the above"
}

# agent_build_preflight: stops the build now, before any stage, if the chroot
# build could not succeed (it would otherwise fail after the base stages).
agent_build_preflight() {
  die_listing "$(agent_build_problems)" "the agent cannot be built (image/README.md, \"The agent on bionic\"); make image PROFILE=$PROFILE PLAN=1 shows the agent build"
}

# The script run inside the chroot (sh, /build): cJSON first if its source
# was staged, then the agent with the project's Makefile.
agent_build_script() {
  cat <<'SH'
set -eu
cd /build
if [ -d cjson ]; then
  # the operator's cJSON, as a static library: the image needs no libcjson
  mkdir -p /opt/cjson/include/cjson /opt/cjson/lib/pkgconfig
  cc -O2 -g -c cjson/cJSON.c -o cjson/cJSON.o
  ar rcs /opt/cjson/lib/libcjson.a cjson/cJSON.o
  cp cjson/cJSON.h /opt/cjson/include/cjson/
  printf 'prefix=/opt/cjson\nName: libcjson\nDescription: cJSON from CJSON_SRC (static)\nVersion: %s\nLibs: -L${prefix}/lib -lcjson\nCflags: -I${prefix}/include\n' \
    "$(cat cjson/VERSION)" >/opt/cjson/lib/pkgconfig/libcjson.pc
  export PKG_CONFIG_PATH=/opt/cjson/lib/pkgconfig
fi
cd /build/src
make -j"$NODEOS_JOBS" BUILD=out VERSION="$NODEOS_VERSION" CFLAGS="$NODEOS_CFLAGS" out/node-agent
# run here, against the suite's libraries (the build machine may lack them)
./out/node-agent --version | tee /build/version
SH
}

# agent_build_chroot: builds (or takes from the cache) the agent in the
# profile's build chroot; sets AGENT_BIN to it, AGENT_VERSION, and
# AGENT_NOTICES to the license files of what was linked in statically. Runs
# inside a stage.
agent_build_chroot() {
  local key env_dir env_tar
  key=$(profile_agent_env_key | sha256 | cut -c1-16)
  env_dir=$CACHE_ROOT/$PROFILE/agent-env-$key
  env_tar=$env_dir/env.tar
  mkdir -p "$env_dir"
  # one build at a time fills this cache entry (ROLE=all, two make image runs)
  exec 8>"$env_dir/.lock"
  flock 8
  if [ -s "$env_tar" ]; then
    note "build chroot: cached ${env_tar#"$REPO"/}"
  else
    note "build chroot: mmdebstrap $PROFILE_SUITE + ${PROFILE_AGENT_BUILD_PACKAGES[*]}"
    rm -f "$env_tar.tmp.tar"
    profile_agent_env_mmdebstrap "$env_tar.tmp.tar"
    mv "$env_tar.tmp.tar" "$env_tar"
    note "build chroot: ${env_tar#"$REPO"/} ($(du -m "$env_tar" | cut -f1) MiB)"
  fi

  local version cjson_dir='' cjson_version='' stage_dir
  version=$(agent_version)
  stage_dir=$env_dir/stage.tmp
  rm -rf "$stage_dir"; mkdir -p "$stage_dir"
  if [ "$(agent_cjson_mode)" = source ]; then
    cjson_dir=$(agent_cjson_dir "$CJSON_SRC" "$stage_dir/cjson-unpacked")
    [ -n "$cjson_dir" ] || die "CJSON_SRC=$CJSON_SRC holds no cJSON.c with its cJSON.h"
    cjson_version=$(agent_cjson_version "$cjson_dir")
  fi
  # the agent's cache key: the chroot, every input file, the version string,
  # the flags, the cJSON source and this file (the build script)
  local src_key
  src_key=$( {
    echo "$key $version $AGENT_BUILD_CFLAGS"
    (cd "$REPO" && agent_sources | while IFS= read -r f; do printf '%s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"; done)
    [ -z "$cjson_dir" ] || cat "$cjson_dir/cJSON.c" "$cjson_dir/cJSON.h"
    cat "${BASH_SOURCE[0]}"
  } | sha256 | cut -c1-16)
  local out=$env_dir/agent-$src_key
  if [ -x "$out/node-agent" ]; then
    note "agent: cached ${out#"$REPO"/}/node-agent ($(agent_sources | wc -l) sources unchanged)"
  else
    local R=$env_dir/root.tmp
    rm -rf "$R" "$out.tmp"; mkdir -p "$R" "$out.tmp"
    run tar -xpf "$env_tar" -C "$R"
    mkdir -p "$R/build/src"
    (cd "$REPO" && agent_sources | tar -cf - --no-recursion -T -) | tar -xf - -C "$R/build/src"
    if [ -n "$cjson_dir" ]; then
      mkdir -p "$R/build/cjson"
      cp "$cjson_dir/cJSON.c" "$cjson_dir/cJSON.h" "$R/build/cjson/"
      echo "$cjson_version" >"$R/build/cjson/VERSION"
      note "cJSON $cjson_version from ${CJSON_SRC}: static, into the agent"
    fi
    agent_build_script >"$R/build/build.sh"
    note "compiling $(agent_sources | wc -l) sources in the $PROFILE_SUITE chroot (log: ${STAGE_LOG#"$REPO"/})"
    run env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C TZ=UTC \
      SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" NODEOS_JOBS="$(nproc)" NODEOS_VERSION="$version" NODEOS_CFLAGS="$AGENT_BUILD_CFLAGS" \
      chroot "$R" /bin/sh /build/build.sh
    install -m 0755 "$R/build/src/out/node-agent" "$out.tmp/node-agent"
    install -m 0644 "$R/build/version" "$out.tmp/version"
    # cJSON's MIT license asks for its notice in every copy
    if [ -n "$cjson_dir" ]; then
      local lic
      lic=$(find "$cjson_dir" -maxdepth 1 -iname 'LICENSE*' -type f | sed -n 1p)
      if [ -n "$lic" ]; then install -m 0644 "$lic" "$out.tmp/cJSON.LICENSE"; else note "warning: CJSON_SRC has no LICENSE file to ship beside the agent"; fi
    fi
    rm -rf "$R"
    mv "$out.tmp" "$out"
  fi
  rm -rf "$stage_dir"
  flock -u 8
  AGENT_BIN=$out/node-agent
  AGENT_VERSION=$(awk '{print $2}' "$out/version")
  AGENT_NOTICES=()
  [ ! -f "$out/cJSON.LICENSE" ] || AGENT_NOTICES+=("$out/cJSON.LICENSE")
}

# agent_stage: the builder's agent stage body; sets AGENT_BIN, AGENT_VERSION
# (asked of the binary where it was built) and AGENT_NOTICES.
agent_stage() {
  local mode; mode=$(agent_build_mode)
  AGENT_NOTICES=()
  if [ "$mode" = chroot ]; then
    agent_build_chroot
  else
    AGENT_BIN=${AGENT_BIN:-$REPO/build/node-agent}
    [ -x "$AGENT_BIN" ] || die "$AGENT_BIN is missing: run make first"
    note "host build: ${AGENT_BIN#"$REPO"/}"
  fi
  # a profile whose base cannot run every agent binary (bionic: glibc 2.27) checks it
  if declare -F profile_agent_check >/dev/null; then profile_agent_check "$AGENT_BIN"; fi
  [ "$mode" = chroot ] || AGENT_VERSION=$("$AGENT_BIN" --version | awk '{print $2}')
  if command -v readelf >/dev/null; then
    note "links: $(readelf -d "$AGENT_BIN" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
  fi
}
