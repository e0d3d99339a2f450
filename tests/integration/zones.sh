#!/usr/bin/env bash
# The zones of src/ (src/README.md) hold: includes point only downward
# (basic <- shared <- {agent, fleet}), and the linker agrees: node-agent
# carries no symbol defined in libfleet, nodeos-seedgen none defined in
# libagent, and each program is linked without the other's library. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh

# allowed ZONE: the zones a file of ZONE may include from
allowed() {
  case $1 in
    basic) echo "basic" ;;
    shared) echo "basic shared" ;;
    agent) echo "basic shared agent" ;;
    fleet) echo "basic shared fleet" ;;
  esac
}
for z in basic shared agent fleet; do
  bad=""
  while IFS= read -r line; do
    inc=${line#*#include \"}; inc_zone=${inc%%/*}
    case " $(allowed "$z") " in *" $inc_zone "*) ;; *) bad="$bad ${line%%:*}:$inc" ;; esac
  done < <(grep -rn '^#include "' "src/$z" --include='*.[ch]' | sed 's/"$//; s/\.h"$/.h/' | sed 's/\(#include "[^"]*\)".*/\1/')
  if [ -z "$bad" ]; then ok "src/$z includes only from: $(allowed "$z")"; else nok "src/$z includes across zones:$bad"; fi
done

# a zone's headers are included with their zone's prefix, so the include
# line says where the header lives
flat=$(grep -rn '^#include "[^/"]*\.h"' src/basic src/shared src/agent src/fleet --include='*.[ch]' || true)
if [ -z "$flat" ]; then ok "every project include names its zone"; else nok "includes without a zone: $flat"; fi

# defined SYMS of an archive (global, defined), one per line
defined() { nm -g --defined-only "$1" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u; }
# symbols a binary defines (not stripped: make builds with -g)
binsyms() { nm --defined-only "$1" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u; }
for want in "$BUILD/node-agent:$BUILD/libfleet.a:fleet" "$BUILD/nodeos-seedgen:$BUILD/libagent.a:agent"; do
  IFS=: read -r bin lib zone <<<"$want"
  if [ ! -x "$bin" ] || [ ! -f "$lib" ]; then nok "$bin and $lib are built"; continue; fi
  libs=$(defined "$lib"); syms=$(binsyms "$bin")
  if [ -z "$libs" ]; then nok "$lib defines symbols"; continue; fi
  common=$(comm -12 <(echo "$libs") <(echo "$syms"))
  if [ -z "$common" ]; then
    ok "$(basename "$bin") contains none of the $(wc -l <<<"$libs") symbols of src/$zone"
  else
    nok "$(basename "$bin") contains symbols of src/$zone: $(tr '\n' ' ' <<<"$common")"
  fi
done
# and the libraries each program was linked from make it so: the link
# lines (Makefile) name no library of the other program
rules=$(make -n -B "$BUILD/node-agent" "$BUILD/nodeos-seedgen" 2>/dev/null | grep -E -- '-o [^ ]*(node-agent|nodeos-seedgen)$')
agent_link=$(grep -E -- '-o [^ ]*node-agent$' <<<"$rules")
fleet_link=$(grep -E -- '-o [^ ]*nodeos-seedgen$' <<<"$rules")
case $agent_link in *libfleet.a*|"") nok "node-agent is linked without libfleet.a: $agent_link" ;; *) ok "node-agent is linked without libfleet.a" ;; esac
case $fleet_link in *libagent.a*|"") nok "nodeos-seedgen is linked without libagent.a: $fleet_link" ;; *) ok "nodeos-seedgen is linked without libagent.a" ;; esac
tap_end
