#!/bin/sh
# Harness-only probe (qemu-tests): started by systemd.run= from a disk
# labelled QTEST that only the test attaches. Waits (bounded) for the
# agent's sentinel, then reports KEY=value lines on the second serial port.
out=/dev/ttyS1
exec >"$out" 2>&1
# a sentinel written during this boot (a rebooted node still has the last one)
btime=$(awk '/^btime/{print $2}' /proc/stat)
fresh() { [ -e "$1" ] && [ "$(stat -c %Y "$1")" -ge "$btime" ]; }
i=0
while [ $i -lt 900 ]; do
  fresh /var/lib/node-agent/success || fresh /var/lib/node-agent/failed && break
  sleep 1; i=$((i+1))
done
echo "QTEST-BEGIN"
echo "sentinel=$(for s in failed success; do [ -e "/var/lib/node-agent/$s" ] && printf '%s ' "$s"; done)"
echo "failed_reason=$(cat /var/lib/node-agent/failed 2>/dev/null)"
echo "hostname=$(hostname)"
echo "root_ro=$(awk '$2=="/"{print $4}' /proc/mounts | tr ',' '\n' | grep -xE 'ro|rw' | tail -1)"
echo "root_fstype=$(awk '$2=="/"{print $3}' /proc/mounts | tail -1)"
# the devices the read-only filesystems are mounted from (dm-verity: /dev/mapper/nodeos-*)
echo "base_dev=$(awk '$2=="/run/nodeos/base"{print $1}' /proc/mounts | tail -1)"
echo "layer_dev=$(awk '$2=="/run/nodeos/layer"{print $1}' /proc/mounts | tail -1)"
# the VM's own view of its addresses and networkd's files (what a static
# network-config should have produced)
echo "addrs=$(ip -br addr 2>/dev/null | tr -s ' ' | tr '\n' ';')"
echo "networkd=$(networkctl list --no-legend 2>/dev/null | tr -s ' ' | tr '\n' ';')"
echo "var_fstype=$(awk '$2=="/var"{print $3}' /proc/mounts | tail -1)"
echo "root_write=$(touch /.qtest >/dev/null 2>&1 && echo writable || echo refused)"
for k in net.ipv4.ip_local_port_range net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables fs.nr_open fs.file-max net.core.somaxconn; do
  f=/proc/sys/$(echo $k | tr . /)
  echo "sysctl.$k=$(cat $f 2>/dev/null | tr '\t' ' ')"
done
echo "swap=$(awk 'NR>1' /proc/swaps | wc -l)"
# global addresses of the wired links (the seed's static one, or DHCP's)
echo "ipv4=$(ip -4 -o addr show scope global 2>/dev/null | awk '$2 ~ /^(en|eth)/ {print $4}' | sort | tr '\n' ' ')"
echo "ipv6_global=$(ip -6 -o addr show scope global 2>/dev/null | awk '$2 ~ /^(en|eth)/ {print $4}' | sort | tr '\n' ' ')"
echo "modules=$(for m in overlay br_netfilter; do grep -q "^$m " /proc/modules && printf '%s ' $m; done)"
for d in /mnt/data/*; do [ -d "$d" ] && echo "volume.$d=$(stat -c '%u:%g:%a' "$d")"; done
for d in /mnt/data/zookeeper/*; do [ -d "$d" ] && echo "volume.$d=$(stat -c '%u:%g:%a' "$d")"; done
echo "docker=$(systemctl is-active docker 2>/dev/null)"
echo "docker_images=$(docker images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | sort | tr '\n' ' ')"
echo "haproxy=$(systemctl is-active haproxy 2>/dev/null)"
echo "nginx=$(systemctl is-active nginx 2>/dev/null)"
[ -f /etc/haproxy/haproxy.cfg ] && echo "haproxy_cfg_sha=$(sha256sum /etc/haproxy/haproxy.cfg | cut -c1-16)" && echo "haproxy_check=$(haproxy -c -f /etc/haproxy/haproxy.cfg >/dev/null 2>&1 && echo ok || echo bad)"
# the running haproxy's CA files (1: it loaded the system store, which the
# lb's config turns off where haproxy >= 2.6 would load it for nothing)
if [ "$(systemctl is-active haproxy 2>/dev/null)" = active ]; then
  if ca=$(echo 'show ssl ca-file' | socat -t 5 - UNIX-CONNECT:/run/haproxy/admin.sock 2>&1); then
    echo "haproxy_system_ca=$(printf '%s\n' "$ca" | grep -c '@system-ca')"
  else echo "haproxy_system_ca=no-answer"; fi
fi
[ -f /etc/nginx/nginx.conf ] && echo "nginx_check=$(nginx -t >/dev/null 2>&1 && echo ok || echo bad)"
# the open-file limit the running service got (the limits step's drop-in,
# taken by systemd before the service started)
for d in /etc/systemd/system/*.d/90-nodeos-limits.conf /usr/lib/systemd/system/*.d/90-nodeos-limits.conf; do
  [ -f "$d" ] || continue; u=$(basename "$(dirname "$d")" .d); pid=$(systemctl show -p MainPID --value "$u" 2>/dev/null)
  [ -n "$pid" ] && [ "$pid" != 0 ] && echo "nofile.$u=$(awk '/^Max open files/{print $4}' /proc/$pid/limits)"
done
echo "agent_status=$(node-agent status >/dev/null 2>&1; echo $?)"
echo "agent_unit=$(systemctl is-active node-agent 2>/dev/null)"
echo "failed_units=$(systemctl --failed --no-legend --plain 2>/dev/null | awk '{print $1}' | tr '\n' ' ')"
# files the agent appends to or writes: a line twice means a step ran twice
echo "dup_lines=$(for f in /etc/fstab /etc/sysctl.d/*nodeos* /etc/modules-load.d/*nodeos* /etc/hosts; do [ -f "$f" ] && grep -v '^[[:space:]]*#' "$f" | grep -v '^[[:space:]]*$' | sort | uniq -d | sed "s|^|$f: |"; done | tr '\n' ';')"
echo "etc_sha=$(cat /etc/hostname /etc/sysctl.d/*nodeos* /etc/modules-load.d/*nodeos* /etc/docker/daemon.json 2>/dev/null | sha256sum | cut -c1-16)"
echo "uptime=$(cut -d' ' -f1 /proc/uptime)"
echo "QTEST-END"
if [ -f /run/qtest/action.sh ]; then
  sh /run/qtest/action.sh >/dev/null 2>&1; echo "QTEST-ACTION rc=$?"
fi
