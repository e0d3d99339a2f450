#!/usr/bin/env bash
# bench/few-devices.sh [--quick]: the few-devices workload through the lb in
# NGINX mode: 500 devices, each publishing a 100-byte message every 15 s,
# counted end to end.
#
# One lb VM from out/bookworm/lb with the few-devices example seed
# (cloud-init/examples/few-devices/lb) unchanged: the agent renders
# nginx.conf (stream {}, 1883 -> the dojot node's MQTT NodePort); the
# in-guest driver (bench/guest/few-devices.sh) puts that upstream address
# on lo, answers on it with mqtt-sink and runs the devices with mqtt-load.
# Delivery = messages the sink parsed / messages the devices wrote.
#   --quick: 60 s; full: 600 s. Environment: BENCH_DEVICES (500),
#   BENCH_FEW_HOLD, BENCH_MEM (MiB, 1024), BENCH_SMP (2).
# Writes bench/out/few-devices.json.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ "${1:-}" = --quick ] && BENCH_QUICK=1
cd "$BENCH_REPO" || exit 1
hold=${BENCH_FEW_HOLD:-600}; [ "$BENCH_QUICK" = 1 ] && hold=${BENCH_FEW_HOLD:-60}
devices=${BENCH_DEVICES:-500}
QT_MEM=${BENCH_MEM:-1024} QT_SMP=${BENCH_SMP:-2}
img=$(bench_image lb)
bench_tools
QT_EXTRA=$BENCH_BUILD/few-devices.sqfs; bench_overlay "$QT_EXTRA"; export QT_EXTRA
action=$BENCH_BUILD/few-devices.action
printf 'DEVICES=%q EVERY_S=15 SIZE=100 HOLD_S=%q\n. /usr/local/lib/nodeos-bench/few-devices.sh\n' "$devices" "$hold" >"$action"
bench_vm few-devices "$img" cloud-init/examples/few-devices/lb "$action" $(( 900 + hold )) ||
  bench_die "the lb VM did not finish (log: $QT_OUT/few-devices/)"
r=$(bench_results few-devices | tail -1)
[ -n "$r" ] || bench_die "no result in $QT_OUT/few-devices/probe.log"
r=$(jq '. + {delivered: .sink.publishes, sent: .load.publishes,
  delivery_pct: (if (.load.publishes // 0) > 0 then (.sink.publishes / .load.publishes * 10000 | round / 100) else null end),
  msgs_per_s: (if .load.ramp_s then (.load.publishes / (.load.ramp_s + .hold_s) * 10 | round / 10) else null end)}' <<<"$r")
echo
echo "few-devices: NGINX $(jq -r .nginx <<<"$r") stream proxy, guest ${QT_SMP} vCPU ${QT_MEM} MiB ($(cat "$QT_OUT/accel"))"
{ echo "devices connected every_s bytes seconds sent delivered delivery% msgs/s drops nginx_cpu_s nginx_RSS_KB cpu%"
  jq -r '[.devices, .load.up, .every_s, .size, .hold_s, .sent, .delivered, .delivery_pct, .msgs_per_s, .load.drops, .nginx_cpu_s, .nginx_rss_kb, .cpu_busy_pct] | map(tostring) | join(" ")' <<<"$r"
} | column -t
bench_write few-devices "$r"
