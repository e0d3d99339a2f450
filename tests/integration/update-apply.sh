#!/usr/bin/env bash
# A/B slot updates applied by the real agent (`node-agent update`,
# src/agent/update.h; the slots: src/agent/slots.h, the boots after:
# src/agent/bootcount.h) to a node tree: regular files stand in for the
# partitions behind <root>/dev/disk/by-partuuid links (absolute ones, which
# must resolve inside the tree), <root>/efi is the ESP with slot a's entry
# and a grubenv made by grub-editenv, a file is the kernel command line.
# Bundles are made by image/make-bundle from random bytes with real
# dm-verity trees (veritysetup format), so the read-back check runs the real
# `veritysetup verify`. Checked: what a good apply writes and commits;
# refusals (bad signature, truncated, no space, wrong verity root, no slot,
# the running slot on trial) leave no slot b entry and grubenv as it
# was, and a rerun after a failure completes the job; --boot-complete marks
# the new slot good; --failed-boot marks a slot on trial bad and its image
# is refused afterwards; the old slot reports the rollback, also of a slot
# out of tries (UEFI's +0 entry, BIOS's nodeos_try_left=0); a bundle URL
# through a connection that breaks, a server without ranges, a rerun that
# resumes, refusals of what was downloaded; `health`. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
scratch
for t in openssl jq tar grub-editenv veritysetup; do
  command -v "$t" >/dev/null || { nok "$t is missing (tools/install-deps test)"; tap_end; exit; }
done
[ -x "$AGENT" ] || { nok "$AGENT is not built (make)"; tap_end; exit; }

# image DIR ID [BASE_ROOT_OVERRIDE]: an image directory as make image
# leaves it, small: random filesystems with their verity trees appended
image() {
  local d=$1 id=$2 f vr vo verity='{}'
  mkdir -p "$d"
  for f in base layer; do
    head -c "$([ $f = base ] && echo 3000000 || echo 300000)" /dev/urandom >"$d/$f.sqfs"
    vo=$(( ($(stat -c %s "$d/$f.sqfs") + 4095) / 4096 * 4096 ))
    truncate -s "$vo" "$d/$f.sqfs"
    vr=$(veritysetup format --data-blocks=$((vo / 4096)) --hash-offset="$vo" "$d/$f.sqfs" "$d/$f.sqfs" | sed -n 's/^Root hash:[[:space:]]*//p')
    verity=$(jq -c --arg f "$f" --arg r "$vr" --argjson o "$vo" '. + {($f): {root_hash: $r, hash_offset: $o}}' <<<"$verity")
  done
  [ -n "${3:-}" ] && verity=$(jq -c --arg r "$3" '.base.root_hash = $r' <<<"$verity")
  head -c 90000 /dev/urandom >"$d/vmlinuz"; head -c 150000 /dev/urandom >"$d/initrd.img"
  jq -n --arg id "$id" --argjson v "$verity" \
    '{profile: "bookworm", role: "verne", agent: "test-\($id[0:4])", image_id: $id,
      boot_options: "console=tty0 console=ttyS0,115200n8 panic=10", verity: $v}' >"$d/manifest.json"
}
# bundle NAME IMAGE_DIR COUNTER [make-bundle args]: $tmp/NAME.bundle
bundle() {
  image/make-bundle --key "${KEY:-$tmp/keys/fleet.key}" --counter "$3" --out "$tmp/$1.bundle" "${@:4}" "$2" >"$tmp/mb.out" 2>&1 ||
    { nok "make-bundle $1: $(cat "$tmp/mb.out")"; tap_end; exit; }
}
image "$tmp/img1" 0123456789abcdef; bundle good "$tmp/img1" 200
image "$tmp/img2" 1111111111111111; bundle two "$tmp/img2" 300
image "$tmp/img3" 2222222222222222; bundle three "$tmp/img3" 400
image "$tmp/img4" 3333333333333333; bundle four "$tmp/img4" 500
image "$tmp/badroot" 4444444444444444 "$(printf 'f%.0s' {1..64})"; bundle badroot "$tmp/badroot" 250
KEY=$tmp/keys/other.key bundle othersig "$tmp/img1" 200
head -c 2000000 "$tmp/good.bundle" >"$tmp/trunc.bundle"

