#!/usr/bin/env bash
# qemu-tests/ensure-images.sh ROLE...: builds (make image, bookworm profile,
# the locally built test images preloaded) every role image that is not in
# out/ yet, or is there without the test images. Build logs: qemu-tests/out/build-<role>.log. Prints one line per
# role (TAP); exits non-zero naming the first build that failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit
. qemu-tests/lib.sh
profile=${QT_PROFILE:-bookworm}
images=$(qemu-tests/test-images.sh)
# an image counts as present only if it carries the test images: one built by
# plain `make image` (the README's command) has none, and is rebuilt here
has_test_images() {
  local a; for a in "$images"/*.tar; do
    qt_json_holds "out/$profile/$1/manifest.json" '[.images[].file] | index($f)' --arg f "$(basename "$a")" || return 1
  done
}
n=0
for role in "$@"; do
  n=$((n + 1))
  if [ -f "out/$profile/$role/disk.qcow2" ] && has_test_images "$role"; then echo "ok $n - image $role present"; continue; fi
  echo "# image $role: building"
  log=qemu-tests/out/build-$role.log; mkdir -p qemu-tests/out
  if ! make --no-print-directory image ROLE="$role" PROFILE="$profile" IMAGES_DIR="$images" >"$log" 2>&1; then
    echo "not ok $n - image $role: build failed (log: $log)"; tail -30 "$log" | sed 's/^/# /'; echo "1..$n"; exit 1
  fi
  echo "ok $n - image $role built: $(tail -1 "$log")"
done
echo "1..$n"
