#!/bin/sh
# In-guest driver of bench/lb-100k.sh (runs on the lb VM after the agent's
# success, as the harness probe's action). Everything stays inside this VM:
# the seed's verne addresses are put on lo, so haproxy's upstream sockets
# go to mqtt-sink on this machine, and mqtt-load reaches haproxy's 1883
# from several 127.0.1.x source addresses. Only the port range per
# (source, backend address, backend port) matters for capacity, and that is
# what a real lb -> verne NodePort path has too.
#
# Parameters (set by the action file that sources this): RUNS ("tuned:N
# stock:N ..."), HOLD_S, LONG_HOLD ("tuned:100000:300": a longer hold for
# one run), RATE, SETTLE_S, SOURCES, INFLIGHT (connects in flight at
# most), KEEPALIVE (mqtt-load pings every KEEPALIVE/2 s), RETRY (connect
# attempts per connection at most, mqtt-load -R: 1 = no reconnect),
# BACKOFF (the first retry's backoff, mqtt-load -B), SYSCTL ("key=value
# ...": set here before anything else, so the kernel differs from what the
# role configured; the env line records each value as the kernel has it
# then, "harness_sysctl"). Prints "BENCH <json>" lines on ttyS1, then
# powers the VM off.
#
# Besides the counts, each run says why connections ended, so a number
# that is not the proxy's capacity can be told apart: the kernel's TCP
# counters (nstat deltas: AbortOnMemory is a "TCP: out of memory" reset,
# ListenOverflows a full accept queue), haproxy restarts (its watchdog
# aborts a worker stuck for seconds; systemd restarts it and every session
# is gone) and haproxy's termination states from its log (cD: `timeout
# client` ran out, i.e. no ping arrived for 300 s; SC: no server could be
# reached, e.g. ports exhausted; the journal may rate-limit these).
# word splitting of $(cpu_ticks) is meant; dash has ulimit -n
# shellcheck disable=SC2046,SC3045
exec >/dev/ttyS1 2>&1
set -u
RUNS=${RUNS:-"tuned:100000 stock:100000"} HOLD_S=${HOLD_S:-30} LONG_HOLD=${LONG_HOLD:-}
RATE=${RATE:-1000} SETTLE_S=${SETTLE_S:-60} SOURCES=${SOURCES:-8} INFLIGHT=${INFLIGHT:-1000} KEEPALIVE=${KEEPALIVE:-120}
RETRY=${RETRY:-1} BACKOFF=${BACKOFF:-1} SYSCTL=${SYSCTL:-}
STOCK_RANGE="32768 60999"
W=/run/bench; mkdir -p $W

# shellcheck source=lb-lib.sh
. /usr/local/lib/nodeos-bench/lb-lib.sh

