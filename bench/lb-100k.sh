#!/usr/bin/env bash
# bench/lb-100k.sh [--quick]: the lb (HAProxy) at 100,000 MQTT connections.
#
# HAProxy opens one upstream socket per client, and each takes an ephemeral
# port per (source, backend address, backend port): capacity = backends x
# port-range size. Three verne backends with Linux's default range
# (32768-60999, 28,232 ports) cap at 84,696; the lb role's 1024-65535 less
# its 8 reserved listen ports at 193,512 (then haproxy.cfg's maxconn 100000,
# docs/dojot-v0.5.0.md#haproxy, is the limit). bench/selftest.sh proves the formula natively.
#
# One lb VM from out/bookworm/lb with the example seed unchanged: the agent
# renders haproxy.cfg and sets the role's sysctls; the in-guest driver
# (bench/guest/lb-conns.sh) puts the seed's three verne addresses on lo,
# answers on them with mqtt-sink (CONNACK, PINGRESP) in place of VerneMQ's
# NodePort 30004, and holds N connections with mqtt-load from 8 source
# addresses. Each run is once with the role's range and once with the
# stock range set back in the guest.
#
#   --quick: N = 100,000 with each range, 30 s hold
#   full:    N = 50k, 100k, 150k with each range, 60 s hold, 300 s at 100k tuned
# Environment: BENCH_LB_RUNS ("tuned:N stock:N ..."), BENCH_LB_HOLD,
# BENCH_LB_RATE (connects/s asked of the generator), BENCH_LB_INFLIGHT
# (connects in flight at most, 1000), BENCH_LB_KEEPALIVE (120: a PINGREQ
# every 60 s per connection, what a device with MQTT's usual 60 s keepalive
# sends when idle), BENCH_MEM (MiB: 12288 quick, 16384 full), BENCH_SMP (2).
# BENCH_LB_RETRY (connect attempts per connection at most, 1: none
# repeated): devices reconnect after a connect that failed (paho and the
# like, with a backoff), so a connect refused at one moment of the ramp
# need not be a device lost; mqtt-load -R, its backoff BENCH_LB_BACKOFF
# (the first, in s: 1) doubling up to 30 s. A drop (a connection ended
# after its CONNACK) is never reconnected: it stays a drop. The result
# says how many needed a retry; the goal line names the retries.
# BENCH_LB_SYSCTL ("key=value ...", no spaces in a value): kernel settings
# the driver applies in the guest before the runs, for a diagnostic run
# (e.g. net.core.netdev_max_backlog=10000: the loopback backlog, whose
# drops softnet_stat counts); recorded in the env line as harness_sysctl
# and named in the goal line, since the role did not set them.
# Writes bench/out/lb-100k.json.
#
# Memory: this one VM carries 4 sockets per connection (generator, haproxy
# x2, sink), ~16 KB of slab each (README: measured natively), and the
# kernel's TCP buffer limit tcp_mem is sized from RAM at boot (9.4 % of it
# at most). At 6 GiB, 100k connections under TCG ran past tcp_mem
# ("TCP: out of memory"); 12 GiB doubles the limit, 16 GiB gives 150k room.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ "${1:-}" = --quick ] && BENCH_QUICK=1
cd "$BENCH_REPO" || exit 1
if [ "$BENCH_QUICK" = 1 ]; then
  runs=${BENCH_LB_RUNS:-"tuned:100000 stock:100000"} hold=${BENCH_LB_HOLD:-30} long=""
else
  runs=${BENCH_LB_RUNS:-"tuned:50000 tuned:100000 tuned:150000 stock:50000 stock:100000 stock:150000"}
  hold=${BENCH_LB_HOLD:-60} long="tuned:100000:300"
fi
# settle: under TCG the ramp can lag the asked rate by minutes (SYN retries)
rate=${BENCH_LB_RATE:-1000} settle=${BENCH_LB_SETTLE:-300}
# at most this many connects in flight: the generator follows the proxy's
# pace instead of overflowing its accept queue (SYN retries that run out
# would count as the proxy's failures)
inflight=${BENCH_LB_INFLIGHT:-1000}
keepalive=${BENCH_LB_KEEPALIVE:-120}
retry=${BENCH_LB_RETRY:-1} backoff=${BENCH_LB_BACKOFF:-1} sysctls=${BENCH_LB_SYSCTL:-}
if ! [[ $retry =~ ^[1-9][0-9]{0,4}$ ]] || [ "$retry" -gt 65535 ]; then bench_die "BENCH_LB_RETRY: 1..65535 connect attempts, not '$retry'"; fi
if ! [[ $backoff =~ ^[0-9]+(\.[0-9]+)?$ ]] || [[ $backoff =~ ^0+(\.0+)?$ ]]; then bench_die "BENCH_LB_BACKOFF: seconds > 0, not '$backoff'"; fi
for kv in $sysctls; do
  # the guest writes these into a JSON line: names and plain values only
  [[ $kv =~ ^[A-Za-z0-9_.-]+=[A-Za-z0-9_.:,/+-]+$ ]] || bench_die "BENCH_LB_SYSCTL: '$kv' is not key=value"
done
if [ "$BENCH_QUICK" = 1 ]; then QT_MEM=${BENCH_MEM:-12288}; else QT_MEM=${BENCH_MEM:-16384}; fi
QT_SMP=${BENCH_SMP:-2}

