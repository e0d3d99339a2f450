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
