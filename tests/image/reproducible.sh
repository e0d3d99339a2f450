#!/usr/bin/env bash
# Reproducible builds: the same inputs built twice from scratch (two empty
# caches: mmdebstrap, initramfs, squashfs, disk) give byte-identical
# artifacts, and a warm rebuild from a cache gives the same again. Part of
# `make qemu-test` (about 6 minutes: two cold builds). TAP.
# Usage: tests/image/reproducible.sh [ROLE]
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
role=${1:-verne}
tmp=${TMPDIR:-/tmp}/nodeos-repro.$$; mkdir -p "$tmp"; trap 'rm -rf "$tmp"' EXIT
images=$(qemu-tests/test-images.sh)
. tests/integration/lib.sh
build() {  # NAME CACHE
  if NODEOS_OUT=$tmp/$1 NODEOS_CACHE=$tmp/$2 image/build-image --role "$role" --images-dir "$images" >"$tmp/$1.log" 2>&1; then
    ok "build $1 ($(tail -1 "$tmp/$1.log"))"
  else nok "build $1 failed"; tail -20 "$tmp/$1.log" | sed 's/^/# /'; echo "1..$n"; exit 1; fi
}
head0=$(git rev-parse HEAD 2>/dev/null)
build a cache-a
build b cache-b
build c cache-a   # warm: the base from cache-a
# the layer's timestamps and the agent's version come from HEAD: a commit
# landing between the builds makes them differ for a reason of its own
[ "$(git rev-parse HEAD 2>/dev/null)" = "$head0" ] || echo "# HEAD moved during the builds ($head0 -> $(git rev-parse HEAD)): layer, disk and id differences below are that, not the builder"
for f in base.sqfs layer.sqfs vmlinuz initrd.img disk.qcow2; do
  ha=$(sha256sum "$tmp/a/bookworm/$role/$f" | cut -c1-16); hb=$(sha256sum "$tmp/b/bookworm/$role/$f" | cut -c1-16)
  hc=$(sha256sum "$tmp/c/bookworm/$role/$f" | cut -c1-16)
  if [ "$ha" = "$hb" ]; then ok "$f identical in two cold builds ($ha)"; else nok "$f differs between two cold builds ($ha, $hb)"; fi
  if [ "$ha" = "$hc" ]; then ok "$f identical after a warm rebuild"; else nok "$f differs after a warm rebuild ($ha, $hc)"; fi
done
ia=$(jq -r .image_id "$tmp/a/bookworm/$role/manifest.json"); ib=$(jq -r .image_id "$tmp/b/bookworm/$role/manifest.json")
if [ "$ia" = "$ib" ]; then ok "image id identical ($ia)"; else nok "image id differs ($ia, $ib)"; fi
if [ "$fails" -gt 0 ]; then
  # what differs, for the log
  for f in base.sqfs layer.sqfs; do
    unsquashfs -lls "$tmp/a/bookworm/$role/$f" >"$tmp/la" 2>/dev/null; unsquashfs -lls "$tmp/b/bookworm/$role/$f" >"$tmp/lb" 2>/dev/null
    diff "$tmp/la" "$tmp/lb" | sed -n 1,20p | sed "s/^/# $f: /"
  done
fi
tap_end
