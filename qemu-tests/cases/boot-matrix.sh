#!/usr/bin/env bash
# Case "boot matrix": the disk's own boot paths, no direct kernel boot:
#   bios  SeaBIOS -> GRUB (MBR boot code + core.img before the first partition)
#   uefi  OVMF -> systemd-boot (EFI/BOOT/BOOTX64.EFI on the ESP)
# Each must reach the agent's SUCCESS sentinel on the serial console with the
# image's own command line (read-only root assembled by the initramfs).
# Usage: cases/boot-matrix.sh [ROLE] [bios|uefi ...]. TAP.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$QT_REPO" || exit
role=verne
case ${1:-} in master|dojot|kafka|x509|verne|lb) role=$1; shift ;; esac
modes=("$@"); [ ${#modes[@]} -gt 0 ] || modes=(bios uefi)
img=$(qt_image "$role") || { qt_nok "boot-matrix: no $role image"; qt_done; exit 1; }
work=$QT_OUT/boot-matrix.seed; rm -rf "$work"; mkdir -p "$work"; cp cloud-init/examples/$role/{meta-data,user-data} "$work/"
qt_seed_iso "$work" "$QT_OUT/boot-matrix.iso"
for m in "${modes[@]}"; do
  name=boot-$m t0=$SECONDS
  QT_BOOT=$m qt_boot "$name" "$img" "$QT_OUT/boot-matrix.iso"
  if qt_wait "$name" 'NODEOS-AGENT: SUCCESS' 360; then qt_ok "$name: $role boots through its $m loader to agent SUCCESS ($((SECONDS - t0)) s)"
  else qt_nok "$name: $role did not reach SUCCESS through $m"; fi
  qt_check "$name: the initramfs assembled the read-only root" grep -aq 'nodeos-initramfs: root assembled (read-only)' "$QT_OUT/$name/serial.log"
  qt_check "$name: built artifact unchanged" qt_stop "$name" "$img"
done
qt_done
