#!/usr/bin/env bash
# The benchmarks' record (bench/lib.sh bench_write, bench_record): a full
# run writes bench/results/NAME.json and replaces NAME's section of
# bench/results/summary.json with the keys bench/README.md names, keeping
# the other sections; a quick run stays out of the record unless
# BENCH_RECORD=1; a result the summary does not track is kept but changes
# no section; a summary that is not a JSON object fails the run and is
# left alone. Run on made-up results in a scratch directory: the real
# bench/results is never touched. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
scratch
export BENCH_OUT=$tmp/out BENCH_RESULTS=$tmp/results BUILD=$tmp/build QT_OUT=$tmp/qemu
# shellcheck source=../../bench/lib.sh
. bench/lib.sh
sum=$BENCH_RESULTS/summary.json
# holds FILE [JQ ARGS...] EXPR: EXPR is true of FILE (jq 1.6 -e passes on
# an empty input, so an empty or missing file fails here first)
holds() { local f=$1; shift; [ -s "$f" ] && jq -e "$@" "$f"; }

lb_result='{"rig":"split","env":{"backends":3},
  "runs":[{"mode":"tuned","n":100000,"hold_s":60,"held":99990,"retries":3,"load":{"connect_failed":4,"drops":6,"retried":2,"gave_up":1},
           "kernel_kb_per_conn":17.5,"haproxy_rss_kb_per_conn":1.2,"cpu_busy_pct":40},
          {"mode":"tuned","n":100000,"hold_s":300,"held":100000,"retries":0,"load":{"connect_failed":0,"drops":0,"retried":0,"gave_up":0},
           "kernel_kb_per_conn":17.1,"haproxy_rss_kb_per_conn":1.1,"cpu_busy_pct":35},
          {"mode":"stock","n":100000,"hold_s":60,"held":84696,"load":{"connect_failed":15304,"drops":0}}],
  "reloads":{"done":10,"drops":0}}'
BENCH_QUICK=0 bench_write lb-100k "$lb_result" 2>"$tmp/err"
check "a full lb-100k run writes results/lb-100k.json" holds "$BENCH_RESULTS/lb-100k.json" '.rig == "split" and (.host.rev | length > 0)'
want='{"held_end":100000,"connect_failed":0,"retries":0,"drops":0,"generator_outside_lb":true,"reloads":10,"reload_drops":0,"hold_s":300}'
got=$(jq -c --argjson w "$want" '.lb | with_entries(select(.key as $k | $w | has($k)))' "$sum" 2>/dev/null)
check "summary.lb comes from the longest tuned 100k run and the reloads (got $got)" jq -en --argjson g "${got:-null}" --argjson w "$want" '$g == $w'
rev=$(git describe --always --dirty 2>/dev/null)
check "summary names the revision at top level and in its section ($rev)" holds "$sum" --arg r "$rev" '.revision == $r and .lb.revision == $r and (.date | test("^[0-9]{4}-"))'

fb='{"goals":{"speedup_vs_cloud_init":26.5},"summary":[]}'
up='{"median":{"update_s":80.5,"reprovision_s":150.25},"sizes":{"bundle":300000000,"disk_qcow2":500000000,"disk_raw":4294967296}}'
BENCH_QUICK=0 bench_write firstboot "$fb" 2>>"$tmp/err"
BENCH_QUICK=0 bench_write update "$up" 2>>"$tmp/err"
check "firstboot's section: speedup_vs_cloud_init" holds "$sum" '.firstboot.speedup_vs_cloud_init == 26.5'
check "update's section: apply_to_ready_s, reprovision_to_ready_s, bundle_bytes, disk_bytes (raw)" \
  holds "$sum" '.update | .apply_to_ready_s == 80.5 and .reprovision_to_ready_s == 150.25 and .bundle_bytes == 300000000 and .disk_bytes == 4294967296'
check "a later benchmark keeps the earlier one's section" holds "$sum" '.lb.held_end == 100000'
check "every key the README promises is present" holds "$sum" '
  (["revision","date","lb","firstboot","update"] - keys | length == 0)
  and (["held_end","connect_failed","retries","drops","generator_outside_lb","reloads","reload_drops"] - (.lb | keys) | length == 0)
  and (.firstboot | has("speedup_vs_cloud_init"))
  and (["apply_to_ready_s","reprovision_to_ready_s","bundle_bytes","disk_bytes"] - (.update | keys) | length == 0)'

cp "$sum" "$tmp/before.json"
BENCH_QUICK=1 bench_write lb-100k '{"rig":"single","runs":[{"mode":"tuned","n":100000,"hold_s":30,"held":5,"load":{"connect_failed":1,"drops":9}}]}' 2>>"$tmp/err"
check "a quick run leaves the record as it was" cmp -s "$sum" "$tmp/before.json"
check "a quick run still writes bench/out" holds "$BENCH_OUT/lb-100k.json" '.quick == true and .rig == "single"'
BENCH_QUICK=1 BENCH_RECORD=1 bench_write firstboot '{"goals":{"speedup_vs_cloud_init":31}}' 2>>"$tmp/err"
check "BENCH_RECORD=1 records a quick run, marked quick" holds "$sum" '.firstboot.speedup_vs_cloud_init == 31 and .firstboot.quick == true and .lb.held_end == 100000'
BENCH_QUICK=0 bench_write few-devices '{"devices":500}' 2>>"$tmp/err"
check "a benchmark the summary does not track is kept, no section added" \
  holds "$sum" --slurpfile f "$BENCH_RESULTS/few-devices.json" '(keys - ["revision","date","lb","firstboot","update"] | length == 0) and $f[0].devices == 500'
check "no temporary file is left in the record" test -z "$(find "$BENCH_RESULTS" -name '*.tmp')"

# a summary that is not a JSON object (here: emptied) is an error to fix:
# the run fails, nothing of the record changes, nothing is left aside
: >"$sum"; cp "$BENCH_RESULTS/update.json" "$tmp/update-before.json"
( BENCH_QUICK=0 bench_write update '{"median":{"update_s":1,"reprovision_s":2},"sizes":{"bundle":1,"disk_qcow2":1,"disk_raw":1}}' ) 2>"$tmp/err-empty"
rc=$?
check "an empty summary.json fails the run (rc $rc: $(tail -1 "$tmp/err-empty"))" test "$rc" -ne 0
check "... and leaves summary.json and update.json as they were" \
  sh -c '[ ! -s "$1" ] && cmp -s "$2" "$3"' _ "$sum" "$BENCH_RESULTS/update.json" "$tmp/update-before.json"
check "... and no temporary file" test -z "$(find "$BENCH_RESULTS" -name '*.tmp')"
tap_end
