#!/usr/bin/env bash
# The QEMU smoke tier of `make test`: builds the verne image if it is not
# there (bookworm profile, with the locally built busybox test image
# preloaded), boots it once under the fastest working accelerator with the
# verne example seed on a cidata ISO, and checks what the agent did through
# the harness probe. TAP output.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$QT_REPO" || exit

role=${SMOKE_ROLE:-verne}
qt_log "the $role image, with the test images preloaded (built if missing)"
if ! QT_PROFILE=$QT_PROFILE qemu-tests/ensure-images.sh "$role" >"$QT_OUT/smoke-build.log" 2>&1; then
  qt_nok "build the $role image (log: $QT_OUT/smoke-build.log)"; tail -30 "$QT_OUT/smoke-build.log" | sed 's/^/# /'; qt_done; exit 1
fi
img=$(qt_image "$role") || { qt_nok "image for $role"; qt_done; exit 1; }
qt_log "image for $role at $img"

exec qemu-tests/cases/role.sh "$role"
