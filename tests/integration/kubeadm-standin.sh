#!/usr/bin/env bash
# The kubeadm test stand-in (qemu-tests/standin/kubeadm-standin.c) against
# what the agent renders: it accepts the kubeadm configuration node-agent
# writes for every example seed, does an init into a scratch root, and
# rejects a misspelt field, a mistyped value, a malformed token, a join
# without CA pins and flags kubeadm refuses next to --config. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if ! qemu-tests/standin/build.sh "$tmp/bin" >"$tmp/build.log" 2>&1; then
  nok "stand-in builds: $(tail -5 "$tmp/build.log")"; echo "1..$n"; exit 1
fi
ok "stand-in builds"
S=$tmp/bin/kubeadm-standin

# it says what it is
"$S" --help | grep 'TEST STAND-IN' >/dev/null && ok "--help says it is a test stand-in" || nok "--help does not say it is a stand-in"
v=$("$S" version -o short 2>"$tmp/v.err")
[ "$v" = v1.17.3 ] && grep -q 'TEST STAND-IN' "$tmp/v.err" && ok "version -o short prints v1.17.3 (the note on stderr)" \
  || nok "version -o short printed '$v'"

# every example seed: the agent renders, the stand-in accepts
seeds=$(find cloud-init/examples -name user-data -printf '%h\n' | sort)
for d in $seeds; do
  name=${d#cloud-init/examples/}; root=$tmp/root-${name//\//-}; mkdir -p "$root"
  if ! "$AGENT" run --root "$root" --seed "$d" >"$root.log" 2>&1; then
    nok "$name: node-agent run --root failed: $(tail -2 "$root.log")"; continue
  fi
  cfgs=$(find "$root/etc/kubernetes/nodeos" -name 'kubeadm-*.yaml' 2>/dev/null)
  role=$(sed -n 's/^role: *//p' "$d/user-data")
  if [ -z "$cfgs" ]; then
    grep -q '^kubernetes: none' "roles/$role/role.yaml" && ok "$name: no kubeadm configuration for a non-Kubernetes role" \
      || nok "$name: no kubeadm configuration rendered"
    continue
  fi
  for f in $cfgs; do
    mode=$(stat -c %a "$f")
    [ "$mode" = 600 ] && ok "$name: $(basename "$f") is 0600" || nok "$name: $(basename "$f") is $mode"
    cmd='init'; case $f in *join*) cmd='join' ;; esac
    if out=$(KUBEADM_STANDIN_VALIDATE_ONLY=1 "$S" "$cmd" --config "$f" 2>&1); then
      ok "$name: the stand-in accepts the rendered $(basename "$f")"
    else
      nok "$name: the stand-in rejects $(basename "$f"): $out"
    fi
  done
done

# init into a scratch root holding the seed's CA, as the agent leaves it
root=$tmp/root-master
awk '/^  ca_cert: \|/{f=1;next} /^  [a-z_]+:/{f=0} f{sub(/^    /,"");print}' cloud-init/examples/master/user-data >"$tmp/ca.crt"
awk '/^  ca_key: \|/{f=1;next} /^  [a-z_]+:/{f=0} f{sub(/^    /,"");print}' cloud-init/examples/master/user-data >"$tmp/ca.key"
mkdir -p "$root/etc/kubernetes/pki" && cp "$tmp/ca.crt" "$tmp/ca.key" "$root/etc/kubernetes/pki/"
init_cfg=$root/etc/kubernetes/nodeos/kubeadm-init.yaml
if out=$(KUBEADM_STANDIN_ROOT=$root "$S" init --config "$init_cfg" --skip-token-print 2>&1); then
  ok "init --config --skip-token-print succeeds"
else
  nok "init failed: $out"
fi
grep -q 'TEST STAND-IN' <<<"$out" && ok "init output says it is a test stand-in" || nok "init output does not say stand-in"
token=$(sed -n 's/^  token: "\(.*\)"/\1/p' cloud-init/examples/master/user-data)
grep -qF "${token#*.}" <<<"$out" && nok "init printed the token secret" || ok "init with --skip-token-print never prints the token"
for f in admin.conf kubelet.conf; do
  [ "$(stat -c %a "$root/etc/kubernetes/$f" 2>/dev/null)" = 600 ] && ok "init wrote $f (0600)" || nok "no $f 0600"