img=$(bench_image lb)
bench_tools
QT_EXTRA=$BENCH_BUILD/lb-100k.sqfs; bench_overlay "$QT_EXTRA"; export QT_EXTRA
action=$BENCH_BUILD/lb-100k.action
{ printf 'RUNS=%q HOLD_S=%q LONG_HOLD=%q RATE=%q SETTLE_S=%q SOURCES=8 INFLIGHT=%q KEEPALIVE=%q RETRY=%q BACKOFF=%q SYSCTL=%q\n' \
    "$runs" "$hold" "$long" "$rate" "$settle" "$inflight" "$keepalive" "$retry" "$backoff" "$sysctls"
  echo '. /usr/local/lib/nodeos-bench/lb-conns.sh'; } >"$action"

# bound: boot, then per run the ramp (TCG: >= 100 connects/s), the settle
# time, the hold and the drain of the previous run's sockets; retries
# wait up to 30 s each
limit=900
for r in $runs; do n=${r#*:}; limit=$(( limit + n / 100 + settle + hold + 800 + (retry - 1) * 30 )); done
[ -n "$long" ] && limit=$(( limit + 300 ))
bench_vm lb-100k "$img" cloud-init/examples/lb "$action" "$limit" || bench_die "the lb VM did not finish (log: $QT_OUT/lb-100k/)"
bench_notes lb-100k
res=$(bench_results lb-100k | jq -s '{env: (map(select(.kind == "env")) | first), runs: map(select(.kind == "run"))}')
[ "$(jq '.runs | length' <<<"$res")" -gt 0 ] || bench_die "no results in $QT_OUT/lb-100k/probe.log"

# per connection: one client connection = 4 sockets here (the generator's,
# haproxy's two, the sink's), so kernel memory is per proxied connection
# of this whole box; haproxy's RSS grows by its own state only
res=$(jq '.runs |= map(. + {
    held: (.load.up // 0), held_at_hold_start: (.load.up_at_hold // 0),
    haproxy_rss_kb_per_conn: (if (.load.up_at_hold // 0) > 0 then ((.haproxy_rss_kb_peak - .haproxy_rss_kb_before) / .load.up_at_hold * 100 | round / 100) else null end),
    kernel_kb_per_conn: (if (.load.up_at_hold // 0) > 0 then (((.slab_kb_peak - .slab_kb_before) + (.tcp_mem_pages_peak - .tcp_mem_pages_before) * 4) / .load.up_at_hold * 100 | round / 100) else null end)
  })' <<<"$res")
echo
echo "lb-100k: HAProxy, $(jq -r '.env.backends' <<<"$res") local MQTT backends, haproxy $(jq -r '.env.haproxy' <<<"$res"), maxconn $(jq -r '.env.haproxy_maxconn' <<<"$res"), guest ${QT_SMP} vCPU $(( QT_MEM / 1024 )) GiB ($(cat "$QT_OUT/accel"))$([ "$retry" -gt 1 ] && echo ", devices reconnect: up to $retry attempts, first backoff ${backoff} s")$([ -n "$sysctls" ] && echo ", harness sysctl: $sysctls")"
{ echo "range capacity N held(end) held(hold) failed drops conn/s hold_s haproxy_smax upstream_err haproxy_KB/conn kernel_KB/conn tcp_pages_max cpu%"
  jq -r '.runs[] | [(.range | sub(" "; "-")), .capacity, .n, .held, .held_at_hold_start, .load.connect_failed, .load.drops, .load.connect_rate, .hold_s,
      .haproxy_smax, .haproxy_econ, .haproxy_rss_kb_per_conn, .kernel_kb_per_conn, .tcp_mem_pages_max, .cpu_busy_pct] | map(tostring) | join(" ")' <<<"$res"
} | column -t
# why: the generator's failure and drop causes, what haproxy logged, what the kernel counted
jq -r '.runs[] | "why \(.mode) \(.n): failed \(.load.failed // {} | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", ")),"
  + " dropped \(.load.dropped // {} | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", ")), not opened \(.load.not_opened // 0),"
  + " retried \(.load.retried // "-"), gave up \(.load.gave_up // "-"), failed attempts \(.load.attempts_failed // "-")"
  + " (\(.load.failed_attempts // {} | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", "))),"
  + " ping lag max \(.load.ping_lag_max_s // "-") s; haproxy restarts \(.haproxy_restarts // "-") (watchdog \(.haproxy_watchdog_kills // "-")),"
  + " ended sessions \(.haproxy_end_states // {} | to_entries | map("\(.key) \(.value)") | join(", "));"
  + " kernel \(.kernel_tcp // {} | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", ")); tcp_mem \(.tcp_mem // "-")"' <<<"$res" >&2
# a result reached with help says so: reconnecting devices, kernel settings
# the role does not make
goal=$(jq -r '(.env.harness_sysctl // {} | to_entries | map("\(.key)=\(.value)") | join(" ")) as $sys
  | [.runs[] | select(.mode == "tuned" and .n == 100000)] | first | if . == null then "not run" else
  (if (.load.max_attempts // 1) > 1 then "; devices reconnecting: up to \(.load.max_attempts) attempts, \(.load.retried) needed a retry, \(.load.gave_up) gave up" else "" end) as $r
  | (if $sys != "" then "; harness sysctl \($sys)" else "" end) as $s
  | if .held == 100000 and .load.drops == 0 then "met (100000 held for \(.hold_s) s, 0 drops\($r)\($s))"
    else "NOT met (\(.held) held, \(.load.drops) drops\($r)\($s))" end end' <<<"$res")
echo "goal: 100,000 held with the role's tuning, zero drops: $goal"
bench_write lb-100k "$(jq --arg goal "$goal" '. + {goal_100k: $goal}' <<<"$res")"
