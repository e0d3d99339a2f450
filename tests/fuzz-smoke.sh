#!/usr/bin/env bash
# A short libFuzzer run of each target over its seed corpus (TAP output).
# The long run is `make fuzz`. New corpus entries go to a scratch dir (the
# repo's corpus is only read); a crashing input is kept beside the target as
# <dir>/artifacts/<target>-crash-<sha1>, to be added to src/fuzz/corpus/
# once fixed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit
secs=${FUZZ_SMOKE_SECONDS:-15}
# UB must stop the run like a crash does, or it only scrolls by in the log.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
n=0; rc=0
for f in "$@"; do
  [ -x "$f" ] || continue
  n=$((n+1)); name=$(basename "$f")
  work=$(mktemp -d); corpus=src/fuzz/corpus/$name
  artifacts=$(dirname "$f")/artifacts; mkdir -p "$artifacts"
  if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/$name-" \
       "$work" ${corpus:+$([ -d "$corpus" ] && echo "$corpus")} >"$work.log" 2>&1; then
    echo "ok $n - $name: $(grep -o 'Done [0-9]* runs' "$work.log" | tail -1) in ${secs}s"
  else
    echo "not ok $n - $name crashed"; tail -40 "$work.log" | sed 's/^/# /'; rc=1
  fi
  rm -rf "$work" "$work.log"
done
[ $n -gt 0 ] || { echo "not ok 1 - no fuzz targets built"; exit 1; }
echo "1..$n"
exit $rc
