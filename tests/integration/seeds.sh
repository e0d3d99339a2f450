#!/usr/bin/env bash
# The fleet side end to end: `make seeds` and nodeos-seedgen on the guide's
# two inventories (few devices, 100k), every produced seed accepted by
# `node-agent validate`, secrets 0600, the cidata ISOs read back with
# xorriso (volume id, content), the HTTP tree keyed by hostname and by MAC,
# the CA pin the workers carry matching the CA, and a bad inventory refused
# with its named errors. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Copies an inventory and adds a MAC host variable after a host's
# ansible_host line: add_var FILE HOST VAR VALUE (VAR may be nested "a.b").
add_var() {
  local file=$1 host=$2 var=$3 value=$4 line
  if [[ $var == *.* ]]; then line="      ${var%%.*}:\n        ${var#*.}: $value"; else line="      $var: $value"; fi
  sed -i "/^    $host:\$/{n;s/\$/\n$line/}" "$file"
}

# validate_all OUT: node-agent validate on every seed directory of OUT
validate_all() {
  local out=$1 label=$2 bad=0 count=0 d msg
  while IFS= read -r d; do
    count=$((count + 1))
    if ! msg=$("$AGENT" validate --roles-dir "$ROLES" "$d" 2>&1); then bad=1; echo "# $d: $msg"; fi
  done < <(find "$out/seeds" "$out/http" -name user-data -printf '%h\n' | sort)
  if [ "$bad" = 0 ] && [ "$count" -gt 0 ]; then ok "$label: node-agent validate accepts all $count seed dirs"; else nok "$label: validate failed"; fi
}