node=$tmp/node esp=$tmp/node/efi
P=6e6f6465
# node: the tree of a node booted from slot a, nothing staged
node() {
  rm -rf "$node"; mkdir -p "$node/usr/share/nodeos/update-keys" "$node/usr/lib" "$node/parts" "$node/dev/disk/by-partuuid" \
    "$esp/loader/entries" "$esp/a" "$esp/b" "$esp/grub" "$esp/EFI/BOOT" "$node/run"
  echo verne >"$node/usr/share/nodeos/role"; echo 100 >"$node/usr/share/nodeos/update-counter"
  cp "$tmp/keys/fleet.key.pub" "$node/usr/share/nodeos/update-keys/fleet.pub"
  printf 'NAME="Debian GNU/Linux"\nIMAGE_ID=nodeos-bookworm-verne\nIMAGE_VERSION=aaaaaaaaaaaaaaaa\n' >"$node/usr/lib/os-release"
  printf '# dojot-nodeos disk layout\nesp=PARTUUID=%s-01\ndata=PARTUUID=%s-07\na.base=PARTUUID=%s-02\na.layer=PARTUUID=%s-03\nb.base=PARTUUID=%s-05\nb.layer=PARTUUID=%s-06\n' \
    $P $P $P $P $P $P >"$node/usr/share/nodeos/disk-layout"
  local n
  for n in 02:a-base 03:a-layer 05:b-base 06:b-layer; do
    truncate -s 4M "$node/parts/${n#*:}"
    ln -s "/parts/${n#*:}" "$node/dev/disk/by-partuuid/$P-${n%%:*}"
  done
  printf 'title dojot-nodeos verne (aaaaaaaaaaaaaaaa) slot a\nsort-key nodeos\nversion 100\nlinux /a/vmlinuz\ninitrd /a/initrd.img\noptions boot=nodeos nodeos.slot=a ro\n' \
    >"$esp/loader/entries/nodeos-a.conf"
  printf 'timeout 0\nconsole-mode keep\n' >"$esp/loader/loader.conf"
  echo kernel-a >"$esp/a/vmlinuz"; echo initrd-a >"$esp/a/initrd.img"
  grub-editenv "$esp/grub/grubenv" create && grub-editenv "$esp/grub/grubenv" set nodeos_good=a
}
# cmdline SLOT: the kernel command line of a boot of SLOT ("" for none)
cmdline() {
  if [ -n "$1" ]; then
    echo "boot=nodeos nodeos.slot=$1 nodeos.base.verity=x:4096 nodeos.layer.verity=y:4096 ro console=ttyS0" >"$tmp/cmdline"
  else echo "boot=nodeos ro" >"$tmp/cmdline"; fi
}
agent() { "$AGENT" --root "$node" --cmdline "$tmp/cmdline" "$@" >"$tmp/out" 2>"$tmp/err"; }
# (grub-editenv list creates a missing file: not here)
genv() { [ ! -e "$esp/grub/grubenv" ] || grub-editenv "$esp/grub/grubenv" list | sort | tr '\n' ' '; }
entries() { (cd "$esp/loader/entries" && ls) | tr '\n' ' '; }
last_err() { grep -v '^ *$' "$tmp/err" | tail -n 1; }

# ---- a good apply -----------------------------------------------------------
node; cmdline a
if agent update "$tmp/good.bundle"; then ok "update writes the bundle to slot b: $(cat "$tmp/out")"
else nok "update failed: $(cat "$tmp/err")"; fi
check "stdout says what was staged and that a reboot applies it" \
  grep -q 'staged image 0123456789abcdef (test-0123, counter 200) in slot b: .*reboot to apply it' "$tmp/out"
check "progress on stderr: per file, a line per 10% (at most), up to 100%" \
  bash -c '[ "$(grep -c "base.sqfs -> slot b.s base partition: [0-9]*0%" "$1")" -ge 2 ] && [ "$(grep -c "base.sqfs -> " "$1")" -le 10 ] &&
           grep -q "base.sqfs -> slot b.s base partition: 100%" "$1" && grep -q "initrd.img -> /efi/b/initrd.img.new: 100%" "$1"' _ "$tmp/err"
check "a line per phase on stderr, in order: uncommit, write, read back, kernel set, commit" \
  bash -c '[ "$(grep -oE "^node-agent: update: slot b: (checked|writing|reading back|verified|committing)" "$1" | cut -d" " -f5 | tr "\n" " ")" = \
            "checked writing reading verified committing " ]' _ "$tmp/err"
check "slot b's base partition holds base.sqfs (from the tree's by-partuuid link)" \
  cmp -n "$(stat -c %s "$tmp/img1/base.sqfs")" "$tmp/img1/base.sqfs" "$node/parts/b-base"
check "slot b's layer partition holds layer.sqfs" cmp -n "$(stat -c %s "$tmp/img1/layer.sqfs")" "$tmp/img1/layer.sqfs" "$node/parts/b-layer"
check "slot a's partitions untouched" bash -c 'cmp -s "$1" /dev/zero -n 4194304 && cmp -s "$2" /dev/zero -n 4194304' _ "$node/parts/a-base" "$node/parts/a-layer"
check "/efi/b holds the kernel and initrd, no .new left" \
  bash -c 'cmp -s "$1/vmlinuz" "$2/b/vmlinuz" && cmp -s "$1/initrd.img" "$2/b/initrd.img" && [ -z "$(ls "$2/b" | grep -F .new)" ]' _ "$tmp/img1" "$esp"
