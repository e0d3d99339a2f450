#!/usr/bin/env bash
# Every dojot variant's manifests, rendered by the real agent
# (`node-agent run --root`, which writes objects.json: the exact objects it
# would send to the API), validated against the Kubernetes JSON schemas of
# the npm package kubernetes-models in strict mode (unknown fields are
# errors; tests/schema/validate.js). The pinned packages
# (tests/schema/package.json + package-lock.json) are installed with
# `npm ci` into $BUILD/schema-node, not the source tree. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

for t in node npm; do command -v $t >/dev/null || { echo "1..0 # SKIP $t missing (apt-get install nodejs npm)"; exit 0; }; done

# --- the schemas: pinned, installed once per lock file ------------------------
mods=$BUILD/schema-node
if ! cmp -s tests/schema/package-lock.json "$mods/package-lock.json" || [ ! -d "$mods/node_modules/kubernetes-models" ]; then
  rm -rf "$mods"; mkdir -p "$mods"
  cp tests/schema/package.json tests/schema/package-lock.json "$mods/"
  if npm ci --prefix "$mods" --no-audit --no-fund --loglevel=error >"$tmp/npm.log" 2>&1; then
    ok "npm ci: pinned kubernetes-models installed into $mods"
  else
    nok "npm ci failed: $(tail -3 "$tmp/npm.log")"; echo "1..$n"; exit 1
  fi
else
  ok "pinned kubernetes-models already installed in $mods"
fi
validate() { node tests/schema/validate.js "$mods/node_modules" "$@"; }

# render LABEL SEED-DIR SED-EXPR...: runs the agent, leaves $tmp/LABEL.json
render() {
  local label=$1 src=$2; shift 2
  local seed=$tmp/seed-$label root=$tmp/root-$label
  mkdir -p "$seed" "$root"; cp "$src"/meta-data "$src"/user-data "$seed/"
  for e in "$@"; do sed -i "$e" "$seed/user-data"; done
  if "$AGENT" run --root "$root" --seed "$seed" >"$root.log" 2>&1 &&
     cp "$root/etc/kubernetes/nodeos/manifests/objects.json" "$tmp/$label.json"; then
    return 0
  fi
  nok "$label: the agent did not render: $(grep -m1 'status=failed\|FAILED' "$root.log")"; return 1
}

few=cloud-init/examples/few-devices/master
runs=(
  "vernemq|$few"
  "mosca|$few|s/variant: vernemq/variant: mosca/"
  "vernemq+lwm2m|$few|s/variant: vernemq/variant: vernemq+lwm2m/"
  "mosca+lwm2m|$few|s/variant: vernemq/variant: mosca+lwm2m/"
  "100k|cloud-init/examples/master"
  # every optional block on: gui-v2, mutual TLS (8443 -> 30002), no insecure MQTT, random NodePorts
  "vernemq-all-options|$few|s/dojot_guiv2_enabled: false/dojot_guiv2_enabled: true/|s/dojot_apigw_enable_mutual_tls: false/dojot_apigw_enable_mutual_tls: true/|s/dojot_insecure_mqtt: \"true\"/dojot_insecure_mqtt: \"false\"/|s/dojot_fixed_nodeports_enabled: true/dojot_fixed_nodeports_enabled: false/"
  # 100k with every persistence flag off: no claims at all
  "100k-no-volumes|cloud-init/examples/master|s/_persistent_volumes: true/_persistent_volumes: false/"
)
for r in "${runs[@]}"; do
  IFS='|' read -r -a f <<<"$r"
  render "${f[0]}" "${f[1]}" "${f[@]:2}" || continue
  out=$(validate "${f[0]}" "$tmp/${f[0]}.json" 2>&1)
  if [ $? -eq 0 ]; then ok "$(grep '^ok - ' <<<"$out" | sed 's/^ok - //')"
  else nok "${f[0]}: invalid objects:"; grep -v '^#' <<<"$out" | sed 's/^/    /'; fi
  grep '^# skip' <<<"$out" | sed "s/^# skip/# (custom resource, envelope only)/"
done

# --- the check is strict: it must reject what the API would silently drop -----
python3 - "$tmp/vernemq.json" "$tmp/bogus.json" <<'PY'
import json, sys
objs = json.load(open(sys.argv[1]))
svc = next(o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] == "kong-external")
svc["spec"]["externalTrafficPolicyy"] = "Local"          # a typo
json.dump([svc], open(sys.argv[2], "w"))
PY
out=$(validate negative "$tmp/bogus.json" 2>&1)     # exits 1: capture first (pipefail)
if grep -q "must NOT have additional properties 'externalTrafficPolicyy'" <<<"$out"; then
  ok "strict mode: a misspelt field is an error"; else nok "strict mode let a misspelt field through"; fi
python3 - "$tmp/vernemq.json" "$tmp/topo.json" <<'PY'
import json, sys
objs = json.load(open(sys.argv[1]))
json.dump([o for o in objs if o["metadata"]["name"] == "vernemq-k8s"], open(sys.argv[2], "w"))
PY
if validate topology "$tmp/topo.json" >/dev/null 2>&1 && grep -q topologyKeys "$tmp/topo.json"; then
  ok "strict mode: 1.17's Service.spec.topologyKeys is allowed"; else nok "topologyKeys rejected"; fi

tap_end