check_tree() {  # OUT LABEL EXPECTED_ROLES...
  local out=$1 label=$2; shift 2
  local want; want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
  local got; got=$(grep -v '^#' "$out/nodes.tsv" | cut -f3 | sort | tr '\n' ' ')
  if [ "$got" = "$want" ]; then ok "$label: roles are $want"; else nok "$label: roles '$got', want '$want'"; fi
  validate_all "$out" "$label"

  local loose; loose=$(find "$out/seeds" "$out/http" "$out/ca.key" -type f ! -perm 0600 -printf '%m %p\n')
  if [ -z "$loose" ]; then ok "$label: every seed file, ISO and ca.key is 0600"; else nok "$label: not 0600: $loose"; fi
  loose=$(find "$out/seeds" "$out/http" -type d ! -perm 0700 -printf '%m %p\n')
  if [ -z "$loose" ]; then ok "$label: seed directories are 0700"; else nok "$label: not 0700: $loose"; fi

  local h bad=0 iso
  while IFS=$'\t' read -r h _ role _; do
    [[ $h == \#* ]] && continue
    iso=$out/seeds/$h/cidata.iso
    [ "$(xorriso -indev "$iso" -pvd_info 2>/dev/null | sed -n "s/^Volume Id *: //p")" = cidata ] || { bad=1; echo "# $iso: volume id"; }
    [ "$(xorriso -indev "$iso" -ls / 2>/dev/null | tr -d "'" | sort | tr '\n' ' ')" = "meta-data user-data " ] || { bad=1; echo "# $iso: content"; }
    rm -rf "$tmp/x"; mkdir -p "$tmp/x"
    xorriso -osirrox on -indev "$iso" -extract / "$tmp/x" >/dev/null 2>&1
    cmp -s "$tmp/x/user-data" "$out/seeds/$h/user-data" && cmp -s "$tmp/x/meta-data" "$out/seeds/$h/meta-data" || { bad=1; echo "# $iso: differs from the seed dir"; }
    cmp -s "$out/http/hostname/$h/user-data" "$out/seeds/$h/user-data" || { bad=1; echo "# http/hostname/$h differs"; }
    grep -qx "local-hostname: $h" "$out/http/hostname/$h/meta-data" || { bad=1; echo "# http/hostname/$h: meta-data"; }
    grep -qx "role: $role" "$out/seeds/$h/user-data" || { bad=1; echo "# $h: role"; }
  done <"$out/nodes.tsv"
  if [ "$bad" = 0 ]; then ok "$label: each cidata.iso has volume id cidata and holds exactly its seed; http/hostname/<h>/ is the same seed"; else nok "$label: ISO or hostname tree wrong"; fi

  # the workers pin the CA that the master carries (kubeadm's sha256 of the SPKI)
  local pin; pin=sha256:$(openssl x509 -in "$out/ca.crt" -pubkey -noout | openssl pkey -pubin -outform der 2>/dev/null | sha256sum | cut -d' ' -f1)
  local pins; pins=$(grep -h 'ca_cert_hashes' "$out"/seeds/*/user-data | sort -u)
  if [ "$pins" = "  ca_cert_hashes: [\"$pin\"]" ]; then ok "$label: every worker pins ca.crt ($pin)"; else nok "$label: pins '$pins' != $pin"; fi
  local master; master=$(awk -F'\t' '$3=="master"{print $1}' "$out/nodes.tsv")
  if sed -n '/ca_cert: |/,/ca_key: |/p' "$out/seeds/$master/user-data" | sed '1d;$d;s/^    //' | cmp -s - "$out/ca.crt"; then
    ok "$label: the master's seed carries ca.crt"; else nok "$label: the master's ca_cert differs from ca.crt"; fi
}

# --- few devices, through `make seeds` -------------------------------------
inv=$tmp/few; cp -r cloud-init/inventories/few-devices "$inv"
add_var "$inv/hosts.yaml" master_host nodeos_mac 52:54:00:0F:00:10
add_var "$inv/hosts.yaml" worker_host mac 52-54-00-0f-00-11
add_var "$inv/hosts.yaml" nginx ansible_default_ipv4.macaddress 52:54:00:0f:00:12
if make --no-print-directory BUILD="$BUILD" seeds INVENTORY="$inv" SEEDS_OUT="$tmp/out-few" SEEDGEN_FLAGS="--roles-dir $ROLES --token-ttl 2h" >"$tmp/few.log" 2>&1; then
  ok "few-devices: make seeds succeeds"; else nok "few-devices: make seeds failed: $(tail -3 "$tmp/few.log")"; fi
check_tree "$tmp/out-few" few-devices master dojot lb
check "few-devices: the lb is nginx" grep -qx 'nginx	192.168.0.12	lb	52-54-00-0f-00-12	nginx	nginx	-' "$tmp/out-few/nodes.tsv"
check "few-devices: the nginx seed sends mqtt to the single worker" grep -qx '  mqtt_nodes:' "$tmp/out-few/seeds/nginx/user-data"
bad=0
for m in 52-54-00-0f-00-10:master-host 52-54-00-0f-00-11:worker-host 52-54-00-0f-00-12:nginx; do
  cmp -s "$tmp/out-few/http/mac/${m%%:*}/user-data" "$tmp/out-few/seeds/${m#*:}/user-data" || { bad=1; echo "# mac ${m%%:*}"; }
done
[ "$(ls "$tmp/out-few/http/mac" | wc -l)" = 3 ] || bad=1
if [ "$bad" = 0 ]; then ok "few-devices: http/mac/<mac>/ from nodeos_mac, mac and ansible_default_ipv4.macaddress, in iPXE's hexhyp form"; else nok "few-devices: MAC tree wrong"; fi
exp=$(sed -n 's/^  token_expires: "\(.*\)"$/\1/p' "$tmp/out-few/seeds/worker-host/user-data")
delta=$(( $(date -d "$exp" +%s) - $(date +%s) ))
if [ "$delta" -gt 7000 ] && [ "$delta" -le 7200 ]; then ok "few-devices: --token-ttl 2h gives token_expires two hours ahead"; else nok "few-devices: token_expires $exp is $delta s ahead"; fi
token=$(sed -n 's/^  token: "\(.*\)"$/\1/p' "$tmp/out-few/seeds/worker-host/user-data")
if [ -n "$token" ] && ! grep -qF "$token" "$tmp/few.log"; then ok "few-devices: the token is not printed"; else nok "few-devices: token printed or missing"; fi

# --- --kured: the master's seed, and only it, deploys kured ----------------
if "$SEEDGEN" --roles-dir "$ROLES" --no-iso --kured cloud-init/inventories/few-devices "$tmp/out-kured" >"$tmp/kured.log" 2>&1 &&
   m=$(awk -F'\t' '$3=="master"{print $1}' "$tmp/out-kured/nodes.tsv") &&
   [ "$(grep -lx '  kured: true' "$tmp/out-kured"/seeds/*/user-data)" = "$tmp/out-kured/seeds/$m/user-data" ] &&
   "$AGENT" validate --roles-dir "$ROLES" "$tmp/out-kured/seeds/$m" >/dev/null 2>&1; then
  ok "--kured: the master's seed, and no other, has cluster.kured: true, and validates"
else nok "--kured: $(tail -3 "$tmp/kured.log")"; fi

# --- 100k, nodeos-seedgen directly; a rerun replaces the rollout -----------
inv=$tmp/100k; cp -r cloud-init/inventories/100k "$inv"
i=0
for h in master_host dojot_worker_host kafka_worker_host x509_worker_host first_verne_worker_host second_verne_worker_host third_verne_worker_host haproxy; do
  add_var "$inv/hosts.yaml" "$h" nodeos_mac "52:54:00:0a:00:1$i"; i=$((i + 1))
done
if "$SEEDGEN" --roles-dir "$ROLES" "$inv" "$tmp/out-100k" >"$tmp/100k.log" 2>&1; then ok "100k: nodeos-seedgen succeeds"; else nok "100k: nodeos-seedgen failed: $(tail -3 "$tmp/100k.log")"; fi
check_tree "$tmp/out-100k" 100k master dojot kafka x509 verne verne verne lb
check "100k: the lb is haproxy" grep -qP '^haproxy\t192\.168\.0\.20\tlb\t52-54-00-0a-00-17\thaproxy\thaproxy\t-$' "$tmp/out-100k/nodes.tsv"
mq=$(sed -n '/^  mqtt_nodes:/,/^  [a-z]/p' "$tmp/out-100k/seeds/haproxy/user-data" | grep -c 'role: verne')
if [ "$mq" = 3 ]; then ok "100k: the haproxy seed lists the three verne nodes as MQTT backends"; else nok "100k: $mq verne backends"; fi
check "100k: eight MAC dirs" test "$(ls "$tmp/out-100k/http/mac" | wc -l)" = 8
check "100k: verne-2's MAC dir is its seed" cmp "$tmp/out-100k/http/mac/52-54-00-0a-00-15/user-data" "$tmp/out-100k/seeds/second-verne-worker-host/user-data"
# reruns into the same directory: tests/integration/rollout.sh

# --- refusals ---------------------------------------------------------------
mkdir -p "$tmp/foreign"; touch "$tmp/foreign/keep-me"
if ! "$SEEDGEN" --roles-dir "$ROLES" cloud-init/inventories/few-devices "$tmp/foreign" >/dev/null 2>"$tmp/foreign.err" && [ -e "$tmp/foreign/keep-me" ] &&
   grep -q 'not a nodeos-seedgen output' "$tmp/foreign.err"; then ok "refuses a non-empty directory that is not its own output"; else nok "wrote into a foreign directory"; fi
d=cloud-init/inventories/guide-as-written
"$SEEDGEN" --roles-dir "$ROLES" "$d" "$tmp/out-bad" >/dev/null 2>"$tmp/bad.err"; rc=$?
if [ "$rc" = 1 ] && diff <(grep -v 'inferred from its name' "$tmp/bad.err" | sed "s#^$d/##") "$d/expected-error" >/dev/null && [ ! -e "$tmp/out-bad" ]; then
  ok "the guide's 100k inventory as written is refused with its $(wc -l <"$d/expected-error") named errors, nothing written"
else nok "guide-as-written: rc=$rc, $(head -3 "$tmp/bad.err")"; fi
for c in tests/data/bad-inventories/*/; do
  c=${c%/}
  "$SEEDGEN" --roles-dir "$ROLES" --no-iso "$c" "$tmp/out-case" >/dev/null 2>"$tmp/case.err"; rc=$?
  if [ "$rc" = 1 ] && diff <(grep -v 'inferred from its name' "$tmp/case.err" | sed "s#^$c/##") "$c/expected-error" >/dev/null; then
    ok "bad inventory ${c##*/}: exit 1 with its expected errors"
  else nok "bad inventory ${c##*/}: rc=$rc: $(head -2 "$tmp/case.err")"; fi
done
"$SEEDGEN" --token-ttl 3x "$tmp/none" "$tmp/none-out" 2>/dev/null; rc=$?
if [ "$rc" = 2 ] && [ ! -e "$tmp/none-out" ]; then ok "--token-ttl 3x is a usage error (exit 2)"; else nok "--token-ttl 3x: rc=$rc"; fi
# a run that fails half-way (no ISO tool on PATH) leaves none of its seeds behind
PATH=/nonexistent "$(realpath "$SEEDGEN")" --roles-dir "$ROLES" cloud-init/inventories/few-devices "$tmp/out-half" >/dev/null 2>"$tmp/half.err"; rc=$?
if [ "$rc" = 1 ] && grep -q 'neither xorriso nor genisoimage' "$tmp/half.err" && [ -z "$(ls -A "$tmp/out-half" 2>/dev/null)" ]; then
  ok "a run that fails half-way removes the seeds it wrote (no secrets left behind)"
else nok "half-way failure: rc=$rc, left: $(ls -A "$tmp/out-half" 2>/dev/null | tr '\n' ' ')"; fi

# an inventory with an lb that leaves dojot_fixed_nodeports_enabled out gets
# it set in every seed (the lb forwards to fixed NodePorts)
inv=$tmp/inv-unfixed; cp -r cloud-init/inventories/100k "$inv"
sed -i '/^dojot_fixed_nodeports_enabled:/d' "$inv/group_vars/all/dojot.yaml"
if "$SEEDGEN" --roles-dir "$ROLES" --no-iso "$inv" "$tmp/out-unfixed" >/dev/null 2>&1 &&
   grep -q '^    dojot_fixed_nodeports_enabled: true$' "$tmp/out-unfixed/seeds/master-host/user-data" &&
   "$AGENT" validate "$tmp/out-unfixed/seeds/master-host" >/dev/null 2>&1; then
  ok "an lb rollout without dojot_fixed_nodeports_enabled gets it set true in its seeds"
else nok "an lb rollout without dojot_fixed_nodeports_enabled: not set in the master's seed"; fi

# the fleet tool renders each seed as the agent's validate does: a master
# whose templates use a variable the role does not declare is refused here,
# not on the node after kubeadm init
cp -r "$ROLES" "$tmp/roles-broken"
manifests=("$tmp"/roles-broken/master/manifests/*.yaml)
first=${manifests[0]}
echo '# {{no_such_var}}' >>"$first"
"$SEEDGEN" --roles-dir "$tmp/roles-broken" --no-iso cloud-init/inventories/few-devices "$tmp/out-broken" >/dev/null 2>"$tmp/broken.err"; rc=$?
if [ "$rc" = 1 ] && grep -q 'role master: its manifests cannot be rendered from this seed: {{no_such_var}}' "$tmp/broken.err" &&
   [ -z "$(ls -A "$tmp/out-broken" 2>/dev/null)" ]; then
  ok "a seed whose manifests cannot render is refused by the fleet tool, nothing written"
else nok "manifests that cannot render: rc=$rc, $(head -2 "$tmp/broken.err")"; fi

tap_end
