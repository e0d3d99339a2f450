#!/usr/bin/env bash
# Joining later (cloud-init/FLEET.md, "Day 2"), with the bootstrap token
# semantics of a real cluster: the API stand-in
# (qemu-tests/standin/kube-api-standin.py) keeps tokens as
# bootstrap-token-<id> Secrets and signs cluster-info only with the ones
# the bootstrap signer would use now; the kubeadm stand-in does kubeadm's
# token discovery against it with the join configuration the agent renders
# from the seeds nodeos-seedgen writes.
#   - the first rollout's token joins while it is valid, and no longer
#     once it expired (its signature is gone, as tokencleaner would have it)
#   - a rerun that adds a verne node writes tokens/bootstrap-token-<id>.yaml;
#     the new node cannot join before that Secret is applied, and joins
#     after (the Secret POSTed as `kubectl apply -f` creates it)
#   - the API refuses a token Secret with an unknown field or bad base64,
#     and a Secret with a passed expiration signs nothing
# TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
scratch
for t in openssl python3 curl; do command -v "$t" >/dev/null || { nok "$t is missing (tools/install-deps test)"; tap_end; exit; }; done

if ! qemu-tests/standin/build.sh "$tmp/bin" >"$tmp/build.log" 2>&1; then
  nok "stand-ins build: $(tail -3 "$tmp/build.log")"; tap_end; exit
fi
KUBEADM=$tmp/bin/kubeadm-standin

# the first rollout, its tokens living 15 s (time enough for one join here)
inv=$tmp/inv out=$tmp/rollout
cp -r qemu-tests/fixtures/inventories/100k-small "$inv"
if "$SEEDGEN" --roles-dir "$ROLES" --token-ttl 15s "$inv" "$out" >"$tmp/first.log" 2>&1; then ok "first rollout (--token-ttl 15s)"
else nok "first rollout: $(tail -3 "$tmp/first.log")"; tap_end; exit; fi
ud() { sed -n "s/^  $2: \"\\{0,1\\}\\([^\"]*\\)\"\\{0,1\\}\$/\\1/p" "$out/seeds/$1/user-data" | sed -n 1p; }
ud master-host token >"$tmp/init.token"; chmod 600 "$tmp/init.token"
init_expires=$(ud master-host token_expires)

# the API stand-in as the master's API server: its certificate from the rollout's CA
port=$((20000 + RANDOM % 20000))
openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/api.key" -subj /CN=kube-apiserver -out "$tmp/api.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$tmp/api.ext"
openssl x509 -req -in "$tmp/api.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial -days 1 -extfile "$tmp/api.ext" \
  -out "$tmp/api.crt" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/admin.key" -subj "/O=system:masters/CN=kubernetes-admin" -out "$tmp/admin.csr" 2>/dev/null
openssl x509 -req -in "$tmp/admin.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial -days 1 -out "$tmp/admin.crt" 2>/dev/null
chmod 600 "$tmp"/*.key
python3 qemu-tests/standin/kube-api-standin.py --listen "127.0.0.1:$port" --port-file "$tmp/api.port" --log "$tmp/api.json" \
  --tls-cert "$tmp/api.crt" --tls-key "$tmp/api.key" --client-ca "$out/ca.crt" \
  --cluster-info-server "https://127.0.0.1:$port" --bootstrap-token-file "$tmp/init.token" \
  --bootstrap-token-expires "$init_expires" 2>"$tmp/api.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/api.port" ] && break; sleep 0.1; done
check "the API stand-in listens on 127.0.0.1:$port" test -s "$tmp/api.port"

# join HOST: the kubeadm stand-in joins with the configuration the agent
# renders from HOST's seed (endpoint moved to the stand-in, discovery
# timeout 4 s instead of 5 min); output in $tmp/join-HOST.out
join() {
  local host=$1 root=$tmp/root-$1
  rm -rf "$root"; mkdir -p "$root"
  "$AGENT" run --root "$root" --seed "$out/seeds/$host" --roles-dir "$ROLES" >"$root.log" 2>&1 ||
    { echo "node-agent run --root: $(tail -2 "$root.log")" >"$tmp/join-$host.out"; return 2; }
  sed -e "s/apiServerEndpoint: .*/apiServerEndpoint: \"127.0.0.1:$port\"/" -e 's/^  timeout: 5m0s$/  timeout: 4s/' \
    "$root/etc/kubernetes/nodeos/kubeadm-join.yaml" >"$root/join.yaml"
  KUBEADM_STANDIN_ROOT=$root/jroot "$KUBEADM" join --config "$root/join.yaml" >"$tmp/join-$host.out" 2>&1
}
joined() { join "$1" && grep -q 'This node has joined the cluster' "$tmp/join-$1.out"; }
refused_expired() { ! join "$1" && grep -q "is invalid for this cluster or it has expired" "$tmp/join-$1.out"; }

if joined first-verne-worker-host; then ok "a node of the first rollout joins with the init token before it expires"
else nok "first join: $(tail -2 "$tmp/join-first-verne-worker-host.out")"; fi

# a month later, as far as the token is concerned
now=$(date +%s); exp=$(date -d "$init_expires" +%s)
[ "$exp" -ge "$now" ] && sleep $((exp - now + 1))
if refused_expired first-verne-worker-host; then ok "after its expiration the init token no longer joins (no cluster-info signature)"
else nok "an expired token joined or failed otherwise: $(tail -2 "$tmp/join-first-verne-worker-host.out")"; fi
grep -q "not signing with bootstrap-token-.*: expired at $init_expires" "$tmp/api.err" &&
  ok "the stand-in's signer says why it dropped the init token" || nok "no signer line for the expired init token"

