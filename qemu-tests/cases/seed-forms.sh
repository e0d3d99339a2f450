#!/usr/bin/env bash
# Case "seed forms": the same role seed delivered the other two ways the
# agent reads it, each boot judged by the agent's sentinel and the probe:
#   vfat  a vfat filesystem labelled CIDATA
#   http  ds=nocloud;s=http://.../ on the kernel command line, served over the
#         harness's private network (netns bridge, dnsmasq DHCP, python http)
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
qt_net_down
qt_done
