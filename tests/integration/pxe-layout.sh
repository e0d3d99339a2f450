#!/usr/bin/env bash
# `make pxe` / image/make-pxe on a fake built-image directory (small dummy
# files) and real nodeos-seedgen seeds for the guide's 100k inventory with
# MACs: the HTTP tree (images hard-linked, one base inode for all roles,
# seeds 0600), the iPXE binaries, the chain script, each MAC's boot script
# with the cmdline its role's pxe-cmdline gives, dnsmasq.conf (static lease
# per MAC, BIOS/UEFI/iPXE boot files) accepted by `dnsmasq --test`, and the
# refusals. Boots nothing. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
IPXE_DIR=${IPXE_DIR:-/usr/lib/ipxe}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
SERVER=10.20.0.1

# --- seeds: the guide's 100k inventory, a MAC per host but the control host ---
inv=$tmp/inv; cp -r cloud-init/inventories/100k "$inv"
i=0
for h in master_host dojot_worker_host kafka_worker_host x509_worker_host first_verne_worker_host second_verne_worker_host third_verne_worker_host haproxy; do
  sed -i "/^    $h:\$/{n;s/\$/\n      nodeos_mac: 52:54:00:20:00:1$i/}" "$inv/hosts.yaml"; i=$((i + 1))
done
sed -i 's/192\.168\.0\./10.20.0./' "$inv/hosts.yaml"
# the master keeps its state on a local disk (nodeos_data_disk)
sed -i "/^    master_host:\$/{n;s/\$/\n      nodeos_data_disk: \/dev\/sda/}" "$inv/hosts.yaml"
# a host without a MAC (it cannot PXE boot: warned, skipped)
sed -i 's/^      nodeos_mac: 52:54:00:20:00:16$//' "$inv/hosts.yaml"
"$SEEDGEN" --no-iso --roles-dir "$ROLES" "$inv" "$tmp/seeds" >"$tmp/seedgen.log" 2>&1 || { echo "Bail out! seedgen failed: $(tail -3 "$tmp/seedgen.log")"; exit 1; }

# --- a fake build output: out/<profile>/<role>/ with tiny files -------------------
img=$tmp/out
for r in master dojot kafka x509 verne lb; do
  d=$img/bookworm/$r; mkdir -p "$d"
  echo "vmlinuz of $r" >"$d/vmlinuz"; echo "initrd of $r" >"$d/initrd.img"
  echo "the shared base" >"$d/base.sqfs"; echo "layer of $r" >"$d/layer.sqfs"
  echo "boot=nodeos nodeos.fetch=@URL@ ip=dhcp ro" >"$d/pxe-cmdline"
done
# one role's builder convention differs: the scripts must follow its file
echo "boot=nodeos nodeos.fetch=@URL@ ip=dhcp ro nodeos.layer-note=lb" >"$img/bookworm/lb/pxe-cmdline"

pxe=$tmp/pxe
if make --no-print-directory pxe PXE_SERVER=$SERVER PXE_IFACE=eth7 SEEDS="$tmp/seeds" PXE_IMAGES="$img" PXE_OUT="$pxe" \
     >"$tmp/pxe.log" 2>&1; then ok "make pxe succeeds"; else nok "make pxe failed: $(tail -3 "$tmp/pxe.log")"; fi
check "warns that the host without a MAC cannot PXE boot" grep -q "host 'third_verne_worker_host' (third-verne-worker-host) has no MAC" "$tmp/pxe.log"

# images
bad=0
for r in master dojot kafka x509 verne lb; do
  for f in vmlinuz initrd.img base.sqfs layer.sqfs; do
    cmp -s "$pxe/http/bookworm/$r/$f" "$img/bookworm/$r/$f" || { bad=1; echo "# $r/$f"; }
  done
  [ "$(stat -c %i "$pxe/http/bookworm/$r/layer.sqfs")" = "$(stat -c %i "$img/bookworm/$r/layer.sqfs")" ] || { bad=1; echo "# $r/layer.sqfs not hard-linked"; }
done
if [ "$bad" = 0 ]; then ok "http/bookworm/<role>/{vmlinuz,initrd.img,base.sqfs,layer.sqfs} for the six roles, hard-linked"; else nok "image tree wrong"; fi
check "identical base.sqfs files become one inode" test "$(stat -c %i "$pxe"/http/bookworm/*/base.sqfs | sort -u | wc -l)" = 1

