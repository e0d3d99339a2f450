#!/usr/bin/env bash
# Runs the `make test` suites and ends with one summary line the CI reads:
#   "N passed, N failed"
# Every suite speaks TAP ("ok"/"not ok" lines); a suite that exits non-zero
# without a "not ok" line counts as one failure, so a crash cannot pass.
# Usage: tests/run-all.sh [lint|unit|fuzz|integration|qemu|qemu-full ...]
#   (default: lint unit fuzz integration qemu, the `make test` set)
set -uo pipefail
cd "$(dirname "$0")/.." || exit
BUILD=${BUILD:-build}
suites=("$@"); [ ${#suites[@]} -eq 0 ] && suites=(lint unit fuzz integration qemu)
log_dir=$BUILD/test-logs; mkdir -p "$log_dir"
passed=0 failed=0 failures=()
start=$(date +%s)

# run NAME CMD...: runs one TAP producer, tallies its lines
run() {
  local name=$1; shift
  local log="$log_dir/${name//\//_}.log"
  "$@" >"$log" 2>&1; local rc=$?
  local ok nok
  ok=$(grep -cE '^ok [0-9]+' "$log"); nok=$(grep -cE '^not ok [0-9]+' "$log")
  if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then nok=1; echo "not ok - $name exited $rc" >>"$log"; fi
  passed=$((passed + ok)); failed=$((failed + nok))
  if [ "$nok" -gt 0 ]; then
    failures+=("$name"); printf 'FAIL %-44s %3d passed, %d failed  (log: %s)\n' "$name" "$ok" "$nok" "$log"
    grep -E '^not ok' "$log" | sed -n 1,20p | sed 's/^/     /'
    tail -n 15 "$log" | sed 's/^/     | /'
  else
    printf 'ok   %-44s %3d passed\n' "$name" "$ok"
  fi
}

for s in "${suites[@]}"; do
  case $s in
  lint)
    run "lint/shell" tests/lint.sh ;;
  unit)
    # one binary per source: a stale binary of a removed test does not run
    for src in src/test/test-*.c; do
      t=$BUILD/tests/$(basename "$src" .c)
      [ -x "$t" ] || { failures+=("unit/$(basename "$t")"); failed=$((failed+1)); echo "FAIL unit/$(basename "$t") not built"; continue; }
      run "unit/$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
      run "asan/$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP \
          ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
          "$BUILD/asan/tests/$(basename "$t")"
    done ;;
  fuzz)
    run "fuzz/smoke" tests/fuzz-smoke.sh "$BUILD"/fuzz/fuzz-* ;;
  integration)
    for t in tests/integration/*.sh; do
      [ -x "$t" ] && run "integration/$(basename "$t" .sh)" "$t"
    done ;;
  qemu)
    [ -x qemu-tests/smoke.sh ] && run "qemu/smoke" qemu-tests/smoke.sh ;;
  qemu-full)
    # make qemu-test: every QEMU case, one named test each (qemu-tests/README.md)
    roles=(master dojot kafka x509 verne lb)
    run "qemu/images" qemu-tests/ensure-images.sh "${roles[@]}"
    for r in "${roles[@]}"; do run "qemu/role-$r" qemu-tests/cases/role.sh "$r"; done
    run "qemu/role-dojot-few-devices" qemu-tests/cases/role.sh dojot cloud-init/examples/few-devices/dojot
    run "qemu/role-lb-nginx" qemu-tests/cases/role.sh lb cloud-init/examples/few-devices/lb
    for c in qemu-tests/cases/*.sh; do
      case $(basename "$c") in role.sh) continue ;; esac
      run "qemu/$(basename "$c" .sh)" "$c"
    done
    run "image/agent-chroot" tests/image/agent-chroot.sh
    run "image/reproducible" tests/image/reproducible.sh verne ;;
  *) echo "unknown suite $s" >&2; exit 2 ;;
  esac
done

echo "---"
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "duration: $(( $(date +%s) - start )) s"
echo "revision: $(git describe --always --dirty 2>/dev/null || echo unknown)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
