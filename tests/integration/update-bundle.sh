#!/usr/bin/env bash
# Update bundles, made by image/make-bundle and checked by the real agent
# (`node-agent update --check`, src/agent/update.h), on a small stand-in
# image directory (random bytes in the place of the filesystems: the check
# is about bytes, not their meaning) and a node tree holding the role, the
# running image's counter and the trusted keys. A valid bundle passes; each
# of these is refused with one line saying why: another key, a changed
# manifest, a changed payload byte, a truncated download, a member the
# manifest does not list, another role, an expired bundle, a counter not
# above the running image's (downgrade or replay), no trusted key at all.
# TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
scratch
for t in openssl jq tar; do command -v "$t" >/dev/null || { nok "$t is missing (tools/install-deps test)"; tap_end; exit; }; done

img=$tmp/out/bookworm/verne; mkdir -p "$img"
head -c 3000000 /dev/urandom >"$img/base.sqfs"; head -c 200000 /dev/urandom >"$img/layer.sqfs"
head -c 90000 /dev/urandom >"$img/vmlinuz"; head -c 150000 /dev/urandom >"$img/initrd.img"
printf '{"profile":"bookworm","role":"verne","agent":"test-1","image_id":"0123456789abcdef"}\n' >"$img/manifest.json"
node=$tmp/node; mkdir -p "$node/usr/share/nodeos/update-keys"
echo verne >"$node/usr/share/nodeos/role"; echo 100 >"$node/usr/share/nodeos/update-counter"

mb() { image/make-bundle --key "$tmp/keys/fleet.key" "$@" >"$tmp/mb.out" 2>"$tmp/mb.err"; }
if mb --counter 200 --out "$tmp/good.bundle" "$img"; then ok "make-bundle writes a bundle: $(cut -d: -f2- "$tmp/mb.out")"
else nok "make-bundle: $(cat "$tmp/mb.err")"; tap_end; exit; fi
check "the signing key was made on first use, 0600, outside the tree" test "$(stat -c %a "$tmp/keys/fleet.key")" = 600
check "its public key is beside it (base64, 44 characters)" test "$(wc -c <"$tmp/keys/fleet.key.pub")" = 45
tar -tf "$tmp/good.bundle" >"$tmp/members"
check "the bundle's members: manifest, signature, then the four files" \
  test "$(tr '\n' ' ' <"$tmp/members")" = "manifest.json manifest.json.sig base.sqfs layer.sqfs vmlinuz initrd.img "
cp "$tmp/keys/fleet.key.pub" "$node/usr/share/nodeos/update-keys/fleet.pub"

# verify BUNDLE -> exit status; output in $tmp/check.out
verify() { "$AGENT" update --check --root "$node" "$1" >"$tmp/check.out" 2>&1; }
if verify "$tmp/good.bundle" && grep -q 'a valid bundle for this node: role verne, image 0123456789abcdef (test-1), counter 200, 4 files, 3440000 bytes' "$tmp/check.out"
then ok "node-agent update --check accepts it"; else nok "valid bundle refused: $(cat "$tmp/check.out")"; fi
# applying it (tests/integration/update-apply.sh) needs an image with slots
"$AGENT" update --root "$node" --cmdline /dev/null "$tmp/good.bundle" >"$tmp/apply.out" 2>&1; rc=$?
check "update without --check applies; on an image without slots it refuses (exit 1)" \
  bash -c '[ "$1" = 1 ] && grep -q "disk-layout is missing: this image has no A/B slots" "$2"' _ "$rc" "$tmp/apply.out"

