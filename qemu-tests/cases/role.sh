#!/usr/bin/env bash
# Case "each role alone": boots ROLE's image with its example seed and checks,
# through the probe, hostname, sysctls read back from /proc, volume dirs with
# owners and modes, Docker with the preloaded test images, the rendered lb
# config, and a read-only root. Usage: cases/role.sh ROLE [SEED_DIR]. TAP.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$QT_REPO" || exit
role=$1; seed_src=${2:-cloud-init/examples/$role}
name=role-$role
img=$(qt_image "$role") || { qt_nok "$name: no image"; qt_done; exit 1; }

work=$QT_OUT/$name.seed; rm -rf "$work"; mkdir -p "$work"
cp "$seed_src"/meta-data "$seed_src"/user-data "$work/"
qt_seed_iso "$work" "$QT_OUT/$name.iso" || { qt_nok "$name: make the cidata ISO"; qt_done; exit 1; }

t0=$SECONDS
qt_boot "$name" "$img" "$QT_OUT/$name.iso"
if qt_wait "$name" 'NODEOS-AGENT: SUCCESS' 300; then qt_ok "$name: agent reports SUCCESS ($((SECONDS - t0)) s)"; else qt_nok "$name: agent did not complete"; fi
if qt_probe_wait "$name" 120; then qt_ok "$name: probe reported"; else qt_nok "$name: probe report"; fi

f() { qt_fact "$name" "$1"; }
want_host=$(sed -n 's/^hostname: *//p' "$work/user-data" | sed -n 1p)
qt_check "$name: hostname is $want_host (got '$(f hostname)')" test "$(f hostname)" = "$want_host"
qt_check "$name: root is mounted read-only ($(f root_fstype), $(f root_ro))" test "$(f root_ro)" = ro
qt_check "$name: writing to / is refused" test "$(f root_write)" = refused
qt_check "$name: /var is on the data partition ($(f var_fstype))" test -n "$(f var_fstype)"
qt_check "$name: success sentinel, agent status 0" test "$(f agent_status)" = 0
qt_check "$name: no swap" test "$(f swap)" = 0

# a seed with network.address: that address alone, the image's DHCP lease
# given up when networkd reloaded, and no address from a router
# advertisement (QEMU's user network advertises fec0::/64)
want_addr=$(sed -n '/^network:/,/^[^ ]/s/^  address: *//p' "$work/user-data" | sed -n 1p)
if [ -n "$want_addr" ]; then
  qt_check "$name: the seed's static address only (got '$(f ipv4)', want '$want_addr')" test "$(f ipv4)" = "$want_addr "
  qt_check "$name: no IPv6 address from router advertisements (got '$(f ipv6_global)')" test -z "$(f ipv6_global)"
fi

role_yaml=roles/$role/role.yaml
if grep -q ip_local_port_range "$role_yaml"; then
  qt_check "$name: ip_local_port_range = 1024 65535 in /proc (got '$(f sysctl.net.ipv4.ip_local_port_range)')" \
    test "$(f sysctl.net.ipv4.ip_local_port_range)" = "1024 65535"
fi
if grep -q br_netfilter "$role_yaml"; then
  qt_check "$name: br_netfilter loaded" grep -q br_netfilter <<<"$(f modules)"
  qt_check "$name: bridge-nf-call-iptables = 1" test "$(f sysctl.net.bridge.bridge-nf-call-iptables)" = 1
  qt_check "$name: ip_forward = 1" test "$(f sysctl.net.ipv4.ip_forward)" = 1
fi
# volume dirs: every path the role declares for this topology, with owner and mode
topo=$(sed -n 's/^topology: *//p' "$work/user-data" | sed -n 1p); topo=${topo:-100k}
while IFS='|' read -r path uid gid mode; do
  [ -n "$path" ] || continue
  qt_check "$name: volume $path is $uid:$gid mode $mode (got '$(f "volume.$path")')" test "$(f "volume.$path")" = "$uid:$gid:$mode"
done < <(/usr/bin/python3 qemu-tests/role-volumes.py "$role" "$topo")
if grep -q 'docker.service' "$role_yaml"; then
  qt_check "$name: docker is active" test "$(f docker)" = active
  for ref in $(qemu-tests/test-images.sh --refs 2>/dev/null); do
    qt_check "$name: preloaded image $ref is loaded in docker" grep -qw "$ref" <<<"$(f docker_images)"
  done
fi
if [ "$role" = lb ]; then
  mode=$(sed -n 's/^ *mode: *//p' "$work/user-data" | sed -n 1p)
  qt_check "$name: $mode config accepted by $mode in the guest" test "$(f "${mode}_check")" = ok
  hv=$(jq -r '.packages.haproxy // empty' "$img/manifest.json" 2>/dev/null)
  if [ "$mode" = haproxy ] && [ -n "$hv" ] && [ "$(printf '2.6\n%s\n' "${hv%%-*}" | sort -V | sed -n 1p)" = 2.6 ]; then
    qt_check "$name: haproxy $hv runs without the system CA store (got '$(f haproxy_system_ca)')" test "$(f haproxy_system_ca)" = 0
  fi
fi
# every running service the role raises the open-file limit of runs with it
# (the drop-in must be in systemd's view before the service starts)
while read -r unit nofile; do
  got=$(f "nofile.$unit")
  [ -n "$got" ] || continue   # not running on this node (the other lb mode)
  qt_check "$name: $unit runs with LimitNOFILE $nofile (got '$got')" test "$got" = "$nofile"
done < <(/usr/bin/python3 -c 'import sys, yaml
for l in (yaml.safe_load(open(sys.argv[1])) or {}).get("limits") or []: print(l["unit"], l["nofile"])' "$role_yaml")
qt_check "$name: built artifact unchanged" qt_stop "$name" "$img"
qt_done
