#!/bin/sh
# In-guest driver of bench/lb-100k.sh's split rig, on the peer VM: the
# devices and the verne backends, outside the lb's kernel. The peer boots
# the lb image with a seed of its own (another address, no role of its
# own to play: its haproxy is stopped), and here
#   - takes the seed's verne addresses (the lb's MQTT backends) and a fifth
#     for the backend a reload adds, and answers on their NodePort 30004
#     with mqtt-sink, as VerneMQ would;
#   - holds the devices with mqtt-load from SOURCES addresses of its own,
#     toward the lb's 1883;
#   - per run asks the lb (lb-ctl.sh) for the run's port range, marks the
#     run's start and end there, and prints the generator's result;
#   - then, with RELOAD_N connections held, has the lb apply a changed seed
#     RELOADS times (a backend added, then removed, ...), and after each
#     opens NEW_N new connections to see where haproxy sends them.
# Parameters (the action file that sources this sets them): LB, CTL_PORT,
# RUNS ("tuned:N stock:N ..."), HOLD_S, LONG_HOLD ("tuned:100000:300"),
# RATE, SETTLE_S, SOURCES, INFLIGHT, KEEPALIVE, RETRY, BACKOFF, RELOADS,
# RELOAD_N, RELOAD_GAP_S (seconds between reloads), NEW_N, EXTRA_BACKEND.
# Prints "BENCH <json>" lines on ttyS1, then powers the VM off.
# word splitting of $(...) is meant; dash has ulimit -n
# shellcheck disable=SC2046,SC3045
exec >/dev/ttyS1 2>&1
set -u
LB=${LB:-192.168.0.20} CTL_PORT=${CTL_PORT:-7070}
RUNS=${RUNS:-"tuned:100000 stock:100000"} HOLD_S=${HOLD_S:-30} LONG_HOLD=${LONG_HOLD:-}
RATE=${RATE:-1000} SETTLE_S=${SETTLE_S:-60} SOURCES=${SOURCES:-8} INFLIGHT=${INFLIGHT:-1000} KEEPALIVE=${KEEPALIVE:-120}
RETRY=${RETRY:-1} BACKOFF=${BACKOFF:-1}
RELOADS=${RELOADS:-10} RELOAD_N=${RELOAD_N:-100000} RELOAD_GAP_S=${RELOAD_GAP_S:-20} NEW_N=${NEW_N:-400}
EXTRA_BACKEND=${EXTRA_BACKEND:-192.168.0.17:30004}
STOCK_RANGE="32768 60999"
W=/run/bench; mkdir -p $W
# shellcheck source=lb-lib.sh
. /usr/local/lib/nodeos-bench/lb-lib.sh

ctl() { echo "$*" | socat -t 900 - TCP:"$LB:$CTL_PORT" 2>/dev/null; }
# the generator's latest count of connections up (its interval lines)
load_up() { grep -v '"final"' "$1" 2>/dev/null | tail -1 | sed -n 's/.*"up":\([0-9]*\).*/\1/p'; }
final_of() { grep '"final"' "$1" | tail -1; }

# this VM's own lb does nothing here; its config still names the backends
backends=$(mqtt_servers | awk '{print $2}')
systemctl stop haproxy
nic=$(ip -4 -o addr show scope global | awk '{print $2; exit}')
prefix=$(ip -4 -o addr show dev "$nic" scope global | awk '{sub(".*/", "", $4); print $4; exit}')
listen=""
for b in $backends $EXTRA_BACKEND; do
  ip addr add "${b%:*}/$prefix" dev "$nic" 2>/dev/null
  listen="$listen -l $b"
done
srcs="" i=1
while [ $i -le "$SOURCES" ]; do
  a=${LB%.*}.$((100 + i)); ip addr add "$a/$prefix" dev "$nic" 2>/dev/null
  srcs="$srcs${srcs:+,}$a"; i=$((i + 1))
done
# the generator's side needs ports of its own: one per connection and source
sysctl -q -w net.ipv4.ip_local_port_range="1024 65535"
ulimit -n 1048576
# shellcheck disable=SC2086
mqtt-sink $listen -i 10 >$W/sink.log 2>&1 &
sink=$!

i=0; while [ "$(ctl ping)" != pong ] && [ $i -lt 900 ]; do sleep 2; i=$((i + 2)); done
[ "$(ctl ping)" = pong ] || { echo "BENCH-NOTE the lb's control port never answered"; sync; systemctl poweroff; exit 1; }
# haproxy marks a backend up after "rise 5" checks 1 s apart
sleep 10
echo "BENCH {\"kind\":\"peer_env\",\"mem_kb\":$(meminfo MemTotal),\"cpus\":$(nproc),\"sources\":$SOURCES,\"backends\":\"$(echo $backends)\",\"extra_backend\":\"$EXTRA_BACKEND\",\"waited_for_lb_s\":$i}"

