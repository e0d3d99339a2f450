#!/usr/bin/env bash
# Case "day2": a rollout's later life on the harness's private network, with
# the strict stand-ins of cases/cluster.sh (cluster-lib.sh).
#   1. The first rollout (fixtures/inventories/day2: master, one verne
#      worker, the haproxy lb), its bootstrap token living 8 minutes. The lb
#      reads its seed over HTTP from the rollout directory itself
#      (ds=nocloud;s=http://.../hostname/haproxy/), so a rerun of the fleet
#      tool is what it reads next. Every node completes.
#   2. Once that token has expired, the inventory gains a second verne
#      worker (also an MQTT backend) and `make seeds` reruns into the same
#      directory: the new host is new, the lb's seed changed, the verne
#      worker's unchanged. The token Secret the rerun writes is created in
#      the API (the request `kubectl apply -f` makes); the new node boots
#      and joins with its group label, after the first token expired.
#   3. The lb holds 2,000 MQTT connections (bench/mqtt-load, from the
#      harness) while it takes its changed seed (`systemctl restart
#      node-agent`, as an operator would, through the ops overlay):
#      haproxy is reloaded, not restarted (same MainPID), no held
#      connection drops, and new connections reach the new backend.
#   4. A CIDATA disk with a foreign seed (unsigned, another instance-id) on
#      the provisioned verne worker is refused at boot; the node stays
#      configured as its instance. 5. Booted with no seed at all, it stays
#      configured too.
#   6. The second verne worker leaves the inventory: the rerun removes its
#      seed and prints the drain and delete the cluster needs, which the
#      case then makes as API requests (Node cordoned, deleted).
#   7. A rerun on an inventory with a typo fails and leaves the rollout
#      directory byte-identical.
# Usage: cases/day2.sh. TAP.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cluster-lib.sh"
cd "$QT_REPO" || exit
BUILD=${BUILD:-build}
STANDIN=$QT_OUT/standin
w=$QT_OUT/day2; rm -rf "$w"; mkdir -p "$w"
seeds=$w/rollout
qemu-tests/standin/build.sh "$STANDIN" >/dev/null || { qt_nok "day2: build the stand-ins"; qt_done; exit 1; }
${CC:-cc} -std=c11 -Wall -Wextra -Werror -O2 -o "$w/mqtt-load" bench/mqtt-load.c || { qt_nok "day2: build mqtt-load"; qt_done; exit 1; }
cp -r qemu-tests/fixtures/inventories/day2 "$w/inventory"
seeds_run() {  # LOG: make seeds into the rollout, the case's fixed flags
  make --no-print-directory BUILD="$BUILD" seeds INVENTORY="$w/inventory" SEEDS_OUT="$seeds" \
    SEEDGEN_FLAGS="--topology 100k --token-ttl $TTL" >"$1" 2>&1
}
TTL=8m
seeds_run "$w/seeds-1.log" || { qt_nok "day2: first rollout: $(tail -3 "$w/seeds-1.log")"; qt_done; exit 1; }
qt_ok "day2: first rollout written (--token-ttl 8m)"
master=master-host verne1=first-verne-worker-host verne2=second-verne-worker-host lb=haproxy
api=$(yaml_get "$seeds/seeds/$master/user-data" cluster.advertise_address)
yaml_get "$seeds/seeds/$master/user-data" cluster.token >"$w/token"; chmod 600 "$w/token"
init_expires=$(yaml_get "$seeds/seeds/$master/user-data" cluster.token_expires)
api_cert "$seeds" "$w" "$api" || { qt_nok "day2: API certificate"; qt_done; exit 1; }
# the operator's client certificate (kubectl's admin.conf on the master)
openssl req -new -newkey rsa:2048 -nodes -keyout "$w/admin.key" -subj "/O=system:masters/CN=kubernetes-admin" -out "$w/admin.csr" 2>/dev/null
openssl x509 -req -in "$w/admin.csr" -CA "$seeds/ca.crt" -CAkey "$seeds/ca.key" -CAcreateserial -days 1 -out "$w/admin.crt" 2>/dev/null
chmod 600 "$w"/*.key

qt_net_up 192.168.0.1/24 || { qt_nok "day2: private network"; qt_done; exit 1; }
qt_net_dhcp 192.168.0.100,192.168.0.150      # the lb's first address, before its seed gives the static one
qt_net_run /usr/bin/python3 qemu-tests/standin/kube-api-standin.py --listen 192.168.0.1:6443 --port-file "$w/api.port" \
  --log "$w/api-log.json" --tls-cert "$w/apiserver.crt" --tls-key "$w/apiserver.key" --client-ca "$seeds/ca.crt" \
  --cluster-info-server "https://$api:6443" --bootstrap-token-file "$w/token" --bootstrap-token-expires "$init_expires" \
  2>"$w/api-standin.log"
qt_net_run /usr/bin/python3 -m http.server --bind 192.168.0.1 --directory "$seeds/http" 8080 >"$w/http.log" 2>&1

# boot_node HOST KIND... : its overlay, its seed ISO (none for the lb: HTTP)
boot_node() {
  local host=$1; shift
  local role mac; role=$(awk -F'\t' -v h="$host" '!/^#/ && $1 == h {print $3}' "$seeds/nodes.tsv")
  mac=$(awk -F'\t' -v h="$host" '!/^#/ && $1 == h {print $4}' "$seeds/nodes.tsv")
  overlay_tree "$w/overlay-$host" "$@"; qt_extra_layer "$w/overlay-$host" "$w/overlay-$host.sqfs"
  local iso=""
  if [ "$role" != lb ]; then
    mkdir -p "$w/seed-$host"; cp "$seeds/seeds/$host"/{meta-data,user-data} "$w/seed-$host/"
    iso=$w/$host.iso; qt_seed_iso "$w/seed-$host" "$iso"
  fi
  QT_SMP=1 QT_MEM=1536 QT_MAC=${mac//-/:} QT_EXTRA=$w/overlay-$host.sqfs \
    QT_APPEND=$([ "$role" = lb ] && echo "ds=nocloud;s=http://192.168.0.1:8080/hostname/$host/") \
    qt_boot "day2-$host" "$(qt_image "$role")" "$iso"
}
fact() { qt_fact "$@" | tr -d ' '; }
sentinels() { grep -ac 'NODEOS-AGENT: SUCCESS' "$QT_OUT/day2-$1/serial.log" 2>/dev/null; }
# ops HOST PORT: talk to the ops overlay (7000 reruns the agent, 7001 reports)
ops() {
  local addr; addr=$(awk -F'\t' -v h="$1" '!/^#/ && $1 == h {print $2}' "$seeds/nodes.tsv")
  ip netns exec "$QT_NETNS" timeout 600 bash -c 'exec 3<>"/dev/tcp/$0/$1" && cat <&3' "$addr" "$2" 2>&1
}
api_call() {  # METHOD PATH [JSON-FILE [CONTENT-TYPE]]: as the operator's kubectl; status in $w/code
  local args=(-s -o "$w/api.body" -w '%{http_code}' --cacert "$seeds/ca.crt" --cert "$w/admin.crt" --key "$w/admin.key" -X "$1")
  [ -n "${3:-}" ] && args+=(-H "Content-Type: ${4:-application/json}" --data-binary "@$3")
  ip netns exec "$QT_NETNS" curl "${args[@]}" "https://192.168.0.1:6443$2" >"$w/code"
}

# --- 1. the first rollout ---------------------------------------------------
t0=$SECONDS
boot_node "$verne1" k8s mqtt
boot_node "$lb" ops
sleep 60
boot_node "$master" k8s master
for h in "$verne1" "$lb" "$master"; do
  if qt_wait "day2-$h" 'NODEOS-AGENT: SUCCESS' 1200; then qt_ok "day2: $h completes ($((SECONDS - t0)) s)"
  else qt_nok "day2: $h did not complete"; fi
done
grep -aq "stage=fetch step=seed status=done .*http://192.168.0.1:8080/hostname/$lb/" "$QT_OUT/day2-$lb/serial.log" &&
  qt_ok "day2: the lb read its seed over HTTP from the rollout directory" || qt_nok "day2: the lb's seed line does not name the HTTP source"

# --- 2. a node added after the first token expired --------------------------
now=$(date +%s); exp=$(date -d "$init_expires" +%s)
[ "$exp" -ge "$now" ] && { qt_log "waiting $((exp - now + 5)) s for the first token to expire ($init_expires)"; sleep $((exp - now + 5)); }
qemu-tests/fixtures/edit-inventory.py add "$w/inventory/hosts.yaml" second_verne_worker_host 192.168.0.15 52:54:00:52:00:15
TTL=1h
if seeds_run "$w/seeds-2.log"; then qt_ok "day2: the rerun with a second verne worker"; else qt_nok "day2: rerun: $(tail -3 "$w/seeds-2.log")"; fi
kind_of() { awk -v h="$1" '$1 == h {print $6}' "$w/seeds-2.log"; }
qt_check "day2: the rerun says $verne2 new, the lb changed, $verne1 unchanged ($(kind_of second_verne_worker_host)/$(kind_of haproxy)/$(kind_of first_verne_worker_host))" \
  test "$(kind_of second_verne_worker_host)/$(kind_of haproxy)/$(kind_of first_verne_worker_host)" = new/changed/unchanged
secret_file=$(sed -n 's/^ *kubectl apply -f \(.*\)$/\1/p' "$w/seeds-2.log" | sed -n 1p)
python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$secret_file" >"$w/secret.json" 2>/dev/null
api_call POST /api/v1/namespaces/kube-system/secrets "$w/secret.json"
qt_check "day2: the rerun's token Secret is created in the cluster ($(cat "$w/code"))" test "$(cat "$w/code")" = 201
t0=$SECONDS
boot_node "$verne2" k8s mqtt
if qt_wait "day2-$verne2" 'NODEOS-AGENT: SUCCESS' 1200; then qt_ok "day2: $verne2, added after the first token expired, completes ($((SECONDS - t0)) s)"
else qt_nok "day2: $verne2 did not complete"; fi
kl=$(grep -a 'step=kubeadm ' "$QT_OUT/day2-$verne2/serial.log" | tail -1)
qt_check "day2: $verne2 joined ($(sed 's/.*status=//' <<<"$kl" | cut -c1-100))" grep -q 'status=done' <<<"$kl"
label=""
for _ in $(seq 1 60); do
  label=$(python3 -c 'import json,sys
for e in json.load(open(sys.argv[1])):
    if e["kind"] == "Node" and e["name"] == sys.argv[2]:
        print((e["object"].get("metadata") or {}).get("labels", {}).get("dojot.components/group", ""))' "$w/api-log.json" "$verne2" | tail -1)
  [ -n "$label" ] && break; sleep 5
done
qt_check "day2: $verne2 registered with dojot.components/group=vernemq (got '$label')" test "$label" = vernemq

# --- 3. the lb takes its changed seed under load ----------------------------
before=$(ops "$lb" 7001); echo "$before" >"$w/lb-state-before.txt"
pid_before=$(sed -n 's/^haproxy: .*MainPID=\([0-9]*\).*/\1/p' <<<"$before")
ip netns exec "$QT_NETNS" "$w/mqtt-load" -t 192.168.0.20:1883 -n 2000 -r 100 -P 100 -k 60 -T 60 -H 300 -i 10 \
  >"$w/load.json" 2>"$w/load.err" &
