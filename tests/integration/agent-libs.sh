#!/usr/bin/env bash
# What the agent's start costs in shared libraries: node-agent links neither
# libcurl nor libarchive (no ELF NEEDED entry, which would map some 40 more
# libraries at every start), it opens them by soname when a step first needs
# one (src/shared/libload.c). A run that fetches and loads nothing (the lb
# example, an offline root) opens neither. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

command -v readelf >/dev/null || { echo "1..0 # SKIP readelf missing"; exit 0; }
[ -x "$AGENT" ] || { nok "$AGENT is built"; tap_end; exit; }

needed=$(readelf -d "$AGENT" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
for l in libcurl libarchive; do
  case " $needed" in
    *" $l."*) nok "$AGENT does not link $l (readelf -d: $needed)" ;;
    *) ok "$AGENT does not link $l (NEEDED: $needed)" ;;
  esac
  # the soname it will dlopen, from the library it was built against
  so=$(readelf -p .rodata "$AGENT" | grep -oE "$l\.so\.[0-9]+" | sed -n 1p)
  if [ -n "$so" ]; then ok "$AGENT names $so to open on first use"; else nok "$AGENT names no $l.so.N to open"; fi
done

# opened: the libraries the dynamic loader maps while CMD runs (LD_DEBUG=files)
opened() { LD_DEBUG=files "$@" 2>&1 >/dev/null | sed -n 's/.*file=\([^ ]*\) .*/\1/p' | sort -u | tr '\n' ' '; }
o=$(opened "$AGENT" --version)
case $o in
  *libcurl*|*libarchive*) nok "--version opens neither libcurl nor libarchive: $o" ;;
  *) ok "--version opens neither libcurl nor libarchive ($(wc -w <<<"$o") libraries)" ;;
esac
mkdir -p "$tmp/lb"
o=$(opened "$AGENT" run --root "$tmp/lb" --seed cloud-init/examples/lb)
check "lb example: run --root succeeds" "$AGENT" status --root "$tmp/lb"
case $o in
  *libcurl*|*libarchive*) nok "lb example: the run opens neither libcurl nor libarchive: $o" ;;
  *) ok "lb example: the run opens neither libcurl nor libarchive" ;;
esac

tap_end