br=$(jq -r .verity.base.root_hash "$tmp/img1/manifest.json") bo=$(jq -r .verity.base.hash_offset "$tmp/img1/manifest.json")
lr=$(jq -r .verity.layer.root_hash "$tmp/img1/manifest.json") lo=$(jq -r .verity.layer.hash_offset "$tmp/img1/manifest.json")
opts="boot=nodeos nodeos.slot=b nodeos.base=PARTUUID=$P-05 nodeos.layer=PARTUUID=$P-06 nodeos.data=PARTUUID=$P-07 nodeos.base.verity=$br:$bo nodeos.layer.verity=$lr:$lo ro console=tty0 console=ttyS0,115200n8 panic=10"
printf 'title dojot-nodeos verne (0123456789abcdef) slot b\nsort-key nodeos\nversion 200\nlinux /b/vmlinuz\ninitrd /b/initrd.img\noptions %s\n' "$opts" >"$tmp/want-entry"
check "nodeos-b+3.conf: slot b's partitions, verity root hashes and offsets, the bundle's boot options" \
  cmp "$tmp/want-entry" "$esp/loader/entries/nodeos-b+3.conf"
check "the entries: a's and b's on trial, nothing else" test "$(entries)" = "nodeos-a.conf nodeos-b+3.conf "
printf 'menuentry "dojot-nodeos verne (0123456789abcdef) slot b" {\n  linux /b/vmlinuz %s\n  initrd /b/initrd.img\n}\n' "$opts" >"$tmp/want-grub"
check "/efi/b/grub.cfg boots the same command line" cmp "$tmp/want-grub" "$esp/b/grub.cfg"
check "grubenv: b on trial with 3 tries, a still good (got $(genv))" test "$(genv)" = "nodeos_good=a nodeos_try=b nodeos_try_left=3 "
check "update.json records b staged (image, counter, version), mode 0600" \
  bash -c '[ "$(jq -c ".staged | [.slot, .image_id, .counter, .version]" "$1")" = "[\"b\",\"0123456789abcdef\",200,\"test-0123\"]" ] && [ "$(stat -c %a "$1")" = 600 ]' \
  _ "$node/var/lib/node-agent/update.json"
check "run/reboot-required: one line naming the image and the slot" \
  bash -c '[ "$(wc -l <"$1")" = 1 ] && grep -q "image 0123456789abcdef .* staged in slot b" "$1"' _ "$node/run/reboot-required"
agent update --status
check "update --status: booted a, b on trial with 3 tries, staged" \
  bash -c 'grep -qx "booted slot: a" "$1" && grep -q "^slot a: good, booted: image aaaaaaaaaaaaaaaa (counter 100)" "$1" &&
           grep -q "^slot b: trying (3 tries left), staged: image 0123456789abcdef (counter 200, test-0123)" "$1"' _ "$tmp/out"
agent update --status --json
check "update --status --json" \
  test "$(jq -c '[.booted, .slots.a.state, .slots.b.state, .slots.b.tries_left, .slots.b.staged, .slots.b.image_id]' "$tmp/out")" = \
       '["a","good","trying",3,true,"0123456789abcdef"]'
agent status
check "node-agent status has a line about the slots" grep -qx "slots:      booted a; a good; b trying (3 tries left), staged (node-agent update --status)" "$tmp/out"
agent update --reboot "$tmp/good.bundle"
check "applied again (a rerun redoes the whole job); --reboot does not reboot a --root tree" \
  bash -c 'grep -q "not rebooting (--root)" "$1" && [ "$(ls "$2/loader/entries" | tr "\n" " ")" = "nodeos-a.conf nodeos-b+3.conf " ]' _ "$tmp/out" "$esp"

# ---- refusals: nothing committed -------------------------------------------
# refused WHAT BUNDLE TEXT: refused with TEXT as the last line; the boot
# entries and grubenv as before
refused() {
  local before_env before_entries; before_env=$(genv) before_entries=$(entries)
  if agent update "$2"; then nok "$1: not refused"; return; fi
  if ! grep -qF -- "$3" <<<"$(last_err)"; then nok "$1: refused, but: $(last_err) (want '$3')"; return; fi
  if [ "$(entries)" != "$before_entries" ] || [ "$(genv)" != "$before_env" ]; then
    nok "$1: refused, but committed something: entries $(entries) (were $before_entries), grubenv $(genv) (was $before_env)"; return
  fi
  ok "refused, nothing committed: $1: $(last_err)"
}
node; cmdline a
refused "a bundle signed by another key" "$tmp/othersig.bundle" "does not verify with any trusted key"
check "... and slot b's partitions were not written" bash -c 'cmp -s -n 4194304 "$1" /dev/zero' _ "$node/parts/b-base"
refused "a truncated bundle" "$tmp/trunc.bundle" "truncated"
truncate -s 100000 "$node/parts/b-base"
refused "no space" "$tmp/good.bundle" "no space: base.sqfs is $(stat -c %s "$tmp/img1/base.sqfs") bytes, slot b's base partition ($node/parts/b-base) holds 100000"
check "... and the too small partition was not written" bash -c 'cmp -s -n 100000 "$1" /dev/zero' _ "$node/parts/b-base"
truncate -s 4M "$node/parts/b-base"
refused "a filesystem that does not match its verity root hash" "$tmp/badroot.bundle" \
  "verity: slot b's base ($node/parts/b-base) does not match root hash ffff"