# the harness's own kernel settings (a diagnostic run, not the role's):
# each as the kernel has it afterwards, as a JSON object's members
harness_sysctl=""
for kv in $SYSCTL; do
  k=${kv%%=*} v=${kv#*=}
  sysctl -q -w "$k=$v" || note "harness sysctl $k=$v: refused"
  now=$(sysctl -n "$k" 2>/dev/null | tr '\t' ' ')
  [ "$now" = "$v" ] || note "harness sysctl $k: asked $v, the kernel has '$now'"
  harness_sysctl="$harness_sysctl${harness_sysctl:+,}\"$k\":\"$now\""
done

# the seed's MQTT backends (haproxy's "listen mqtt" servers) become local
backends=$(awk '/^listen /{m=($2=="mqtt")} m && $1=="server" {print $3}' $cfg)
listen=""
for b in $backends; do
  ip addr add "${b%:*}/32" dev lo 2>/dev/null
  listen="$listen -l $b"
done
srcs=""; i=1
while [ $i -le "$SOURCES" ]; do srcs="$srcs${srcs:+,}127.0.1.$i"; i=$((i + 1)); done
tuned_range=$(cat /proc/sys/net/ipv4/ip_local_port_range | tr '\t' ' ')
maxconn=$(awk '$1=="maxconn" {print $2; exit}' $cfg)
nb=$(echo "$backends" | wc -w)
ulimit -n 1048576
# shellcheck disable=SC2086
mqtt-sink $listen -i 10 >$W/sink.log 2>&1 &
sink=$!
# haproxy marks a backend up after "rise 5" checks 1 s apart
i=0; while [ $i -lt 60 ] && ! ss -ltn | grep -q ":${backends##*:}"; do sleep 1; i=$((i+1)); done
sleep 8
conntrack_max=$(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null || echo none)
# the per-CPU queue loopback packets wait in: its drops are softnet_stat's
netdev_backlog=$(cat /proc/sys/net/core/netdev_max_backlog)
echo "BENCH {\"kind\":\"env\",\"backends\":$nb,\"tuned_range\":\"$tuned_range\",\"haproxy_maxconn\":${maxconn:-0},\"sources\":$SOURCES,\"nf_conntrack_max\":\"$conntrack_max\",\"netdev_max_backlog\":$netdev_backlog,\"harness_sysctl\":{$harness_sysctl},\"load_max_attempts\":$RETRY,\"load_backoff_first_s\":$BACKOFF,\"mem_kb\":$(meminfo MemTotal),\"cpus\":$(nproc),\"kernel\":\"$(uname -r)\",\"haproxy\":\"$(haproxy -v 2>/dev/null | awk 'NR==1{print $3}')\"}"

for run in $RUNS; do
  mode=${run%%:*} n=${run#*:}
  if [ "$mode" = stock ]; then range=$STOCK_RANGE; else range=$tuned_range; fi
  sysctl -q -w net.ipv4.ip_local_port_range="$range"
  hold=$HOLD_S
  case " $LONG_HOLD " in *" $mode:$n:"*) hold=$(echo " $LONG_HOLD " | sed -E "s/.* $mode:$n:([0-9]+) .*/\1/") ;; esac
  # the previous run's sockets: haproxy closes 100k upstream connections
  # slowly under TCG, and those in TIME_WAIT still hold their ports
  i=0; while { [ "$(sockstat inuse)" -gt 1000 ] || [ "$(sockstat tw)" -gt 100 ]; } && [ $i -lt 600 ]; do sleep 2; i=$((i+2)); done
  note "run $mode n=$n range=$range hold=${hold}s (left from before: $(sockstat inuse) in use, $(sockstat tw) time_wait)"
  slab0=$(meminfo Slab) tcpmem0=$(sockstat mem) inuse0=$(sockstat inuse) rss0=$(haproxy_rss_kb)
  # haproxy's counters count from its start: this run's are the difference
  hecon0=$(hastat BACKEND 14) hwretr0=$(hastat BACKEND 16)
  tcpext >$W/tcpext0; restarts0=$(haproxy_restarts); since=$(date +%s)
  set -- $(cpu_ticks); busy0=$1 total0=$2; hcpu0=$(haproxy_cpu_ticks)
  hacmd "clear counters" >/dev/null
  rm -f $W/peak $W/memmax
  # sampler: the peak of sockets in use, with memory at that moment, and
  # the most TCP buffer pages seen (tcp_mem is what runs out)
  ( peak=0 mmax=0; while :; do
      u=$(sockstat inuse) m=$(sockstat mem)
      if [ "$u" -gt "$peak" ]; then peak=$u; echo "$u $(meminfo Slab) $m $(haproxy_rss_kb) $(meminfo MemAvailable)" >$W/peak; fi
      if [ "$m" -gt "$mmax" ]; then mmax=$m; echo "$m" >$W/memmax; fi
      sleep 5
    done ) &
  sampler=$!
  mqtt-load -t 127.0.0.1:1883 -n "$n" -s "$srcs" -r "$RATE" -k "$KEEPALIVE" -H "$hold" -T "$SETTLE_S" -P "$INFLIGHT" -R "$RETRY" -B "$BACKOFF" -i 10 >$W/load-$mode-$n.log 2>&1
  t_end=$(( $(date +%s) - 2 ))
  kill $sampler 2>/dev/null; wait $sampler 2>/dev/null
  hsmax=$(hastat FRONTEND 6) hecon=$(hastat BACKEND 14) hwretr=$(hastat BACKEND 16)
  hecon=$(counter_delta "$hecon" "$hecon0") hwretr=$(counter_delta "$hwretr" "$hwretr0")
  kernel=$(tcpext_delta $W/tcpext0) restarts=$(( $(haproxy_restarts) - restarts0 ))
  ports=$(usable_ports "${range% *}" "${range#* }")
  sinkline=$(tail -1 $W/sink.log)
  set -- $(cpu_ticks); busy1=$1 total1=$2; hcpu1=$(haproxy_cpu_ticks)
  final=$(grep '"final"' $W/load-$mode-$n.log | tail -1)
  [ -n "$final" ] || { note "mqtt-load gave no result: $(tail -3 $W/load-$mode-$n.log)"; final='{}'; }
  read -r pinuse pslab ptcpmem prss pavail <$W/peak 2>/dev/null
  hz=$(getconf CLK_TCK)
  echo "BENCH {\"kind\":\"run\",\"mode\":\"$mode\",\"n\":$n,\"range\":\"$range\",\"ports_per_backend\":$ports,\"capacity\":$(( ports * nb )),\"hold_s\":$hold,\"load\":$final,\"sink\":${sinkline:-null},\"haproxy_smax\":${hsmax:-null},\"haproxy_econ\":${hecon:-null},\"haproxy_retries\":${hwretr:-null},\"tcp_inuse_before\":$inuse0,\"tcp_inuse_peak\":${pinuse:-0},\"slab_kb_before\":$slab0,\"slab_kb_peak\":${pslab:-0},\"tcp_mem_pages_before\":$tcpmem0,\"tcp_mem_pages_peak\":${ptcpmem:-0},\"haproxy_rss_kb_before\":$rss0,\"haproxy_rss_kb_peak\":${prss:-0},\"mem_available_kb_peak\":${pavail:-0},\"cpu_busy_pct\":$(( (busy1 - busy0) * 100 / (total1 - total0 + 1) )),\"haproxy_cpu_s\":$(( (hcpu1 - hcpu0) / hz )),\"haproxy_restarts\":$restarts,\"tcp_mem_pages_max\":$(cat $W/memmax 2>/dev/null || echo 0),\"tcp_mem\":\"$(cat /proc/sys/net/ipv4/tcp_mem | tr '\t' ' ')\",\"haproxy_end_states\":$(haproxy_states "$since" "$t_end"),\"kernel_tcp\":$kernel}"
done
kill $sink 2>/dev/null
sync
systemctl poweroff
