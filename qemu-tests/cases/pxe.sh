#!/usr/bin/env bash
# Case "pxe": a fleet netboots. From the guide's few-devices inventory (with a
# MAC per host added), nodeos-seedgen makes the seeds and image/make-pxe the
# boot tree; a real dnsmasq (DHCP + TFTP) and an HTTP server run inside the
# harness's own network namespace; three VMs boot from their NIC's iPXE
# ROM, get their role from their MAC (kernel, initrd, base and role layer
# over HTTP, root in RAM) and their seed over HTTP, and must complete. The
# master has a blank local disk (nodeos_data_disk): its state goes there,
# and a second netboot finds it; the two workers are diskless. Reports the
# bytes each node fetched. Usage: cases/pxe.sh. TAP.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$QT_REPO" || exit
AGENT_DIR=$QT_REPO/build
work=$QT_OUT/pxe; rm -rf "$work"; mkdir -p "$work"

# the inventory, with MACs (hosts: master_host, worker_host, nginx)
inv=$work/inventory; cp -r cloud-init/inventories/few-devices "$inv"
declare -A MAC=([master_host]=52:54:00:50:00:10 [worker_host]=52:54:00:50:00:11 [nginx]=52:54:00:50:00:12)
for h in "${!MAC[@]}"; do sed -i "/^    $h:\$/a\\      nodeos_mac: ${MAC[$h]}" "$inv/hosts.yaml"; done
# the master keeps its state (etcd) on a local disk; make-pxe refuses it diskless
sed -i "/^    master_host:\$/a\\      nodeos_data_disk: /dev/disk/by-id/virtio-nodeosdata" "$inv/hosts.yaml"
qemu-img create -q -f qcow2 "$work/master-data.qcow2" 2G
DATA_DISK=(-drive "file=$work/master-data.qcow2,format=qcow2,if=none,id=nodeosdata" -device "virtio-blk-pci,drive=nodeosdata,serial=nodeosdata")
disk_args() { [ "$1" = master-host ] && printf '%s\n' "${DATA_DISK[@]}"; }
if "$AGENT_DIR/nodeos-seedgen" "$inv" "$work/seeds" >"$work/seedgen.log" 2>&1; then qt_ok "pxe: seeds for the three hosts, keyed by MAC"
else qt_nok "pxe: nodeos-seedgen failed"; sed 's/^/# /' "$work/seedgen.log"; qt_done; exit 1; fi

roles=$(awk -F'\t' '!/^#/ {print $3}' "$work/seeds/nodes.tsv" | sort -u)
for r in $roles; do qt_image "$r" >/dev/null || { qt_nok "pxe: no $r image (make image ROLE=$r)"; qt_done; exit 1; }; done
if image/make-pxe --server 192.168.0.1 --http-port 8080 --seeds "$work/seeds" --images out --profile "$QT_PROFILE" \
     --out "$work/tree" --dhcp-range 192.168.0.100,192.168.0.150 >"$work/make-pxe.log" 2>&1; then qt_ok "pxe: make-pxe laid out the boot tree"
else qt_nok "pxe: make-pxe failed"; sed 's/^/# /' "$work/make-pxe.log"; qt_done; exit 1; fi

qt_net_up 192.168.0.1/24 || { qt_nok "pxe: private network"; qt_done; exit 1; }
# the generated dnsmasq.conf as is, plus what a foreground test run needs.
# --user=root: dnsmasq otherwise serves TFTP as nobody, who cannot reach a
# tree under a 0700 directory (a clone in /root or in mktemp -d); seen as
# "TFTP directory ... inaccessible: Permission denied", every PXE boot lost.
# It runs in the harness's private namespace only.
qt_net_run dnsmasq --keep-in-foreground --conf-file="$work/tree/dnsmasq.conf" --interface=br0 --bind-interfaces \
  --dhcp-leasefile="$work/leases" --pid-file="$work/dnsmasq.pid" --log-facility="$work/dnsmasq.log" --user=root
if ! sleep 1 || grep -q 'FAILED to start' "$work/dnsmasq.log" 2>/dev/null; then
  qt_nok "pxe: dnsmasq did not start: $(tail -2 "$work/dnsmasq.log")"; qt_done; exit 1
fi
qt_net_run /usr/bin/python3 -m http.server --bind 192.168.0.1 --directory "$work/tree/http" 8080 >"$work/httpd.log" 2>&1
sleep 1

