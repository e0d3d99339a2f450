#!/usr/bin/env bash
# qemu-tests/ensure-images.sh ROLE...: builds (make image, bookworm profile,
# the locally built test images preloaded) every role image that is not in
# out/ yet. Build logs: qemu-tests/out/build-<role>.log. Prints one line per
# role (TAP); exits non-zero naming the first build that failed.
set -uo pipefail
cd "$(dirname "$0")/.."
profile=${QT_PROFILE:-bookworm}
n=0
for role in "$@"; do
  n=$((n + 1))
  if [ -f "out/$profile/$role/disk.qcow2" ]; then echo "ok $n - image $role present"; continue; fi
  echo "# image $role: building"
  log=qemu-tests/out/build-$role.log; mkdir -p qemu-tests/out
  if ! make --no-print-directory image ROLE="$role" PROFILE="$profile" IMAGES_DIR="$(qemu-tests/test-images.sh)" >"$log" 2>&1; then
    echo "not ok $n - image $role: build failed (log: $log)"; tail -30 "$log" | sed 's/^/# /'; echo "1..$n"; exit 1
  fi
  echo "ok $n - image $role built: $(tail -1 "$log")"
done
echo "1..$n"
