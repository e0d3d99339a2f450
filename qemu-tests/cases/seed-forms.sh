#!/usr/bin/env bash
# Case "seed forms": the same role seed delivered the other two ways the
# agent reads it, each boot judged by the agent's sentinel and the probe:
#   vfat  a vfat filesystem labelled CIDATA
#   http  ds=nocloud;s=http://.../ on the kernel command line, served over the
#         harness's private network (netns bridge, dnsmasq DHCP, python http)
#   smbios the same URL only in the SMBIOS system serial number
#         (-smbios type=1,serial=ds=nocloud;s=...), as QEMU, libvirt and
#         Proxmox users pass it
#   netcfg a cidata ISO made by cloud-localds --network-config, whose
#         user-data has no network section and whose network-config (version
#         2, matched by MAC) gives a static address on the private network:
#         the address is checked from outside the VM (ping and the
#         neighbour's MAC from the harness's namespace), not by the agent's word
# Usage: cases/seed-forms.sh [ROLE]. TAP.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$QT_REPO" || exit
role=${1:-verne}; seed_src=cloud-init/examples/$role
img=$(qt_image "$role") || { qt_nok "seed-forms: no $role image"; qt_done; exit 1; }
want_host=$(sed -n 's/^hostname: *//p' "$seed_src/user-data" | sed -n 1p)

check_boot() {  # NAME FORM
  local name=$1 form=$2 t0=$SECONDS
  if qt_wait "$name" 'NODEOS-AGENT: SUCCESS' 300; then qt_ok "$name: agent completes from a $form seed ($((SECONDS - t0)) s)"
  else qt_nok "$name: agent did not complete from a $form seed"; fi
  grep -aqE "stage=fetch step=seed status=done .*$3" "$QT_OUT/$name/serial.log" &&
    qt_ok "$name: the agent names the $form datasource" || qt_nok "$name: the agent's fetch line does not name the $form datasource"
  qt_probe_wait "$name" 120
  qt_check "$name: hostname $want_host from the $form seed (got '$(qt_fact "$name" hostname)')" test "$(qt_fact "$name" hostname)" = "$want_host"
  qt_check "$name: built artifact unchanged" qt_stop "$name" "$img"
}

# vfat
work=$QT_OUT/seed-vfat.seed; rm -rf "$work"; mkdir -p "$work"; cp "$seed_src"/{meta-data,user-data} "$work/"
qt_seed_vfat "$work" "$QT_OUT/seed-vfat.img"
qt_boot seed-vfat "$img" "$QT_OUT/seed-vfat.img"
check_boot seed-vfat vfat 'cidata:'

# http, over the private network only
qt_net_up 10.77.0.1/24 || { qt_nok "seed-http: create the private network"; qt_done; exit 1; }
qt_net_dhcp 10.77.0.50,10.77.0.99
www=$QT_OUT/seed-http.www; rm -rf "$www"; mkdir -p "$www/nodes/$role"; cp "$seed_src"/{meta-data,user-data} "$www/nodes/$role/"
qt_net_run /usr/bin/python3 -m http.server --bind 10.77.0.1 --directory "$www" 8080 >"$QT_OUT/seed-http.httpd.log" 2>&1
QT_MAC=52:54:00:77:01:01 QT_APPEND="ds=nocloud;s=http://10.77.0.1:8080/nodes/$role/" qt_boot seed-http "$img" ""
check_boot seed-http http 'http://10.77.0.1:8080'
grep -q 'GET /nodes/.*/user-data' "$QT_OUT/seed-http.httpd.log" && qt_ok "seed-http: user-data was fetched over HTTP" || qt_nok "seed-http: no user-data request in the HTTP log"

# smbios: nothing on the kernel command line, the URL in the serial number
before=$(grep -c 'GET /nodes/.*/user-data' "$QT_OUT/seed-http.httpd.log")
QT_MAC=52:54:00:77:01:03 qt_boot seed-smbios "$img" "" -smbios "type=1,serial=ds=nocloud;s=http://10.77.0.1:8080/nodes/$role/"
check_boot seed-smbios smbios 'http://10.77.0.1:8080'
grep -aq 'SMBIOS serial number' "$QT_OUT/seed-smbios/serial.log" &&
  qt_ok "seed-smbios: the agent says it found the URL in the SMBIOS serial number" || qt_nok "seed-smbios: no SMBIOS datasource line"
after=$(grep -c 'GET /nodes/.*/user-data' "$QT_OUT/seed-http.httpd.log")
qt_check "seed-smbios: user-data was fetched over HTTP ($before -> $after requests)" test "$after" -gt "$before"

# netcfg: the address comes from network-config alone (no DHCP answer needed)
work=$QT_OUT/seed-netcfg.seed; rm -rf "$work"; mkdir -p "$work"
sed '/^network:/,/^  address:/d' "$seed_src/user-data" >"$work/user-data"
cat >"$work/network-config" <<'NET'
version: 2
ethernets:
  lan:
    match:
      macaddress: "52:54:00:77:01:02"
    addresses: [10.77.0.23/24]
    routes:
      - to: default
        via: 10.77.0.1
    nameservers:
      addresses: [10.77.0.1]
NET
if cloud-localds --network-config="$work/network-config" "$QT_OUT/seed-netcfg.iso" "$work/user-data" "$seed_src/meta-data"; then
  qt_ok "seed-netcfg: cloud-localds made the cidata ISO"
else
  qt_nok "seed-netcfg: cloud-localds failed"
fi
QT_MAC=52:54:00:77:01:02 qt_boot seed-netcfg "$img" "$QT_OUT/seed-netcfg.iso"
t0=$SECONDS
if qt_wait seed-netcfg 'NODEOS-AGENT: SUCCESS' 300; then qt_ok "seed-netcfg: agent completes from a cloud-localds seed ($((SECONDS - t0)) s)"
else qt_nok "seed-netcfg: agent did not complete from a cloud-localds seed"; fi
grep -aqE 'step=network status=done .*from the seed.s network-config \(version 2\)' "$QT_OUT/seed-netcfg/serial.log" &&
  qt_ok "seed-netcfg: the agent applied the network-config" || qt_nok "seed-netcfg: no network step from network-config"
up=no
for _ in $(seq 1 30); do
  if ip netns exec "$QT_NETNS" ping -c1 -W2 10.77.0.23 >"$QT_OUT/seed-netcfg/ping.log" 2>&1; then up=yes; break; fi
  sleep 2
done
[ "$up" = yes ] || qt_log "seed-netcfg: last ping: $(tail -n 2 "$QT_OUT/seed-netcfg/ping.log" | tr '\n' ' ')"
qt_check "seed-netcfg: 10.77.0.23 answers from outside the VM" test "$up" = yes
mac=$(ip -n "$QT_NETNS" neigh show 10.77.0.23 | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')
qt_check "seed-netcfg: it is the VM's MAC (got '$mac')" test "$mac" = 52:54:00:77:01:02
qt_probe_wait seed-netcfg 120
qt_check "seed-netcfg: built artifact unchanged" qt_stop seed-netcfg "$img"
qt_net_down
qt_done
