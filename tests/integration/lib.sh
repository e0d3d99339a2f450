# shellcheck shell=bash
# The defaults and TAP helpers the integration scripts source (after cd to the repo root):
#   . tests/integration/lib.sh
# Not executable on purpose: tests/run-all.sh runs every executable *.sh here.
BUILD=${BUILD:-build}
AGENT=${AGENT:-$BUILD/node-agent}
SEEDGEN=${SEEDGEN:-$BUILD/nodeos-seedgen}
ROLES=${ROLES:-roles}
n=0 fails=0
ok()    { n=$((n+1)); echo "ok $n - $*"; }
nok()   { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }
skip()  { n=$((n+1)); echo "ok $n # SKIP $*"; }
# check WHAT CMD...: ok when CMD succeeds (its output discarded)
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else nok "$what"; fi; }
# tap_end: the plan line; as a script's last command, its exit status says whether all passed
tap_end() { echo "1..$n"; [ "$fails" -eq 0 ]; }
# wait_port PORT...: until each 127.0.0.1:PORT accepts (up to ~5 s); 1 if one never does
wait_port() {
  local p
  for p in "$@"; do
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue 2; sleep 0.1; done
    return 1
  done
}
# scratch: a new temporary directory in $tmp, and an empty pids array; at
# exit every pid in pids is killed and $tmp removed (KEEP_TMP=1 keeps it)
scratch() { tmp=$(mktemp -d); pids=(); trap scratch_cleanup EXIT; }
scratch_cleanup() {
  local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
