#!/usr/bin/env bash
# bench/selftest.sh: proves the lb-100k tools and their arithmetic natively,
# in about a minute, before an hour of VM time is spent on them. Run by
# `make bench` first; by hand: `sudo bench/selftest.sh` (BUILD=build-x).
#
# Each case gets a fresh network namespace (the ephemeral port range is
# per namespace) with the example seed's three verne addresses on lo,
# mqtt-sink answering on them, and a real haproxy running the config the
# agent renders for cloud-init/examples/lb, changed only where a small
# native run needs it (no daemon/chroot/user/syslog, a private stats
# socket, maxconn and ulimit-n scaled to this process's fd limit). Then
# mqtt-load, and assertions on its final JSON:
#   capacity: a 500-port range, 3 backends, N = 3,000: exactly 1,500 held
#             (500 upstream connections per backend, counted by ss), the other 1,500
#             failed as haproxy's refusals (closed/reset before CONNACK),
#             0 drops;
#   room:     a 10,000-port range, N = 3,000, pings every 3 s: all held,
#             0 failed, 0 drops, every ping answered;
#   stall:    haproxy stopped (SIGSTOP) for 4 s under 60 KB publishes
#             (20 connections, 50 a second each):
#             writes that would block wait for EPOLLOUT (write_waits > 0),
#             nothing is counted as dropped or failed.
#   cut:      SIGUSR1 ends an hour's hold early: 50 held, 0 drops,
#             "hold_cut" in the final line.
#   retry:    the sink listens only 3 s after haproxy, whose health checks
#             then take 5 more s to bring the servers up: N = 300 over
#             3 s. With -R (reconnect with backoff, as devices do) all
#             300 held, 0 failed, 0 drops, retried > 0, the ramp waiting
#             for scheduled retries (-T 3 is shorter than the backoffs);
#             the same run without -R ends with failures (so the retry is
#             what made the difference); and straight to a sink listening
#             1 s late, retries 2-4 s after the refusals keep a -T 1 ramp
#             open until all 300 are held.
# Needs root (ip netns), haproxy, jq, and the agent built in $BUILD.
#
# --mem: instead of the assertions, kernel and haproxy memory per proxied
# connection (README, lb-100k): 3,000 connections held for 60 s with pings
# every 5 s; slab caches, TCP buffer pages (/proc/net/sockstat "mem") and
# RSS, idle, at the ping peak, and with haproxy stopped for 12 s (every
# client socket toward it then holds unread PINGREQs). SELFTEST_MEM_K: the
# MQTT keepalive (10: a ping every 5 s, 600 a second; 2: 3,000 a second,
# more than 100,000 devices pinging once a minute).
set -uo pipefail
mode=${1:-}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$BENCH_REPO" || exit 1
[ "$(id -u)" = 0 ] || bench_die "selftest: needs root (network namespaces)"
for t in haproxy jq ip ss; do command -v $t >/dev/null || bench_die "selftest: needs $t"; done
agent=$BENCH_REPO/$BUILD/node-agent; case $BUILD in /*) agent=$BUILD/node-agent ;; esac
[ -x "$agent" ] || bench_die "selftest: no $agent: run 'make BUILD=$BUILD' first"
bench_tools
W=$(mktemp -d /tmp/nodeos-selftest.XXXXXX)
NS=nodeos-st-$$
pids=()
cleanup() {
  local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null; ip netns del "$NS" 2>/dev/null; rm -rf "$W"
}
trap cleanup EXIT
pass=0 fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
nok() { echo "not ok - $*"; fail=$((fail + 1)); }
# check NAME JQ_EXPR FILE: the expression over the final JSON must be true
# (jq 1.6 -e exits 0 on empty input: a run that printed no final line
# must fail, not pass)
check() {
  if [ ! -s "$3" ]; then nok "$1: no final line from mqtt-load"
  elif jq -e "$2" "$3" >/dev/null; then ok "$1"; else nok "$1: $(jq -c "$2" "$3" 2>&1) in $(cat "$3")"; fi
}

# the config the agent renders for the example lb seed, for this host's haproxy
# (the image's base package list names the image's)
mkdir -p "$W/root/usr/share/nodeos"
printf 'haproxy\t%s\n' "$(haproxy -v | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p')" >"$W/root/usr/share/nodeos/base-packages"
"$agent" run --root "$W/root" --seed cloud-init/examples/lb >"$W/agent.log" 2>&1 ||
  bench_die "selftest: the agent could not render the lb seed: $(tail -3 "$W/agent.log")"
src=$W/root/etc/haproxy/haproxy.cfg
backends=$(awk '/^listen /{m=($2=="mqtt")} m && $1=="server" {print $3}' "$src")
[ "$(echo "$backends" | wc -w)" = 3 ] || bench_die "selftest: expected 3 mqtt servers in $src"
hard=$(ulimit -Hn); [ "$hard" = unlimited ] && hard=1048576
ulim=$(( hard < 20000 ? hard - 500 : 19500 ))
[ "$ulim" -ge 7000 ] || bench_die "selftest: fd limit $hard is too low (need 7,500)"
cfg=$W/haproxy.cfg
sed -E -e '/^ *(log|chroot|user|group|daemon)( |$)/d' -e '/^ *option tcplog/d' \
  -e "s#stats socket /run/haproxy/admin.sock#stats socket $W/admin.sock#" \
  -e "s/^( *)maxconn [0-9]+/\1maxconn $(( (ulim - 100) / 2 ))/" -e "s/^( *)ulimit-n [0-9]+/\1ulimit-n $ulim/" "$src" >"$cfg"
for want in "stats socket $W/admin.sock" "ulimit-n $ulim" "balance leastconn" "timeout connect" "check inter"; do
  grep -q "$want" "$cfg" || bench_die "selftest: the rendered haproxy.cfg changed shape (no '$want'): adapt this script"
done
haproxy -c -q -f "$cfg" || bench_die "selftest: haproxy rejects the adapted config $cfg"
srcs=127.0.1.1,127.0.1.2,127.0.1.3,127.0.1.4,127.0.1.5,127.0.1.6,127.0.1.7,127.0.1.8

# setup RANGE [SINK_DELAY_S]: a fresh namespace with the sink and haproxy;
# the sink starts listening SINK_DELAY_S after haproxy when given
setup() {
  local b
  cleanup_ns
  if ! ip netns add "$NS" || ! ip -n "$NS" link set lo up; then bench_die "selftest: cannot make a network namespace"; fi
  for b in $backends; do ip -n "$NS" addr add "${b%:*}/32" dev lo; done
  ip netns exec "$NS" sysctl -q -w net.ipv4.ip_local_port_range="$1"
  # shellcheck disable=SC2046,SC2086 # one -l per backend
  (sleep "${2:-0}"; exec ip netns exec "$NS" "$BENCH_BUILD/mqtt-sink" $(printf ' -l %s' $backends) -i 1 >"$W/sink.log" 2>&1) &
  pids+=($!)
  ip netns exec "$NS" haproxy -db -f "$cfg" >"$W/haproxy.log" 2>&1 &
  hap=$!; pids+=("$hap")
  local i=0; while ! ip netns exec "$NS" ss -ltn | grep ':1883 ' >/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  [ $i -lt 50 ] || bench_die "selftest: haproxy did not listen: $(tail -3 "$W/haproxy.log")"
}
cleanup_ns() {
  local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null; pids=(); ip netns del "$NS" 2>/dev/null
}
load() { ip netns exec "$NS" "$BENCH_BUILD/mqtt-load" -t 127.0.0.1:1883 -s "$srcs" -i 1 "$@"; }
final() { grep '"final"' "$1" | tail -1 >"$1.final"; echo "$1.final"; }
# haproxy's established upstream connections to each backend, as the kernel sees them
server_sessions() {
  local b out=""
  for b in $backends; do
    out="$out${out:+ }$(ip netns exec "$NS" ss -Htn state established "( dst ${b%:*} and dport = :${b##*:} )" | wc -l)"
  done
  echo "$out"
}

# the slab caches a TCP connection through epoll uses, in bytes (objects x size)
slab_bytes() {
  awk '$1 ~ /^(TCP|sock_inode_cache|dentry|filp|eventpoll_epi|ep_head|skbuff_head_cache|skbuff_small_head|tcp_bind_bucket|tcp_bind2_bucket|kmalloc-[0-9k]+)$/ {
    k = ($1 ~ /^kmalloc/) ? "kmalloc" : $1; b[k] += $2 * $4 } END { for (k in b) print k, b[k] }' /proc/slabinfo | sort
}
tcp_pages() { awk '$1=="TCP:" {for (i=2;i<NF;i+=2) if ($i=="mem") print $(i+1)}' /proc/net/sockstat; }
rss_kb() { awk '$1=="VmRSS:" {print $2}' "/proc/$1/status"; }
if [ "$mode" = --mem ]; then
  n=3000
  setup "20000 29999"
  slab_bytes >"$W/slab0"; p0=$(tcp_pages); h0=$(rss_kb "$hap"); s0=$(awk '$1=="Slab:" {print $2}' /proc/meminfo)
  load -n $n -r 1000 -P 200 -k "${SELFTEST_MEM_K:-10}" -H 60 -T 10 >"$W/mem.log" 2>&1 &
  l=$!; pids+=("$l")
  i=0; until grep -q "\"opened\":$n,\"up\":$n,\"pending\":0" "$W/mem.log" 2>/dev/null || [ $i -gt 300 ]; do sleep 0.2; i=$((i + 1)); done
  sleep 5
  slab_bytes >"$W/slab1"; p1=$(tcp_pages); h1=$(rss_kb "$hap"); s1=$(awk '$1=="Slab:" {print $2}' /proc/meminfo)
  # the ping peak: TCP pages sampled every 0.1 s over 20 s (two ping rounds)
  pmax=0; for _ in $(seq 200); do p=$(tcp_pages); [ "$p" -gt "$pmax" ] && pmax=$p; sleep 0.1; done
  kill -STOP "$hap"; sleep 12; p2=$(tcp_pages); kill -CONT "$hap"
  wait "$l"
  f=$(final "$W/mem.log")
  echo "# $(uname -r), $n connections through haproxy $(haproxy -v | awk 'NR==1 {print $3}'); 4 sockets each (generator, haproxy x2, sink)"
  echo "# load: $(jq -c '{up, connect_failed, drops, hold_s, pings, pongs, ping_lag_max_s}' "$f")"
  echo "# slab growth per connection, bytes (caches; host-wide, so other activity adds noise):"
  join "$W/slab0" "$W/slab1" | awk -v n=$n '{d=($3-$2)/n; t+=d; printf "#   %-20s %8.0f\n", $1, d} END {printf "#   %-20s %8.0f  (Slab in meminfo: %.0f)\n", "total", t, 0}' |
    sed "s/(Slab in meminfo: 0)/(meminfo Slab: $(( (s1 - s0) * 1024 / n )))/"
  echo "# TCP buffer pages (global): before $p0, held $p1, ping peak $pmax, haproxy stopped 12 s: $p2"
  echo "# haproxy RSS: $h0 -> $h1 kB = $(( (h1 - h0) * 1024 / n )) bytes per connection"
  exit 0
fi

# capacity: backends x range, the rest refused by haproxy
setup "40000 40499"
load -n 3000 -r 3000 -P 300 -k 30 -H 4 -T 10 >"$W/cap.log" 2>&1 &
l=$!; pids+=("$l")
i=0; until grep -q '"pending":0' "$W/cap.log" 2>/dev/null && grep -q '"opened":3000' "$W/cap.log" || [ $i -gt 100 ]; do sleep 0.2; i=$((i + 1)); done
sess=$(server_sessions)
wait $l
f=$(final "$W/cap.log")
check "capacity: 500 ports x 3 backends = exactly 1,500 held of 3,000" '.up == 1500 and .up_at_hold == 1500' "$f"
check "capacity: the other 1,500 are haproxy's refusals (closed/reset before CONNACK), none local" \
  '.connect_failed == 1500 and (.failed.closed + .failed.reset) == 1500 and .failed.open == 0 and .failed.timeout == 0 and .failed.rejected == 0' "$f"
check "capacity: no drops of connections that had their CONNACK" '.drops == 0' "$f"
if [ "$sess" = "500 500 500" ]; then ok "capacity: 500 upstream connections per backend ($sess)"
else nok "capacity: upstream connections per backend: '$sess', want '500 500 500'"; fi

# room: all held, pings answered
setup "20000 29999"
load -n 3000 -r 2000 -P 100 -k 6 -H 15 -T 10 >"$W/room.log" 2>&1
f=$(final "$W/room.log")
check "room: 3,000 of 3,000 held through a 15 s hold, 0 failed, 0 drops" '.up == 3000 and .connect_failed == 0 and .drops == 0' "$f"
check "room: in-flight cap kept the ramp paced (connect_rate reported)" '.connect_rate > 0 and .not_opened == 0 and (.stalled | not)' "$f"
check "room: every connection pinged, every ping answered" '.pings >= 6000 and .pongs == .pings and .pings_deferred == 0' "$f"
# the sink's own count (it prints every second; the load has exited)
sleep 1.5; sinkline=$(tail -1 "$W/sink.log")
if [ -n "$sinkline" ] && jq -e --argjson p "$(jq .pings "$f")" '.connects == 3000 and .pings == $p and .protocol == 0 and .disconnect == 0' <<<"$sinkline" >/dev/null; then
  ok "room: the sink answered 3,000 CONNECTs and exactly the pings sent"
else nok "room: sink: $sinkline"; fi

# stall: haproxy stopped under publishes: writes wait, nothing dropped
setup "20000 29999"
load -n 20 -r 1000 -k 6 -p 0.02 -z 60000 -H 12 -T 10 >"$W/stall.log" 2>&1 &
l=$!; pids+=("$l")
sleep 3; kill -STOP $hap; sleep 4; kill -CONT $hap
wait $l
f=$(final "$W/stall.log")
check "stall: writes that would block waited for EPOLLOUT (write_waits > 0)" '.write_waits > 0' "$f"
check "stall: 20 held, 0 failed, 0 drops across a 4 s haproxy stop" '.up == 20 and .connect_failed == 0 and .drops == 0' "$f"
sleep 1.5; sinkline=$(tail -1 "$W/sink.log")
if [ -n "$sinkline" ] && jq -e '.protocol == 0 and .disconnect == 0 and .publishes > 0' <<<"$sinkline" >/dev/null; then
  ok "stall: the sink parsed the 60 KB publishes"
else nok "stall: sink: $sinkline"; fi

# cut: SIGUSR1 ends an hour's hold once the connections are up (the split
# rig's reload phase holds its connections for as long as the reloads take)
setup "20000 29999"
# not through load(): the signal must reach mqtt-load itself (ip execs it)
ip netns exec "$NS" "$BENCH_BUILD/mqtt-load" -t 127.0.0.1:1883 -s "$srcs" -i 1 -n 50 -r 1000 -k 30 -H 3600 -T 10 >"$W/cut.log" 2>&1 &
l=$!; pids+=("$l")
i=0; until grep -q '"opened":50,"up":50,"pending":0' "$W/cut.log" 2>/dev/null || [ $i -gt 100 ]; do sleep 0.2; i=$((i + 1)); done
t0=$SECONDS; kill -USR1 "$l"
# bounded: a generator that ignored the signal would hold for an hour
i=0; while kill -0 "$l" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill "$l" 2>/dev/null; wait "$l"
f=$(final "$W/cut.log")
check "cut: SIGUSR1 ended the 3,600 s hold with 50 held, 0 drops, hold_cut (in $((SECONDS - t0)) s)" '.up == 50 and .drops == 0 and .hold_cut' "$f"

# retry: the backends come up late; devices that reconnect get through
# retry_case NAME [MQTT-LOAD OPTIONS]: prints the final JSON's file
retry_case() {
  local name=$1; shift
  setup "20000 29999" 3
  load -n 300 -r 100 -P 100 -k 30 -H 1 -T 3 "$@" >"$W/$name.log" 2>&1
  final "$W/$name.log"
}
f=$(retry_case retry -R 10 -B 0.5)
check "retry: with -R 10, all 300 held, 0 failed, 0 drops, the ramp not cut short by -T" \
  '.up == 300 and .connect_failed == 0 and .drops == 0 and .gave_up == 0 and .retry_waiting == 0 and .not_opened == 0 and (.stalled | not)' "$f"
check "retry: connections needed retries after haproxy's refusals (closed/reset before CONNACK)" \
  '.retried > 0 and .attempts_failed >= .retried and (.failed_attempts.closed + .failed_attempts.reset) == .attempts_failed and .attempts == 300 + .attempts_failed and .max_attempts == 10' "$f"
echo "# retry, -R 10: $(jq -c '{up, retried, attempts, failed_attempts, ramp_s}' "$f")"
f=$(retry_case noretry)
check "retry: the same run without retries ends with failures (counted once each)" \
  '.connect_failed > 0 and .up < 300 and .up + .connect_failed == 300 and .retried == 0 and .gave_up == 0 and .attempts == 300 and .attempts_failed == .connect_failed and .drops == 0' "$f"
echo "# retry, no -R: $(jq -c '{up, connect_failed, failed, ramp_s}' "$f")"
# the settle time counts from the latest scheduled retry: straight to the
# sink, which listens 1 s late, all 300 refused at once, retried 2-4 s
# later; nothing happens in between, longer than -T 1
setup "20000 29999" 1
b1=$(awk '{print $1; exit}' <<<"$backends")
ip netns exec "$NS" "$BENCH_BUILD/mqtt-load" -t "$b1" -n 300 -r 10000 -k 30 -H 1 -T 1 -R 2 -B 4 -i 1 >"$W/settle.log" 2>&1
f=$(final "$W/settle.log")
check "retry: a retry scheduled later than -T keeps the ramp open: 300 held at their second attempt" \
  '.up == 300 and .retried == 300 and .attempts == 600 and .failed_attempts.refused == 300 and .retry_waiting == 0 and (.stalled | not) and .ramp_s >= 2' "$f"

echo "selftest: $pass passed, $fail failed"
[ "$fail" = 0 ]