done
# the admin client certificate chains to the seed's CA
grep 'client-certificate-data' "$root/etc/kubernetes/admin.conf" | awk '{print $2}' | base64 -d >"$tmp/admin.crt" 2>/dev/null
openssl verify -CAfile "$tmp/ca.crt" "$tmp/admin.crt" >/dev/null 2>&1 && ok "admin.conf's client certificate is signed by the seed CA" \
  || nok "admin.conf's client certificate does not verify against the seed CA"
grep -q -- '--pod-infra-container-image=k8s/pause:3.1' "$root/var/lib/kubelet/kubeadm-flags.env" 2>/dev/null \
  && ok "kubelet flags carry the pinned pause image" || nok "kubelet flags lack the pause image"

# rejections
join_cfg=$tmp/root-verne/etc/kubernetes/nodeos/kubeadm-join.yaml
reject() {  # reject WHAT EXPECTED-TEXT CMD FILE [FLAGS...]
  local what=$1 want=$2 cmd=$3 file=$4; shift 4
  local out; out=$(KUBEADM_STANDIN_VALIDATE_ONLY=1 "$S" "$cmd" --config "$file" "$@" 2>&1)
  if [ $? -ne 0 ] && grep -qF -- "$want" <<<"$out"; then ok "rejects $what"; else nok "does not reject $what ($out)"; fi
}
sed 's/podSubnet:/podSubet:/' "$init_cfg" >"$tmp/typo.yaml"
reject "a misspelt field (podSubet)" 'ClusterConfiguration.networking: unknown field "podSubet"' init "$tmp/typo.yaml"
sed 's/cgroupDriver: .*/cgroupdriver: systemd/' "$init_cfg" >"$tmp/case.yaml"
reject "a field in the wrong case (cgroupdriver)" 'did you mean "cgroupDriver"' init "$tmp/case.yaml"
sed 's/bindPort: 6443/bindPort: "6443"/' "$init_cfg" >"$tmp/type.yaml"
reject "a string where an integer belongs (bindPort)" 'bindPort: cannot unmarshal string "6443" into an integer' init "$tmp/type.yaml"
sed 's/ServiceTopology: true/ServiceTopology: "true"/' "$init_cfg" >"$tmp/gate.yaml"
reject "a string where a bool belongs (featureGates)" 'featureGates[ServiceTopology]: cannot unmarshal string' init "$tmp/gate.yaml"
sed 's/timeoutForControlPlane: 4m0s/timeoutForControlPlane: 4 minutes/' "$init_cfg" >"$tmp/dur.yaml"
reject "a malformed duration" 'is not a duration' init "$tmp/dur.yaml"
sed 's/^kind: KubeProxyConfiguration/kind: KubeProxyConfig/' "$init_cfg" >"$tmp/kind.yaml"
reject "an unknown kind" 'unknown document apiVersion=kubeproxy.config.k8s.io/v1alpha1 kind=KubeProxyConfig' init "$tmp/kind.yaml"
if [ -f "$join_cfg" ]; then
  sed 's/^    token: .*/    token: "not-a-token"/' "$join_cfg" >"$tmp/token.yaml"
  reject "a malformed bootstrap token" 'does not match [a-z0-9]{6}.[a-z0-9]{16}' join "$tmp/token.yaml"
  grep -v -e 'caCertHashes' -e '"sha256:' "$join_cfg" >"$tmp/nopin.yaml"
  reject "token discovery without CA pins" 'without caCertHashes' join "$tmp/nopin.yaml"
  reject "a flag kubeadm refuses next to --config" "can not mix '--config'" join "$join_cfg" --token abc
else
  nok "no rendered join configuration for verne"
fi

