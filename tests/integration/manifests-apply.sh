#!/usr/bin/env bash
# The master's manifests and node-labels steps, driven through the real
# node-agent binary against the Kubernetes API stand-in
# (qemu-tests/standin/kube-api-standin.py: strict, HTTPS with client
# certificates, records every object written) on loopback. TAP.
#
# The agent is pointed at the stand-in with NODEOS_KUBECONFIG (a kubeconfig
# built here with base64 CA/cert/key like kubeadm's admin.conf), and uses a
# copy of the role catalog whose master retries are shortened (data only:
# attempts/delays in role.yaml).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
STANDIN=qemu-tests/standin/kube-api-standin.py
tmp=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"; }
trap cleanup EXIT

for t in openssl python3 "$AGENT"; do
  command -v "$t" >/dev/null || [ -x "$t" ] || { echo "1..0 # SKIP $t missing"; exit 0; }
done

# --- PKI: a CA, the server's cert for 127.0.0.1, the admin client cert ---
pki=$tmp/pki; mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=standin-ca -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
mkcert() { # name subject [san]
  openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
  if [ -n "${3:-}" ]; then printf 'subjectAltName=%s\n' "$3" >"$pki/$1.ext"; else : >"$pki/$1.ext"; fi
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
    -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
}
mkcert server /CN=kube-apiserver IP:127.0.0.1
mkcert admin "/O=system:masters/CN=kubernetes-admin"
chmod 600 "$pki"/*.key

# start_standin NAME [args...]: sets $port, log in $tmp/NAME.json
start_standin() {
  local name=$1; shift
  rm -f "$tmp/$name.port"
  python3 "$STANDIN" --port-file "$tmp/$name.port" --log "$tmp/$name.json" --tls-cert "$pki/server.crt" \
    --tls-key "$pki/server.key" --client-ca "$pki/ca.crt" "$@" 2>"$tmp/$name.err" &
  pids+=($!)
  for _ in $(seq 50); do [ -s "$tmp/$name.port" ] && break; sleep 0.1; done
  port=$(cat "$tmp/$name.port")
}

# kubeconfig PORT FILE [with-client-cert]
kubeconfig() {
  local b64="base64 -w0"
  { echo "apiVersion: v1"; echo "kind: Config"
    echo "clusters:"; echo "- name: kubernetes"; echo "  cluster:"
    echo "    server: https://127.0.0.1:$1"; echo "    certificate-authority-data: $($b64 <"$pki/ca.crt")"
    echo "contexts:"; echo "- name: kubernetes-admin@kubernetes"; echo "  context: {cluster: kubernetes, user: kubernetes-admin}"
    echo "current-context: kubernetes-admin@kubernetes"
    echo "users:"; echo "- name: kubernetes-admin"; echo "  user:"
    if [ "${3:-yes}" = yes ]; then
      echo "    client-certificate-data: $($b64 <"$pki/admin.crt")"; echo "    client-key-data: $($b64 <"$pki/admin.key")"
    else echo "    token: not-a-client-cert"; fi
  } >"$2"
  chmod 600 "$2"
}

# a role catalog whose master retries fast (role data, not code)
cp -r roles "$tmp/roles"
sed -i -e 's/^  attempts: 30$/  attempts: 3/' -e 's/^  delay_s: 10$/  delay_s: 1/' \
       -e 's/^  label_attempts: 60$/  label_attempts: 2/' -e 's/^  label_delay_s: 10$/  label_delay_s: 1/' "$tmp/roles/master/role.yaml"
check "shortened retries are in the test catalog" grep -qx '  attempts: 3' "$tmp/roles/master/role.yaml"

run_master() { # root seed kubeconfig -> log in root.log
  NODEOS_KUBECONFIG=$3 "$AGENT" run --root "$1" --seed "$2" --roles-dir "$tmp/roles" >"$1.log" 2>&1
}
step_line() { grep "step=$2 " "$1.log"; }
jq_py() { local f=$1 code=$2; shift 2; python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $code" "$f" "$@"; }

# --- 1. few-devices (vernemq): everything applied in order, nodes labelled ---
start_standin few --node master --node dojot --crd-delay 1.5
kubeconfig "$port" "$tmp/few.kubeconfig"
root=$tmp/few; mkdir -p "$root"
if run_master "$root" cloud-init/examples/few-devices/master "$tmp/few.kubeconfig"; then ok "few-devices: master run succeeds against the stand-in"
else nok "few-devices: master run failed: $(tail -3 "$root.log")"; fi
step_line "$root" manifests | grep 'status=done' >/dev/null && ok "few-devices: manifests step done" || nok "few-devices: manifests: $(step_line "$root" manifests)"
objs=$root/etc/kubernetes/nodeos/manifests/objects.json
# the stand-in's log, in order, is exactly objects.json (CRD retry included)
if jq_py "$tmp/few.json" "o=json.load(open(sys.argv[2])); w=[(e['kind'],e['name']) for e in d if e['kind']!='Node']; \
    x=[(a['kind'],a['metadata']['name']) for a in o]; sys.exit(0 if w==x and len(w)>60 else 1)" "$objs"; then
  ok "few-devices: the API received every rendered object, in apply order"
else nok "few-devices: applied objects differ from objects.json"; fi
check "few-devices: the VerneMQ CR waited for its CRD to be served" grep -q 'VerneMQ k8s: .*not served.*(attempt 1/3)' "$root.log"
check "few-devices: flannel's DaemonSet created first of the workloads" \
  jq_py "$tmp/few.json" "k=[e['kind'] for e in d]; sys.exit(0 if k.index('DaemonSet')<k.index('StorageClass')<k.index('PersistentVolume')<k.index('Namespace') else 1)"
check "few-devices: the ten PVs reached the API pinned to dojot" \
  jq_py "$tmp/few.json" "p=[e['object'] for e in d if e['kind']=='PersistentVolume']; \
    sys.exit(0 if len(p)==10 and all(x['spec']['nodeAffinity']['required']['nodeSelectorTerms'][0]['matchExpressions'][0]['values']==['dojot'] for x in p) else 1)"
step_line "$root" node-labels | grep 'status=done.*1 node(s) carry dojot.components/group (1 changed)' >/dev/null \
  && ok "few-devices: the dojot worker labelled (the master has no group)" || nok "few-devices: node-labels: $(step_line "$root" node-labels)"
check "few-devices: the stand-in's node dojot carries the label" \
  curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "https://127.0.0.1:$port/api/v1/nodes/dojot" -o "$tmp/node.json"
check "few-devices: label value dojot" jq_py "$tmp/node.json" "sys.exit(0 if d['metadata']['labels']['dojot.components/group']=='dojot' else 1)"

check "few-devices: kured is optional: not applied without cluster.kured" \
  jq_py "$tmp/few.json" "sys.exit(0 if not [e for e in d if e['name']=='kured'] else 1)"

# a second apply (fresh state) changes nothing
root2=$tmp/few-again; mkdir -p "$root2"
run_master "$root2" cloud-init/examples/few-devices/master "$tmp/few.kubeconfig"
step_line "$root2" manifests | grep -E 'status=done .*\(0 created, 0 updated, [0-9]+ unchanged\)' >/dev/null \
  && ok "few-devices: re-applying is idempotent (all unchanged)" || nok "few-devices: re-apply: $(step_line "$root2" manifests)"
step_line "$root2" node-labels | grep '(0 changed)' >/dev/null && ok "few-devices: labels already right" || nok "few-devices: relabel: $(step_line "$root2" node-labels)"

# the stand-in is strict: malformed JSON, unknown kinds, a PATCH that is not a merge patch
api() { curl -s -o /dev/null -w '%{http_code}' --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$@"; }
check "stand-in: malformed JSON is 400" test "$(api -X POST -H 'Content-Type: application/json' -d '{"apiVersion":' "https://127.0.0.1:$port/api/v1/namespaces")" = 400
check "stand-in: an unknown kind is 404" test "$(api -X POST -H 'Content-Type: application/json' -d '{}' "https://127.0.0.1:$port/apis/example.com/v1/widgets")" = 404
check "stand-in: a strategic merge patch is 415" test "$(api -X PATCH -H 'Content-Type: application/strategic-merge-patch+json' -d '{}' "https://127.0.0.1:$port/api/v1/nodes/dojot")" = 415
check "stand-in: no client certificate, no answer" test "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$pki/ca.crt" "https://127.0.0.1:$port/version")" = 000

# --- 2. 100k with insecure MQTT off; one verne node never registers -------
start_standin hk --node master --node dojot --node kafka --node x509 --node verne-1 --node verne-2
kubeconfig "$port" "$tmp/hk.kubeconfig"
seed=$tmp/seed-100k; cp -r cloud-init/examples/master "$seed"
sed -i 's/dojot_insecure_mqtt: "true"/dojot_insecure_mqtt: "false"/' "$seed/user-data"
root=$tmp/hk; mkdir -p "$root"
run_master "$root" "$seed" "$tmp/hk.kubeconfig"
step_line "$root" manifests | grep 'status=done .*variant 100k' >/dev/null && ok "100k: manifests applied" || nok "100k: manifests: $(step_line "$root" manifests)"
check "100k: vernemq-k8s-external-service has only 8883 -> 30005" \
  jq_py "$tmp/hk.json" "s=[e['object'] for e in d if e['name']=='vernemq-k8s-external-service'][0]; \
    sys.exit(0 if s['spec']['ports']==[{'name':'mqtts','port':8883,'nodePort':30005}] and s['spec']['externalTrafficPolicy']=='Local' else 1)"
check "100k: VerneMQ size 3, bridges 9" \
  jq_py "$tmp/hk.json" "o={e['name']:e['object'] for e in d}; sys.exit(0 if o['k8s']['spec']['size']==3 and o['v2k-bridge']['spec']['replicas']==9 else 1)"
if step_line "$root" node-labels | grep 'status=failed.*5 of 6 node(s) labelled.*verne-3' >/dev/null; then ok "100k: an unregistered node fails node-labels, naming it"
else nok "100k: node-labels: $(step_line "$root" node-labels)"; fi
check "100k: the run ends FAILED" grep -q 'NODEOS-AGENT: FAILED' "$root.log"
check "100k: verne-1 labelled vernemq" \
  curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "https://127.0.0.1:$port/api/v1/nodes/verne-1" -o "$tmp/v1.json"
check "100k: verne-1 label value" jq_py "$tmp/v1.json" "sys.exit(0 if d['metadata']['labels']['dojot.components/group']=='vernemq' else 1)"

# --- 3. a rejected object fails the step at once, naming file:line ---------
start_standin clash --node dojot
kubeconfig "$port" "$tmp/clash.kubeconfig"
# another Service already holds NodePort 30001: the API refuses kong-external
curl -s --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" -H 'Content-Type: application/json' \
  -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"squatter","namespace":"default"},"spec":{"type":"NodePort","ports":[{"port":1,"nodePort":30001}]}}' \
  "https://127.0.0.1:$port/api/v1/namespaces/default/services" >/dev/null
root=$tmp/clash; mkdir -p "$root"
start=$(date +%s)
run_master "$root" cloud-init/examples/few-devices/master "$tmp/clash.kubeconfig"
if step_line "$root" manifests | grep 'status=failed.*21-apigw.yaml:[0-9]*: Service kong-external not applied: Service kong-external: HTTP 422: .*already allocated' >/dev/null; then
  ok "a 422 fails the step with file:line and the API's message"; else nok "clash: $(step_line "$root" manifests)"; fi
check "a 422 is not retried" test $(( $(date +%s) - start )) -lt 10

# --- 4. no client certificate: the API refuses, the step fails -------------
kubeconfig "$port" "$tmp/nocert.kubeconfig" no
root=$tmp/nocert; mkdir -p "$root"
run_master "$root" cloud-init/examples/few-devices/master "$tmp/nocert.kubeconfig"
step_line "$root" manifests | grep 'status=failed.*did not answer' >/dev/null && ok "without a client certificate the step fails, never done" \
  || nok "nocert: $(step_line "$root" manifests)"

# --- 5. kured on: its six objects, after dojot's, accepted by the strict API --
start_standin kured --node master --node dojot
kubeconfig "$port" "$tmp/kured.kubeconfig"
seed=$tmp/seed-kured; cp -r cloud-init/examples/few-devices/master "$seed"
sed -i 's/^cluster:$/cluster:\n  kured: true/' "$seed/user-data"
root=$tmp/kured; mkdir -p "$root"
run_master "$root" "$seed" "$tmp/kured.kubeconfig"
step_line "$root" manifests | grep 'status=done' >/dev/null && ok "kured: manifests done with cluster.kured: true" || nok "kured: $(step_line "$root" manifests)"
check "kured: ServiceAccount, ClusterRole, ClusterRoleBinding, Role, RoleBinding, DaemonSet, last of all" \
  jq_py "$tmp/kured.json" "k=[(e['kind'],e['name']) for e in d if e['kind']!='Node'][-6:]; \
    sys.exit(0 if k==[('ServiceAccount','kured'),('ClusterRole','kured'),('ClusterRoleBinding','kured'),('Role','kured'),('RoleBinding','kured'),('DaemonSet','kured')] else 1)"
check "kured: the DaemonSet in kube-system runs the preloaded weaveworks/kured:1.5.0, on the master too, with node-agent's sentinel and a lock TTL" \
  jq_py "$tmp/kured.json" "o=[e['object'] for e in d if e['kind']=='DaemonSet' and e['name']=='kured'][0]; s=o['spec']['template']['spec']; c=s['containers'][0]; \
    sys.exit(0 if o['metadata']['namespace']=='kube-system' and c['image']=='weaveworks/kured:1.5.0' and c['imagePullPolicy']=='IfNotPresent' \
      and s['hostPID'] and '--reboot-sentinel=/var/run/reboot-required' in c['command'] and '--annotation-ttl=1h' in c['command'] \
      and s['tolerations']==[{'key':'node-role.kubernetes.io/master','effect':'NoSchedule'}] else 1)"
check "kured: the lock is the only thing it may update (Role: daemonsets/kured, verb update)" \
  jq_py "$tmp/kured.json" "o=[e['object'] for e in d if e['kind']=='Role' and e['name']=='kured'][0]; \
    sys.exit(0 if o['rules']==[{'apiGroups':['apps'],'resources':['daemonsets'],'resourceNames':['kured'],'verbs':['update']}] else 1)"
check "kured: every cluster role's image preloads weaveworks/kured:1.5.0" \
  bash -c 'for r in master dojot kafka x509 verne; do grep -qx "weaveworks/kured:1.5.0" "roles/$r/images" || exit 1; done; ! grep -q kured roles/lb/images'
sed -i 's/^  kured: true$/  kured: "yes"/' "$seed/user-data"
"$AGENT" validate --roles-dir roles "$seed" >"$tmp/kured-bad.out" 2>&1
check "kured: a non-bool cluster.kured is refused at its line" grep -q "user-data:[0-9]*:[0-9]*: cluster.kured" "$tmp/kured-bad.out"
wseed=$tmp/seed-kured-worker; cp -r cloud-init/examples/few-devices/dojot "$wseed"
sed -i 's/^cluster:$/cluster:\n  kured: true/' "$wseed/user-data"
"$AGENT" validate --roles-dir roles "$wseed" >"$tmp/kured-worker.out" 2>&1
check "kured: cluster.kured in a worker's seed is refused, naming where it belongs" \
  grep -q "user-data:[0-9]*:[0-9]*: cluster.kured: role dojot applies no cluster manifests; set it in the master's seed" "$tmp/kured-worker.out"

# --- 6. no kubeconfig: skipped with the reason, manifests still written ---
root=$tmp/offline; mkdir -p "$root"
"$AGENT" run --root "$root" --seed cloud-init/examples/few-devices/master --roles-dir "$tmp/roles" >"$root.log" 2>&1
step_line "$root" manifests | grep 'status=skipped.*not applied: --root' >/dev/null && ok "no kubeconfig: manifests skipped with the reason" || nok "offline: $(step_line "$root" manifests)"
check "no kubeconfig: rendered manifests written" test -s "$root/etc/kubernetes/nodeos/manifests/00-flannel.yaml"
check "no kubeconfig: no secret in the written manifests" bash -c "! grep -rq 'PRIVATE KEY' '$root/etc/kubernetes/nodeos/manifests'"
check "stand-in says it is a stand-in" grep -q 'NOT Kubernetes' "$tmp/few.err"

tap_end
