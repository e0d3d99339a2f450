#!/usr/bin/env bash
# The shell scripts' lint, as TAP: shellcheck at warning level on every
# shell script git knows (tracked, or new and not ignored; one test each),
# and tools/lint-pipefail, the check shellcheck lacks (a pipeline into
# grep -q, head or sed ...q under pipefail: the writer's SIGPIPE makes the
# status 141). Any finding fails. .shellcheckrc makes -x find sourced libs.
set -uo pipefail
cd "$(dirname "$0")/.." || exit
n=0 fails=0
ok()  { n=$((n+1)); echo "ok $n - $*"; }
nok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }

command -v shellcheck >/dev/null || { echo "not ok 1 - shellcheck is installed (apt-get install shellcheck)"; exit 1; }
mapfile -t scripts < <(git ls-files -co --exclude-standard | while IFS= read -r f; do
  [ -f "$f" ] || continue
  case $f in *.sh) echo "$f"; continue ;; esac
  IFS= read -r first <"$f" 2>/dev/null || continue
  case $first in '#!'*sh*) echo "$f" ;; esac
done)
for f in "${scripts[@]}"; do
  if out=$(shellcheck -S warning -x -f gcc "$f" 2>&1); then ok "shellcheck $f"
  else nok "shellcheck $f"; sed 's/^/# /' <<<"$out"; fi
done
if out=$(tools/lint-pipefail "${scripts[@]}"); then ok "lint-pipefail: no early-exit reader under pipefail in ${#scripts[@]} scripts"
else nok "lint-pipefail"; sed 's/^/# /' <<<"$out"; fi
echo "1..$n"
[ "$fails" -eq 0 ]