mv "$esp" "$tmp/esp.away"; cmdline ""
agent update --status; rc=$?
check "update --status without a slot boot and an ESP (PXE): says so, exit 0" \
  bash -c '[ "$1" = 0 ] && grep -qx "booted slot: -" "$2" && grep -q "^slots: unknown: cannot open the ESP at /efi" "$2"' _ "$rc" "$tmp/out"
mv "$tmp/esp.away" "$esp"
cmdline ""
refused "no nodeos.slot= on the command line" "$tmp/good.bundle" "not booted from a slot"
cmdline a; rm "$node/usr/share/nodeos/disk-layout"
refused "an image without a disk layout" "$tmp/good.bundle" "/usr/share/nodeos/disk-layout is missing"
node; cmdline a; mv "$esp/grub/grubenv" "$tmp/grubenv.away"
refused "an ESP without grubenv (the BIOS boot could not try the slot)" "$tmp/good.bundle" "/efi/grub/grubenv is missing"
check "... and nothing was written to slot b" bash -c 'cmp -s -n 4194304 "$1" /dev/zero' _ "$node/parts/b-base"
node; cmdline a; mv "$esp/loader/entries/nodeos-a.conf" "$esp/loader/entries/nodeos-a+2-1.conf"
refused "the running slot on trial (the other one is its way back)" "$tmp/good.bundle" "slot a runs on trial"
mv "$esp/loader/entries/nodeos-a+2-1.conf" "$esp/loader/entries/nodeos-a.conf"
# a bundle that changes between the check and the write: the good bundle
# for the first read, one with a changed base.sqfs byte for the second
cp "$tmp/good.bundle" "$tmp/changed.bundle"
byte=$(od -An -tu1 -j 100000 -N1 "$tmp/good.bundle" | tr -d ' ')
printf "\\$(printf %03o $(( (byte + 1) % 256 )))" | dd of="$tmp/changed.bundle" bs=1 seek=100000 conv=notrunc status=none
# The agent's stderr is a pipe filled up beforehand: its first line (the
# phase line after the check, before the second read) blocks it, the
# bundle's path is then given the changed file, and the pipe drained.
swapped_apply() {  # BUNDLE CHANGED: rc, stdout and stderr as agent() leaves them
  python3 - "$1" "$2" "$tmp/out" "$tmp/err" "$AGENT" --root "$node" --cmdline "$tmp/cmdline" update "$1" <<'SWAP'
import os, subprocess, sys, time
bundle, changed, out, err, argv = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
r, w = os.pipe()
os.set_blocking(w, False)
filled = 0
try:
    while True:
        filled += os.write(w, b"\0" * 4096)   # atomic: all or EAGAIN
except BlockingIOError:
    pass
os.set_blocking(w, True)   # the flag is the file's: the agent's writes must wait
with open(out, "wb") as o:
    p = subprocess.Popen(argv, stdout=o, stderr=w)
os.close(w)
# pipe_write, anon_pipe_write (6.18): where a writer to a full pipe sleeps
blocked = lambda: wchan.endswith("pipe_write")
wchan, end = "", time.time() + 300
while time.time() < end and p.poll() is None and not blocked():
    time.sleep(0.01)
    try:
        with open(f"/proc/{p.pid}/wchan") as f:
            wchan = f.read()
    except OSError:
        pass
if blocked():
    os.replace(changed, bundle)
with os.fdopen(r, "rb") as f:
    data = f.read()
rc = p.wait()
with open(err, "wb") as e:
    e.write(data[filled:])
    if not blocked():
        e.write(b"swapped_apply: the agent never blocked on its first stderr line\n")
sys.exit(rc if blocked() else 99)
SWAP
}
cp "$tmp/good.bundle" "$tmp/swap.bundle"
before_env=$(genv) before_entries=$(entries)
if ! swapped_apply "$tmp/swap.bundle" "$tmp/changed.bundle" &&
   grep -qF "base.sqfs: $(stat -c %s "$tmp/img1/base.sqfs") bytes with sha256" <<<"$(last_err)" &&
   [ "$(entries)" = "$before_entries" ] && [ "$(genv)" = "$before_env" ]; then
  ok "refused, nothing committed: a bundle changed after the check (caught on the second read): $(last_err)"
