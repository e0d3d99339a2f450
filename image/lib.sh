# image/lib.sh: stage runner for the image builder (sourced).
# Each stage prints "==> [n/6] name" and "<== name done in 12.3 s"; every
# command's output goes to the stage log; a failure names the command, its
# exit status and the last 20 lines of its output, then stops the build.
# shellcheck shell=bash

STAGE_TOTAL=6
STAGE_LOG=/dev/null
STAGE_NAME=

stage() {  # stage N NAME
  STAGE_NAME=$2; STAGE_START=$(date +%s.%N)
  STAGE_LOG=$LOG_DIR/$1-$2.log; : >"$STAGE_LOG"
  printf '==> [%s/%s] %s\n' "$1" "$STAGE_TOTAL" "$2"
}
stage_done() {
  local now; now=$(date +%s.%N)
  printf '<== %s done in %.1f s%s\n' "$STAGE_NAME" "$(echo "$now - $STAGE_START" | bc)" "${1:+ ($1)}"
}
note() { printf '    %s\n' "$*"; }
err()  { printf 'build-image: error: %s\n' "$*" >&2; }
die()  { err "$@"; exit 1; }
# die_listing PROBLEMS WHAT: each line of PROBLEMS as an error, then WHAT, and
# exit; nothing when PROBLEMS is empty
die_listing() {
  [ -n "$1" ] || return 0
  local p; while IFS= read -r p; do err "$p"; done <<<"$1"
  die "$2"
}

# run CMD...: runs a command with its output in the stage log
run() {
  echo "+ $(date +%s.%N) $*" >>"$STAGE_LOG"
  local rc=0
  "$@" >>"$STAGE_LOG" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    {
      printf 'build-image: stage %s failed: command exited %d:\n  %s\n' "$STAGE_NAME" "$rc" "$*"
      printf 'last lines of %s:\n' "$STAGE_LOG"
      tail -n 20 "$STAGE_LOG" | sed 's/^/  | /'
    } >&2
    exit 1
  fi
}

sha256() { sha256sum | cut -d' ' -f1; }

# verity_append FILE NAME: appends FILE's dm-verity hash tree to FILE itself
# (data padded to 4 KiB, then the verity superblock and the tree) and prints
# "ROOTHASH:OFFSET", the nodeos.NAME.verity= value the initramfs opens it
# with. Salt and UUID come from the data and NAME, so the same input makes
# the same bytes (the reproducible-build test compares whole disks).
verity_append() {
  local file=$1 name=$2 size off salt uuid out
  size=$(stat -c %s "$file"); off=$(( (size + 4095) / 4096 * 4096 ))
  truncate -s "$off" "$file"
  salt=$( { echo "nodeos-verity-$name"; head -c "$off" "$file" | sha256; } | sha256)
  uuid=$(echo "$salt" | sed -E 's/^(.{8})(.{4}).(.{3}).(.{3})(.{12}).*/\1-\2-4\3-8\4-\5/')
  out=$(veritysetup format --hash=sha256 --data-block-size=4096 --hash-block-size=4096 --data-blocks=$((off / 4096)) \
          --hash-offset="$off" --salt="$salt" --uuid="$uuid" "$file" "$file") || { echo "$out" >&2; return 1; }
  echo "$out" >>"$STAGE_LOG"
  local root; root=$(sed -n 's/^Root hash:[[:space:]]*//p' <<<"$out")
  [ -n "$root" ] || { err "veritysetup printed no root hash for $file"; return 1; }
  echo "$root:$off"
}

# ---- two slots (image/README.md, "Slots and updates") ----------------------
# The disk's partitions by PARTUUID, as the layer's /usr/share/nodeos/
# disk-layout holds them for node-agent update (src/agent/slots.h): slot a
# is partitions 2 and 3, slot b 5 and 6 (logical, in the extended 4), the
# data partition 7, last, so it grows to the end of the disk.
disk_layout() {
  local p=$PARTUUID_PREFIX
  printf '%s\n' "esp=PARTUUID=$p-01" "data=PARTUUID=$p-07" \
    "a.base=PARTUUID=$p-02" "a.layer=PARTUUID=$p-03" "b.base=PARTUUID=$p-05" "b.layer=PARTUUID=$p-06"
}
layout_get() { disk_layout | sed -n "s/^$1=//p"; }

# slot_cmdline SLOT BASE_VERITY LAYER_VERITY: the slot's boot=nodeos
# parameters (node-agent update composes a new slot's the same way)
slot_cmdline() {
  echo "boot=nodeos nodeos.slot=$1 nodeos.base=$(layout_get "$1.base") nodeos.layer=$(layout_get "$1.layer") nodeos.data=$(layout_get data) nodeos.base.verity=$2 nodeos.layer.verity=$3 ro"
}

# slot_entry SLOT IMAGE_ID VERSION OPTIONS: the slot's systemd-boot entry.
# sort-key + version: systemd-boot boots the highest version with tries left.
slot_entry() {
  printf 'title dojot-nodeos %s (%s) slot %s\nsort-key nodeos\nversion %s\nlinux /%s/vmlinuz\ninitrd /%s/initrd.img\noptions %s\n' \
    "$ROLE" "$2" "$1" "$3" "$1" "$1" "$4"
}

# slot_grub_entry SLOT IMAGE_ID OPTIONS: the slot's GRUB menu entry (/SLOT/grub.cfg)
slot_grub_entry() {
  printf 'menuentry "dojot-nodeos %s (%s) slot %s" {\n  linux /%s/vmlinuz %s\n  initrd /%s/initrd.img\n}\n' \
    "$ROLE" "$2" "$1" "$1" "$3" "$1"
}

# slot_grub_cfg: the BIOS boot's /grub/grub.cfg. grubenv (beside it) holds
# nodeos_good, the slot last marked good, and while an update is on trial
# nodeos_try (its slot) and nodeos_try_left (boots left). GRUB counts a try
# down before the kernel runs, so a panic or a hang uses one up too; at 0
# the good slot boots. GRUB 2.06 has no arithmetic: the countdown is spelled out.
slot_grub_cfg() {
  cat <<'CFG'
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
set nodeos_good=a
load_env --file /grub/grubenv nodeos_good nodeos_try nodeos_try_left
set slot=$nodeos_good
if [ -n "$nodeos_try" ]; then
  if [ "$nodeos_try_left" = 3 ]; then set nodeos_try_left=2; set slot=$nodeos_try
  elif [ "$nodeos_try_left" = 2 ]; then set nodeos_try_left=1; set slot=$nodeos_try
  elif [ "$nodeos_try_left" = 1 ]; then set nodeos_try_left=0; set slot=$nodeos_try
  fi
  save_env --file /grub/grubenv nodeos_try_left
fi
echo "nodeos: booting slot $slot (good $nodeos_good, on trial '$nodeos_try', tries left '$nodeos_try_left')"
source /$slot/grub.cfg
CFG
}