# obj TEXT: TEXT when it looks like one JSON object, else null (a failed
# request or a stray line must not make the whole line unreadable)
obj() { case $1 in '{'*'}') echo "$1" ;; *) echo null ;; esac; }
# wait_final LOG PID: until the generator printed its final line (its
# connections are still open: -L) or exited
wait_final() { while kill -0 "$2" 2>/dev/null && ! grep -q '"final"' "$1"; do sleep 1; done; }

i=0
for run in $RUNS; do
  i=$((i + 1)) mode=${run%%:*} n=${run#*:}
  if [ "$mode" = stock ]; then range=$STOCK_RANGE; else range=$(ctl tuned); fi
  hold=$HOLD_S
  case " $LONG_HOLD " in *" $mode:$n:"*) hold=$(echo " $LONG_HOLD " | sed -E "s/.* $mode:$n:([0-9]+) .*/\1/") ;; esac
  ctl drain >/dev/null
  cap=$(ctl range $range)
  ctl mark "begin:$i" >/dev/null
  set -- $(cpu_ticks); busy0=$1 total0=$2
  log=$W/load-$i-$mode-$n.log
  # -L: the end mark is taken with the connections still open
  mqtt-load -t "$LB:1883" -n "$n" -s "$srcs" -r "$RATE" -k "$KEEPALIVE" -H "$hold" -T "$SETTLE_S" -P "$INFLIGHT" -R "$RETRY" -B "$BACKOFF" -i 10 -L 900 >"$log" 2>&1 &
  load=$!
  wait_final "$log" $load
  set -- $(cpu_ticks); busy1=$1 total1=$2
  ctl mark "end:$i" >/dev/null
  kill -USR2 $load 2>/dev/null; wait $load
  final=$(final_of "$log")
  [ -n "$final" ] || { echo "BENCH-NOTE mqtt-load gave no result: $(tail -3 "$log")"; final='{}'; }
  echo "BENCH {\"kind\":\"run\",\"i\":$i,\"mode\":\"$mode\",\"n\":$n,\"hold_s\":$hold,\"lb_range\":$(obj "$cap"),\"load\":$(obj "$final"),\"sink\":$(obj "$(grep '^{' $W/sink.log | tail -1)"),\"peer_cpu_busy_pct\":$(( (busy1 - busy0) * 100 / (total1 - total0 + 1) ))}"
done

# reloads under load: RELOAD_N held (no hold limit: SIGUSR1 ends it), then
# RELOADS seeds applied by the lb's agent, each followed by NEW_N new
# connections held briefly
if [ "$RELOADS" -gt 0 ]; then
  range=$(ctl tuned)
  ctl drain >/dev/null; ctl range $range >/dev/null
  ctl mark "begin:reload" >/dev/null
  log=$W/load-reload.log
  mqtt-load -t "$LB:1883" -n "$RELOAD_N" -s "$srcs" -r "$RATE" -k "$KEEPALIVE" -H 86400 -T "$SETTLE_S" -P "$INFLIGHT" -R "$RETRY" -B "$BACKOFF" -i 5 -L 900 >$log 2>&1 &
  load=$!
  # the ramp: until all are up, or the count stops moving for SETTLE_S
  last=-1 still=0
  while kill -0 $load 2>/dev/null; do
    up=$(load_up $log); up=${up:-0}
    [ "$up" -ge "$RELOAD_N" ] && break
    if [ "$up" = "$last" ]; then still=$((still + 5)); [ $still -ge "$SETTLE_S" ] && break; else still=0 last=$up; fi
    sleep 5
  done
  sleep 10
  k=1
  while [ $k -le "$RELOADS" ]; do
    before=$(load_up $log)
    r=$(ctl reload $k)
    s0=$(ctl mark "new0:$k" | sed -n 's/.*"servers":\({[^}]*}\).*/\1/p')
    mqtt-load -I "n$k-" -t "$LB:1883" -n "$NEW_N" -s "$srcs" -r 100 -P 100 -k "$KEEPALIVE" -H 5 -T 30 -i 5 >$W/new-$k.log 2>&1
    s1=$(ctl mark "new1:$k" | sed -n 's/.*"servers":\({[^}]*}\).*/\1/p')
    after=$(load_up $log)
    echo "BENCH {\"kind\":\"reload\",\"k\":$k,\"lb\":$(obj "$r"),\"held_before\":${before:-0},\"held_after\":${after:-0},\"new\":$(obj "$(final_of $W/new-$k.log)"),\"servers_before\":$(obj "$s0"),\"servers_after\":$(obj "$s1")}"
    k=$((k + 1))
    sleep "$RELOAD_GAP_S"
  done
  kill -USR1 $load 2>/dev/null
  wait_final $log $load
  ctl mark "end:reload" >/dev/null
  kill -USR2 $load 2>/dev/null; wait $load
  echo "BENCH {\"kind\":\"reloads\",\"n\":$RELOAD_N,\"done\":$((k - 1)),\"load\":$(obj "$(final_of $log)")}"
fi
ctl "done" >/dev/null
kill $sink 2>/dev/null
sync
systemctl poweroff
