#!/usr/bin/env bash
# Case "update": A/B slot updates through the disk's own boot loaders
# (image/README.md, "Slots and updates"), per loader (uefi: systemd-boot with
# boot counting and systemd-bless-boot; bios: GRUB and its grubenv):
#   fresh   the first boot of slot a is marked good (boot-complete.target)
#   refuse  bundles with a bad signature, for another role, a downgrade, an
#           expired one and a truncated download are refused and write
#           nothing (no slot b entry, grubenv and slot b's partition as
#           they were)
#   good    a bundle applied on slot a stages slot b; the next boot runs b,
#           which is marked good; the agent finds its state (data partition
#           kept)
#   sick    a bundle whose image fails its health check: b is marked bad,
#           the node reboots by itself and comes back on a, reports the
#           rollback, and the same bundle is refused afterwards
#   panic   a bundle whose kernel cannot start (its initrd is garbage):
#           every try of b panics (panic=10 reboots), the tries run out and
#           a boots by itself
#   hang    (uefi only: the tries are counted as for panic) a bundle whose
#           PID 1 never returns (init=/usr/bin/cat on the console): the
#           watchdog the initramfs armed resets each try, then a boots
#   cut     the power cut (QEMU killed) during an apply: while base.sqfs is
#           written into slot b, while initrd.img is written to the ESP, and
#           at the commit; after each, the loader boots slot a (no entry
#           and no trial for b); then the same bundle is applied again and
#           b boots and is marked good
# The updates are applied with `node-agent update` in a direct kernel boot
# of slot a (the harness's probe runs the commands and reports them); every
# other boot goes through the loader on the disk. Bundles reach the VM as
# read-only disks (a bundle is a tar: the agent reads the device). The bad
# images are made here from the real one (a health drop-in that fails, a
# garbage initrd) and signed with the same key: test-only variants, never
# built as products.
# Usage: cases/update.sh [uefi|bios ...]. TAP.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$QT_REPO" || exit
role=verne
modes=("$@"); [ ${#modes[@]} -gt 0 ] || modes=(uefi bios)
img=$(qt_image "$role") || { qt_nok "update: no $role image"; qt_done; exit 1; }
if ! qt_json_holds "$img/manifest.json" '.slots and .boot_options'; then
  qt_nok "update: $img/manifest.json has no slots (an image built before A/B slots: rebuild it)"; qt_done; exit 1
fi
w=$QT_OUT/update; rm -rf "$w"; mkdir -p "$w/seed"
cp "cloud-init/examples/$role"/{meta-data,user-data} "$w/seed/"
qt_seed_iso "$w/seed" "$w/seed.iso"
counter=$(cat "$img/layer/usr/share/nodeos/update-counter")

# --- the bundles -------------------------------------------------------------
# variant NAME: a copy of the image directory (hard links; files replaced,
# never written in place) to change, with an image id of its own (a node
# remembers failed images by id)
variant() {
  rm -rf "${w:?}/$1"; mkdir -p "$w/$1/layer/usr/share/nodeos"
  cp -l "$img"/{base.sqfs,layer.sqfs,vmlinuz,initrd.img} "$w/$1/"
  cp "$img/layer/usr/share/nodeos/update-counter" "$w/$1/layer/usr/share/nodeos/"
  jq --arg id "$(printf '%s-%s' "$(jq -r .image_id "$img/manifest.json")" "$1" | sha256sum | cut -c1-16)" \
    '.image_id = $id' "$img/manifest.json" >"$w/$1/manifest.json"
}
bundle() {  # OUT [make-bundle args...] IMAGE_DIR
  local out=$1; shift
  image/make-bundle --out "$w/$out.bundle" "$@" >"$w/$out.mb.log" 2>&1 || { qt_log "make-bundle $out: $(cat "$w/$out.mb.log")"; return 1; }
}
# relayer DIR: DIR/layer.sqfs rebuilt from DIR/tree with a new verity tree
relayer() {
  local d=$1 vr
  rm -f "$d/layer.sqfs"
  mksquashfs "$d/tree" "$d/layer.sqfs" -comp zstd -noappend -no-progress -quiet -all-root >/dev/null || return 1
  vr=$( . image/lib.sh; STAGE_LOG=/dev/null; verity_append "$d/layer.sqfs" layer) || return 1
  jq --arg r "${vr%%:*}" --argjson o "${vr#*:}" '.verity.layer.root_hash = $r | .verity.layer.hash_offset = $o' \
    "$d/manifest.json" >"$d/m.json" && mv "$d/m.json" "$d/manifest.json"
}
prep() {
  bundle good --counter $((counter + 10)) "$img" || return 1
  # sick: the real layer plus a health drop-in that fails
  variant sick
  unsquashfs -q -d "$w/sick/tree" "$img/layer.sqfs" >/dev/null || return 1
  mkdir -p "$w/sick/tree/usr/lib/systemd/system/nodeos-health.service.d"
  printf '[Service]\nExecStartPre=/bin/sh -c "echo qtest: this image is made to fail its health check; exit 1"\n' \
    >"$w/sick/tree/usr/lib/systemd/system/nodeos-health.service.d/qtest-fail.conf"
  relayer "$w/sick" && rm -rf "$w/sick/tree" || return 1
  bundle sick --counter $((counter + 20)) "$w/sick" || return 1
  # panic: an initrd the kernel cannot unpack: no root, kernel panic
  variant panic; rm -f "$w/panic/initrd.img"; head -c 4194304 /dev/urandom >"$w/panic/initrd.img"
  bundle panic --counter $((counter + 30)) "$w/panic" || return 1
  # hang: the real image whose PID 1 is cat reading the console: the kernel
  # and the initramfs run (and arm the watchdog), then nothing ever feeds it
  variant hang
  jq '.boot_options += " init=/usr/bin/cat"' "$w/hang/manifest.json" >"$w/hang/m.json" && mv "$w/hang/m.json" "$w/hang/manifest.json"
  bundle hang --counter $((counter + 35)) "$w/hang" || return 1
  # refused ones
  bundle downgrade --counter "$counter" "$img" || return 1
  bundle expired --counter $((counter + 40)) --expires 2020-01-01T00:00:00Z "$img" || return 1
  variant lb; jq '.role = "lb"' "$img/manifest.json" >"$w/lb/manifest.json.new" && mv "$w/lb/manifest.json.new" "$w/lb/manifest.json"
  bundle wrongrole --counter $((counter + 40)) "$w/lb" || return 1
  # bad signature: the good bundle with its manifest's counter changed, the
  # signature kept (the same length, so the tar stays well-formed)
  python3 - "$w/good.bundle" "$w/badsig.bundle" $((counter + 10)) $((counter + 11)) <<'PY' || return 1
import sys, tarfile
src, dst, old, new = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
with tarfile.open(src) as t, tarfile.open(dst, "w", format=tarfile.GNU_FORMAT) as o:
    for m in t.getmembers():
        data = t.extractfile(m).read()
        if m.name == "manifest.json":
            assert old.encode() in data and len(old) == len(new)
            data = data.replace(old.encode(), new.encode())
        import io
        o.addfile(m, io.BytesIO(data))
PY
  # truncated download: the good bundle cut inside base.sqfs
  head -c $(( $(stat -c %s "$w/good.bundle") / 3 / 10240 * 10240 )) "$w/good.bundle" >"$w/trunc.bundle"
}
if prep; then qt_ok "update: bundles made (good, sick, panic, hang and five that must be refused; $(du -sh "$w" | cut -f1))"
else qt_nok "update: could not make the bundles"; qt_done; exit 1; fi

# drives NAME...: the bundles as read-only disks, /dev/disk/by-id/virtio-NAME
drives() {
  local b; for b in "$@"; do
    printf '%s\n' -drive "file=$w/$b.bundle,format=raw,if=none,readonly=on,id=$b" -device "virtio-blk-pci,drive=$b,serial=$b"
  done
}

# every boot has a NIC (qt_boot adds none when given arguments) and a
# hardware watchdog, which the image arms and feeds (nodeos_watchdog)
machine=(-device i6300esb -nic "user,restrict=on,model=virtio-net-pci")

# apply NAME ACTION BUNDLES...: a direct kernel boot of slot a whose probe runs
# ACTION (qemu-tests/fixtures/update-action.sh with its arguments); the
# action's KEY=value lines land in the probe log. With a BUNDLE@POINT
# argument the power is cut there (qt_kill) instead of waiting for the end.
apply() {
  local name=$1 act=$2; shift 2
  { echo "set -- $*"; cat "$QT_DIR/fixtures/update-action.sh"; } >"$w/action-$act.sh"
  mapfile -t extra < <(drives "${@%@*}")
  QT_REUSE=1 QT_ACTION=$w/action-$act.sh qt_boot "$name" "$img" "$w/seed.iso" "${extra[@]}" "${machine[@]}"
  local end=$((SECONDS + $(qt_scale 600)))
  while [ $SECONDS -lt $end ] && ! grep -aqE '^QTEST-(ACTION|CUT)' "$QT_OUT/$name/probe.log" 2>/dev/null; do
    kill -0 "$(cat "$QT_OUT/$name/pid")" 2>/dev/null || break; sleep 0.2
  done
  if grep -aq '^QTEST-CUT' "$QT_OUT/$name/probe.log" 2>/dev/null; then qt_kill "$name"; return; fi
  grep -aq '^QTEST-ACTION' "$QT_OUT/$name/probe.log" 2>/dev/null || { qt_log "$name: the action did not finish"; tail -n 30 "$QT_OUT/$name/probe.log" >&2; }
  qt_stop "$name"
}
fact() { qt_fact "$1" "$2"; }

# boot NAME MODE: a boot through the disk's loader (the same disk)
boot() { QT_REUSE=1 QT_BOOT=$2 qt_boot "$1" "$img" "$w/seed.iso" "${machine[@]}"; }
# cmdline_slot NAME: the slot the kernel was booted with
cmdline_slot() { grep -aoE 'Command line: .*' "$QT_OUT/$1/serial.log" | sed -n 1p | grep -oE 'nodeos\.slot=[ab]' | cut -d= -f2; }

for m in "${modes[@]}"; do
  name=update-$m
  rm -rf "${QT_OUT:?}/$name"
  # fresh
  t0=$SECONDS; QT_BOOT=$m qt_boot "$name" "$img" "$w/seed.iso" "${machine[@]}"
  if qt_wait "$name" 'NODEOS-UPDATE: GOOD slot=a' 420; then qt_ok "$name fresh: slot a boots through $m and is marked good ($((SECONDS - t0)) s)"
  else qt_nok "$name fresh: slot a not marked good"; fi
  qt_check "$name fresh: the agent configured the node" grep -aq 'NODEOS-AGENT: SUCCESS' "$QT_OUT/$name/serial.log"
  qt_stop "$name"

  # refuse + good
  apply "$name" refuse-good badsig wrongrole downgrade expired trunc good
  for b in badsig wrongrole downgrade expired trunc; do
    rc=$(fact "$name" "rc.$b"); msg=$(fact "$name" "msg.$b")
    case $b in
      badsig) want='does not verify' ;; wrongrole) want='for role lb' ;; downgrade) want='not above' ;;
      expired) want='expired' ;; trunc) want='truncated|ends early' ;;
    esac
    if [ -n "$rc" ] && [ "$rc" != 0 ] && grep -qE "$want" <<<"$msg"; then qt_ok "$name refuse $b: refused: $msg"
    else qt_nok "$name refuse $b: rc '$rc', message '$msg' (want /$want/)"; fi
  done
  qt_check "$name refuse: nothing written (no slot b entry, grubenv unchanged, slot b's base partition still empty; got '$(fact "$name" after_refusals)')" \
    test "$(fact "$name" after_refusals)" = "entries=nodeos-a.conf grubenv=nodeos_good=a b_base=empty"
  rc=$(fact "$name" rc.good)
  if [ "$rc" = 0 ]; then qt_ok "$name good: applied to slot b ($(fact "$name" msg.good))"
  else qt_nok "$name good: apply failed: rc '$rc' $(fact "$name" msg.good)"; fi
  qt_check "$name good: slot b committed last: entry nodeos-b+3.conf and grubenv on trial (got '$(fact "$name" after_good)')" \
    bash -c '[[ $1 == "entries=nodeos-a.conf nodeos-b+3.conf grubenv="*nodeos_try=b*nodeos_try_left=3*" b_base=written" ]]' _ "$(fact "$name" after_good)"
  qt_check "$name: the initramfs armed the watchdog and systemd feeds it (got '$(fact "$name" watchdog)')" \
    test "$(fact "$name" watchdog)" = "active 1min"
  qt_check "$name good: the reboot is left to kured: its sentinel check (nsenter -m/proc/1/ns/mnt -- /usr/bin/test -f /var/run/reboot-required) sees it, its reboot command (/bin/systemctl) is there" \
    test "$(fact "$name" reboot_required) $(fact "$name" kured_reboot_command)" = "yes yes"
  t0=$SECONDS; boot "$name" "$m"
  if qt_wait "$name" 'NODEOS-UPDATE: GOOD slot=b' 420; then qt_ok "$name good: the next $m boot runs slot b, marked good ($((SECONDS - t0)) s)"
  else qt_nok "$name good: slot b not marked good"; fi
  qt_check "$name good: the kernel was booted as slot b" test "$(cmdline_slot "$name")" = b
  qt_check "$name good: the agent on b found its state on the data partition (its steps done before)" \
    grep -aqE 'step=hostname status=unchanged .*detail="done before"' "$QT_OUT/$name/serial.log"
  qt_stop "$name"

  # sick
  apply "$name" sick sick
  qt_check "$name good: slot b's mark survived the power cut after GOOD (entry nodeos-b.conf; got '$(fact "$name" after_refusals)')" \
    bash -c '[[ $1 == "entries=nodeos-a.conf nodeos-b.conf "* ]]' _ "$(fact "$name" after_refusals)"
  qt_check "$name sick: applied to slot b (rc $(fact "$name" rc.sick))" test "$(fact "$name" rc.sick)" = 0
  t0=$SECONDS; boot "$name" "$m"
  if qt_wait "$name" 'NODEOS-UPDATE: BAD slot=b' 420 ""; then qt_ok "$name sick: slot b failed its health check and was marked bad ($((SECONDS - t0)) s)"
  else qt_nok "$name sick: no BAD line for slot b"; fi
  qt_check "$name sick: the node rebooted by itself" qt_exited "$name" 180
  t0=$SECONDS; boot "$name" "$m"
  if qt_wait "$name" 'NODEOS-UPDATE: ROLLED BACK slot=b' 420; then qt_ok "$name sick: back on slot a, the rollback reported ($((SECONDS - t0)) s)"
  else qt_nok "$name sick: no rollback report"; fi
  qt_check "$name sick: the kernel was booted as slot a" test "$(cmdline_slot "$name")" = a
  qt_check "$name sick: slot a marked good again" qt_wait "$name" 'NODEOS-UPDATE: GOOD slot=a' 120
  qt_stop "$name"
  apply "$name" sick-again sick
  rc=$(fact "$name" rc.sick); msg=$(fact "$name" msg.sick)
  if [ -n "$rc" ] && [ "$rc" != 0 ] && grep -q 'failed on this node' <<<"$msg"; then qt_ok "$name sick: the same bundle is refused: $msg"
  else qt_nok "$name sick: re-staging not refused: rc '$rc' $msg"; fi

  # panic
  apply "$name" panic panic
  qt_check "$name panic: applied to slot b (rc $(fact "$name" rc.panic))" test "$(fact "$name" rc.panic)" = 0
  tries=0 back=""
  for k in 1 2 3 4 5; do
    boot "$name" "$m"
    if qt_wait "$name" 'Kernel panic|NODEOS-UPDATE: ROLLED BACK slot=b' 300 ""; then
      if grep -aq 'NODEOS-UPDATE: ROLLED BACK slot=b' "$QT_OUT/$name/serial.log"; then back=$k; break; fi
      tries=$((tries + 1)); qt_exited "$name" 60 || qt_kill "$name"
    else break; fi
  done
  qt_check "$name panic: slot b panicked on each of its 3 tries (got $tries)" test "$tries" = 3
  qt_check "$name panic: then slot a booted by itself and reported the rollback (boot ${back:-none})" test -n "$back"
  qt_stop "$name"

  # hang
  if [ "$m" = uefi ]; then
    apply "$name" hang hang
    qt_check "$name hang: applied to slot b (rc $(fact "$name" rc.hang))" test "$(fact "$name" rc.hang)" = 0
    tries=0 back=""
    for k in 1 2 3 4 5; do
      boot "$name" "$m"
      qt_wait "$name" 'nodeos-initramfs: watchdog: .* armed' 300 "" || break
      if [ "$(cmdline_slot "$name")" = a ]; then
        qt_wait "$name" 'NODEOS-UPDATE: ROLLED BACK slot=b' 420 && back=$k; break
      fi
      # slot b: PID 1 is cat (no systemd); only the watchdog can end this
      grep -aq 'init=/usr/bin/cat' "$QT_OUT/$name/serial.log" || { qt_log "$name: slot b booted without init=/usr/bin/cat"; break; }
      qt_exited "$name" 240 || { qt_log "$name: slot b hangs and nothing reset it"; break; }
      if grep -aqE "$QT_BADNESS" "$QT_OUT/$name/serial.log"; then qt_log "$name: slot b did not hang: $(grep -aE -m 1 "$QT_BADNESS" "$QT_OUT/$name/serial.log")"; break; fi
      tries=$((tries + 1))
    done
    qt_check "$name hang: each of slot b's 3 tries hung and was reset by the watchdog (got $tries)" test "$tries" = 3
    qt_check "$name hang: then slot a booted by itself and reported the rollback (boot ${back:-none})" test -n "$back"
    qt_stop "$name"
  fi

  # cut
  for point in slot esp commit; do
    case $point in
      slot) what="while base.sqfs was written into slot b's partition" ;;
      esp) what="while initrd.img was written to the ESP" ;;
      commit) what="at the commit (boot entry, grubenv)" ;;
    esac
    apply "$name" "cut-$point" "good@$point"
    cut=$(fact "$name" cut.good)
    if grep -aq '^QTEST-CUT' "$QT_OUT/$name/probe.log"; then qt_ok "$name cut $point: power cut $what ($cut)"
    else qt_nok "$name cut $point: the power was not cut $what: '$cut'"; continue; fi
    t0=$SECONDS; boot "$name" "$m"
    if qt_wait "$name" 'NODEOS-UPDATE: GOOD slot=' 420 && [ "$(cmdline_slot "$name")" = a ]; then
      qt_ok "$name cut $point: the $m loader booted slot a, which is good ($((SECONDS - t0)) s)"
    else qt_nok "$name cut $point: slot a did not come up after the cut (kernel booted as slot '$(cmdline_slot "$name")')"; fi
    qt_stop "$name"
  done
  apply "$name" redo good
  qt_check "$name cut: after the three cuts, slot b neither has an entry nor is on trial (got '$(fact "$name" after_refusals)')" \
    bash -c '[[ $1 == "entries=nodeos-a.conf grubenv="* && $1 != *nodeos_try_left=[1-9]* ]]' _ "$(fact "$name" after_refusals)"
  rc=$(fact "$name" rc.good)
  if [ "$rc" = 0 ]; then qt_ok "$name cut: the same bundle applied again: $(fact "$name" msg.good)"
  else qt_nok "$name cut: the apply after the cuts failed: rc '$rc' $(fact "$name" msg.good)"; fi
  t0=$SECONDS; boot "$name" "$m"
  if qt_wait "$name" 'NODEOS-UPDATE: GOOD slot=b' 420 && [ "$(cmdline_slot "$name")" = b ]; then
    qt_ok "$name cut: then slot b boots and is marked good ($((SECONDS - t0)) s)"
  else qt_nok "$name cut: slot b not marked good after the apply that followed the cuts"; fi
  qt_check "$name: built artifact unchanged" qt_stop "$name" "$img"
done
qt_done