refused() {  # WHAT BUNDLE TEXT
  if ! verify "$2" && grep -qF -- "$3" "$tmp/check.out"; then ok "refused: $1"
  else nok "not refused as expected: $1: $(cat "$tmp/check.out")"; fi
}
# another key
mb --key "$tmp/keys/other.key" --counter 200 --out "$tmp/other.bundle" "$img"
refused "a bundle signed by a key the image does not trust" "$tmp/other.bundle" "does not verify with any trusted key"
# a changed manifest (the counter raised after signing)
mkdir -p "$tmp/x" && tar -xf "$tmp/good.bundle" -C "$tmp/x"
repack() { tar --create --format=gnu --file "$1" -C "$tmp/x" "${@:2}"; }
jq -c '.counter = 999' "$tmp/x/manifest.json" >"$tmp/m" && cp "$tmp/x/manifest.json" "$tmp/m.orig" && mv "$tmp/m" "$tmp/x/manifest.json"
repack "$tmp/edited.bundle" manifest.json manifest.json.sig base.sqfs layer.sqfs vmlinuz initrd.img
refused "a manifest changed after signing" "$tmp/edited.bundle" "manifest.json.sig does not verify"
mv "$tmp/m.orig" "$tmp/x/manifest.json"
# one payload byte
cp "$tmp/x/layer.sqfs" "$tmp/layer.orig"; printf '\x00' | dd of="$tmp/x/layer.sqfs" bs=1 seek=1000 conv=notrunc status=none
[ "$(cmp "$tmp/x/layer.sqfs" "$tmp/layer.orig" >/dev/null; echo $?)" = 0 ] && printf '\x01' | dd of="$tmp/x/layer.sqfs" bs=1 seek=1000 conv=notrunc status=none
repack "$tmp/byte.bundle" manifest.json manifest.json.sig base.sqfs layer.sqfs vmlinuz initrd.img
refused "one changed byte in layer.sqfs" "$tmp/byte.bundle" "layer.sqfs: sha256"
mv "$tmp/layer.orig" "$tmp/x/layer.sqfs"
# a truncated download
head -c 2000000 "$tmp/good.bundle" >"$tmp/short.bundle"
refused "a truncated download" "$tmp/short.bundle" "base.sqfs: truncated"
# a member the manifest does not list; one it lists, missing
echo 'echo hi' >"$tmp/x/extra.sh"
repack "$tmp/extra.bundle" manifest.json manifest.json.sig base.sqfs layer.sqfs vmlinuz initrd.img extra.sh
refused "a member the manifest does not list" "$tmp/extra.bundle" "member 'extra.sh' is not in the manifest"
repack "$tmp/missing.bundle" manifest.json manifest.json.sig base.sqfs layer.sqfs vmlinuz
refused "a listed file missing" "$tmp/missing.bundle" "initrd.img: in the manifest, missing from the bundle"
repack "$tmp/order.bundle" manifest.json.sig manifest.json base.sqfs layer.sqfs vmlinuz initrd.img
refused "the signature before the manifest" "$tmp/order.bundle" "where manifest.json must be"
# policy: role, expiry, counter
echo kafka >"$node/usr/share/nodeos/role"
refused "a bundle for another role" "$tmp/good.bundle" "the bundle is for role verne, this node's image is role kafka"
echo verne >"$node/usr/share/nodeos/role"
echo 200 >"$node/usr/share/nodeos/update-counter"
refused "the running image's own counter again (a replay)" "$tmp/good.bundle" "counter 200 is not above the running image's 200"
mb --counter 150 --out "$tmp/old.bundle" "$img"
refused "an older counter (a downgrade)" "$tmp/old.bundle" "counter 150 is not above the running image's 200"
echo 100 >"$node/usr/share/nodeos/update-counter"
jq -c '.expires = "2020-01-01T00:00:00Z"' "$tmp/x/manifest.json" >"$tmp/x/m" && mv "$tmp/x/m" "$tmp/x/manifest.json"
openssl pkeyutl -sign -inkey "$tmp/keys/fleet.key" -rawin -in "$tmp/x/manifest.json" | base64 -w0 >"$tmp/x/manifest.json.sig"
repack "$tmp/expired.bundle" manifest.json manifest.json.sig base.sqfs layer.sqfs vmlinuz initrd.img
refused "an expired bundle (signed, expiry passed)" "$tmp/expired.bundle" "the bundle expired at 2020-01-01T00:00:00Z"
rm "$node/usr/share/nodeos/update-keys/fleet.pub"
refused "any bundle on an image without a trusted key" "$tmp/good.bundle" "no trusted update key"
check "nothing was written into the node's tree by any check" \
  test "$(find "$node" -newer "$tmp/good.bundle" -type f ! -name role ! -name update-counter | wc -l)" = 0

# make-bundle's own refusals
mb --counter 0 "$img"; check "make-bundle refuses counter 0" grep -q "want a positive integer" "$tmp/mb.err"
mb "$tmp/nowhere"; check "make-bundle names a missing image directory" grep -q "nowhere/manifest.json is missing" "$tmp/mb.err"
chmod 644 "$tmp/keys/fleet.key"; mb "$img"; check "make-bundle refuses a key readable by others" grep -q "is not 0600" "$tmp/mb.err"
tap_end
