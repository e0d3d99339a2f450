#!/usr/bin/env bash
# Case "cluster": a whole rollout on the harness's private network.
#   few-devices  nginx lb + master + one dojot worker (the guide's inventory)
#   100k-small   haproxy lb + master + dojot + verne (qemu-tests/fixtures)
# Seeds come from nodeos-seedgen; every node boots its role image with a
# test overlay (never in the image) holding the stand-ins: kubeadm-standin as
# /usr/bin/kubeadm and a kubelet stand-in started when kubeadm wrote
# kubelet.conf (as kubeadm starts the kubelet); on the master, a forward of
# its API port to the API stand-in, started when kubeadm init wrote
# admin.conf (the control plane coming up); on the MQTT backends, a real
# mosquitto broker on NodePort 30004 (standing in for VerneMQ's Service).
# The API stand-in runs in the harness's netns, serves cluster-info signed
# for the rollout's token and records every object applied, in order.
# The workers boot first and must wait for the master.
# Asserts: every node completes; workers joined with the pinned CA hash
# after waiting; every node registered with its dojot.components/group label;
# the master applied StorageClass, the ten PVs and the dojot objects, in
# order, each valid against the Kubernetes schemas (strict); no secret in any
# console, journal or /proc/*/cmdline; an MQTT client in the harness netns
# reaches the broker through the lb's port 1883.
# Usage: cases/cluster.sh [few-devices|100k-small ...]. TAP.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cluster-lib.sh"
cd "$QT_REPO" || exit
topos=("$@"); [ ${#topos[@]} -gt 0 ] || topos=(few-devices 100k-small)
BUILD=${BUILD:-build}

run_topology() {
  local topo=$1 inv w
  w=$QT_OUT/cluster-$topo
  case $topo in
    few-devices) inv=cloud-init/inventories/few-devices ;;
    100k-small) inv=qemu-tests/fixtures/inventories/100k-small ;;
    *) qt_nok "cluster: unknown topology $topo"; return ;;
  esac
  rm -rf "$w"; mkdir -p "$w"; cp -r "$inv" "$w/inventory"
  # a MAC per host when the inventory has none (the harness's own range)
  local i=16 h
  for h in $(/usr/bin/python3 -c 'import sys,yaml; print(" ".join(yaml.safe_load(open(sys.argv[1]))["all"]["hosts"]))' "$w/inventory/hosts.yaml"); do
    grep -q "^    $h:\$" "$w/inventory/hosts.yaml" && ! sed -n "/^    $h:\$/,/^    [^ ]/p" "$w/inventory/hosts.yaml" | grep nodeos_mac >/dev/null &&
      sed -i "/^    $h:\$/a\\      nodeos_mac: 52:54:00:52:00:$i" "$w/inventory/hosts.yaml"
    i=$((i + 1))
  done
  if ! "$BUILD/nodeos-seedgen" "$w/inventory" "$w/seeds" >"$w/seedgen.log" 2>&1; then
    qt_nok "$topo: nodeos-seedgen"; sed 's/^/# /' "$w/seedgen.log"; return; fi
  local seeds=$w/seeds master_seed api lbseed
  master_seed=$(awk -F'\t' '!/^#/ && $3 == "master" {print $1}' "$seeds/nodes.tsv")
  lbseed=$(awk -F'\t' '!/^#/ && $3 == "lb" {print $1}' "$seeds/nodes.tsv")
  api=$(yaml_get "$seeds/seeds/$master_seed/user-data" cluster.advertise_address)
  yaml_get "$seeds/seeds/$master_seed/user-data" cluster.token >"$w/token"; chmod 600 "$w/token"
  local secret; secret=$(cut -d. -f2 "$w/token")
  local mqtt_addrs; mqtt_addrs=$(yaml_get "$seeds/seeds/$lbseed/user-data" lb.mqtt_nodes | /usr/bin/python3 -c 'import sys,json; print(" ".join(n["address"] for n in json.load(sys.stdin)))')

  api_cert "$seeds" "$w" "$api" || { qt_nok "$topo: API certificate"; return; }

  qt_net_up 192.168.0.1/24 || { qt_nok "$topo: private network"; return; }
  qt_net_run /usr/bin/python3 qemu-tests/standin/kube-api-standin.py --listen 192.168.0.1:6443 --port-file "$w/api.port" \
    --log "$w/api-log.json" --tls-cert "$w/apiserver.crt" --tls-key "$w/apiserver.key" --client-ca "$seeds/ca.crt" \
    --cluster-info-server "https://$api:6443" --bootstrap-token-file "$w/token" --crd-delay 1 2>"$w/api-standin.log"

  # per node: seed ISO, overlay, and an action that looks for the secret
  local host addr role mac rest
  local -a order=()
  while IFS=$'\t' read -r host addr role mac rest; do
    case $host in \#*|'') continue ;; esac
    local kinds=()
    [ "$role" != lb ] && kinds+=(k8s)
    [ "$role" = master ] && kinds+=(master)
    grep -qw "$addr" <<<"$mqtt_addrs" && kinds+=(mqtt)
    overlay_tree "$w/overlay-$host" "${kinds[@]}"
    qt_extra_layer "$w/overlay-$host" "$w/overlay-$host.sqfs"
    mkdir -p "$w/seed-$host"; cp "$seeds/seeds/$host"/{meta-data,user-data} "$w/seed-$host/"
    qt_seed_iso "$w/seed-$host" "$w/$host.iso"
    # the probe's action: is the token's secret anywhere on the node? (the
    # pattern goes through a file: on a command line it would find itself)
    printf 'printf "%%s\\n" "%s" >/run/qtest-secret\nn=$(grep -lsF -f /run/qtest-secret /proc/[0-9]*/cmdline | wc -l)\nj=$(journalctl -b --no-pager 2>/dev/null | grep -cF -f /run/qtest-secret)\necho "secret_cmdline=$n secret_journal=$j" >/dev/ttyS1\n' "$secret" >"$w/action-$host.sh"
    if [ "$role" = master ]; then order+=("$host $addr $role $mac"); else order=("$host $addr $role $mac" "${order[@]}"); fi
  done <"$seeds/nodes.tsv"

  # workers (and the lb) first; the master a minute later
  local t0=$SECONDS line
  for line in "${order[@]}"; do
    read -r host addr role mac <<<"$line"
    [ "$role" = master ] && sleep 60
    QT_SMP=1 QT_MEM=1536 QT_MAC=${mac//-/:} QT_EXTRA=$w/overlay-$host.sqfs QT_ACTION=$w/action-$host.sh \
      qt_boot "$topo-$host" "$(qt_image "$role")" "$w/$host.iso"
  done
  for line in "${order[@]}"; do
    read -r host addr role mac <<<"$line"
    if qt_wait "$topo-$host" 'NODEOS-AGENT: SUCCESS' 1200; then qt_ok "$topo: $host ($role) completes ($((SECONDS - t0)) s)"
    else qt_nok "$topo: $host ($role) did not complete"; fi
  done
  for line in "${order[@]}"; do read -r host _ <<<"$line"; qt_probe_wait "$topo-$host" 300; done

  # joins: the workers waited for the master, then joined with the pinned hash
  for line in "${order[@]}"; do
    read -r host addr role mac <<<"$line"
    case $role in master|lb) continue ;; esac
    local kl; kl=$(grep -a 'step=kubeadm ' "$QT_OUT/$topo-$host/serial.log" | tail -1)
    qt_check "$topo: $host joined ($(sed 's/.*status=//' <<<"$kl" | cut -c1-120))" grep -q 'status=done' <<<"$kl"
    local el; el=$(sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p' <<<"$kl")
    qt_check "$topo: $host waited for its master before joining (${el:-?} ms in the kubeadm step)" test "${el:-0}" -ge 20000
  done

  # what the API stand-in saw
  /usr/bin/python3 - "$w/api-log.json" "$seeds/nodes.tsv" "$topo" >"$w/api-checks.tap" <<'PY'
import json, sys
log = json.load(open(sys.argv[1])); topo = sys.argv[3]
nodes = [l.split("\t") for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
groups = {"dojot": "dojot", "kafka": "kafka", "x509": "x509", "verne": "vernemq"}
def ok(c, m): print(("ok" if c else "not ok") + " - " + topo + ": " + m)
final = {}
for e in log:
    if e["kind"] == "Node":
        o = final.setdefault(e["name"], {})
        o.update((e["object"].get("metadata") or {}).get("labels") or {})
for host, addr, role, *_ in nodes:
    if role == "lb":
        continue
    ok(host in final, "node %s registered with the API" % host)
    if role in groups:
        want = groups[role] if topo != "few-devices" else "dojot"
        got = final.get(host, {}).get("dojot.components/group")
        ok(got == want, "node %s carries dojot.components/group=%s (got %s)" % (host, want, got))
kinds = [(e["kind"], e["name"]) for e in log if e["kind"] != "Node" and e["result"] in (200, 201)]
idx = lambda k: next((i for i, (kk, _) in enumerate(kinds) if kk == k), -1)
pvs = [n for k, n in kinds if k == "PersistentVolume"]
ok(idx("StorageClass") >= 0 and ("StorageClass", "local-storage") in kinds, "StorageClass local-storage applied")
ok(sorted(pvs) == sorted(["local-pv-kong", "local-pv-kafka", "local-pv-kafka-ws", "local-pv-minio", "local-pv-mongo",
   "local-pv-postgres", "local-pv-prometheus", "local-pv-x509-identity-mgmt", "local-pv-zk-data", "local-pv-zk-log"]),
   "the ten local PVs applied (%d: %s)" % (len(pvs), ",".join(pvs)))
first_pv = min((i for i, (k, _) in enumerate(kinds) if k == "PersistentVolume"), default=-1)
ok(0 <= idx("DaemonSet") < idx("StorageClass") < first_pv, "order: flannel, then the StorageClass, then the PVs")
dojot = [i for i, (k, n) in enumerate(kinds) if k in ("Deployment", "StatefulSet")]
ok(dojot and min(dojot) > first_pv, "the dojot workloads after the volumes (%d)" % len(dojot))
bad = [e for e in log if e["result"] not in (200, 201)]
ok(not bad, "no object refused by the API stand-in (%s)" % ";".join("%s %s: %s" % (e["kind"], e["name"], e["result"]) for e in bad[:3]))
json.dump([e["object"] for e in log if e["kind"] != "Node" and e["result"] in (200, 201)], open(sys.argv[1] + ".objects", "w"))
PY
  while read -r l; do case $l in "ok - "*) qt_ok "${l#ok - }" ;; *) qt_nok "${l#not ok - }" ;; esac; done <"$w/api-checks.tap"
  local mods=$BUILD/schema-node
  # the pinned validator, installed as tests/integration/manifests-schema.sh does
  if ! cmp -s tests/schema/package-lock.json "$mods/package-lock.json" || [ ! -d "$mods/node_modules/kubernetes-models" ]; then
    rm -rf "$mods"; mkdir -p "$mods"; cp tests/schema/package.json tests/schema/package-lock.json "$mods/"
    npm ci --prefix "$mods" --no-audit --no-fund --loglevel=error >"$w/npm.log" 2>&1
  fi
  if [ -d "$mods/node_modules/kubernetes-models" ]; then
    if [ "$(jq length "$w/api-log.json.objects")" -gt 0 ] &&
       node tests/schema/validate.js "$mods/node_modules" "$topo" "$w/api-log.json.objects" >"$w/schema.log" 2>&1; then
      qt_ok "$topo: every applied object ($(jq length "$w/api-log.json.objects")) is valid against the Kubernetes schemas (strict): $(head -1 "$w/schema.log")"
    else qt_nok "$topo: schema validation: $(grep -m3 'not ok' "$w/schema.log" | tr '\n' ';')"; fi
  else qt_nok "$topo: npm ci of the schema validator"; fi

  # secrets: not on any console, journal or command line
  for line in "${order[@]}"; do
    read -r host _ <<<"$line"
    local leaks; leaks=$(grep -acF -f <(cut -d. -f2 "$w/token") "$QT_OUT/$topo-$host/serial.log")
    qt_check "$topo: $host: the token's secret is not on its console ($leaks lines)" test "$leaks" = 0
    local f; f=$(grep -a '^secret_cmdline=' "$QT_OUT/$topo-$host/probe.log" | tr -d '\r')
    qt_check "$topo: $host: the secret is in no /proc/*/cmdline and not in the journal ($f)" test "$f" = "secret_cmdline=0 secret_journal=0"
  done

  # MQTT through the lb to the broker on NodePort 30004
  local lbaddr; lbaddr=$(awk -F'\t' '!/^#/ && $3 == "lb" {print $2}' "$seeds/nodes.tsv")
  ip netns exec "$QT_NETNS" timeout 90 mosquitto_sub -h "$lbaddr" -p 1883 -t qtest/hello -C 1 -W 80 >"$w/mqtt.out" 2>"$w/mqtt.err" &
  local sub=$! tries=0
  sleep 2
  while [ $tries -lt 30 ] && ! [ -s "$w/mqtt.out" ]; do
    ip netns exec "$QT_NETNS" mosquitto_pub -h "$lbaddr" -p 1883 -t qtest/hello -m "hello from the harness via $lbaddr" 2>>"$w/mqtt.err"
    sleep 2; tries=$((tries + 1))
  done
  wait $sub
  qt_check "$topo: an MQTT client reaches the broker on NodePort 30004 through the lb's 1883 ($(head -c 80 "$w/mqtt.out"))" grep -q 'hello from the harness' "$w/mqtt.out"

  for line in "${order[@]}"; do read -r host addr role _ <<<"$line"; qt_check "$topo: $host: built artifact unchanged" qt_stop "$topo-$host" "$(qt_image "$role")"; done
  qt_net_down
}

STANDIN=$QT_OUT/standin
qemu-tests/standin/build.sh "$STANDIN" >/dev/null || { qt_nok "cluster: build the stand-ins"; qt_done; exit 1; }
for t in "${topos[@]}"; do run_topology "$t"; done
qt_done
