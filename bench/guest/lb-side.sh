#!/bin/sh
# In-guest driver of bench/lb-100k.sh's split rig, on the lb VM: the
# shipped lb image with the example seed, unchanged, on the harness's
# private network (192.168.0.20, the seed's address). It generates no load
# and answers no MQTT: the peer VM (lb-peer.sh) holds the devices and the
# verne backends, so this kernel carries haproxy's two sockets per
# connection only, as a real lb does. Here:
#   - one "env" line: the lb as the role configured it;
#   - a "sample" line every SAMPLE_S seconds (sockets, slab, TCP buffer
#     pages, MemAvailable, CPU ticks, haproxy's RSS, CPU and process
#     count), from which the host takes each run's peak and the old-worker
#     count over time;
#   - the control port (lb-ctl.sh on CTL_PORT): the peer asks for the port
#     range of a run, marks the start and end of each run (counter
#     snapshots), and the reloads (a changed seed applied by node-agent).
# Everything goes to ttyS1 as "BENCH <json>" lines. The VM powers off once
# the peer says "done" (or the host stops it).
exec >/dev/ttyS1 2>&1
set -u
CTL_PORT=${CTL_PORT:-7070} SAMPLE_S=${SAMPLE_S:-5}
W=/run/bench; mkdir -p $W
# shellcheck source=lb-lib.sh
. /usr/local/lib/nodeos-bench/lb-lib.sh
tr '\t' ' ' </proc/sys/net/ipv4/ip_local_port_range >$W/tuned_range
addr=$(ip -4 -o addr show scope global | awk '{sub("/.*", "", $4); print $4; exit}')
nb=$(mqtt_servers | wc -l)
maxconn=$(awk '$1=="maxconn" {print $2; exit}' $cfg)
echo "BENCH {\"kind\":\"env\",\"rig\":\"split\",\"address\":\"$addr\",\"backends\":$nb,\"tuned_range\":\"$(cat $W/tuned_range)\",\"haproxy_maxconn\":${maxconn:-0},\"nf_conntrack_max\":\"$(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null || echo none)\",\"netdev_max_backlog\":$(cat /proc/sys/net/core/netdev_max_backlog),\"mem_kb\":$(meminfo MemTotal),\"cpus\":$(nproc),\"kernel\":\"$(uname -r)\",\"haproxy\":\"$(haproxy -v 2>/dev/null | awk 'NR==1{print $3}')\",\"hz\":$(getconf CLK_TCK)}"

# the control port: one command per connection, answered by lb-ctl.sh.
# -t: once the request's end (EOF) is read, socat ends the child after -t
# seconds (0.5 by default), and a drain or a reload takes minutes
socat -t 1800 TCP-LISTEN:"$CTL_PORT",reuseaddr,fork EXEC:"sh /usr/local/lib/nodeos-bench/lb-ctl.sh" >$W/ctl.log 2>&1 &
ctl=$!

while [ ! -e $W/done ]; do
  echo "BENCH {\"kind\":\"sample\",\"t\":$(date +%s),$(gauges)}"
  sleep "$SAMPLE_S"
done
kill $ctl 2>/dev/null
sync
systemctl poweroff
