#!/usr/bin/env bash
# Drives build/node-agent like a user: validate every example seed, then
# `run --root DIR` for each role and check the files, dirs and sentinels it
# leaves; a second run changes nothing; a run killed midway resumes; a bad
# seed fails with its error, a failed sentinel and a failed status. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
AGENT=${AGENT:-${BUILD:-build}/node-agent}
n=0; fails=0
ok()   { n=$((n+1)); echo "ok $n - $*"; }
nok()  { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else nok "$what"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

roles=(master dojot kafka x509 verne lb)
for r in "${roles[@]}"; do
  out=$("$AGENT" validate "cloud-init/examples/$r" 2>&1)
  if [ $? -eq 0 ]; then ok "validate examples/$r"; else nok "validate examples/$r: $out"; fi
done
for d in cloud-init/examples/few-devices/*/; do
  out=$("$AGENT" validate "$d" 2>&1) && ok "validate $d" || nok "validate $d: $out"
done

# stat helper: "uid:gid:mode"
own() { stat -c '%u:%g:%a' "$1"; }
run_role() { "$AGENT" run --root "$1" --seed "$2" >"$1.log" 2>&1; }

for r in "${roles[@]}"; do
  root=$tmp/$r; mkdir -p "$root"
  if run_role "$root" "cloud-init/examples/$r"; then ok "$r: run --root succeeds"; else nok "$r: run --root failed: $(tail -3 "$root.log")"; continue; fi
  check "$r: success sentinel" test -s "$root/var/lib/node-agent/success"
  check "$r: no failed sentinel" test ! -e "$root/var/lib/node-agent/failed"
  host=$(sed -n 's/^hostname: *//p' "cloud-init/examples/$r/user-data" | head -1)
  check "$r: /etc/hostname is $host" grep -qx "$host" "$root/etc/hostname"
  check "$r: status says success" "$AGENT" status --root "$root"
  sum1=$(find "$root" -path "$root/var/lib/node-agent" -prune -o -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
  run_role "$root" "cloud-init/examples/$r"
  sum2=$(find "$root" -path "$root/var/lib/node-agent" -prune -o -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
  if [ "$sum1" = "$sum2" ] && grep -q 'status=unchanged' "$root.log"; then ok "$r: second run changes nothing"; else nok "$r: second run changed files"; fi
done

# role facts in the written trees (facts file §8, §6)
check "kafka: /mnt/data/kafka owned 1000:1000" test "$(own "$tmp/kafka/mnt/data/kafka" | cut -d: -f1-2)" = 1000:1000
check "kafka: zookeeper/data and log exist" test -d "$tmp/kafka/mnt/data/zookeeper/data" -a -d "$tmp/kafka/mnt/data/zookeeper/log"
for v in kong minio mongodb postgres prometheus kafka_ws; do
  check "dojot: /mnt/data/$v" test -d "$tmp/dojot/mnt/data/$v"
done
check "dojot (100k): no kafka dir" test ! -e "$tmp/dojot/mnt/data/kafka"
check "x509: /mnt/data/ejbca" test -d "$tmp/x509/mnt/data/ejbca"
for r in verne lb; do
  check "$r: ip_local_port_range persisted" grep -rqE '^net.ipv4.ip_local_port_range *= *1024 65535' "$tmp/$r/etc/sysctl.d"
done
check "master: no ip_local_port_range" bash -c "! grep -rq ip_local_port_range '$tmp/master/etc/sysctl.d'"
check "verne: br_netfilter persisted" grep -qx br_netfilter "$tmp/verne/etc/modules-load.d/nodeos.conf"
check "verne: bridge-nf-call-iptables persisted" grep -rqE '^net.bridge.bridge-nf-call-iptables *= *1' "$tmp/verne/etc/sysctl.d"
check "lb: haproxy.cfg rendered" grep -q 'balance leastconn' "$tmp/lb/etc/haproxy/haproxy.cfg"
check "lb: haproxy.cfg mode 0640" test "$(own "$tmp/lb/etc/haproxy/haproxy.cfg" | cut -d: -f3)" = 640
check "verne: docker daemon.json systemd cgroup" grep -q 'native.cgroupdriver=systemd' "$tmp/verne/etc/docker/daemon.json"

# few-devices: all ten volume dirs on the single dojot worker
root=$tmp/few; mkdir -p "$root"
if run_role "$root" cloud-init/examples/few-devices/dojot; then
  c=0; for v in kong minio mongodb postgres prometheus kafka_ws kafka zookeeper/data zookeeper/log ejbca; do [ -d "$root/mnt/data/$v" ] && c=$((c+1)); done
  check "few-devices dojot: all 10 volume dirs" test "$c" -eq 10
else nok "few-devices dojot: run failed"; fi

# applied sysctls are read back through the tree's /proc/sys
root=$tmp/verne-proc; mkdir -p "$root/proc/sys/net/ipv4"; echo "32768	60999" >"$root/proc/sys/net/ipv4/ip_local_port_range"
run_role "$root" cloud-init/examples/verne
check "verne: ip_local_port_range applied and read back" grep -qE '^1024[[:space:]]+65535$' "$root/proc/sys/net/ipv4/ip_local_port_range"

# killed midway: a FIFO at the daemon.json path blocks the file step
root=$tmp/killed; mkdir -p "$root/etc/docker"; mkfifo "$root/etc/docker/daemon.json"
"$AGENT" run --root "$root" --seed cloud-init/examples/verne >"$root.log1" 2>&1 & pid=$!
for _ in $(seq 50); do grep -q 'step=volumes\|step=limits' "$root.log1" 2>/dev/null && break; sleep 0.1; done
sleep 0.3; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
check "killed: no success sentinel after kill" test ! -e "$root/var/lib/node-agent/success"
"$AGENT" status --root "$root" >/dev/null 2>&1; check "killed: status says running/interrupted (2)" test $? -eq 2
rm -f "$root/etc/docker/daemon.json"
if run_role "$root" cloud-init/examples/verne; then ok "killed: rerun completes"; else nok "killed: rerun failed"; fi
check "killed: rerun skipped the steps done before the kill" grep -q 'step=hostname status=unchanged' "$root.log"
check "killed: daemon.json written on rerun" grep -q cgroupdriver "$root/etc/docker/daemon.json"

# a malformed seed: named error, failed sentinel, failed status, nothing applied
root=$tmp/bad; mkdir -p "$root" "$tmp/badseed"; cp cloud-init/examples/verne/* "$tmp/badseed/"
sed -i 's/^role: verne/role: vernee/' "$tmp/badseed/user-data"
if run_role "$root" "$tmp/badseed"; then nok "bad seed: run should fail"; else ok "bad seed: run fails"; fi
check "bad seed: error names file:line:col and the role" grep -qE "user-data:[0-9]+:[0-9]+: .*vernee" "$root.log"
check "bad seed: failed sentinel" test -s "$root/var/lib/node-agent/failed"
"$AGENT" status --root "$root" >/dev/null 2>&1; check "bad seed: status exit 1" test $? -eq 1
check "bad seed: nothing applied" test ! -e "$root/etc/hostname"
if run_role "$root" cloud-init/examples/verne; then ok "bad seed: rerun with the fixed seed completes"; else nok "bad seed: rerun failed"; fi
check "bad seed: failed sentinel gone after the fix" test ! -e "$root/var/lib/node-agent/failed"

echo "1..$n"
[ $fails -eq 0 ]
