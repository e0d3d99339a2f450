#!/usr/bin/env bash
# Case "faults", one sub-case per argument (default: all):
#   malformed  a seed with a bad CIDR: the named error, the failed sentinel,
#              nothing applied, the node stays up (no reboot loop); the same
#              machine booted again with the fixed seed completes
#   reboot     a second boot changes nothing (every step "unchanged" but the
#              every-boot image step); a preloaded image deleted from Docker
#              before that boot is loaded again
#   kill       the VM's power pulled right after each step in turn, then
#              booted again: the run resumes, completes, and no step ran twice
# Usage: cases/faults.sh [ROLE] [malformed|reboot|kill ...]. TAP.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$QT_REPO" || exit
role=verne
case ${1:-} in master|dojot|kafka|x509|verne|lb) role=$1; shift ;; esac
cases=("$@"); [ ${#cases[@]} -gt 0 ] || cases=(malformed reboot kill)
img=$(qt_image "$role") || { qt_nok "faults: no $role image"; qt_done; exit 1; }
seed_src=cloud-init/examples/$role
AGENT=$QT_REPO/build/node-agent
serial() { cat "$QT_OUT/$1"/serial*.log 2>/dev/null; }

seed_iso() {  # NAME SRC_DIR -> prints the ISO path
  local w=$QT_OUT/$1.seed; rm -rf "$w"; mkdir -p "$w"; cp "$2"/{meta-data,user-data} "$w/"
  qt_seed_iso "$w" "$QT_OUT/$1.iso" && echo "$QT_OUT/$1.iso"
}

malformed() {
  local name=fault-malformed bad=$QT_OUT/fault-malformed.bad
  rm -rf "$bad"; mkdir -p "$bad"; cp "$seed_src"/{meta-data,user-data} "$bad/"
  sed -i -E 's|^(  address: )[0-9.]+/[0-9]+|\1192.168.0.300/24|' "$bad/user-data"
  local want; want=$("$AGENT" validate --roles-dir roles "$bad" 2>&1 | grep -E 'user-data:[0-9]+:[0-9]+:' | sed -n 1p)
  qt_check "$name: validate names the bad field offline ($want)" test -n "$want"
  qt_boot "$name" "$img" "$(seed_iso "$name" "$bad")"
  if qt_wait "$name" 'NODEOS-AGENT: FAILED' 300 'Kernel panic|Oops:|emergency mode|rescue mode|segfault at'; then
    qt_ok "$name: the agent reports FAILED"; else qt_nok "$name: no FAILED sentinel"; fi
  local line; line=$(grep -a -m1 'NODEOS-AGENT: FAILED' "$QT_OUT/$name/serial.log")
  qt_check "$name: the failure names file, line and column ($line)" grep -qE 'user-data:[0-9]+:[0-9]+' <<<"$line"
  qt_probe_wait "$name" 120
  qt_check "$name: failed sentinel on the node" test "$(qt_fact "$name" sentinel)" = "failed "
  qt_check "$name: node-agent status exits 1 (failed)" test "$(qt_fact "$name" agent_status)" = 1
  qt_check "$name: nothing applied: hostname is not the seed's" test "$(qt_fact "$name" hostname)" != "$role-1"
  qt_check "$name: nothing applied: ip_local_port_range untouched" test "$(qt_fact "$name" sysctl.net.ipv4.ip_local_port_range)" != "1024 65535"
  sleep 20
  qt_check "$name: the node stays up after the failure (no reboot loop)" kill -0 "$(cat "$QT_OUT/$name/pid")"
  qt_stop "$name" "$img"
  # fix the seed and boot the same machine again: it completes
  QT_REUSE=1 qt_boot "$name" "$img" "$(seed_iso "$name-fixed" "$seed_src")"
  if qt_wait "$name" 'NODEOS-AGENT: SUCCESS' 300; then qt_ok "$name: after the fix, the same node completes"; else qt_nok "$name: the fixed seed did not complete"; fi
  qt_check "$name: built artifact unchanged" qt_stop "$name" "$img"
}

reboot_case() {
  local name=fault-reboot act=$QT_OUT/fault-reboot.action ref
  ref=$(qemu-tests/test-images.sh --refs | sed -n 1p)
  printf 'docker rmi -f %s\nsync\nsystemctl poweroff\n' "$ref" >"$act"
  local iso; iso=$(seed_iso "$name" "$seed_src")
  QT_ACTION=$act qt_boot "$name" "$img" "$iso"
  qt_wait "$name" 'NODEOS-AGENT: SUCCESS' 300 && qt_ok "$name: first boot completes" || qt_nok "$name: first boot"
  qt_probe_wait "$name" 120
  local etc1 img1 images=1; etc1=$(qt_fact "$name" etc_sha); img1=$(qt_fact "$name" docker_images)
  # a role without Docker (lb) has no images step: its checks do not apply
  # (said, not counted as passed)
  grep -aq 'step=images ' "$QT_OUT/$name/serial.log" || { images=""; echo "# $name: role $role has no images step: the image checks do not apply"; }
  [ -z "$images" ] || qt_check "$name: $ref loaded on first boot" grep -qw "$ref" <<<"$img1"
  qt_exited "$name" 120 && qt_ok "$name: ${images:+$ref deleted from Docker, }node powered off" || { qt_nok "$name: power off"; qt_kill "$name"; }
  QT_REUSE=1 qt_boot "$name" "$img" "$iso"
  qt_wait "$name" 'NODEOS-AGENT: SUCCESS' 300 && qt_ok "$name: second boot completes" || qt_nok "$name: second boot"
  qt_probe_wait "$name" 120
  local log=$QT_OUT/$name/serial.log
  local changed; changed=$(grep -a 'stage=apply' "$log" | grep -v 'step=images ' | grep -av 'status=unchanged' | sed -n 1,3p)
  qt_check "$name: second boot: every one-time step is unchanged${changed:+ (not: $changed)}" test -z "$changed"
  if [ -n "$images" ]; then
    qt_check "$name: second boot: the image step reloads what was deleted" grep -aqE 'step=images status=done .*loaded 1' "$log"
    qt_check "$name: $ref is in Docker again" grep -qw "$ref" <<<"$(qt_fact "$name" docker_images)"
  fi
  qt_check "$name: the configuration files are byte-identical to the first boot" test "$(qt_fact "$name" etc_sha)" = "$etc1"
  qt_check "$name: built artifact unchanged" qt_stop "$name" "$img"
}

kill_chain() {
  local name=fault-kill iso steps k=0
  iso=$(seed_iso "$name" "$seed_src")
  mapfile -t steps < <("$AGENT" plan --roles-dir roles "$seed_src" | awk '/^ *[0-9]+\./{print $2}')
  local last=$(( ${#steps[@]} - 1 ))
  for s in "${steps[@]:0:$last}"; do
    k=$((k + 1))
    if [ $k -eq 1 ]; then qt_boot "$name" "$img" "$iso"; else QT_REUSE=1 qt_boot "$name" "$img" "$iso"; fi
    local pat="step=$s status=(done|skipped|unchanged)"
    if qt_wait "$name" "$pat" 300; then qt_kill "$name"; qt_ok "$name: power cut right after step $k ($s)"
    else qt_nok "$name: step $k ($s) never finished"; qt_kill "$name"; fi
  done
  QT_REUSE=1 qt_boot "$name" "$img" "$iso"
  qt_wait "$name" 'NODEOS-AGENT: SUCCESS' 300 && qt_ok "$name: after ${k} power cuts the run completes" || qt_nok "$name: final boot did not complete"
  qt_probe_wait "$name" 120
  local all; all=$(serial "$name")
  for s in "${steps[@]}"; do
    local n; n=$(grep -ac "step=$s status=done" <<<"$all")
    if [ "$s" = images ]; then continue; fi
    qt_check "$name: step $s was applied once across $((k + 1)) boots (applied $n times)" test "$n" -le 1
  done
  qt_check "$name: no step failed in any boot" test "$(grep -ac 'status=failed' <<<"$all")" = 0
  qt_check "$name: no duplicated lines in the files the agent writes ($(qt_fact "$name" dup_lines))" test -z "$(qt_fact "$name" dup_lines)"
  qt_check "$name: status 0 on the node" test "$(qt_fact "$name" agent_status)" = 0
  qt_check "$name: built artifact unchanged" qt_stop "$name" "$img"
}

for c in "${cases[@]}"; do
  case $c in malformed) malformed ;; reboot) reboot_case ;; kill) kill_chain ;; *) qt_nok "unknown sub-case $c" ;; esac
done
qt_done
