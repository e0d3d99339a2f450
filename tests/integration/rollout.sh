#!/usr/bin/env bash
# Day 2 for the fleet tool: a rollout directory is state (src/fleet/rollout.h,
# cloud-init/FLEET.md "Day 2"). Reruns keep the CA and the seeds of unchanged
# nodes byte for byte, write seeds for new and changed nodes with a token
# registered as a Secret to apply, say what to do for removed hosts, and a
# failed rerun leaves the rollout byte-identical. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
out=$tmp/rollout
inv=$tmp/inv; cp -r cloud-init/inventories/100k "$inv"

# A fingerprint of everything in a rollout: path, mode, content, and for
# the seeds and the CA key the inode too (kept files are the same files).
fingerprint() {
  (cd "$1" && find . -type f \( -path './seeds/*' -o -path './http/*' -o -name ca.key \) -printf '%p %m %i ' -exec sha256sum {} \; &&
   find . -type f ! \( -path './seeds/*' -o -path './http/*' -o -name ca.key \) -printf '%p %m ' -exec sha256sum {} \;) | sort
}
seedgen() { "$SEEDGEN" --roles-dir "$ROLES" "$@"; }
iid() { sed -n 's/^instance-id: //p' "$out/seeds/$1/meta-data"; }
token_of() { sed -n 's/^  token: "\(.*\)"$/\1/p' "$out/seeds/$1/user-data"; }
no_staging() { [ -z "$(find "$tmp" -maxdepth 1 -name 'rollout.staging-*')" ]; }

# --- the first rollout ------------------------------------------------------
if seedgen "$inv" "$out" >"$tmp/first.log" 2>&1; then ok "first rollout written"; else nok "first rollout: $(tail -3 "$tmp/first.log")"; fi
check "rollout.tsv records every node (8) and no secret" test "$(grep -c '^node	' "$out/rollout.tsv")" = 8
tok=$(token_of master-host)
if [ -n "$tok" ] && ! grep -qF "${tok#*.}" "$out/rollout.tsv"; then ok "rollout.tsv does not hold the token"; else nok "the token is in rollout.tsv"; fi
cp "$out/ca.key" "$tmp/ca.key.first"
before=$(fingerprint "$out")
master_iid=$(iid master-host)
ca_inode=$(stat -c %i "$out/ca.key")

# --- a rerun with no change ---------------------------------------------------
seedgen "$inv" "$out" >"$tmp/same.log" 2>&1; rc=$?
if [ "$rc" = 0 ] && [ "$(fingerprint "$out" | grep -v rollout.tsv)" = "$(grep -v rollout.tsv <<<"$before")" ]; then
  ok "a rerun with no inventory change rewrites no seed (same bytes, modes and inodes)"
else nok "rerun without change: rc=$rc"; diff <(echo "$before") <(fingerprint "$out") | sed "s/^/# /"; fi
check "it says so: 8 unchanged" grep -q '^seeds: 0 new, 0 changed, 0 renewed, 8 unchanged, 0 removed$' "$tmp/same.log"
check "no token Secret when no seed needs one" test ! -e "$out/tokens"

# --- a failed rerun changes nothing ----------------------------------------
cp -r "$inv" "$tmp/inv-typo"
sed -i 's/^        worker_nodes:$/        worker nodes:/' "$tmp/inv-typo/hosts.yaml"
seedgen "$tmp/inv-typo" "$out" >"$tmp/typo.log" 2>&1; rc=$?
if [ "$rc" = 1 ] && grep -q 'worker nodes' "$tmp/typo.log" && [ "$(fingerprint "$out" | grep -v rollout.tsv)" = "$(grep -v rollout.tsv <<<"$before")" ] &&
   cmp -s "$out/ca.key" "$tmp/ca.key.first"; then
  ok "a rerun with a typo in the inventory fails and leaves the rollout byte-identical, CA key included"
else nok "typo rerun: rc=$rc"; fi
# fails after staging began: no ISO tool on PATH, with a new host to write
cp -r "$inv" "$tmp/inv-grown"
sed -i 's/^    third_verne_worker_host:$/    verne_three:/; s/^            third_verne_worker_host:$/            verne_three:/' "$tmp/inv-grown/hosts.yaml"
snap=$(fingerprint "$out")
PATH=/nonexistent "$(realpath "$SEEDGEN")" --roles-dir "$ROLES" "$tmp/inv-grown" "$out" >"$tmp/half.log" 2>&1; rc=$?
if [ "$rc" = 1 ] && [ "$(fingerprint "$out")" = "$snap" ] && no_staging; then
  ok "a rerun that fails half-way (no xorriso) leaves the rollout byte-identical and no staging directory"
else nok "half-way rerun: rc=$rc, staging left: $(find "$tmp" -maxdepth 1 -name 'rollout.staging-*')"; fi
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/other.key" -out "$tmp/other.crt" -subj /CN=other -days 1 >/dev/null 2>&1
seedgen --ca-cert "$tmp/other.crt" --ca-key "$tmp/other.key" "$inv" "$out" >"$tmp/otherca.log" 2>&1; rc=$?
if [ "$rc" = 1 ] && grep -q 'is not the CA of the rollout in' "$tmp/otherca.log" && [ "$(fingerprint "$out")" = "$snap" ]; then
  ok "another CA on an existing rollout is refused, nothing changed"