load=$!
up=0
for _ in $(seq 1 120); do
  up=$(grep -v final "$w/load.json" 2>/dev/null | tail -1 | jq -r '.up // 0' 2>/dev/null); [ "${up:-0}" -ge 2000 ] && break
  kill -0 $load 2>/dev/null || break; sleep 2
done
qt_check "day2: the lb holds 2,000 MQTT connections to $verne1 (up ${up:-0})" test "${up:-0}" -ge 2000
n0=$(sentinels "$lb")
ops "$lb" 7000 >"$w/rerun.txt"
for _ in $(seq 1 300); do [ "$(sentinels "$lb")" -gt "$n0" ] && break; grep -aq 'NODEOS-AGENT: FAILED' "$QT_OUT/day2-$lb/serial.log" && break; sleep 1; done
qt_check "day2: the lb's rerun completes ($(grep -a 'NODEOS-AGENT:' "$QT_OUT/day2-$lb/serial.log" | tail -1 | tr -d '\r' | cut -c1-80))" test "$(sentinels "$lb")" -gt "$n0"
grep -a 'step=file:/etc/haproxy/haproxy.cfg' "$QT_OUT/day2-$lb/serial.log" | tail -1 | tr -d '\r' >"$w/lb-file-step.txt"
qt_check "day2: the lb's haproxy.cfg step applied the change ($(cut -c1-160 "$w/lb-file-step.txt"))" grep -qE 'status=(changed|done)' "$w/lb-file-step.txt"
after=$(ops "$lb" 7001); echo "$after" >"$w/lb-state-after.txt"
pid_after=$(sed -n 's/^haproxy: .*MainPID=\([0-9]*\).*/\1/p' <<<"$after")
qt_check "day2: haproxy reloaded, not restarted (MainPID $pid_before -> $pid_after)" test -n "$pid_before" -a "$pid_before" = "$pid_after"
sub_clients() { ip netns exec "$QT_NETNS" timeout 20 mosquitto_sub -h 192.168.0.15 -p 30004 -t '$SYS/broker/clients/connected' -C 1 -W 15 2>/dev/null; }
c0=$(sub_clients)
# their own client ids: the same ids would take over the held sessions
ip netns exec "$QT_NETNS" "$w/mqtt-load" -I new- -t 192.168.0.20:1883 -n 200 -r 50 -P 50 -k 60 -T 30 -H 15 -i 5 >"$w/load-new.json" 2>&1 &
newload=$!
sleep 12; c1=$(sub_clients); wait $newload
qt_check "day2: new connections through the lb reach $verne2 (its broker's clients $c0 -> $c1)" test "${c1:-0}" -ge $(( ${c0:-1} + 20 ))
wait $load
final=$(grep '"final":true' "$w/load.json")
qt_check "day2: no held connection dropped across the lb's rerun ($(jq -c '{up,drops,connect_failed,dropped}' <<<"$final" 2>/dev/null))" \
  test "$(jq -r '"\(.up)/\(.drops)/\(.connect_failed)"' <<<"$final" 2>/dev/null)" = 2000/0/0

