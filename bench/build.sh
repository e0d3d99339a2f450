#!/usr/bin/env bash
# bench/build.sh: `make bench-build`, the image build timed three ways, side
# by side in one run, all in a scratch copy of this tree (its own cache/
# and out/: the repo's cache and images are never touched):
#   cold        make image ROLE=$role with an empty cache (mmdebstrap from
#               the machine's apt sources, initramfs, squashfs, disk)
#   warm        the same again, nothing changed (stages 1-2 cached)
#   agent-only  the agent's version string changed: the agent's rebuild
#               alone, then the image rebuild that picks it up
#   mkosi       the same package list (image/profiles/bookworm.sh) built by
#               Debian's mkosi 14 (bench/mkosi/mkosi.default), cold, then
#               again with its package cache (mkosi 14 has no incremental
#               mode for squashfs images)
# No app images are preloaded (no IMAGES_DIR). Targets: warm <= 60 s,
# agent-only <= 10 s, the bookworm qcow2 without app images <= 400 MB.
# Environment: BENCH_BUILD_ROLE (verne), BENCH_BUILD_WORK (scratch dir),
# BENCH_MKOSI=0 to leave mkosi out. Writes bench/out/build.json.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$BENCH_REPO" || exit 1
role=${BENCH_BUILD_ROLE:-verne}
W=${BENCH_BUILD_WORK:-$BENCH_BUILD/build-work}
command -v mkosi >/dev/null || [ "${BENCH_MKOSI:-1}" = 0 ] || bench_die "mkosi is missing: tools/install-deps bench (as root)"

# a copy of the working tree (tracked and new files, not ignored ones)
rm -rf "$W"; mkdir -p "$W/repo"
git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$W/repo" -xf -
# the scratch copy has no .git: the agent's version string is given
mk() { make -C "$W/repo" --no-print-directory BUILD=build "$@"; }

# timed NAME CMD...: wall seconds of CMD into $times, its log in $W/NAME.log
times='{}'
timed() {
  local name=$1; shift
  local t0; t0=$(date +%s.%N)
  if ! "$@" >"$W/$name.log" 2>&1; then tail -20 "$W/$name.log" >&2; bench_die "$name failed (log: $W/$name.log)"; fi
  local s; s=$(echo "$(date +%s.%N) - $t0" | bc)
  times=$(jq --arg k "$name" --arg v "$s" '. + {($k): ($v | tonumber * 10 | round / 10)}' <<<"$times")
  bench_log "$name: $(printf '%.1f' "$s") s"
}
# the builder's own stage lines ("<== base done in 197.2 s (...)")
stages() { grep -a '^<== ' "$W/$1.log" | sed -E 's/^<== ([a-z0-9-]+) done in ([0-9.]+) s.*/\1=\2/' | tr '\n' ' '; }
qcow_mb() { echo $(( $(stat -c %s "$1") / 1000000 )); }

bench_log "cold build of $role (empty cache: mmdebstrap, initramfs, squashfs)"
timed cold mk VERSION=bench-1 image ROLE="$role"
bench_log "  stages: $(stages cold)"
size_cold=$(qcow_mb "$W/repo/out/bookworm/$role/disk.qcow2")
timed warm mk VERSION=bench-1 image ROLE="$role"
bench_log "  stages: $(stages warm)"
# an agent-only change: the version string, compiled into main.c, http.c
# and kubeapi.c (make does not track -D flags: the sources are touched)
touch "$W/repo"/src/agent/main.c "$W/repo"/src/shared/http.c "$W/repo"/src/agent/kubeapi.c
timed agent-only-compile mk VERSION=bench-2 build/node-agent
timed agent-only-image mk VERSION=bench-2 image ROLE="$role"
got=$(jq -r .agent "$W/repo/out/bookworm/$role/manifest.json")
[ "$got" = bench-2 ] || bench_die "the rebuilt image has agent version '$got', not bench-2"
bench_log "  stages: $(stages agent-only-image)"
size=$(qcow_mb "$W/repo/out/bookworm/$role/disk.qcow2")
base_mb=$(( $(stat -c %s "$W/repo/out/bookworm/$role/base.sqfs") / 1000000 ))

mkosi_json=null
if [ "${BENCH_MKOSI:-1}" != 0 ]; then
  # the same package list; the mirror of this machine's apt sources
  # shellcheck source=../image/profiles/bookworm.sh
  pkgs=$(die() { echo "$*" >&2; exit 1; }; . image/profiles/bookworm.sh; IFS=,; echo "${PROFILE_PACKAGES[*]}")
  mirror=$(awk '$1 == "URIs:" {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
  [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
  M=$W/mkosi; mkdir -p "$M/mkosi.cache" "$M/mkosi.output"; cp bench/mkosi/mkosi.default "$M/"
  # mkosi 14 has no incremental mode for squashfs: warm = its package cache
  mko() { (cd "$M" && mkosi --mirror "$mirror" --package "$pkgs" "$@" build); }
  bench_log "mkosi: cold build"
  timed mkosi-cold mko
  mimg=$(find "$M/mkosi.output" -type f -size +1M | sed -n 1p)
  [ -n "$mimg" ] || bench_die "mkosi wrote no image (log: $W/mkosi-cold.log)"
  msize=$(qcow_mb "$mimg")
  timed mkosi-warm mko -f
  mkosi_json=$(jq -n --arg s "$msize" --arg v "$(mkosi --version | awk '{print $2}')" '{squashfs_mb: ($s|tonumber), version: $v}')
fi

res=$(jq -n --argjson t "$times" --arg role "$role" --arg sc "$size_cold" --arg s "$size" --arg b "$base_mb" --argjson mk "$mkosi_json" \
  --arg cs "$(stages cold)" --arg ws "$(stages warm)" --arg ao "$(stages agent-only-image)" '
  {role: $role, seconds: $t, stages: {cold: $cs, warm: $ws, agent_only: $ao},
   qcow2_mb: ($s|tonumber), qcow2_mb_cold: ($sc|tonumber), base_sqfs_mb: ($b|tonumber), app_images: false, mkosi: $mk,
   goals: {warm_le_60s: ($t.warm <= 60), agent_only_compile_le_10s: ($t["agent-only-compile"] <= 10),
           agent_only_image_le_60s: ($t["agent-only-image"] <= 60), qcow2_le_400mb: (($s|tonumber) <= 400)}}')
echo
echo "bench-build: the bookworm $role image, no app images ($(nproc) CPUs; times in seconds)"
{ echo "build cold warm agent-only qcow2_MB"
  jq -r '"build-image \(.seconds.cold) \(.seconds.warm) \(.seconds["agent-only-compile"])+\(.seconds["agent-only-image"]) \(.qcow2_mb)"' <<<"$res"
  jq -r 'if .mkosi then "mkosi-\(.mkosi.version) \(.seconds["mkosi-cold"]) \(.seconds["mkosi-warm"]) - -" else empty end' <<<"$res"
} | column -t
jq -r '"root squashfs: build-image base.sqfs \(.base_sqfs_mb) MB" + (if .mkosi then ", mkosi \(.mkosi.squashfs_mb) MB (same package list; mkosi 14 makes no disk here: see bench/README.md)" else "" end)' <<<"$res"
echo "(agent-only: the agent's rebuild + the image rebuild that picks it up)"
jq -r '.goals | "goal: warm rebuild <= 60 s: \(.warm_le_60s); agent-only compile <= 10 s: \(.agent_only_compile_le_10s) (image with it <= 60 s: \(.agent_only_image_le_60s)); qcow2 <= 400 MB: \(.qcow2_le_400mb)"' <<<"$res"
bench_write build "$res"
