#!/usr/bin/env bash
# Drives build/node-agent like a user: validate every example seed, then
# `run --root DIR` for each role and check the files, dirs and sentinels it
# leaves; a second run changes nothing; a run killed midway resumes; a bad
# seed fails with its error, a failed sentinel and a failed status. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
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
  cp "$root.log" "$root.first.log"
  check "$r: success sentinel" test -s "$root/var/lib/node-agent/success"
  check "$r: no failed sentinel" test ! -e "$root/var/lib/node-agent/failed"
  host=$(sed -n 's/^hostname: *//p' "cloud-init/examples/$r/user-data" | sed -n 1p)
  check "$r: /etc/hostname is $host" grep -qx "$host" "$root/etc/hostname"
  check "$r: status says success" "$AGENT" status --root "$root"
  sum1=$(find "$root" -path "$root/var/lib/node-agent" -prune -o -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
  run_role "$root" "cloud-init/examples/$r"
  sum2=$(find "$root" -path "$root/var/lib/node-agent" -prune -o -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
  if [ "$sum1" = "$sum2" ] && grep -q 'status=unchanged' "$root.log"; then ok "$r: second run changes nothing"; else nok "$r: second run changed files"; fi
done

# role facts in the written trees (docs/dojot-v0.5.0.md#local-volumes, #host-tuning)
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

# exactly what each role's example seed writes: files and symlinks with
# mode and owner (outside the agent's own state), and the volume dirs
# (docs/dojot-v0.5.0.md#local-volumes: dojot kong..kafka_ws; kafka kafka + zookeeper/{data,log} as
# uid 1000, docs/dojot-v0.5.0.md#kafka-worker; x509 ejbca for fsGroup 10001, docs/dojot-v0.5.0.md#x509-worker)
# (the master's cluster manifests under etc/kubernetes/nodeos/manifests are
# the cluster step's, asserted by its own tests)
tree_of() { (cd "$1" && find . \( -path ./var/lib/node-agent -o -path ./etc/kubernetes/nodeos/manifests \) -prune -o ! -type d -printf '%P %m %U:%G\n' | sort); }
dirs_of() { (cd "$1" && [ -d mnt ] && find mnt -mindepth 1 -type d -printf '%P %m %U:%G\n' | sort); }
expect() { # expect WHAT ACTUAL LINE...: the actual lines are exactly these
  local what=$1 actual=$2; shift 2
  local want; want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
  if [ "$actual" = "$want" ]; then ok "$what"; else nok "$what: got [$(tr '\n' ';' <<<"$actual")] want [$(tr '\n' ';' <<<"$want")]"; fi
}
base=("etc/hostname 644 0:0" "etc/hosts 644 0:0" "etc/systemd/network/10-nodeos.network 644 0:0")
k8s=("${base[@]}" "etc/docker/daemon.json 644 0:0" "etc/modules-load.d/nodeos.conf 644 0:0" "etc/systemd/system/swap.target 777 0:0")
expect "master: writes exactly its files" "$(tree_of "$tmp/master")" "${k8s[@]}" \
  "etc/sysctl.d/90-nodeos-master.conf 644 0:0" "etc/kubernetes/nodeos/kubeadm-init.yaml 600 0:0"
for r in dojot kafka x509; do
  expect "$r: writes exactly its files" "$(tree_of "$tmp/$r")" "${k8s[@]}" \
    "etc/sysctl.d/90-nodeos-$r.conf 644 0:0" "etc/kubernetes/nodeos/kubeadm-join.yaml 600 0:0"
done
expect "verne: writes exactly its files" "$(tree_of "$tmp/verne")" "${k8s[@]}" \
  "etc/sysctl.d/90-nodeos-verne.conf 644 0:0" "etc/kubernetes/nodeos/kubeadm-join.yaml 600 0:0" \
  "etc/systemd/system/docker.service.d/90-nodeos-limits.conf 644 0:0" \
  "etc/systemd/system/containerd.service.d/90-nodeos-limits.conf 644 0:0"
lb_files=("${base[@]}" "etc/sysctl.d/90-nodeos-lb.conf 644 0:0"
          "etc/systemd/system/haproxy.service.d/90-nodeos-limits.conf 644 0:0"
          "etc/systemd/system/nginx.service.d/90-nodeos-limits.conf 644 0:0")
expect "lb (haproxy): writes exactly its files" "$(tree_of "$tmp/lb")" "${lb_files[@]}" "etc/haproxy/haproxy.cfg 640 0:0"
expect "dojot (100k): exactly its six volume dirs" "$(dirs_of "$tmp/dojot")" "data 755 0:0" \
  "data/kong 755 0:0" "data/minio 755 0:0" "data/mongodb 755 0:0" "data/postgres 755 0:0" "data/prometheus 755 0:0" "data/kafka_ws 755 0:0"
expect "kafka: kafka and zookeeper dirs owned by uid 1000" "$(dirs_of "$tmp/kafka")" "data 755 0:0" \
  "data/kafka 750 1000:1000" "data/zookeeper 755 0:0" "data/zookeeper/data 750 1000:1000" "data/zookeeper/log 750 1000:1000"
expect "x509: ejbca, group 10001" "$(dirs_of "$tmp/x509")" "data 755 0:0" "data/ejbca 770 0:10001"
for r in master verne lb; do expect "$r: no volume dirs" "$(dirs_of "$tmp/$r")"; done

# every Kubernetes role: swap masked, overlay + br_netfilter, the two
# kubeadm-preflight sysctls (docs/dojot-v0.5.0.md#kernel-prerequisites)
for r in master dojot kafka x509 verne; do
  check "$r: swap.target masked" test "$(readlink "$tmp/$r/etc/systemd/system/swap.target")" = /dev/null
  check "$r: overlay and br_netfilter persisted" test "$(grep -v '^#' "$tmp/$r/etc/modules-load.d/nodeos.conf" | tr '\n' ' ')" = "overlay br_netfilter "
  check "$r: bridge-nf-call-iptables=1 and ip_forward=1 persisted" \
    bash -c "grep -qx 'net.bridge.bridge-nf-call-iptables = 1' '$tmp/$r/etc/sysctl.d/90-nodeos-$r.conf' && grep -qx 'net.ipv4.ip_forward = 1' '$tmp/$r/etc/sysctl.d/90-nodeos-$r.conf'"
  check "$r: docker daemon.json systemd cgroup driver" grep -q '"native.cgroupdriver=systemd"' "$tmp/$r/etc/docker/daemon.json"
  check "$r: the services step would start docker.service (offline root)" grep -q 'step=services status=skipped .*not starting docker.service: offline root' "$tmp/$r.first.log"
done
# the seed's static network (cloud-init/examples/lb: 192.168.0.20/24, no
# gateway): networkd's unit says exactly that, and ignores router
# advertisements (a static node; with RA on, network-online waits for them)
expect "lb: networkd unit is the seed's static address, RA off" \
  "$(grep -v '^#' "$tmp/lb/etc/systemd/network/10-nodeos.network" | sed '/^$/d' | sort)" \
  "[Match]" "Name=en* eth*" "[Network]" "Address=192.168.0.20/24" "IPv6AcceptRA=no"
check "lb: no modules, no swap change" test ! -e "$tmp/lb/etc/modules-load.d/nodeos.conf" -a ! -e "$tmp/lb/etc/systemd/system/swap.target"

# lb and verne: fd limits from the role; every value not from dojot's guide
# or kubeadm's preflight says it is our own choice (docs/dojot-v0.5.0.md#verne-workers)
for r in lb verne; do
  f=$tmp/$r/etc/sysctl.d/90-nodeos-$r.conf
  check "$r: fs.nr_open and fs.file-max persisted" bash -c "grep -q '^fs.nr_open = ' '$f' && grep -q '^fs.file-max = ' '$f'"
  unmarked=$(awk '/^# /{o=$0; next} /=/{ if (o !~ /dojot guide|kubeadm preflight|our choice/) print $1 }' "$f")
  if [ -z "$unmarked" ]; then ok "$r: each sysctl names its origin, ours marked as our choice"; else nok "$r: sysctls without an origin: $unmarked"; fi
done
nofile() { sed -n 's/^LimitNOFILE=//p' "$1"; }
hap_nofile=$(nofile "$tmp/lb/etc/systemd/system/haproxy.service.d/90-nodeos-limits.conf")
hap_ulimit=$(sed -n 's/^ *ulimit-n //p' "$tmp/lb/etc/haproxy/haproxy.cfg")
check "lb: haproxy's LimitNOFILE ($hap_nofile) covers its ulimit-n ($hap_ulimit)" test "${hap_nofile:-0}" -ge "${hap_ulimit:-1}"
check "lb: LimitNOFILE within fs.nr_open" test "$hap_nofile" -le "$(sed -n 's/^fs.nr_open = //p' "$tmp/lb/etc/sysctl.d/90-nodeos-lb.conf")"
check "verne: docker's LimitNOFILE 1048576" test "$(nofile "$tmp/verne/etc/systemd/system/docker.service.d/90-nodeos-limits.conf")" = 1048576

# few-devices lb (nginx) and master
for r in lb master; do
  root=$tmp/few-$r; mkdir -p "$root"
  if run_role "$root" "cloud-init/examples/few-devices/$r"; then ok "few-devices $r: run --root succeeds"; else nok "few-devices $r: run failed: $(tail -3 "$root.log")"; fi
done
expect "few-devices lb (nginx): writes exactly its files" "$(tree_of "$tmp/few-lb")" "${lb_files[@]}" "etc/nginx/nginx.conf 644 0:0"
check "few-devices lb: nginx -t ran on nginx.conf before it was installed" grep -q 'step=file:/etc/nginx/nginx.conf status=done .*(checked)' "$tmp/few-lb.log"
check "few-devices lb: ip_local_port_range persisted" grep -qx 'net.ipv4.ip_local_port_range = 1024 65535' "$tmp/few-lb/etc/sysctl.d/90-nodeos-lb.conf"
check "few-devices master: kubeadm-init.yaml 0600" test "$(own "$tmp/few-master/etc/kubernetes/nodeos/kubeadm-init.yaml" | cut -d: -f3)" = 600

# swap entries in fstab are disabled, whatever their mount point name
root=$tmp/swap; mkdir -p "$root/etc"
printf 'UUID=1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\nUUID=2 swap swap defaults 0 0\n' >"$root/etc/fstab"
run_role "$root" cloud-init/examples/kafka
check "swap: fstab keeps its root entry" grep -qx 'UUID=1 / ext4 defaults 0 1' "$root/etc/fstab"
check "swap: both swap entries disabled" test "$(grep -v '^#' "$root/etc/fstab" | grep -c swap)" -eq 0 -a "$(grep -c '^# disabled by node-agent' "$root/etc/fstab")" -eq 2

# applied sysctls are read back through the tree's /proc/sys
root=$tmp/verne-proc; mkdir -p "$root/proc/sys/net/ipv4"; echo "32768	60999" >"$root/proc/sys/net/ipv4/ip_local_port_range"
run_role "$root" cloud-init/examples/verne
check "verne: ip_local_port_range applied and read back" grep -qE '^1024[[:space:]]+65535$' "$root/proc/sys/net/ipv4/ip_local_port_range"
root=$tmp/lb-proc; mkdir -p "$root/proc/sys/net/ipv4"; echo "32768	60999" >"$root/proc/sys/net/ipv4/ip_local_port_range"
run_role "$root" cloud-init/examples/lb
check "lb: ip_local_port_range applied and read back" grep -qE '^1024[[:space:]]+65535$' "$root/proc/sys/net/ipv4/ip_local_port_range"
check "lb: the step reports it applied and verified" grep -q 'step=sysctl status=done .*1 applied and verified' "$root.log"
# a value that does not read back fails the run: here the "kernel" file is a
# null device (the link is absolute: it resolves in the tree, as at boot)
root=$tmp/lb-lost; mkdir -p "$root/proc/sys/net/ipv4"; mknod "$root/null" c 1 3; ln -s /null "$root/proc/sys/net/ipv4/ip_local_port_range"
if run_role "$root" cloud-init/examples/lb; then nok "lb: a sysctl that does not read back must fail the run"; else ok "lb: a sysctl that does not read back fails the run"; fi
check "lb: the failure names the key and both values" grep -q "sysctl net.ipv4.ip_local_port_range reads back '', want '1024 65535'" "$root.log"

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

# limits baked into the image (what build-image does): the run finds them and
# writes no /etc drop-in, so the services step needs no daemon-reload
root=$tmp/baked; mkdir -p "$root"
if "$AGENT" bake lb --root "$root" >"$root.bake" 2>&1; then ok "bake lb succeeds"; else nok "bake lb failed: $(cat "$root.bake")"; fi
check "bake lb: haproxy's vendor drop-in" grep -qx 'LimitNOFILE=1048576' "$root/usr/lib/systemd/system/haproxy.service.d/90-nodeos-limits.conf"
check "bake lb: prints what it wrote" grep -qx '/usr/lib/systemd/system/nginx.service.d/90-nodeos-limits.conf' "$root.bake"
if run_role "$root" cloud-init/examples/lb; then ok "baked lb: run succeeds"; else nok "baked lb: run failed: $(tail -3 "$root.log")"; fi
check "baked lb: no /etc drop-in written" test ! -e "$root/etc/systemd/system/haproxy.service.d"
check "baked lb: the step says the limits are in the image" grep -q 'step=limits status=done .*2 in the image' "$root.log"
"$AGENT" bake nosuchrole --root "$tmp/x" >"$tmp/x.log" 2>&1; check "bake: unknown role exits 1" test $? -eq 1
check "bake: unknown role named" grep -q "unknown role 'nosuchrole'" "$tmp/x.log"
"$AGENT" bake lb >"$tmp/x.log" 2>&1; check "bake: refuses the live root (exit 2)" test $? -eq 2
# a baked limit that no longer matches the role (an old image): /etc's copy is written
root=$tmp/stale; mkdir -p "$root"; "$AGENT" bake lb --root "$root" >/dev/null 2>&1
sed -i 's/LimitNOFILE=.*/LimitNOFILE=4096/' "$root/usr/lib/systemd/system/haproxy.service.d/90-nodeos-limits.conf"
run_role "$root" cloud-init/examples/lb
check "stale bake: /etc drop-in written for the changed unit" grep -qx 'LimitNOFILE=1048576' "$root/etc/systemd/system/haproxy.service.d/90-nodeos-limits.conf"
check "stale bake: none for the unchanged one" test ! -e "$root/etc/systemd/system/nginx.service.d"

# the image's base package list (build-image writes it): a malformed one is a
# warning naming its line, and the run renders for any haproxy version
root=$tmp/pk; mkdir -p "$root/usr/share/nodeos"; printf 'haproxy 2.6.12\n' >"$root/usr/share/nodeos/base-packages"
if run_role "$root" cloud-init/examples/lb; then ok "malformed base-packages: run succeeds"; else nok "malformed base-packages: run failed: $(tail -3 "$root.log")"; fi
check "malformed base-packages: a warning names the file and line" \
  grep -q "/usr/share/nodeos/base-packages:1: expected 'name<TAB>version'; rendering for any tool version" "$root.log"
check "malformed base-packages: no version-dependent keyword" bash -c '! grep -q httpclient "$1"' _ "$root/etc/haproxy/haproxy.cfg"

tap_end
