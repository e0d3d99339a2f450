#!/bin/sh
# In-guest report of bench/firstboot.sh (the harness probe's action, after
# the role setup finished): systemd's timestamps (microseconds of
# CLOCK_MONOTONIC, i.e. since the kernel started), CPU time and memory peak
# of the units that did the setup, the agent's own step lines or
# cloud-init's stage times, and what the setup produced (so the host can
# check both tools did the same thing). MODE (agent, cloud-init, noop, baked,
# floor) comes from the action file. Prints "BENCH <json>" on ttyS1, then powers off.
exec >/dev/ttyS1 2>&1
MODE=${MODE:-agent}
num() { case $1 in ''|*[!0-9]*) echo null ;; *) echo "$1" ;; esac; }
prop() { num "$(systemctl show -P "$2" "$1" 2>/dev/null)"; }
# memory.peak (children included): the unit's cgroup is gone once its
# processes exited, so a drop-in's ExecStartPost copied it to /run.
unit_json() {
  u=$1 cg=/sys/fs/cgroup/system.slice/$1
  printf '{"unit":"%s","activating_us":%s,"main_start_us":%s,"main_exit_us":%s,"active_us":%s,"cpu_ns":%s,"mem_peak":%s}' \
    "$u" "$(prop "$u" InactiveExitTimestampMonotonic)" "$(prop "$u" ExecMainStartTimestampMonotonic)" \
    "$(prop "$u" ExecMainExitTimestampMonotonic)" "$(prop "$u" ActiveEnterTimestampMonotonic)" \
    "$(prop "$u" CPUUsageNSec)" "$(num "$(cat "$cg/memory.peak" 2>/dev/null || cat "/run/bench-mem-$u" 2>/dev/null)")"
}
case $MODE in
  agent) units="node-agent.service" ;;
  cloud-init) units="cloud-init-local.service cloud-init.service cloud-config.service cloud-final.service" ;;
  noop|baked) units="bench-noop-standin.service" ;;
  floor) units="bench-floor-standin.service" ;;
esac
# wait (bounded) for the role's service: the setup is only done when it runs
i=0; while [ $i -lt 120 ] && [ "$MODE" != noop ] && ! systemctl is-active -q haproxy.service; do sleep 1; i=$((i+1)); done
# boot-to-role-ready is compared with multi-user.target too: wait for it
i=0; while [ $i -lt 300 ] && ! systemctl is-active -q multi-user.target; do sleep 1; i=$((i+1)); done
set -- $units
echo "BENCH-NOTE cgroup of $1: controllers '$(cat /sys/fs/cgroup/system.slice/cgroup.subtree_control 2>/dev/null)', files: $(ls /sys/fs/cgroup/system.slice/$1 2>&1 | wc -l), memory.peak: $(ls /sys/fs/cgroup/system.slice/$1/memory.peak 2>&1)"
# the agent's lines with the kernel's monotonic clock, against the unit's
# start: where its time goes between the exec and the first step
[ "$MODE" = agent ] && { echo "BENCH-NOTE node-agent exec at $(prop node-agent.service ExecMainStartTimestampMonotonic) us";
  journalctl -b -o short-monotonic -u node-agent.service 2>/dev/null | sed 's/^/BENCH-NOTE agent journal: /' | head -20; }
# what the link went through before it was online (the haproxy start job
# waits for network-online.target)
journalctl -b -o short-monotonic -u systemd-networkd.service -u systemd-networkd-wait-online.service 2>/dev/null |
  grep -v -e 'Sent message type' -e 'Got message type' -e 'sd-bus' -e 'Successfully' -e 'NETLINK' -e 'rtnl' |
  sed 's/^/BENCH-NOTE networkd journal: /' | head -${NETWORKD_LINES:-40}
