#!/bin/sh
# In-guest driver of bench/few-devices.sh (the harness probe's action on the
# lb VM in nginx mode, after the agent's success). The seed's MQTT upstream
# (nginx.conf's "upstream mqtt") is put on lo and answered by mqtt-sink in
# place of the dojot node's NodePort; mqtt-load runs DEVICES devices that
# publish SIZE-byte QoS 0 messages every EVERY_S seconds to nginx's 1883
# for HOLD_S seconds. Delivery = PUBLISH packets the sink parsed / PUBLISH
# packets the devices wrote. Prints "BENCH <json>" on ttyS1, powers off.
# word splitting of $(cpu_ticks) is meant; dash has ulimit -n
# shellcheck disable=SC2046,SC3045
exec >/dev/ttyS1 2>&1
DEVICES=${DEVICES:-500} EVERY_S=${EVERY_S:-15} SIZE=${SIZE:-100} HOLD_S=${HOLD_S:-60}
W=/run/bench; mkdir -p $W
conf=/etc/nginx/nginx.conf
up=$(awk '/upstream mqtt[ {]/ {m=1} m && $1=="server" {sub(";", "", $2); print $2; exit}' $conf)
ip addr add "${up%:*}/32" dev lo 2>/dev/null
ulimit -n 65536
mqtt-sink -l "$up" -i 1 >$W/sink.log 2>&1 &
sink=$!
sleep 3
nginx_pids() { pgrep -x nginx; }
cpu_ticks() { s=0; for p in $(nginx_pids); do t=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null); s=$((s + ${t:-0})); done; echo $s; }
rss_kb() { s=0; for p in $(nginx_pids); do r=$(awk '$1=="VmRSS:"{print $2}' "/proc/$p/status" 2>/dev/null); s=$((s + ${r:-0})); done; echo $s; }
c0=$(cpu_ticks) r0=$(rss_kb)
set -- $(awk '$1=="cpu" {b=$2+$3+$4+$7+$8+$9; print b, b+$5+$6}' /proc/stat); busy0=$1 total0=$2
# rate: all devices connected within a few seconds, as after a reconnect storm
mqtt-load -t 127.0.0.1:1883 -n "$DEVICES" -r 200 -k 60 -H "$HOLD_S" -T 30 -i 10 -p "$EVERY_S" -z "$SIZE" >$W/load.log 2>&1
r1=$(rss_kb)
sleep 3   # the last messages in flight reach the sink
c1=$(cpu_ticks)
set -- $(awk '$1=="cpu" {b=$2+$3+$4+$7+$8+$9; print b, b+$5+$6}' /proc/stat); busy1=$1 total1=$2
final=$(grep '"final"' $W/load.log | tail -1)
sinkline=$(tail -1 $W/sink.log)
kill $sink 2>/dev/null
echo "BENCH {\"upstream\":\"$up\",\"nginx\":\"$(nginx -v 2>&1 | sed 's/.*nginx\///')\",\"devices\":$DEVICES,\"every_s\":$EVERY_S,\"size\":$SIZE,\"hold_s\":$HOLD_S,\"load\":${final:-null},\"sink\":${sinkline:-null},\"nginx_cpu_s\":$(( (c1 - c0) / $(getconf CLK_TCK) )),\"nginx_rss_kb_before\":$r0,\"nginx_rss_kb\":$r1,\"cpu_busy_pct\":$(( (busy1 - busy0) * 100 / (total1 - total0 + 1) ))}"
sync
systemctl poweroff