# join: token discovery against an HTTPS cluster-info (openssl s_server -WWW)
# with a throwaway CA and token minted here, as the master would publish it
join_discovery() {  # join_discovery SIGNING-TOKEN PIN -> stand-in exit status, output in $tmp/join.out
  local sign=$1 pin=$2 www=$tmp/www jroot=$tmp/jroot
  rm -rf "$jroot"; mkdir -p "$www/api/v1/namespaces/kube-public/configmaps" "$jroot"
  local kc; kc=$(printf 'apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: %s\n    server: https://127.0.0.1:%s\n  name: ""\ncontexts: null\ncurrent-context: ""\nkind: Config\npreferences: {}\nusers: null\n' \
    "$(base64 -w0 "$tmp/jca.crt")" "$port")
  b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
  local h p sig
  h=$(printf '{"alg":"HS256","kid":"%s"}' "${sign%%.*}" | b64url)
  p=$(printf '%s' "$kc" | b64url)
  sig=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -mac HMAC -macopt "key:${sign#*.}" -binary | b64url)
  jq -n --arg kc "$kc" --arg k "jws-kubeconfig-${sign%%.*}" --arg s "$h..$sig" \
    '{kind:"ConfigMap",apiVersion:"v1",data:{kubeconfig:$kc,($k):$s}}' \
    >"$www/api/v1/namespaces/kube-public/configmaps/cluster-info"
  sed -e "s/^    token: .*/    token: \"$jtoken\"/" -e "s/^  tlsBootstrapToken: .*/  tlsBootstrapToken: \"$jtoken\"/" \
      -e "s/\"sha256:[0-9a-f]*\"/\"$pin\"/" -e "s/apiServerEndpoint: .*/apiServerEndpoint: \"127.0.0.1:$port\"/" \
      "$join_cfg" >"$tmp/join.yaml"
  KUBEADM_STANDIN_ROOT=$jroot "$S" join --config "$tmp/join.yaml" >"$tmp/join.out" 2>&1
}
if command -v openssl >/dev/null && command -v jq >/dev/null && [ -f "$join_cfg" ]; then
  # a throwaway CA and token (not secrets: minted for this test only)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=kubernetes \
    -keyout "$tmp/jca.key" -out "$tmp/jca.crt" >/dev/null 2>&1
  jpin=sha256:$(openssl x509 -in "$tmp/jca.crt" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
  jtoken=$(head -c 2000 /dev/urandom | tr -dc 'a-z0-9' | cut -c1-22 | sed 's/^\(......\)/\1./')
  port=$((20000 + RANDOM % 20000))
  (cd "$tmp" && mkdir -p www && cd www && exec openssl s_server -quiet -WWW -accept "127.0.0.1:$port" \
      -cert "$tmp/jca.crt" -key "$tmp/jca.key" >/dev/null 2>&1) &
  srv=$!
  wait_port "$port"
  if join_discovery "$jtoken" "$jpin"; then
    ok "join: discovery verifies the token signature and the CA pin"
  else
    nok "join failed: $(tail -3 "$tmp/join.out")"
  fi
  cmp -s "$tmp/jca.crt" "$tmp/jroot/etc/kubernetes/pki/ca.crt" && ok "join wrote pki/ca.crt from cluster-info" || nok "join: pki/ca.crt differs"
  [ "$(stat -c %a "$tmp/jroot/etc/kubernetes/kubelet.conf" 2>/dev/null)" = 600 ] && ok "join wrote kubelet.conf (0600)" || nok "join: no kubelet.conf 0600"
  grep -q -- '--node-labels=dojot.components/group=vernemq' "$tmp/jroot/var/lib/kubelet/kubeadm-flags.env" 2>/dev/null \
    && ok "join: the kubelet flags label the node dojot.components/group=vernemq" || nok "join: no group label in the kubelet flags"
  if ! join_discovery "${jtoken%%.*}.0000000000000000" "$jpin" && grep -q 'failed to verify JWS signature' "$tmp/join.out"; then
    ok "join: rejects a cluster-info signed with another token secret"
  else
    nok "join: accepted a wrong signature: $(tail -2 "$tmp/join.out")"
  fi
  if ! join_discovery "$jtoken" "sha256:$(printf '%064d' 0)" && grep -q 'are pinned' "$tmp/join.out"; then
    ok "join: rejects a CA that is not pinned"
  else
    nok "join: accepted an unpinned CA: $(tail -2 "$tmp/join.out")"
  fi
  kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
else
  nok "join discovery not tested: needs openssl and jq"
fi

tap_end