# --- 4. a foreign seed on a provisioned node; 5. no seed at all -------------
qt_stop "day2-$verne1"
mkdir -p "$w/foreign"; cp cloud-init/examples/verne/meta-data cloud-init/examples/verne/user-data "$w/foreign/"
qt_seed_iso "$w/foreign" "$w/foreign.iso"
mac1=$(awk -F'\t' -v h="$verne1" '!/^#/ && $1 == h {print $4}' "$seeds/nodes.tsv")
QT_REUSE=1 QT_SMP=1 QT_MEM=1536 QT_MAC=${mac1//-/:} QT_EXTRA=$w/overlay-$verne1.sqfs qt_boot "day2-$verne1" "$(qt_image verne)" "$w/foreign.iso"
qt_wait "day2-$verne1" 'NODEOS-AGENT: (SUCCESS|FAILED)' 900 ''
grep -a 'stage=fetch step=seed status=refused' "$QT_OUT/day2-$verne1/serial.log" | tr -d '\r' >"$w/foreign-line.txt"
qt_check "day2: a foreign CIDATA seed is refused at boot ($(sed 's/.*detail=//' "$w/foreign-line.txt" | cut -c1-160))" \
  grep -q 'an unsigned seed (instance .*) refused: this node is configured as instance' "$w/foreign-line.txt"
qt_probe_wait "day2-$verne1" 300
qt_check "day2: after the foreign seed, $verne1 is still its instance and succeeded (hostname $(fact "day2-$verne1" hostname), sentinel $(fact "day2-$verne1" sentinel))" \
  test "$(fact "day2-$verne1" hostname)/$(fact "day2-$verne1" sentinel)" = "$verne1/success"
qt_stop "day2-$verne1"
QT_REUSE=1 QT_SMP=1 QT_MEM=1536 QT_MAC=${mac1//-/:} QT_EXTRA=$w/overlay-$verne1.sqfs qt_boot "day2-$verne1" "$(qt_image verne)" ""
qt_wait "day2-$verne1" 'NODEOS-AGENT: (SUCCESS|FAILED)' 900 ''
qt_check "day2: booted without a seed, $verne1 says so and stays configured" \
  grep -aq 'no seed delivered this boot; the node stays configured' "$QT_OUT/day2-$verne1/serial.log"
qt_probe_wait "day2-$verne1" 300
qt_check "day2: without a seed, the sentinel is success (got '$(fact "day2-$verne1" sentinel)')" test "$(fact "day2-$verne1" sentinel)" = success

# --- 6. a node removed from the inventory ---------------------------------
qemu-tests/fixtures/edit-inventory.py remove "$w/inventory/hosts.yaml" second_verne_worker_host 192.168.0.15 52:54:00:52:00:15
seeds_run "$w/seeds-3.log"
qt_check "day2: the rerun without $verne2 says what the cluster needs (drain, delete node)" \
  grep -q "kubectl drain $verne2 --ignore-daemonsets --delete-local-data" "$w/seeds-3.log"
qt_check "day2: ... and removed its seed" test ! -e "$seeds/seeds/$verne2/user-data"
# those two commands' requests (kubectl is not a Debian package this machine
# can install beside its own): cordon, the node's pods to evict, delete
printf '{"spec":{"unschedulable":true}}' >"$w/cordon.json"
api_call PATCH "/api/v1/nodes/$verne2" "$w/cordon.json" application/merge-patch+json; c1=$(cat "$w/code")
api_call GET "/api/v1/pods?fieldSelector=spec.nodeName%3D$verne2"; c2=$(cat "$w/code")
api_call DELETE "/api/v1/nodes/$verne2"; c3=$(cat "$w/code")
api_call GET "/api/v1/nodes/$verne2"; c4=$(cat "$w/code")
qt_check "day2: $verne2 drained and deleted (cordon $c1, pods $c2, delete $c3, then GET $c4)" test "$c1/$c2/$c3/$c4" = 200/200/200/404

# --- 7. a failed rerun changes nothing ------------------------------------
rollout_sum() { (cd "$seeds" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16); }
sum_before=$(rollout_sum)
sed -i 's/^        worker_nodes:$/        worker nodes:/' "$w/inventory/hosts.yaml"     # a typo
if seeds_run "$w/seeds-4.log"; then qt_nok "day2: a rerun on an inventory with a typo succeeded"
else qt_check "day2: a failed rerun (inventory typo) leaves the rollout byte-identical ($sum_before -> $(rollout_sum); $(grep -m1 -o "group 'worker nodes'.*" "$w/seeds-4.log" | cut -c1-60))" \
  test "$sum_before" = "$(rollout_sum)"; fi

for h in "$master" "$verne1" "$verne2" "$lb"; do
  role=$(awk -F'\t' -v h="$h" '!/^#/ && $1 == h {print $3}' "$seeds/nodes.tsv")
  qt_check "day2: $h: built artifact unchanged" qt_stop "day2-$h" "$(qt_image "$role")"
done
qt_net_down
qt_done
