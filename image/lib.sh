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