else nok "other CA: rc=$rc $(head -2 "$tmp/otherca.log")"; fi
seedgen --renew no-such-host "$inv" "$out" >"$tmp/renew-bad.log" 2>&1; rc=$?
if [ "$rc" = 1 ] && grep -q -- '--renew no-such-host: no such host in the inventory' "$tmp/renew-bad.log"; then
  ok "--renew of a host the inventory lacks is an error"; else nok "--renew no-such-host: rc=$rc"; fi

# --- a host leaves, another joins (third_verne_worker_host -> verne_three) ----
echo "operator's notes" >"$out/NOTES"
# the command cloud-init/FLEET.md "Day 2" gives
make --no-print-directory BUILD="$BUILD" seeds INVENTORY="$tmp/inv-grown" SEEDS_OUT="$out" SEEDGEN_FLAGS="--roles-dir $ROLES" >"$tmp/grown.log" 2>&1; rc=$?
check "the grown inventory is written" test "$rc" = 0
check "the new host's seed is new" grep -qP '^verne_three\s.*\snew\s' "$tmp/grown.log"
check "the removed host's seed is gone" test ! -e "$out/seeds/third-verne-worker-host"
check "the removed host gets its drain and delete commands" grep -qx '  kubectl delete node third-verne-worker-host' "$tmp/grown.log"
check "the lb's seed changed (its MQTT backends)" grep -qP '^haproxy\s.*\schanged\s' "$tmp/grown.log"
check "the lb's new seed lists verne-three" grep -q '{name: verne-three, address: ' "$out/seeds/haproxy/user-data"
if [ "$(iid master-host)" != "$master_iid" ] && grep -qP '^master_host\s.*\schanged\s' "$tmp/grown.log"; then
  ok "the master's seed changed (its node list), with a new instance-id"; else nok "master: $(iid master-host) vs $master_iid"; fi
unchanged_ok=1
for h in dojot-worker-host kafka-worker-host x509-worker-host first-verne-worker-host second-verne-worker-host; do
  grep -F "./seeds/$h/" <<<"$before" >"$tmp/a"; fingerprint "$out" | grep -F "./seeds/$h/" >"$tmp/b"
  cmp -s "$tmp/a" "$tmp/b" || { unchanged_ok=0; echo "# $h changed"; }
done
if [ "$unchanged_ok" = 1 ]; then ok "the five unchanged workers keep their seeds byte for byte (instance-ids included)"; else nok "an unchanged worker's seed was rewritten"; fi
secret=$(find "$out/tokens" -name 'bootstrap-token-*.yaml' 2>/dev/null)
newtok=$(token_of verne-three)
if [ -n "$secret" ] && [ "$(stat -c %a "$secret")" = 600 ] && grep -qx "  token-id: \"${newtok%%.*}\"" "$secret" &&
   grep -qx "  token-secret: \"${newtok#*.}\"" "$secret" && grep -q "kubectl apply -f $secret" "$tmp/grown.log"; then
  ok "the new node's token is written as a 0600 bootstrap-token Secret, and the output says to apply it"
else nok "token Secret: '$secret'"; fi
if [ "$newtok" != "$tok" ] && [ "$(token_of first-verne-worker-host)" = "$tok" ]; then
  ok "new seeds carry the rerun's token, unchanged ones their own"; else nok "tokens mixed up"; fi
check "the CA key survived every run" cmp "$out/ca.key" "$tmp/ca.key.first"
check "the CA key is the same file (never rewritten)" test "$(stat -c %i "$out/ca.key")" = "$ca_inode"
check "the CA pin is the same in the new seed" grep -qF "$(grep -h ca_cert_hashes "$out/seeds/dojot-worker-host/user-data")" "$out/seeds/verne-three/user-data"
check "the operator's own file in the rollout directory is kept" grep -qx "operator's notes" "$out/NOTES"
validate_ok=1
for d in "$out"/seeds/*/; do "$AGENT" validate --roles-dir "$ROLES" "$d" >/dev/null 2>&1 || validate_ok=0; done
if [ "$validate_ok" = 1 ]; then ok "node-agent validate accepts every seed of the updated rollout"; else nok "a seed of the updated rollout does not validate"; fi
check "make-pxe's nodes.tsv lists verne-three" grep -qP '^verne-three\t' "$out/nodes.tsv"

# --- renew, and a new rollout ----------------------------------------------
k_iid=$(iid kafka-worker-host)
make --no-print-directory BUILD="$BUILD" seeds INVENTORY="$tmp/inv-grown" SEEDS_OUT="$out" SEEDGEN_FLAGS="--roles-dir $ROLES --renew kafka-worker-host" >"$tmp/renew.log" 2>&1
if [ "$(iid kafka-worker-host)" != "$k_iid" ] && grep -qP '^kafka_worker_host\s.*\srenewed\s' "$tmp/renew.log" &&
   grep -q '^seeds: 0 new, 0 changed, 1 renewed, 7 unchanged, 0 removed$' "$tmp/renew.log"; then
  ok "--renew writes one host's seed anew, the others stay"; else nok "--renew: $(tail -2 "$tmp/renew.log")"; fi
old_rollout=$(sed -n 's/^rollout\t//p' "$out/rollout.tsv")
seedgen --new-rollout "$tmp/inv-grown" "$out" >"$tmp/new.log" 2>&1; rc=$?
if [ "$rc" = 0 ] && cmp -s "$out/retired/$old_rollout/ca.key" "$tmp/ca.key.first" && ! cmp -s "$out/ca.key" "$tmp/ca.key.first"; then
  ok "--new-rollout mints a new CA and keeps the old rollout, CA key included, in retired/<id>/"
else nok "--new-rollout: rc=$rc"; fi
check "no staging directory is left after all of it" no_staging
tap_end
