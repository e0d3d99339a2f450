#!/usr/bin/env bash
# `node-agent validate SEED_DIR` as an operator runs it before writing seed
# media: exit 0 and one "valid seed" line for every example seed; exit 1 and
# exactly the lines of tests/data/bad-seeds/<case>/expected-error on stderr
# (file:line:col: message) for every malformed seed, with nothing on stdout
# and no secret echoed. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
ROLES=${ROLES_DIR:-roles}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
[ -x "$AGENT" ] || { echo "not ok 1 - $AGENT not built"; echo "1..1"; exit 1; }
validate() { "$AGENT" validate --roles-dir "$ROLES" "$1" >"$tmp/out" 2>"$tmp/err"; }

# Every example seed is valid (they are what `make seeds` produces).
while IFS= read -r meta; do
  d=$(dirname "$meta"); role=$(basename "$d")
  validate "$d"; rc=$?
  if [ $rc -eq 0 ] && grep -q "^$d: valid seed for role $role " "$tmp/out" && [ ! -s "$tmp/err" ]; then
    ok "validate $d: exit 0"
  else
    nok "validate $d: exit $rc"; sed 's/^/# /' "$tmp/out" "$tmp/err"
  fi
done < <(find cloud-init/examples -name meta-data | sort)

# Every malformed seed: exit 1, its exact error lines, stdout empty.
for d in tests/data/bad-seeds/*/; do
  d=${d%/}; name=$(basename "$d")
  validate "$d"; rc=$?
  if [ $rc -eq 1 ] && diff -u "$d/expected-error" "$tmp/err" >"$tmp/diff" && [ ! -s "$tmp/out" ]; then
    ok "validate bad seed $name: exit 1 with its expected error"
  else
    nok "validate bad seed $name: exit $rc"; sed 's/^/# /' "$tmp/diff" "$tmp/out"
  fi
done

# A malformed token is reported without its value (it is a credential).
validate tests/data/bad-seeds/malformed-token
if grep -q "7I2GI9" "$tmp/err" "$tmp/out"; then nok "a malformed token is not echoed"; else ok "a malformed token is not echoed"; fi

# Not a seed directory at all: exit 1 with a reason, no crash.
validate "$tmp/nowhere"; rc=$?
if [ $rc -eq 1 ] && [ -s "$tmp/err" ]; then ok "validate of a missing directory: exit 1"; else nok "validate of a missing directory: exit $rc"; fi
mkdir -p "$tmp/no-user-data"; echo "instance-id: x" >"$tmp/no-user-data/meta-data"
validate "$tmp/no-user-data"; rc=$?
if [ $rc -eq 1 ] && [ -s "$tmp/err" ]; then ok "validate without user-data: exit 1"; else nok "validate without user-data: exit $rc"; fi

# Usage errors are not "valid".
"$AGENT" validate >/dev/null 2>&1; rc=$?
if [ $rc -ne 0 ]; then ok "validate without SEED_DIR fails (exit $rc)"; else nok "validate without SEED_DIR exits 0"; fi

tap_end