else nok "a bundle changed after the check: $(last_err); entries $(entries) (were $before_entries)"; fi
check "... the message says why" grep -q "the bundle changed since it was checked" <<<"$(last_err)"
if agent update "$tmp/good.bundle" && [ "$(entries)" = "nodeos-a.conf nodeos-b+3.conf " ]; then ok "after the refusals, the good bundle applies"
else nok "the good bundle after the refusals: $(last_err)"; fi
# a failure after the uncommit (a wrong root hash) leaves the slot it was
# replacing uncommitted, the running one booting; a rerun completes the job
if ! agent update "$tmp/badroot.bundle" && [ "$(entries)" = "nodeos-a.conf " ] && [ "$(genv)" = "nodeos_good=a " ] &&
   [ ! -e "$esp/b/vmlinuz" ] && [ "$(jq -c .staged "$node/var/lib/node-agent/update.json")" = null ]; then
  ok "a failure after the uncommit: slot b uncommitted (no entry, no trial, no kernel, not staged), slot a as it was"
else nok "failure after the uncommit: entries $(entries), grubenv $(genv), $(last_err)"; fi
agent update "$tmp/good.bundle"
check "a rerun after the failure completes the job" test "$(entries)" = "nodeos-a.conf nodeos-b+3.conf "

# ---- the next boot: b comes up healthy -------------------------------------
cmdline b
# a BIOS boot: GRUB counted a try in grubenv, the entry stays +3
grub-editenv "$esp/grub/grubenv" set nodeos_try_left=2
if agent update --boot-complete && grep -qx 'NODEOS-UPDATE: GOOD slot=b image=0123456789abcdef' "$tmp/out"; then
  ok "--boot-complete on slot b: $(cat "$tmp/out")"
else nok "--boot-complete on b: $(cat "$tmp/out" "$tmp/err")"; fi
check "b's entry takes its good name (no systemd-boot count on this boot)" test "$(entries)" = "nodeos-a.conf nodeos-b.conf "
check "grubenv: b good, no trial (got $(genv))" test "$(genv)" = "nodeos_good=b "
check "update.json: nothing staged any more" test "$(jq -c .staged "$node/var/lib/node-agent/update.json")" = null
agent update --failed-boot
check "--failed-boot on a slot already good: nothing to fall back to, exit 0, nothing changed" \
  bash -c 'grep -q "no slot to fall back to" "$1" && [ "$(ls "$2" | tr "\n" " ")" = "nodeos-a.conf nodeos-b.conf " ]' _ "$tmp/out" "$esp/loader/entries"

# ---- a sick image: its health check fails ----------------------------------
if agent update "$tmp/two.bundle" && [ "$(entries)" = "nodeos-a+3.conf nodeos-b.conf " ]; then ok "from slot b, image two goes to slot a"
else nok "apply of two from b: $(last_err) entries $(entries)"; fi
check "slot a's partitions hold image two" cmp -n "$(stat -c %s "$tmp/img2/base.sqfs")" "$tmp/img2/base.sqfs" "$node/parts/a-base"
cmdline a
# a UEFI boot: systemd-boot counted the try by renaming the entry
mv "$esp/loader/entries/nodeos-a+3.conf" "$esp/loader/entries/nodeos-a+2-1.conf"
echo '{"instance_id":"i-1","role":"verne","result":"failed","error":"step services: docker.service failed"}' >"$node/var/lib/node-agent/state.json"
mkdir -p "$node/dev/mapper"; touch "$node/dev/mapper/nodeos-base" "$node/dev/mapper/nodeos-layer"
agent health; rc=$?
check "health fails on the agent's failed run, exit 1, the reason in run/nodeos/health-failure" \
  bash -c '[ "$3" = 1 ] && grep -q "^health: FAILED: agent: its run did not complete (failed: step services: docker.service failed)" "$1" &&
           grep -q "docker.service failed" "$2/run/nodeos/health-failure"' _ "$tmp/out" "$node" "$rc"
if agent update --failed-boot && grep -q '^NODEOS-UPDATE: BAD slot=a image=1111111111111111 reason=agent: its run did not complete' "$tmp/out"; then
  ok "--failed-boot on slot a on trial: $(grep NODEOS "$tmp/out")"
else nok "--failed-boot: $(cat "$tmp/out" "$tmp/err")"; fi
check "a's entry has no tries left, +0-3 (sorted last), grubenv out of tries" \
  bash -c '[ "$(ls "$1" | tr "\n" " ")" = "nodeos-a+0-3.conf nodeos-b.conf " ] && [ "$2" = "nodeos_good=b nodeos_try=a nodeos_try_left=0 " ]' \
  _ "$esp/loader/entries" "$(genv)"
check "it asks for the reboot, not in a --root tree" grep -q "not rebooting (--root): back to the other slot" "$tmp/out"
agent update --status
check "update --status on the failed boot: a bad, b good, the failed image listed with its reason" \
  bash -c 'grep -q "^slot a: bad, booted, staged" "$1" && grep -q "^slot b: good:" "$1" &&
           grep -q "image 1111111111111111 (counter 300, test-1111) in slot a on .*: agent: its run did not complete" "$1"' _ "$tmp/out"