# the rerun that adds second-verne-worker-host (a verne node, an MQTT backend)
qemu-tests/fixtures/edit-inventory.py add "$inv/hosts.yaml" second_verne_worker_host 192.168.0.15 52:54:00:51:00:15
if make --no-print-directory BUILD="$BUILD" seeds INVENTORY="$inv" SEEDS_OUT="$out" SEEDGEN_FLAGS="--roles-dir $ROLES --token-ttl 1h" >"$tmp/grow.log" 2>&1; then
  ok "the rerun with second_verne_worker_host added"
else nok "rerun: $(tail -3 "$tmp/grow.log")"; fi
secret_file=$(sed -n 's/^ *kubectl apply -f \(.*\)$/\1/p' "$tmp/grow.log" | sed -n 1p)
check "the rerun names the token Secret to apply ($secret_file), 0600" test "$(stat -c %a "$secret_file" 2>/dev/null)" = 600
grep -q '^second_verne_worker_host .* new ' "$tmp/grow.log" && grep -q '^haproxy .* changed ' "$tmp/grow.log" &&
  ok "the rerun says: second verne new, lb changed" || nok "rerun table: $(grep -E '^(second|haproxy)' "$tmp/grow.log" | tr -s ' ' | tr '\n' ';')"

if refused_expired second-verne-worker-host; then ok "the new node cannot join before its token is registered"
else nok "the new node joined (or failed otherwise) before its Secret was applied: $(tail -2 "$tmp/join-second-verne-worker-host.out")"; fi

# kubectl apply -f FILE: discovery, then a POST of the object to its collection
api() {  # METHOD PATH [JSON-FILE] -> body on stdout, HTTP status in $tmp/code
  local args=(-s -o "$tmp/body" -w '%{http_code}' --cacert "$out/ca.crt" --cert "$tmp/admin.crt" --key "$tmp/admin.key" -X "$1")
  [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "@$3")
  curl "${args[@]}" "https://127.0.0.1:$port$2" >"$tmp/code"; cat "$tmp/body"
}
yaml2json() { python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$1"; }
yaml2json "$secret_file" >"$tmp/secret.json"
api POST /api/v1/namespaces/kube-system/secrets "$tmp/secret.json" >/dev/null
check "the token Secret is created (201)" test "$(cat "$tmp/code")" = 201
api POST /api/v1/namespaces/kube-system/secrets "$tmp/secret.json" >/dev/null
check "a second create is a conflict (409), as the API says" test "$(cat "$tmp/code")" = 409
if joined second-verne-worker-host; then ok "with its Secret applied, the new node joins (discovery: signature and CA pin)"
else nok "the new node did not join: $(tail -2 "$tmp/join-second-verne-worker-host.out")"; fi
grep -q -- '--node-labels=dojot.components/group=vernemq' "$tmp/root-second-verne-worker-host/jroot/var/lib/kubelet/kubeadm-flags.env" 2>/dev/null &&
  ok "the new node's kubelet flags carry dojot.components/group=vernemq" || nok "no group label in the new node's kubelet flags"
tid=$(basename "$secret_file" .yaml); tid=${tid#bootstrap-token-}
api GET /api/v1/namespaces/kube-public/configmaps/cluster-info | python3 -c 'import json,sys; print(" ".join(sorted(k for k in json.load(sys.stdin)["data"] if k.startswith("jws-"))))' >"$tmp/jws"
check "cluster-info is signed for the new token only ($(cat "$tmp/jws"))" test "$(cat "$tmp/jws")" = "jws-kubeconfig-$tid"
! grep -qF "$(sed -n 's/^  token-secret: "\(.*\)"$/\1/p' "$secret_file")" "$tmp/api.json" "$tmp/api.err" &&
  ok "the token secret is in neither the stand-in's object log nor its output" || nok "the token secret leaked into the stand-in's log"

# what the API refuses, and a Secret the signer skips
mutate() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); exec(sys.argv[2]); print(json.dumps(d))' "$tmp/secret.json" "$1" >"$tmp/m.json"; }
mutate 'd["metadata"]["name"]="bootstrap-token-aaaaaa"; d["stringData"]["token-id"]="aaaaaa"; d["strigData"]=d["stringData"]'
api POST /api/v1/namespaces/kube-system/secrets "$tmp/m.json" >"$tmp/m.out"
check "a Secret with an unknown field (strigData) is refused, naming it ($(cat "$tmp/code"))" grep -q 'unknown field \\"strigData\\"' "$tmp/m.out"
mutate 'd["metadata"]["name"]="bootstrap-token-bbbbbb"; d["data"]={"token-id":"not base64!"}; del d["stringData"]'
api POST /api/v1/namespaces/kube-system/secrets "$tmp/m.json" >"$tmp/m.out"
check "a Secret whose data is not base64 is refused ($(cat "$tmp/code"))" grep -q 'illegal base64 data' "$tmp/m.out"
mutate 'd["metadata"]["name"]="bootstrap-token-cccccc"; d["stringData"]["token-id"]="cccccc"; d["stringData"]["expiration"]="2020-01-01T00:00:00Z"'
api POST /api/v1/namespaces/kube-system/secrets "$tmp/m.json" >/dev/null
api GET /api/v1/namespaces/kube-public/configmaps/cluster-info >"$tmp/ci.json"
if [ "$(cat "$tmp/code")" = 200 ] && ! grep -q 'jws-kubeconfig-cccccc' "$tmp/ci.json"; then ok "a token Secret already expired is stored but signs nothing"
else nok "an expired token Secret signed cluster-info"; fi

tap_end
