#!/usr/bin/env bash
# bench/update.sh [--quick]: patching a node against reprovisioning it, on
# the verne image, every boot through the disk's own UEFI loader
# (systemd-boot; image/README.md, SLOTS AND UPDATES):
#   reprovision  a fresh disk's first boot, from QEMU's start to role-ready:
#                the agent's whole first run and the boot health check
#                (`NODEOS-UPDATE: GOOD slot=a`, after boot-complete.target)
#   update       the same node, provisioned: `node-agent update BUNDLE`
#                (timed in the guest, in a direct kernel boot of slot a whose
#                probe runs it), then the boot into the new slot, from QEMU's
#                start to role-ready again (`NODEOS-UPDATE: GOOD slot=b`)
# Reported side by side, with the ratio update / reprovision, and the
# bundle's size against the disk image (the qcow2 as built, and the raw disk
# an operator would write to a machine). The peer, a reprovision, is
# measured in the same run on the same image.
#   --quick: one of each; full: BENCH_UPDATE_REPEAT (2) each, medians.
# Environment: BENCH_MEM (MiB, 1024), BENCH_SMP (2). Writes bench/out/update.json.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ "${1:-}" = --quick ] && BENCH_QUICK=1
cd "$BENCH_REPO" || exit 1
reps=${BENCH_UPDATE_REPEAT:-2}; [ "$BENCH_QUICK" = 1 ] && reps=1
QT_MEM=${BENCH_MEM:-1024} QT_SMP=${BENCH_SMP:-2}
role=verne
src=${BENCH_IMAGES:-$BENCH_REPO/out/${QT_PROFILE:-bookworm}}/$role
[ -f "$src/disk.qcow2" ] || bench_die "no $role image at $src: run 'make image ROLE=$role'"
qt_json_holds "$src/manifest.json" .slots || bench_die "$src has no slots (built before A/B slots): rebuild it"
img=$(bench_image "$role")
w=$BENCH_BUILD/update; rm -rf "$w"; mkdir -p "$w/seed"
cp "cloud-init/examples/$role"/{meta-data,user-data} "$w/seed/"
qt_seed_iso "$w/seed" "$w/seed.iso" || bench_die "cannot make the cidata ISO"
counter=$(cat "$src/layer/usr/share/nodeos/update-counter")
image/make-bundle --counter $((counter + 1)) --out "$w/u.bundle" "$src" >"$w/make-bundle.log" 2>&1 ||
  bench_die "make-bundle: $(cat "$w/make-bundle.log")"

# until NAME PATTERN TIMEOUT_S -> seconds from QEMU's start to PATTERN on
# the serial console (polled every 0.5 s)
until_seen() {
  qt_wait "$1" "$2" "$3" || return 1
  echo "$(date +%s.%N) - $(cat "$QT_OUT/$1/start")" | bc
}

runs='[]'
for rep in $(seq "$reps"); do
  name=bench-update-$rep
  rm -rf "${QT_OUT:?}/$name"
  bench_log "$name: reprovision (fresh disk, UEFI first boot)"
  QT_BOOT=uefi qt_boot "$name" "$img" "$w/seed.iso"
  fresh=$(until_seen "$name" 'NODEOS-UPDATE: GOOD slot=a' 900) || bench_die "$name: the fresh boot did not reach role-ready"
  qt_stop "$name"
  bench_log "$name: node-agent update (direct kernel boot of slot a)"
  { echo "set -- u"; cat "$BENCH_REPO/qemu-tests/fixtures/update-action.sh"; } >"$w/action.sh"
  QT_REUSE=1 QT_ACTION=$w/action.sh qt_boot "$name" "$img" "$w/seed.iso" \
    -drive "file=$w/u.bundle,format=raw,if=none,readonly=on,id=u" -device "virtio-blk-pci,drive=u,serial=u" \
    -nic "user,restrict=on,model=virtio-net-pci"
  end=$((SECONDS + $(qt_scale 900)))
  while [ $SECONDS -lt $end ] && ! grep -aq '^ms\.u=' "$QT_OUT/$name/probe.log" 2>/dev/null; do
    kill -0 "$(cat "$QT_OUT/$name/pid")" 2>/dev/null || break; sleep 1
  done
  sleep 2; qt_stop "$name"
  [ "$(qt_fact "$name" rc.u)" = 0 ] || bench_die "$name: node-agent update failed: $(qt_fact "$name" msg.u)"
  apply_ms=$(qt_fact "$name" ms.u)
  bench_log "$name: the boot into slot b"
  QT_REUSE=1 QT_BOOT=uefi qt_boot "$name" "$img" "$w/seed.iso"
  again=$(until_seen "$name" 'NODEOS-UPDATE: GOOD slot=b' 900) || bench_die "$name: slot b did not reach role-ready"
  qt_stop "$name" "$img" || bench_die "$name: the built artifact changed"
  runs=$(jq --argjson f "$fresh" --argjson a "$apply_ms" --argjson b "$again" \
    '. + [{reprovision_s: $f, apply_s: ($a / 1000), boot_to_ready_s: $b, update_s: ($a / 1000 + $b)}]' <<<"$runs")
done

raw=$(qemu-img info --output=json "$src/disk.qcow2" | jq '."virtual-size"')
res=$(jq --argjson bundle "$(stat -c %s "$w/u.bundle")" --argjson qcow "$(stat -c %s "$src/disk.qcow2")" --argjson raw "$raw" \
  --arg accel "$(cat "$QT_OUT/accel")" --argjson smp "$QT_SMP" --argjson mem "$QT_MEM" '
  def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def r3: . * 1000 | round / 1000;
  {image: "verne", boot: "uefi", accel: $accel, smp: $smp, mem_mib: $mem, runs: .,
   median: {reprovision_s: (map(.reprovision_s) | median | r3), apply_s: (map(.apply_s) | median | r3),
            boot_to_ready_s: (map(.boot_to_ready_s) | median | r3), update_s: (map(.update_s) | median | r3)},
   sizes: {bundle: $bundle, disk_qcow2: $qcow, disk_raw: $raw}}
  | .ratios = {update_vs_reprovision: (.median.update_s / .median.reprovision_s * 100 | round / 100),
               bundle_vs_qcow2: ($bundle / $qcow * 100 | round / 100), bundle_vs_raw: ($bundle / $raw * 1000 | round / 1000)}' <<<"$runs")

echo
echo "update: verne image, UEFI, guest ${QT_SMP} vCPU ${QT_MEM} MiB ($(cat "$QT_OUT/accel")), median of $reps"
{ echo "what seconds"
  jq -r '.median | "reprovision(fresh_disk,first_boot,to_role_ready) \(.reprovision_s)",
    "update:apply(node-agent_update) \(.apply_s)", "update:boot_into_new_slot(to_role_ready) \(.boot_to_ready_s)",
    "update:total \(.update_s)"' <<<"$res"
} | column -t
jq -r '"ratio update / reprovision: \(.ratios.update_vs_reprovision)",
  "bundle \(.sizes.bundle / 1048576 | round) MiB = \(.ratios.bundle_vs_qcow2) x the disk.qcow2 (\(.sizes.disk_qcow2 / 1048576 | round) MiB), \(.ratios.bundle_vs_raw) x the raw disk (\(.sizes.disk_raw / 1048576 | round) MiB)"' <<<"$res"
bench_write update "$res"