u_json=""; for u in $units; do u_json="$u_json${u_json:+,}$(unit_json "$u")"; done
steps=$(journalctl -b -o cat -u node-agent.service 2>/dev/null | awk '
  /node-agent: stage=/ { st=""; ms="";
    for (i=1;i<=NF;i++) { if ($i ~ /^step=/) st=substr($i,6); if ($i ~ /^elapsed_ms=/) ms=substr($i,12); if ($i ~ /^stage=/) sg=substr($i,7) }
    printf "%s{\"stage\":\"%s\",\"step\":\"%s\",\"ms\":%s}", (n++ ? "," : ""), sg, st, ms }')
# the floor boot's timed parts (guest/floor.sh)
floor=$(journalctl -b -o cat -u bench-floor-standin.service 2>/dev/null | awk '
  /^bench-floor: part=/ { split($2, p, "="); split($3, m, "="); if (m[2] ~ /^[0-9]+$/) printf "%s{\"part\":\"%s\",\"ms\":%s}", (n++ ? "," : ""), p[2], m[2] }')
[ "$MODE" = floor ] && journalctl -b -o cat -u bench-floor-standin.service 2>/dev/null | sed 's/^/BENCH-NOTE floor: /' | head -20
total=$(journalctl -b -o cat -u node-agent.service 2>/dev/null | sed -n 's/.*NODEOS-AGENT: SUCCESS.*elapsed_ms=\([0-9]*\).*/\1/p' | tail -1)
ci_stages=null
if [ "$MODE" = cloud-init ] && [ -r /run/cloud-init/status.json ]; then
  ci_stages=$(python3 -c 'import json; v=json.load(open("/run/cloud-init/status.json"))["v1"]
print(json.dumps({k: round(s["finished"]-s["start"], 3) for k, s in v.items() if isinstance(s, dict) and s.get("start") and s.get("finished")}))' 2>/dev/null || echo null)
  cloud-init analyze blame 2>/dev/null | head -12 | sed 's/^/BENCH-NOTE cloud-init blame: /'
  echo "BENCH-NOTE cloud-init status: $(cloud-init status --long 2>&1 | tr '\n' ' ')"
fi
# when the units the role setup touches changed state (the job that started
# haproxy also waits for what it is ordered after: network-online.target)
timeline=""
for u in systemd-networkd.service systemd-networkd-wait-online.service network-online.target haproxy.service; do
  timeline="$timeline${timeline:+,}$(printf '{"unit":"%s","activating_us":%s,"active_us":%s}' "$u" \
    "$(prop "$u" InactiveExitTimestampMonotonic)" "$(prop "$u" ActiveEnterTimestampMonotonic)")"
done
echo "BENCH {\"mode\":\"$MODE\",\"timeline\":[${timeline}],\"userspace_us\":$(num "$(systemctl show -P UserspaceTimestampMonotonic)"),\"multi_user_us\":$(prop multi-user.target ActiveEnterTimestampMonotonic),\"haproxy_active_us\":$(prop haproxy.service ActiveEnterTimestampMonotonic),\"units\":[${u_json}],\"agent_steps\":[${steps}],\"agent_total_ms\":$(num "$total"),\"floor_parts\":[${floor}],\"cloud_init_stages\":${ci_stages:-null},\"result\":{\"hostname\":\"$(hostname)\",\"port_range\":\"$(tr '\t' ' ' </proc/sys/net/ipv4/ip_local_port_range)\",\"haproxy\":\"$(systemctl is-active haproxy.service)\",\"haproxy_cfg\":\"$(sha256sum /etc/haproxy/haproxy.cfg 2>/dev/null | cut -c1-16)\",\"haproxy_nofile\":\"$(systemctl show -P LimitNOFILE haproxy.service)\",\"somaxconn\":\"$(cat /proc/sys/net/core/somaxconn)\",\"ipv4\":\"$(ip -4 -o addr show scope global 2>/dev/null | awk '$2 ~ /^(en|eth)/ {print $4}' | sort | tr '\n' ' ')\"}}"
sync
systemctl poweroff