cmdline b
if agent update --boot-complete && grep -q '^NODEOS-UPDATE: ROLLED BACK slot=a image=1111111111111111 counter=300 reason=agent: its run did not complete' "$tmp/out" &&
   grep -qx 'NODEOS-UPDATE: GOOD slot=b image=aaaaaaaaaaaaaaaa' "$tmp/out"; then
  ok "--boot-complete back on b reports the rollback: $(tr '\n' '|' <"$tmp/out")"
else nok "rollback report: $(cat "$tmp/out" "$tmp/err")"; fi
check "a's entry and trial are gone; b good (got $(entries), $(genv))" \
  bash -c '[ "$1" = "nodeos-b.conf " ] && [ "$2" = "nodeos_good=b " ]' _ "$(entries)" "$(genv)"
refused "the image that failed here, again" "$tmp/two.bundle" "image 1111111111111111 failed on this node on "
check "... naming the reason" grep -q "(agent: its run did not complete.*): it is not staged again" <<<"$(last_err)"

# ---- out of tries: a kernel that never comes up ----------------------------
# UEFI: systemd-boot used up the tries (+0-3), and a booted again by itself
agent update "$tmp/three.bundle"
mv "$esp/loader/entries/nodeos-a+3.conf" "$esp/loader/entries/nodeos-a+0-3.conf"
agent update --boot-complete
check "UEFI, out of tries: b reports a rolled back ($(grep ROLLED "$tmp/out"))" \
  grep -q '^NODEOS-UPDATE: ROLLED BACK slot=a image=2222222222222222 counter=400 reason=rolled back: slot a did not come up healthy within 3 boots' "$tmp/out"
# BIOS: GRUB counted nodeos_try_left down to 0, the entry stayed +3
agent update "$tmp/four.bundle"
grub-editenv "$esp/grub/grubenv" set nodeos_try_left=0
agent update --boot-complete
check "BIOS, out of tries: b reports a rolled back ($(grep ROLLED "$tmp/out"))" \
  grep -q '^NODEOS-UPDATE: ROLLED BACK slot=a image=3333333333333333 counter=500 reason=rolled back: slot a did not come up healthy' "$tmp/out"
check "both recorded bad, nothing left staged or committed for a" \
  bash -c '[ "$(jq -c "[.bad[].image_id], .staged" "$1" | tr "\n" " ")" = "[\"1111111111111111\",\"2222222222222222\",\"3333333333333333\"] null " ] &&
           [ "$(ls "$2" | tr "\n" " ")" = "nodeos-b.conf " ]' _ "$node/var/lib/node-agent/update.json" "$esp/loader/entries"
# the slot grubenv calls good is the target (a direct kernel boot of a while
# b was good): GRUB's good slot moves to the running one before b changes
node; cmdline a; grub-editenv "$esp/grub/grubenv" set nodeos_good=b
sed 's/slot a/slot b/; s|/a/|/b/|g' "$esp/loader/entries/nodeos-a.conf" >"$esp/loader/entries/nodeos-b.conf"
agent update "$tmp/good.bundle"
check "over the slot grubenv calls good: nodeos_good moves to the running slot (got $(genv), $(entries))" \
  bash -c '[ "$1" = "nodeos_good=a nodeos_try=b nodeos_try_left=3 " ] && [ "$2" = "nodeos-a.conf nodeos-b+3.conf " ]' _ "$(genv)" "$(entries)"
# a staged slot with tries left has not been booted yet: not a rollback
node; cmdline a; agent update "$tmp/good.bundle"; agent update --boot-complete
check "--boot-complete while b waits for its first boot: GOOD for a, b left staged" \
  bash -c '! grep -q ROLLED "$1" && grep -qx "NODEOS-UPDATE: GOOD slot=a image=aaaaaaaaaaaaaaaa" "$1" && [ "$(ls "$2" | tr "\n" " ")" = "nodeos-a.conf nodeos-b+3.conf " ]' \
  _ "$tmp/out" "$esp/loader/entries"
# on UEFI systemd-bless-boot renames the entry; where it did not, the agent does
cmdline b; mv "$esp/loader/entries/nodeos-b+3.conf" "$esp/loader/entries/nodeos-b+2-1.conf"
mkdir -p "$node/sys/firmware/efi/efivars"; echo x >"$node/sys/firmware/efi/efivars/LoaderBootCountPath-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
agent update --boot-complete
check "a UEFI boot-counted boot that systemd-bless-boot did not mark: the agent names the entry good, grubenv marks b good" \
  bash -c '[ "$(ls "$1" | tr "\n" " ")" = "nodeos-a.conf nodeos-b.conf " ] && [ "$2" = "nodeos_good=b " ]' _ "$esp/loader/entries" "$(genv)"

