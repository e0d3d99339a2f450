#!/bin/sh
# The lb VM's control port in bench/lb-100k.sh's split rig (lb-side.sh runs
# it under socat, one command per connection, on the private network only).
# Reads one line, answers one line, and writes what it did as a
# "BENCH <json>" line on ttyS1 for the host:
#   ping               -> pong
#   tuned              -> the port range the role set ("LO HI")
#   range LO HI        the run's ephemeral port range (the role's, or the
#                      stock one for the comparison) -> {"range","capacity"}
#   drain              waits (up to 600 s) until the previous run's sockets
#                      are gone -> {"inuse","tw"}
#   mark NAME          a snapshot of the counters that are differences over a
#                      run (TCP counters, haproxy's restarts, upstream errors,
#                      per-server session totals); "end:*" marks add haproxy's
#                      termination states since the last "begin:*" mark
#   reload K           applies seed K through the agent (`node-agent run
#                      --seed`): odd K the example seed with a fourth MQTT
#                      backend, even K the example seed itself; haproxy is
#                      reloaded by the agent; the answer comes once a new
#                      worker answers the stats socket, and says how the
#                      held connections and haproxy's processes fared
#   done               lb-side.sh powers the VM off
set -u
W=/run/bench
# shellcheck source=lb-lib.sh
. /usr/local/lib/nodeos-bench/lb-lib.sh
SEEDS=/usr/local/lib/nodeos-bench/seeds
emit() { echo "BENCH $1" >/dev/ttyS1; echo "$1"; }
# established client connections on haproxy's MQTT port (every worker's)
held() { ss -Htn state established '( sport = :1883 )' 2>/dev/null | wc -l; }
haproxy_main_pid() { systemctl show -p MainPID --value haproxy 2>/dev/null; }
# the worker the stats socket answers from (the newest)
worker_pid() { hacmd "show info" | awk -F': ' '$1=="Pid" {print $2; exit}'; }

read -r cmd a1 a2 || exit 0
case $cmd in
  ping) echo pong ;;
  tuned) cat $W/tuned_range ;;
  range)
    sysctl -q -w net.ipv4.ip_local_port_range="$a1 $a2" || { echo '{"error":"sysctl refused"}'; exit 0; }
    nb=$(mqtt_servers | wc -l)
    emit "{\"kind\":\"range\",\"range\":\"$a1 $a2\",\"ports_per_backend\":$(usable_ports "$a1" "$a2"),\"capacity\":$(( $(usable_ports "$a1" "$a2") * nb ))}" ;;
  drain)
    i=0; while { [ "$(sockstat inuse)" -gt 1000 ] || [ "$(sockstat tw)" -gt 100 ]; } && [ $i -lt 600 ]; do sleep 2; i=$((i + 2)); done
    echo "{\"inuse\":$(sockstat inuse),\"tw\":$(sockstat tw),\"waited_s\":$i}" ;;
  mark)
    t=$(date +%s) states=""
    case $a1 in
      begin:*) echo "$t" >$W/begin.t; hacmd "clear counters" >/dev/null ;;
      end:*) states=",\"haproxy_end_states\":$(haproxy_states "$(cat $W/begin.t 2>/dev/null || echo "$t")" "$t")" ;;
    esac
    emit "{\"kind\":\"mark\",\"name\":\"$a1\",\"t\":$t,$(gauges),\"haproxy_restarts\":$(haproxy_restarts),\"haproxy_smax\":$(hastat FRONTEND 6 | grep . || echo null),\"haproxy_econ\":$(hastat BACKEND 14 | grep . || echo null),\"haproxy_retries\":$(hastat BACKEND 16 | grep . || echo null),\"servers\":{$(server_totals)},\"held\":$(held),\"tcp_mem\":\"$(tr '\t' ' ' </proc/sys/net/ipv4/tcp_mem)\",\"tcpext\":$(tcpext | awk '{printf "%s\"%s\":%d", (n++ ? "," : "{"), $1, $2} END {print "}"}')$states}" ;;
  reload)
    case $a1 in *[!0-9]*|'') echo '{"error":"reload K: K a number"}'; exit 0 ;; esac
    if [ $((a1 % 2)) = 1 ]; then seed=plus; else seed=base; fi
    pid0=$(haproxy_main_pid) procs0=$(haproxy_procs) held0=$(held) w0=$(worker_pid) t0=$(date +%s.%N)
    node-agent run --seed "$SEEDS/$seed" >$W/reload-"$a1".log 2>&1; rc=$?
    t1=$(date +%s.%N)
    # systemctl reload returns once the master has its signal: the answer
    # waits (60 s at most) until the stats socket is a new worker's, so
    # the counters read next are the new configuration's
    i=0 w1=$(worker_pid)
    while [ "${w1:-$w0}" = "$w0" ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); w1=$(worker_pid); done
    emit "{\"kind\":\"reload\",\"k\":$a1,\"seed\":\"$seed\",\"rc\":$rc,\"agent_s\":$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}'),\"t\":${t0%.*},\"haproxy_pid_before\":${pid0:-0},\"haproxy_pid_after\":$(haproxy_main_pid | grep . || echo 0),\"worker_before\":${w0:-0},\"worker_after\":${w1:-0},\"new_worker_s\":$i,\"haproxy_procs_before\":$procs0,\"haproxy_procs_after\":$(haproxy_procs),\"held_before\":$held0,\"held_after\":$(held),\"haproxy_cfg_step\":\"$(grep -a 'step=file:/etc/haproxy/haproxy.cfg' $W/reload-"$a1".log | tail -1 | sed -n 's/.*status=\([a-z]*\).*/\1/p')\"}" ;;
  done) touch $W/done; echo bye ;;
  *) echo "{\"error\":\"unknown command $cmd\"}" ;;
esac