t0=$SECONDS
while IFS=$'\t' read -r host addr role mac _; do
  case $host in \#*|'') continue ;; esac
  mapfile -t extra < <(disk_args "$host")
  QT_BOOT=pxe QT_MEM=2048 QT_SMP=1 QT_MAC=${mac//-/:} qt_boot "pxe-$host" "$(qt_image "$role")" "" "${extra[@]}"
  echo "$host $addr $role $mac" >>"$work/booted"
done <"$work/seeds/nodes.tsv"

while read -r host addr role mac; do
  name=pxe-$host
  if qt_wait "$name" 'NODEOS-AGENT: SUCCESS' 600; then
    line=$(grep -a -m1 'NODEOS-AGENT: SUCCESS' "$QT_OUT/$name/serial.log")
    qt_check "pxe: $host ($mac) netbooted as $role and completed ($((SECONDS - t0)) s)" grep -q "role=$role" <<<"$line"
  else qt_nok "pxe: $host ($mac) did not complete as $role"; fi
  qt_check "pxe: $host ran from a RAM root fetched over HTTP" grep -aq 'nodeos-initramfs: fetching http://192.168.0.1:8080/' "$QT_OUT/$name/serial.log"
  qt_check "pxe: $host read its seed over HTTP" grep -aqE "stage=fetch step=seed status=done .*192.168.0.1:8080/seeds/" "$QT_OUT/$name/serial.log"
done <"$work/booted"

# state: on the master's disk, formatted because it was blank; in RAM elsewhere
qt_check "pxe: the master formatted its blank data disk" grep -aq 'formatting the data partition /dev/vd[a-z] (blank)' "$QT_OUT/pxe-master-host/serial.log"
qt_check "pxe: the master keeps its state on that disk" grep -aq 'state on /dev/vd[a-z]' "$QT_OUT/pxe-master-host/serial.log"
qt_check "pxe: a diskless worker keeps its state in RAM" grep -aq 'state on tmpfs' "$QT_OUT/pxe-worker-host/serial.log"

# bytes per node: every file each client fetched, by its size in the tree
while read -r host addr role mac; do
  bytes=0
  while read -r path; do
    f=$work/tree/http${path%%\?*}; [ -f "$f" ] && bytes=$((bytes + $(stat -L -c %s "$f")))
  done < <(awk -v a="$addr" '$1 == a && /"GET / {print $7}' "$work/httpd.log")
  echo "# pxe: $host ($role) fetched $((bytes / 1048576)) MiB over HTTP"
  echo "$host $role $bytes" >>"$QT_OUT/pxe-transfer.txt"
done <"$work/booted"
tftp=$(grep -c 'sent .*undionly\|sent .*ipxe' "$work/dnsmasq.log" 2>/dev/null || true)
echo "# pxe: TFTP transfers logged by dnsmasq: ${tftp:-0} (the iPXE binaries only; everything else over HTTP)"
for h in $(awk '{print $1}' "$work/booted"); do qt_stop "pxe-$h"; done

# the master netboots again: its disk is found, not formatted, and the
# agent finds its instance done (its state survived the reboot)
cp "$QT_OUT/pxe-master-host/serial.log" "$work/master-boot1.log"
mapfile -t extra < <(disk_args master-host)
QT_BOOT=pxe QT_MEM=2048 QT_SMP=1 QT_MAC=${MAC[master_host]} qt_boot pxe-master-host "$(qt_image master)" "" "${extra[@]}"
if qt_wait pxe-master-host 'NODEOS-AGENT: (SUCCESS|FAILED)' 600; then
  qt_check "pxe: after a reboot the master's data disk is mounted, not formatted again" \
    bash -c "grep -aq 'state on /dev/vd' '$QT_OUT/pxe-master-host/serial.log' && ! grep -aq 'formatting the data partition' '$QT_OUT/pxe-master-host/serial.log'"
  qt_check "pxe: after a reboot the master's agent finds its instance done (state kept)" \
    grep -aq 'step=hostname status=unchanged elapsed_ms=0 detail="done before"' "$QT_OUT/pxe-master-host/serial.log"
else qt_nok "pxe: the master did not come back after a reboot"; fi
qt_stop pxe-master-host
qt_net_down
qt_done
