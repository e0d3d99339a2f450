# bench/lib.sh: shared by the benchmarks (sourced). Each benchmark boots
# built images through the QEMU test harness (qemu-tests/lib.sh) with a
# test overlay carrying the benchmark tools, reads "BENCH <json>" lines
# its in-guest driver prints on the second serial port, prints a table and
# writes bench/out/<name>.json. Nothing leaves the VM or this machine.
# shellcheck shell=bash

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REPO=$(cd "$BENCH_DIR/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) BENCH_BUILD=$BUILD/bench ;; *) BENCH_BUILD=$BENCH_REPO/$BUILD/bench ;; esac
BENCH_OUT=${BENCH_OUT:-$BENCH_DIR/out}
BENCH_QUICK=${BENCH_QUICK:-0}
# the harness keeps its VM directories under bench/out, not qemu-tests/out
export QT_OUT=${QT_OUT:-$BENCH_OUT/qemu}
# shellcheck source=../qemu-tests/lib.sh
. "$BENCH_REPO/qemu-tests/lib.sh"
mkdir -p "$BENCH_OUT" "$BENCH_BUILD"

bench_log() { echo "# $*" >&2; }
bench_die() { echo "bench: $*" >&2; exit 1; }

# bench_tools: the load generator and the sink, static (the guest has the
# same glibc, but static binaries need nothing from the image)
bench_tools() {
  local t
  for t in mqtt-load mqtt-sink; do
    if [ ! -x "$BENCH_BUILD/$t" ] || [ "$BENCH_DIR/$t.c" -nt "$BENCH_BUILD/$t" ] || [ "$BENCH_DIR/mqtt-io.h" -nt "$BENCH_BUILD/$t" ]; then
      ${CC:-cc} -std=c11 -Wall -Wextra -Werror -Wshadow -O2 -static -o "$BENCH_BUILD/$t" "$BENCH_DIR/$t.c" ||
        bench_die "cannot build $t"
    fi
  done
}

# bench_overlay OUT.sqfs [TREE...]: the test overlay: the tools in
# /usr/local/bin, the in-guest drivers in /usr/local/lib/nodeos-bench, and
# each TREE copied over the top (symlinks kept: a unit masked by a link to
# /dev/null stays masked)
bench_overlay() {
  local out=$1; shift
  local d=$BENCH_BUILD/overlay.d; rm -rf "$d"; mkdir -p "$d/usr/local/bin" "$d/usr/local/lib/nodeos-bench"
  install -m 0755 "$BENCH_BUILD/mqtt-load" "$BENCH_BUILD/mqtt-sink" "$d/usr/local/bin/"
  install -m 0755 "$BENCH_DIR"/guest/*.sh "$d/usr/local/lib/nodeos-bench/"
  local t; for t in "$@"; do cp -a "$t/." "$d/"; done
  qt_extra_layer "$d" "$out"
}

# bench_image ROLE: a private copy of the built image (what the harness
# boots: kernel, initrd, command line, disk), so that a rebuild of out/
# while a benchmark runs for an hour cannot pull the disk away under it.
# BENCH_IMAGES: where the built images are (default out/<profile>).
bench_image() {
  local d=${BENCH_IMAGES:-$BENCH_REPO/out/${QT_PROFILE:-bookworm}}/$1 c=$BENCH_BUILD/images/$1
  [ -f "$d/disk.qcow2" ] || bench_die "no $1 image at $d: run 'make image ROLE=$1'"
  if [ ! -f "$c/manifest.json" ] || ! cmp -s "$d/manifest.json" "$c/manifest.json"; then
    rm -rf "$c"; mkdir -p "$c"
    cp "$d/vmlinuz" "$d/initrd.img" "$d/cmdline" "$d/disk.qcow2" "$c/" && cp "$d/manifest.json" "$c/" ||
      bench_die "cannot copy the $1 image"
  fi
  echo "$c"
}

# bench_vm NAME IMAGE_DIR SEED_DIR ACTION TIMEOUT_S: boots one VM (the only
# one: benchmarks never run two at once), lets the in-guest driver run as
# the probe's action and waits for the guest to power itself off. Extra
# harness settings come from the environment (QT_EXTRA, QT_MEM, QT_SMP).
bench_vm() {
  local name=$1 img=$2 seed=$3 action=$4 t=$5
  local iso=$QT_OUT/$name.iso; mkdir -p "$QT_OUT"
  # images are rebuilt under us at times (make qemu-test): fail, not boot nothing
  [ -f "$img/disk.qcow2" ] || { bench_log "$name: no image at $img"; return 1; }
  qt_seed_iso "$seed" "$iso" || bench_die "$name: cannot make the cidata ISO"
  bench_log "$name: booting $(basename "$img") (${QT_MEM} MiB, ${QT_SMP} vCPU, $(qt_accel "$img/vmlinuz")), up to ${t} s"
  QT_ACTION=$action qt_boot "$name" "$img" "$iso"
  if ! qt_exited "$name" "$t"; then
    bench_log "$name: still running after ${t} s: stopped"; qt_tail "$name"; qt_stop "$name" "$img"; return 1
  fi
  qt_stop "$name" "$img" || return 1
}

# bench_results NAME: the JSON lines the in-guest driver printed
bench_results() { grep -a '^BENCH {' "$QT_OUT/$1/probe.log" | cut -c7- | tr -d '\r'; }
# bench_results_json NAME: those lines as one JSON array; a line that is not
# JSON (a stray message) is left out, and said so
bench_results_json() {
  local n arr
  n=$(bench_results "$1" | wc -l)
  arr=$(bench_results "$1" | jq -cRs '[split("\n")[] | select(length > 0) | fromjson?]') || return 1
  [ "$(jq length <<<"$arr")" = "$n" ] || bench_log "$1 printed $((n - $(jq length <<<"$arr"))) BENCH line(s) that are not JSON: left out"
  echo "$arr"
}
bench_notes() { grep -a '^BENCH-NOTE ' "$QT_OUT/$1/probe.log" | cut -c12- | tr -d '\r' | sed 's/^/#   guest: /' >&2; }

# bench_rev: the revision measured, "-dirty" when the tree differs from
# it outside bench/results (the record a benchmark of the same make bench
# just wrote is not a change to what is measured)
bench_rev() {
  local r
  r=$(git -C "$BENCH_REPO" describe --always 2>/dev/null) || return 0
  git -C "$BENCH_REPO" diff --quiet HEAD -- . ':(exclude)bench/results' 2>/dev/null || r=$r-dirty
  echo "$r"
}

# bench_host: the machine the numbers came from
bench_host() {
  jq -n --arg cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" --arg n "$(nproc)" \
    --arg mem "$(awk '/^MemTotal/ {print int($2/1024)}' /proc/meminfo)" --arg kernel "$(uname -r)" \
    --arg accel "$(cat "$QT_OUT/accel" 2>/dev/null || echo none)" --arg rev "$(bench_rev)" \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    '{cpu: $cpu, cpus: ($n|tonumber), mem_mib: ($mem|tonumber), kernel: $kernel, vm_accel: $accel, rev: $rev, date: $date, loadavg_at_end: $load}'
}

# bench_write NAME JSON: bench/out/NAME.json (the result and the host);
# a full run is also the record (bench_record)
bench_write() {
  jq --argjson host "$(bench_host)" --arg quick "$BENCH_QUICK" '. + {host: $host, quick: ($quick == "1")}' <<<"$2" >"$BENCH_OUT/$1.json"
  bench_log "result: ${BENCH_OUT#"$BENCH_REPO"/}/$1.json"
  if [ "${BENCH_RECORD:-$([ "$BENCH_QUICK" = 1 ] && echo 0 || echo 1)}" = 1 ]; then
    bench_record "$1" "$BENCH_OUT/$1.json" || bench_die "cannot record $1 in ${BENCH_RESULTS#"$BENCH_REPO"/}"
  fi
}

# The record: bench/results/ is committed, so a change can be compared with
# the last full run without rerunning hours of benchmarks. A quick run
# (BENCH_QUICK=1) is not a record unless BENCH_RECORD=1 says so; BENCH_RECORD=0
# keeps a full run out of it.
BENCH_RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results}

# bench_summary_part NAME < RESULT.json -> the summary's section for NAME
# ({"lb": {...}}), or {} for a benchmark the summary does not track. Each
# section names the revision and date of the run it came from, since the
# sections of one summary.json may come from different runs.
bench_summary_part() {
  jq --arg name "$1" '
    def at: {revision: .host.rev, date: .host.date, quick: .quick};
    def tuned100k: [.runs[]? | select(.mode == "tuned" and .n == 100000)] | max_by(.hold_s);
    if $name == "lb-100k" then
      (tuned100k) as $r | (.reloads // null) as $rl |
      {lb: (at + {
        rig: (.rig // "single"),
        generator_outside_lb: (.rig == "split"),
        held_end: $r.held, connect_failed: $r.load.connect_failed,
        retries: $r.retries, drops: $r.load.drops, hold_s: $r.hold_s,
        reloads: ($rl.done // 0), reload_drops: ($rl.drops // null),
        lb_kernel_kb_per_conn: $r.kernel_kb_per_conn, lb_haproxy_kb_per_conn: $r.haproxy_rss_kb_per_conn,
        lb_cpu_pct: $r.cpu_busy_pct})}
    elif $name == "firstboot" then
      {firstboot: (at + {speedup_vs_cloud_init: .goals.speedup_vs_cloud_init, floor_setup_s: .goals.floor_setup_s, speedup_over_floor: .goals.speedup_over_floor, speedup_ceiling: .goals.speedup_ceiling})}
    elif $name == "update" then
      {update: (at + {apply_to_ready_s: .median.update_s, reprovision_to_ready_s: .median.reprovision_s,
        bundle_bytes: .sizes.bundle, disk_bytes: .sizes.disk_raw, disk_qcow2_bytes: .sizes.disk_qcow2})}
    else {} end'
}

# bench_record NAME RESULT.json: bench/results/NAME.json, and NAME's section
# of bench/results/summary.json replaced (the others kept); the top-level
# revision and date are the latest record's
bench_record() {
  local name=$1 res=$2 sum=$BENCH_RESULTS/summary.json part old
  mkdir -p "$BENCH_RESULTS" || return 1
  part=$(bench_summary_part "$name" <"$res") && [ -n "$part" ] || return 1
  # an empty or unreadable summary is an error to fix, not a new record
  old='{}'
  if [ -e "$sum" ]; then old=$(jq -ce 'objects' "$sum") || { bench_log "$sum is not a JSON object"; return 1; }; fi
  # both written aside first, moved together: never one without the other
  jq -S . "$res" >"$BENCH_RESULTS/$name.json.tmp" && [ -s "$BENCH_RESULTS/$name.json.tmp" ] &&
    jq -S --argjson part "$part" --slurpfile r "$res" \
      '. + $part + {revision: $r[0].host.rev, date: $r[0].host.date}' <<<"$old" >"$sum.tmp" && [ -s "$sum.tmp" ] &&
    mv "$BENCH_RESULTS/$name.json.tmp" "$BENCH_RESULTS/$name.json" && mv "$sum.tmp" "$sum" ||
    { rm -f "$BENCH_RESULTS/$name.json.tmp" "$sum.tmp"; return 1; }
  bench_log "recorded: ${BENCH_RESULTS#"$BENCH_REPO"/}/$name.json and summary.json"
}