# ---- a bundle from a URL: downloaded to the data partition, resumable ------
# The server reads what to do from $tmp/www/mode at each request:
#   ok       ranges honoured (206)
#   cut K    ranges honoured, but every answer stops after K body bytes
#   whole K  ranges ignored (200, the whole file), and it stops after K bytes
# and logs each request with its Range header.
if command -v python3 >/dev/null; then
mkdir -p "$tmp/www"; cp "$tmp/good.bundle" "$tmp/two.bundle" "$tmp/othersig.bundle" "$tmp/www/"; echo ok >"$tmp/www/mode"
uport=$((20000 + RANDOM % 20000))
python3 - "$tmp/www" "$uport" >"$tmp/bundle-server.log" 2>&1 <<'PY' &
import http.server, os, re, sys
www, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        mode = open(os.path.join(www, "mode")).read().split()
        rng = self.headers.get("Range") or "-"
        print("GET %s range=%s mode=%s" % (self.path, rng, mode[0]), flush=True)
        path = os.path.join(www, os.path.basename(self.path))
        if not os.path.isfile(path):
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
        data = open(path, "rb").read()
        start, m = 0, re.fullmatch(r"bytes=(\d+)-", rng)
        if m and mode[0] != "whole":
            start = int(m.group(1))
            if start >= len(data):
                self.send_response(416); self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0"); self.end_headers(); return
            self.send_response(206); self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body))); self.end_headers()
        if mode[0] == "ok":
            self.wfile.write(body)
        else:                                   # the connection breaks after K bytes
            self.wfile.write(body[:int(mode[1])]); self.wfile.flush(); self.close_connection = True
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
pids+=($!)
wait_port "$uport"
url=http://127.0.0.1:$uport dl=$node/var/lib/node-agent/download
gsize=$(stat -c %s "$tmp/good.bundle")
requests() { grep -c "^GET /$1 " "$tmp/bundle-server.log"; }

node; cmdline a
echo "cut 1000000" >"$tmp/www/mode"
if agent update "$url/good.bundle" && [ "$(entries)" = "nodeos-a.conf nodeos-b+3.conf " ] &&
   cmp -n "$(stat -c %s "$tmp/img1/base.sqfs")" "$tmp/img1/base.sqfs" "$node/parts/b-base"; then
  ok "update URL: a connection that breaks every 1 MB still delivers the bundle, which is applied ($(requests good.bundle) requests)"
else nok "update URL through a breaking connection: $(last_err) entries $(entries)"; fi
check "... each request after the first asked for the rest (Range: bytes=1000000-, 2000000-, ...)" \
  bash -c 'grep -q "^GET /good.bundle range=- " "$1" && grep -q "^GET /good.bundle range=bytes=1000000- " "$1" &&
           grep -q "^GET /good.bundle range=bytes=2000000- " "$1"' _ "$tmp/bundle-server.log"
check "... progress lines name the download (a line per 10% at most, up to 100%)" \
  bash -c 'grep -q "downloading .*good.bundle: [0-9]* of [0-9]* MiB (100%)" "$1" && [ "$(grep -c "downloading " "$1")" -le 12 ]' _ "$tmp/err"
check "... and once applied the download is deleted" bash -c '[ -d "$1" ] && [ -z "$(ls -A "$1")" ]' _ "$dl"

node; cmdline a
echo "whole 1500000" >"$tmp/www/mode"
t0=$SECONDS before=$(requests good.bundle)
refused "a download that keeps stopping at the same byte (a server without ranges), after its retries" "$url/good.bundle" \
  "download failed: the transfer stopped at byte 1500000 of $gsize (transfer closed with $((gsize - 1500000)) bytes remaining to read); what arrived is kept, rerun the same command to resume"
check "... slot b's partitions were not written" bash -c 'cmp -s -n 4194304 "$1" /dev/zero' _ "$node/parts/b-base"
check "... what arrived is kept (1500000 bytes, mode 0600), with the URL it came from" \
  bash -c '[ "$(stat -c "%s %a" "$1/bundle.part")" = "1500000 600" ] && [ "$(cat "$1/bundle.url")" = "$2" ]' _ "$dl" "$url/good.bundle"
check "... 6 requests: the first, then 5 that brought nothing new, with backoff ($((SECONDS - t0)) s)" \
  test "$(requests good.bundle)" = $((before + 6))
echo ok >"$tmp/www/mode"
if agent update "$url/good.bundle" && [ "$(entries)" = "nodeos-a.conf nodeos-b+3.conf " ]; then
  ok "the rerun after the fix resumes and applies: $(grep -m1 resuming "$tmp/err")"
else nok "rerun after a stopped download: $(last_err)"; fi
check "... it asked only for the rest (Range: bytes=1500000-)" \
  bash -c '[ "$(grep "^GET /good.bundle " "$1" | tail -n 1 | cut -d" " -f3)" = range=bytes=1500000- ]' _ "$tmp/bundle-server.log"

node; cmdline a
agent update --check "$url/two.bundle"
check "update --check URL: downloads and verifies, keeps the download for the update" \
  bash -c 'grep -q "a valid bundle for this node: role verne, image 1111111111111111" "$1" && [ -s "$2/bundle.part" ]' _ "$tmp/out" "$dl"