# iPXE
bad=0
for f in undionly.kpxe ipxe.efi snponly.efi; do cmp -s "$pxe/tftp/$f" "$IPXE_DIR/$f" || bad=1; done
if [ "$bad" = 0 ]; then ok "tftp/ holds Debian's undionly.kpxe, ipxe.efi and snponly.efi"; else nok "iPXE binaries differ"; fi
check "boot.ipxe is an iPXE script" grep -qx '#!ipxe' "$pxe/http/boot.ipxe"
check "boot.ipxe chains to the booting NIC's script by MAC (hexhyp)" \
  grep -qxF "chain --autofree http://$SERVER/boot/\${netX/mac:hexhyp}.ipxe || goto unknown" "$pxe/http/boot.ipxe"

# per-MAC scripts and seeds
bad=0 count=0
while IFS=$'\t' read -r hostname addr role mac _mode _host disk; do
  [[ $hostname == \#* ]] && continue
  [ "$mac" = - ] && continue
  count=$((count + 1))
  s=$pxe/http/boot/$mac.ipxe
  base=$(sed "s#@URL@#http://$SERVER/bookworm/$role/#" "$img/bookworm/$role/pxe-cmdline")
  [ "$disk" = - ] || base+=" nodeos.data=$disk"
  want_kernel="kernel http://$SERVER/bookworm/$role/vmlinuz initrd=initrd.img $base ds=nocloud;s=http://$SERVER/seeds/$mac/ console=tty0 console=ttyS0,115200n8 panic=10"
  [ "$(head -1 "$s")" = '#!ipxe' ] || { bad=1; echo "# $s: no #!ipxe"; }
  [ "$(grep '^kernel ' "$s")" = "$want_kernel" ] || { bad=1; echo "# $s: $(grep '^kernel ' "$s")"; echo "# want: $want_kernel"; }
  [ "$(grep '^initrd ' "$s")" = "initrd --name initrd.img http://$SERVER/bookworm/$role/initrd.img" ] || { bad=1; echo "# $s: initrd"; }
  [ "$(tail -1 "$s")" = boot ] || { bad=1; echo "# $s: no boot"; }
  for f in meta-data user-data; do
    cmp -s "$pxe/http/seeds/$mac/$f" "$tmp/seeds/http/mac/$mac/$f" || { bad=1; echo "# seeds/$mac/$f differs"; }
    [ "$(stat -c %a "$pxe/http/seeds/$mac/$f")" = 600 ] || { bad=1; echo "# seeds/$mac/$f not 0600"; }
  done
  grep -qx "hostname: $hostname" "$pxe/http/seeds/$mac/user-data" || { bad=1; echo "# seeds/$mac is not $hostname's"; }
  grep -qxF "dhcp-host=${mac//-/:},$addr,$hostname,infinite" "$pxe/dnsmasq.conf" || { bad=1; echo "# no dhcp-host for $mac"; }
done <"$tmp/seeds/nodes.tsv"
if [ "$bad" = 0 ] && [ "$count" = 7 ]; then ok "each of the 7 MACs: boot/<mac>.ipxe boots its role's kernel with its role's pxe-cmdline and ds=nocloud;s=.../seeds/<mac>/, its seed 0600, its static lease"
else nok "per-MAC layout wrong ($count MACs)"; fi
check "exactly 7 boot scripts and 7 seed dirs" test "$(ls "$pxe/http/boot" | wc -l) $(ls "$pxe/http/seeds" | wc -l)" = "7 7"
check "the lb's scripts carry the lb image's own cmdline" grep -q 'ro nodeos.layer-note=lb ds=nocloud' "$pxe/http/boot/52-54-00-20-00-17.ipxe"
check "the master's script puts its state on its data disk" grep -q ' nodeos.data=/dev/sda ds=nocloud' "$pxe/http/boot/52-54-00-20-00-10.ipxe"
check "the diskless nodes' scripts have no nodeos.data=" test "$(grep -l 'nodeos.data=' "$pxe"/http/boot/*.ipxe | wc -l)" = 1
check "no other role's script carries it" test "$(grep -l 'nodeos.layer-note' "$pxe"/http/boot/*.ipxe | wc -l)" = 1
bad=0
for d in "$pxe"/http/seeds/*/; do "$AGENT" validate --roles-dir "$ROLES" "$d" >/dev/null 2>&1 || { bad=1; echo "# validate $d"; }; done
if [ "$bad" = 0 ]; then ok "node-agent validate accepts every served seed"; else nok "a served seed does not validate"; fi

# dnsmasq
conf=$pxe/dnsmasq.conf
if out=$(dnsmasq --test -C "$conf" 2>&1); then ok "dnsmasq --test accepts dnsmasq.conf ($out)"; else nok "dnsmasq --test: $out"; fi
for line in "interface=eth7" "bind-interfaces" "port=0" "dhcp-range=10.20.0.0,static,255.255.255.0,infinite" \
            "dhcp-match=set:ipxe,175" "dhcp-userclass=set:ipxe,iPXE" \
            "dhcp-match=set:efi64,option:client-arch,7" "dhcp-match=set:efi64,option:client-arch,9" \
            "dhcp-boot=tag:ipxe,http://$SERVER/boot.ipxe" "dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi,,$SERVER" \
            "dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe,,$SERVER" "enable-tftp" "tftp-root=$pxe/tftp"; do
  check "dnsmasq.conf: $line" grep -qxF "$line" "$conf"
done
check "dnsmasq.conf: no lease for the host without a MAC" bash -c "! grep -q '10.20.0.16' '$conf'"

# options and refusals
if image/make-pxe --server $SERVER --seeds "$tmp/seeds" --images "$img" --out "$pxe" --dhcp-range 10.20.0.100,10.20.0.150 --efi snponly.efi >/dev/null 2>&1 &&
   grep -qxF "dhcp-range=10.20.0.100,10.20.0.150,255.255.255.0,12h" "$pxe/dnsmasq.conf" &&
   grep -qxF "dhcp-boot=tag:!ipxe,tag:efi64,snponly.efi,,$SERVER" "$pxe/dnsmasq.conf" && dnsmasq --test -C "$pxe/dnsmasq.conf" >/dev/null 2>&1; then
  ok "a rerun replaces the tree; --dhcp-range adds a pool, --efi snponly.efi serves SNP-only iPXE to UEFI"
else nok "rerun with --dhcp-range/--efi"; fi
refuses() {  # WHAT EXPECTED-ERROR-SUBSTRING ARGS...
  local what=$1 want=$2; shift 2
  local err; err=$(image/make-pxe "$@" 2>&1 >/dev/null)
  if [ $? -ne 0 ] && grep -qF -- "$want" <<<"$err"; then ok "refuses $what"; else nok "refuses $what: got '$err'"; fi
}
refuses "no --server" "--server IP (PXE_SERVER=ip) is required" --seeds "$tmp/seeds" --images "$img" --out "$tmp/p2"
refuses "a server outside the nodes' subnet" "is not in 10.99.0.1/24" --server 10.99.0.1 --seeds "$tmp/seeds" --images "$img" --out "$tmp/p2"
mkdir -p "$tmp/img2/bookworm"; cp -r "$img/bookworm/"{master,dojot,x509,verne,lb} "$tmp/img2/bookworm/"
refuses "a missing role image, naming it" "make image ROLE=kafka PROFILE=bookworm" --server $SERVER --seeds "$tmp/seeds" --images "$tmp/img2" --out "$tmp/p2"
mkdir -p "$tmp/foreign"; touch "$tmp/foreign/keep"
refuses "an output directory it did not make" "was not made by make-pxe" --server $SERVER --seeds "$tmp/seeds" --images "$img" --out "$tmp/foreign"
check "and leaves that directory alone" test -e "$tmp/foreign/keep"
# a diskless master: its etcd would not survive a reboot
cp -r "$tmp/seeds" "$tmp/seeds-diskless"; sed -i 's#\t/dev/sda$#\t-#' "$tmp/seeds-diskless/nodes.tsv"
refuses "a diskless master, naming the fix" "Set the host variable nodeos_data_disk" --server $SERVER --seeds "$tmp/seeds-diskless" --images "$img" --out "$tmp/p2"
if image/make-pxe --allow-diskless-master --server $SERVER --seeds "$tmp/seeds-diskless" --images "$img" --out "$tmp/p3" >/dev/null 2>&1 &&
   ! grep -q 'nodeos.data=' "$tmp/p3/http/boot/52-54-00-20-00-10.ipxe"; then ok "--allow-diskless-master makes it anyway, with state in RAM"
else nok "--allow-diskless-master"; fi
refuses "seeds that are not there" "make the seeds first" --server $SERVER --seeds "$tmp/nowhere" --images "$img" --out "$tmp/p2"

tap_end
