#!/usr/bin/env bash
# Case "verity": the base and the role layer are opened through dm-verity by
# the initramfs, against the root hashes on the image's command line
# (image/README.md, verified filesystems). An intact disk boots to SUCCESS
# with both verified; a disk with one byte flipped (in the VM's copy-on-write
# overlay, never in the image) stops in the initramfs with a console line
# that names verity and the filesystem, and the agent never runs:
#   base-data    the base squashfs's first block (its superblock)
#   layer-data   the role layer's first block
#   base-tree    the first block of the base's hash tree
#   base-vsb     the base's verity superblock (veritysetup cannot open it)
# Usage: cases/verity.sh [ROLE]. TAP.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$QT_REPO" || exit
role=${1:-verne}
img=$(qt_image "$role") || { qt_nok "verity: no $role image"; qt_done; exit 1; }
m=$img/manifest.json
if ! qt_json_holds "$m" '.verity.base.root_hash and .verity.layer.root_hash'; then
  qt_nok "verity: $m records no root hashes (an image built before dm-verity: rebuild it)"; qt_done; exit 1
fi
work=$QT_OUT/verity.seed; rm -rf "$work"; mkdir -p "$work"; cp "cloud-init/examples/$role"/{meta-data,user-data} "$work/"
qt_seed_iso "$work" "$QT_OUT/verity.iso"

# intact
name=verity-intact t0=$SECONDS
qt_boot "$name" "$img" "$QT_OUT/verity.iso"
if qt_wait "$name" 'NODEOS-AGENT: SUCCESS' 360; then qt_ok "$name: boots to SUCCESS with both filesystems verified ($((SECONDS - t0)) s)"
else qt_nok "$name: did not reach SUCCESS"; fi
for fs in base layer; do
  h=$(jq -r ".verity.$fs.root_hash" "$m")
  qt_check "$name: the initramfs opened the $fs through verity with root hash ${h:0:12}..." \
    grep -aq "nodeos-initramfs: verity: $fs .* opened as nodeos-$fs .*root hash $h" "$QT_OUT/$name/serial.log"
done
qt_probe_wait "$name" 120
for fs in base layer; do
  got=$(qt_fact "$name" "${fs}_dev")
  qt_check "$name: the running system's $fs is mounted from /dev/mapper/nodeos-$fs (got '$got')" test "$got" = "/dev/mapper/nodeos-$fs"
done
qt_check "$name: built artifact unchanged" qt_stop "$name" "$img"

# flip NAME OFFSET: the VM's overlay with the byte at OFFSET inverted
flip() {
  local dir=$QT_OUT/$1 b
  rm -rf "$dir"; mkdir -p "$dir"; : >"$dir/serial.log"
  qemu-img create -q -f qcow2 -b "$img/disk.qcow2" -F qcow2 "$dir/overlay.qcow2"
  sha256sum "$img/disk.qcow2" | cut -d' ' -f1 >"$dir/artifact.sha256"
  b=$(qemu-io -f qcow2 -r -c "read -v $2 1" "$dir/overlay.qcow2" | sed -n 's/^[0-9a-f]*: *\([0-9a-f][0-9a-f]\).*/\1/p')
  [ -n "$b" ] || return 1
  qemu-io -f qcow2 -c "write -P $(( 0x$b ^ 0xff )) $2 1" "$dir/overlay.qcow2" >/dev/null
}

# corrupt NAME FS OFFSET_IN_PARTITION PATTERN
corrupt() {
  local name=$1 fs=$2 at=$3 pat=$4 part
  part=$(jq -r ".verity.$fs.partition_offset" "$m")
  if ! flip "$name" $((part + at)); then qt_nok "$name: could not flip the byte"; return; fi
  QT_REUSE=1 qt_boot "$name" "$img" "$QT_OUT/verity.iso"
  if qt_wait "$name" "$pat" 240 ""; then qt_ok "$name: stopped in the initramfs with '$(grep -aoE "${pat}[^\"]{0,60}" "$QT_OUT/$name/serial.log" | sed -n 1p)'"
  else qt_nok "$name: no verity line naming the $fs"; fi
  qt_kill "$name"
  qt_check "$name: the agent never ran" bash -c "! grep -aq 'NODEOS-AGENT' '$QT_OUT/$name/serial.log'"
  qt_check "$name: built artifact unchanged" qt_stop "$name" "$img"
}

base_hash_off=$(jq -r '.verity.base.hash_offset' "$m")
corrupt verity-base-data base 0 "nodeos: verity: the base \(/dev/vda2\) failed verification"
corrupt verity-layer-data layer 0 "nodeos: verity: the layer \(/dev/vda3\) failed verification"
corrupt verity-base-tree base $((base_hash_off + 4096)) "nodeos: verity: the base \(/dev/vda2\) failed verification"
corrupt verity-base-vsb base "$base_hash_off" "nodeos: verity: the base \(/dev/vda2\) does not open against root hash"
qt_done