before=$(requests two.bundle)
agent update "$url/two.bundle"
check "... the update after it asks only past the end (a 416: complete) and applies" \
  bash -c '[ "$(grep "^GET /two.bundle " "$1" | tail -n 1 | cut -d" " -f3)" = "range=bytes=$2-" ] && [ "$3" = "nodeos-a.conf nodeos-b+3.conf " ]' \
  _ "$tmp/bundle-server.log" "$(stat -c %s "$tmp/two.bundle")" "$(entries)"
check "... one request more ($before before)" test "$(requests two.bundle)" = $((before + 1))

node; cmdline a
refused "a bundle URL signed by another key" "$url/othersig.bundle" "does not verify with any trusted key"
check "... and the refused download is deleted (a rerun fetches it anew)" bash -c '[ -z "$(ls -A "$1")" ]' _ "$dl"
refused "a bundle URL that is not there" "$url/missing.bundle" "download failed: HTTP 404"
refused "a bundle URL nobody answers" "http://127.0.0.1:1/x.bundle" "download failed:"
before=$(requests good.bundle)
refused "a bundle URL with credentials in it" "http://qtest:not-a-secret@127.0.0.1:$uport/good.bundle" "the bundle URL carries credentials"
check "... which are repeated nowhere, and not asked for" \
  bash -c '! grep -rq not-a-secret "$1" "$2" "$3" && [ "$4" = "$5" ]' _ "$tmp/err" "$tmp/out" "$dl" "$before" "$(requests good.bundle)"
if [ "$(id -u)" = 0 ] && mkdir -p "$dl" && mount -t tmpfs -o size=1m nodeos-test "$dl" 2>/dev/null; then
  refused "a data partition without space for the download" "$url/good.bundle" "no space left on the data partition for the bundle"
  check "... the partial download is deleted, the space given back" bash -c '[ -z "$(ls -A "$1")" ]' _ "$dl"
  umount "$dl"
else skip "no tmpfs mount here (not root): the no-space download is not tried"; skip "(no tmpfs)"; fi
else
  for _ in $(seq 17); do skip "python3 is missing: no bundle server"; done
fi

# ---- a real block device: its size from the kernel, held ones refused -------
# (a loop device, where this runs as root with loop devices; else skipped)
node; cmdline a
truncate -s 8M "$tmp/loop.img"
if loop=$(losetup -f --show "$tmp/loop.img" 2>/dev/null); then
  trap 'losetup -d "$loop" 2>/dev/null; scratch_cleanup' EXIT
  rm "$node/parts/b-base"; mknod "$node/parts/b-base" b $((0x$(stat -c %t "$loop"))) $((0x$(stat -c %T "$loop")))
  if agent update "$tmp/good.bundle" && cmp -s -n "$(stat -c %s "$tmp/img1/base.sqfs")" "$tmp/img1/base.sqfs" "$loop"; then
    ok "a block device partition ($loop) is written and verified, verity too"
  else nok "block device: $(last_err)"; fi
  if command -v python3 >/dev/null; then
    # another program holding it exclusively (as a mount or a verity device would)
    python3 -c 'import os, sys, time; os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL); print("held", flush=True); time.sleep(60)' "$loop" >"$tmp/held" &
    pids+=($!)
    for _ in $(seq 50); do [ -s "$tmp/held" ] && break; sleep 0.1; done
    refused "a partition in use (held exclusively)" "$tmp/good.bundle" "slot b's base partition (PARTUUID=$P-05, /dev/disk/by-partuuid/$P-05): in use"
  else skip "python3 is missing: no exclusive holder"; fi
else
  skip "no loop device here (not root, or no /dev/loop-control)"; skip "no loop device here"
fi

# ---- health in a tree -------------------------------------------------------
node; cmdline a
mkdir -p "$node/var/lib/node-agent"
printf '{"instance_id":"i-1","role":"verne","result":"success"}\n' >"$node/var/lib/node-agent/state.json"
echo "instance=i-1 role=verne at=1" >"$node/var/lib/node-agent/success"
agent health; rc=$?
check "health: verity devices missing under the root -> FAILED, exit 1" \
  bash -c '[ "$1" = 1 ] && grep -q "^health: FAILED: verity: nodeos.base.verity= is on the kernel command line but /dev/mapper/nodeos-base is not there" "$2"' _ "$rc" "$tmp/out"
mkdir -p "$node/dev/mapper"; touch "$node/dev/mapper/nodeos-base" "$node/dev/mapper/nodeos-layer"
echo stale >"$node/run/nodeos/health-failure"
agent health; rc=$?
check "health: healthy tree -> exit 0, overlay and services skipped with --root, the failure file removed" \
  bash -c '[ "$1" = 0 ] && [ "$(grep -c "^health: ok:" "$2")" = 2 ] && [ "$(grep -c "^health: skipped:" "$2")" = 2 ] && [ ! -e "$3" ]' \
  _ "$rc" "$tmp/out" "$node/run/nodeos/health-failure"
tap_end
