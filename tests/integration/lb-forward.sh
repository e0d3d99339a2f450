#!/usr/bin/env bash
# The lb's rendered configs in real HAProxy and NGINX, on loopback only: the
# agent renders them from a seed whose backends are loopback addresses
# (`node-agent run --root`, which also runs `haproxy -c` / `nginx -t` on
# them), then the real daemons forward TCP (and NGINX UDP) connections to
# python listeners standing in for the NodePorts. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
PY=$(command -v python3 || true)

tmp=$(mktemp -d); pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

if [ -z "$PY" ]; then echo "1..0 # SKIP python3 not installed"; exit 0; fi

# One loopback /16 per run (127.R.0.x), so a concurrent run of this test
# cannot collide with this one's NodePort stand-ins; listen ports likewise
# from a per-run base. Nothing here binds outside 127.0.0.0/8.
R=$((RANDOM % 200 + 20)); NET=127.$R.0
BASE=$((20000 + (RANDOM % 3000) * 10))
# lb listen port -> the port this test binds instead (loopback, unprivileged)
declare -A LPORT=([80]=$BASE [443]=$((BASE+1)) [1883]=$((BASE+2)) [8883]=$((BASE+3)) [8080]=$((BASE+4))
                  [5683]=$((BASE+5)) [5684]=$((BASE+6)) [5693]=$((BASE+7)) [5694]=$((BASE+8)) [5896]=$((BASE+9)))

# The NodePort stand-in: TCP and UDP listeners that answer "<label> <data>".
cat >"$tmp/nodeport-standin.py" <<'EOF'
import socket, sys, threading
def serve(c, label):
    with c:
        while True:
            d = c.recv(4096)
            if not d:
                return
            c.sendall(label.encode() + b" " + d)
def tcp(addr, port, label):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(128)
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c, label), daemon=True).start()
    return loop
def udp(addr, port, label):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, port))
    def loop():
        while True:
            d, a = s.recvfrom(4096)
            s.sendto(label.encode() + b" " + d, a)
    return loop
loops = []
for spec in sys.argv[1:]:          # proto:addr:port:label
    proto, addr, port, label = spec.split(":")
    loops.append((tcp if proto == "tcp" else udp)(addr, int(port), label))
for l in loops:
    threading.Thread(target=l, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
EOF
# The client: `tcp PORT MSG [N]` opens N connections at once (kept open until
# every one has its answer) and prints each answer's label; `udp PORT MSG`;
# `stat SOCKET PROXY SERVER` prints a server's status from HAProxy's stats;
# `cli SOCKET COMMAND` prints what HAProxy's CLI answers.
cat >"$tmp/client.py" <<'EOF'
import socket, sys
cmd = sys.argv[1]
if cmd == "tcp":
    port, msg, k = int(sys.argv[2]), sys.argv[3].encode(), int(sys.argv[4]) if len(sys.argv) > 4 else 1
    conns = []
    for _ in range(k):
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(msg)
        d = c.recv(4096)
        if not d.endswith(b" " + msg):
            sys.exit("bad answer %r" % d)
        print(d.split(b" ")[0].decode())
        conns.append(c)
    for c in conns:
        c.close()
elif cmd == "udp":
    port, msg = int(sys.argv[2]), sys.argv[3].encode()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
    s.sendto(msg, ("127.0.0.1", port))
    d, _ = s.recvfrom(4096)
    if not d.endswith(b" " + msg):
        sys.exit("bad answer %r" % d)
    print(d.split(b" ")[0].decode())
elif cmd in ("stat", "cli"):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[2])
    s.sendall(b"show stat\n" if cmd == "stat" else sys.argv[3].encode() + b"\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    if cmd == "cli":
        sys.stdout.write(out.decode())
        sys.exit(0)
    lines = out.decode().splitlines()
    cols = lines[0].lstrip("# ").split(",")
    for l in lines[1:]:
        f = dict(zip(cols, l.split(",")))
        if f.get("pxname") == sys.argv[3] and f.get("svname") == sys.argv[4]:
            print(f["status"])
EOF

start_standin() {
  "$PY" "$tmp/nodeport-standin.py" "$@" >"$tmp/standin.$#.out" 2>&1 & pids+=($!)
  for _ in $(seq 50); do grep -q ready "$tmp/standin.$#.out" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# seed DIR -> a copy whose lb backends are on $NET (the node's own network
# address is left alone: only the backend lists change)
loopback_seed() { mkdir -p "$2"; cp "$1"/* "$2"/; sed -i "/{name:/s/address: 192\.168\.0\.\([0-9]*\)/address: $NET.\1/" "$2/user-data"; }

# ---------------------------------------------------------------- HAProxy
if ! command -v haproxy >/dev/null; then
  skip "haproxy not installed: the HAProxy forwarding tests"
else
  loopback_seed cloud-init/examples/lb "$tmp/seed-haproxy"
  root=$tmp/haproxy; mkdir -p "$root/usr/share/nodeos"
  # the image's base package list as the build writes it, with this host's
  # haproxy: the agent renders for the haproxy that checks and runs it here
  hv=$(haproxy -v | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p')
  printf 'haproxy\t%s\n' "$hv" >"$root/usr/share/nodeos/base-packages"
  # 2.6 loads the system's CAs for its HTTP client unless told not to verify
  if [ "$(printf '2.6\n%s\n' "${hv%%-*}" | sort -V | sed -n 1p)" = 2.6 ]; then httpclient=1; else httpclient=0; fi
  if "$AGENT" run --root "$root" --seed "$tmp/seed-haproxy" >"$root.log" 2>&1; then
    ok "haproxy: node-agent run --root renders haproxy.cfg"
  else nok "haproxy: run failed: $(tail -3 "$root.log")"; fi
  check "haproxy: the agent ran haproxy -c on it before installing it" \
    grep -q 'step=file:/etc/haproxy/haproxy.cfg status=done .*written (checked)' "$root.log"
  if [ $httpclient = 1 ]; then
    check "haproxy $hv: the unused HTTP client's verification is off (no CA store load)" \
      grep -qx '    httpclient.ssl.verify none' "$root/etc/haproxy/haproxy.cfg"
  else
    check "haproxy $hv: no httpclient keyword (this version has no HTTP client)" \
      bash -c '! grep -q httpclient "$1"' _ "$root/etc/haproxy/haproxy.cfg"
  fi
  check "haproxy: backends are the seed's loopback addresses" grep -q "server verne-1 $NET.14:30004 check" "$root/etc/haproxy/haproxy.cfg"

  # The rendered file binds *:80, *:1883, ...: this test moves only the
  # binds to high loopback ports (the real ones may be taken, are
  # privileged, and must not be opened on other interfaces), and the stats
  # socket into the scratch dir (the packaged path belongs to the host's
  # haproxy). Everything else runs as rendered.
  cfg=$tmp/haproxy.cfg
  sed_args=(-e "s|stats socket /run/haproxy/admin.sock|stats socket $tmp/haproxy.sock|")
  for p in 80 443 1883 8883 8080; do sed_args+=(-e "s|^    bind \*:$p\$|    bind 127.0.0.1:${LPORT[$p]}|"); done
  # chroot and the haproxy user need root
  [ "$(id -u)" -eq 0 ] || sed_args+=(-e '/^    chroot /d' -e '/^    user /d' -e '/^    group /d')
  sed "${sed_args[@]}" "$root/etc/haproxy/haproxy.cfg" >"$cfg"
  # ulimit-n 200099 needs RLIMIT_NOFILE that high: on the node the lb role's
  # LimitNOFILE drop-in gives it. A sandbox that cannot raise its hard limit
  # (no CAP_SYS_RESOURCE) gets the limits scaled down to what it has, and
  # haproxy is shown to refuse the unscaled file there for exactly that reason.
  want_fd=$(sed -n 's/^    ulimit-n //p' "$cfg"); hard=$(ulimit -Hn)
  if [ "$hard" != unlimited ] && [ "$hard" -lt "$want_fd" ] && ! (ulimit -n "$want_fd") 2>/dev/null; then
    out=$(timeout 5 haproxy -db -f "$cfg" 2>&1)
    if grep -q "Cannot raise FD limit to $want_fd" <<<"$out"; then
      ok "haproxy: refuses ulimit-n $want_fd above the hard limit $hard (what the LimitNOFILE drop-in is for)"
    else nok "haproxy: expected an FD-limit refusal: $out"; fi
    mc=$(( (hard - 100) / 2 ))
    sed -i -e "s/^    ulimit-n .*/    ulimit-n $((hard - 1))/" -e "s/^    maxconn .*/    maxconn $mc/" "$cfg"
    echo "# sandbox hard RLIMIT_NOFILE $hard: ulimit-n/maxconn scaled to $((hard - 1))/$mc for this run"
  fi
  if out=$(haproxy -c -f "$cfg" 2>&1); then ok "haproxy: the loopback copy is valid too"; else nok "haproxy -c: $out"; fi

  # verne-1..3 answer on 30004; on 30005 only verne-1 and verne-2: verne-3
  # stands for a node without a local VerneMQ pod (docs/dojot-v0.5.0.md#verne-workers).
  if start_standin tcp:$NET.14:30004:verne-1 tcp:$NET.15:30004:verne-2 tcp:$NET.16:30004:verne-3 \
       tcp:$NET.14:30005:verne-1 tcp:$NET.15:30005:verne-2 tcp:$NET.11:30001:dojot-apigw tcp:$NET.11:30003:dojot-metrics; then
    ok "haproxy: NodePort stand-ins listening on $NET.x"
  else nok "haproxy: stand-ins did not start: $(cat "$tmp"/standin.*.out)"; fi
  haproxy -db -f "$cfg" >"$tmp/haproxy.out" 2>&1 & hpid=$!; pids+=("$hpid")
  if wait_port "${LPORT[1883]}"; then ok "haproxy: running the rendered config"
  else nok "haproxy: did not start: $(tail -5 "$tmp/haproxy.out")"; fi

  if [ $httpclient = 1 ]; then
    # (with the store loaded the answer lists "@system-ca - N certificate(s)")
    if got=$("$PY" "$tmp/client.py" cli "$tmp/haproxy.sock" "show ssl ca-file" 2>&1) &&
       ! grep -qi '@system-ca\|unknown' <<<"$got"; then
      ok "haproxy $hv: running without the system CA store"
    else nok "haproxy $hv: show ssl ca-file: $got"; fi
  fi
  got=$("$PY" "$tmp/client.py" tcp "${LPORT[1883]}" hello 2>&1)
  if [[ $got =~ ^verne-[123]$ ]]; then ok "haproxy: TCP 1883 -> NodePort 30004 on a verne node ($got)"
  else nok "haproxy: 1883 forward: $got"; fi
  got=$("$PY" "$tmp/client.py" tcp "${LPORT[1883]}" conn 3 2>&1 | sort | tr '\n' ' ')
  if [ "$got" = "verne-1 verne-2 verne-3 " ]; then ok "haproxy: leastconn spreads 3 open connections over the 3 verne nodes"
  else nok "haproxy: leastconn: $got"; fi
  got=$("$PY" "$tmp/client.py" tcp "${LPORT[80]}" GET 2>&1)
  [ "$got" = dojot-apigw ] && ok "haproxy: TCP 80 -> NodePort 30001 (apigw)" || nok "haproxy: 80 forward: $got"
  got=$("$PY" "$tmp/client.py" tcp "${LPORT[8080]}" GET 2>&1)
  [ "$got" = dojot-metrics ] && ok "haproxy: TCP 8080 -> NodePort 30003 (metrics)" || nok "haproxy: 8080 forward: $got"

  # check inter 1000ms fall 3: verne-3 has nothing on 30005, so within ~3 s
  # its mqtts server goes DOWN and no client is sent there.
  st=
  for _ in $(seq 60); do st=$("$PY" "$tmp/client.py" stat "$tmp/haproxy.sock" mqtts verne-3 2>/dev/null); [ "$st" = DOWN ] && break; sleep 0.2; done
  [ "$st" = DOWN ] && ok "haproxy: the health check marks a node without the NodePort DOWN" || nok "haproxy: verne-3 mqtts status '$st'"
  st1=$("$PY" "$tmp/client.py" stat "$tmp/haproxy.sock" mqtts verne-1 2>/dev/null)
  [ "$st1" = UP ] && ok "haproxy: and keeps the answering ones UP" || nok "haproxy: verne-1 mqtts status '$st1'"
  got=$("$PY" "$tmp/client.py" tcp "${LPORT[8883]}" tls 4 2>&1 | sort -u | tr '\n' ' ')
  if [ "$got" = "verne-1 verne-2 " ]; then ok "haproxy: TCP 8883 -> NodePort 30005 only on the healthy verne nodes"
  else nok "haproxy: 8883 forward: $got"; fi
  kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null
fi

# ---------------------------------------------------------------- NGINX
if ! command -v nginx >/dev/null; then
  skip "nginx not installed: the NGINX forwarding tests"
else
  loopback_seed cloud-init/examples/few-devices/lb "$tmp/seed-nginx"
  root=$tmp/nginx; mkdir -p "$root"
  if "$AGENT" run --root "$root" --seed "$tmp/seed-nginx" >"$root.log" 2>&1; then
    ok "nginx: node-agent run --root renders nginx.conf, accepted by nginx -t"
  else nok "nginx: run failed (is libnginx-mod-stream installed?): $(tail -3 "$root.log")"; fi
  check "nginx: the agent ran nginx -t on it before installing it" \
    grep -q 'step=file:/etc/nginx/nginx.conf status=done .*written (checked)' "$root.log"

  # As for HAProxy: only the listen ports move to loopback; pid and error
  # log go to the scratch dir (the packaged paths belong to the host's nginx).
  cfg=$tmp/nginx.conf
  sed_args=(-e "s|^pid .*|pid $tmp/nginx.pid;|" -e "s|^error_log .*|error_log $tmp/nginx-error.log;|")
  for p in 80 443 1883 8883 5896; do sed_args+=(-e "s|^        listen $p;|        listen 127.0.0.1:${LPORT[$p]};|"); done
  for p in 5683 5684 5693 5694; do sed_args+=(-e "s|^        listen $p udp;|        listen 127.0.0.1:${LPORT[$p]} udp;|"); done
  [ "$(id -u)" -eq 0 ] || sed_args+=(-e '/^user /d')
  sed "${sed_args[@]}" "$root/etc/nginx/nginx.conf" >"$cfg"
  if out=$(nginx -t -q -c "$cfg" -g "daemon off;" 2>&1); then ok "nginx: nginx -t accepts the loopback copy"; else nok "nginx -t: $out"; fi

  if start_standin tcp:$NET.11:30004:dojot-mqtt tcp:$NET.11:30010:dojot-coap-http \
       udp:$NET.11:30006:dojot-coap udp:$NET.11:30007:dojot-coaps udp:$NET.11:30008:dojot-file-server udp:$NET.11:30009:dojot-file-servers; then
    ok "nginx: NodePort stand-ins listening on $NET.11"
  else nok "nginx: stand-ins did not start"; fi
  nginx -c "$cfg" -g "daemon off;" >"$tmp/nginx.out" 2>&1 & npid=$!; pids+=("$npid")
  if wait_port "${LPORT[1883]}"; then ok "nginx: running the rendered config"
  else nok "nginx: did not start: $(tail -5 "$tmp/nginx.out" "$tmp/nginx-error.log" 2>/dev/null)"; fi
  got=$("$PY" "$tmp/client.py" tcp "${LPORT[1883]}" hello 2>&1)
  [ "$got" = dojot-mqtt ] && ok "nginx: TCP 1883 -> NodePort 30004" || nok "nginx: 1883 forward: $got"
  got=$("$PY" "$tmp/client.py" tcp "${LPORT[5896]}" GET 2>&1)
  [ "$got" = dojot-coap-http ] && ok "nginx: TCP 5896 -> NodePort 30010 (LwM2M HTTP)" || nok "nginx: 5896 forward: $got"
  for pair in 5683:dojot-coap 5684:dojot-coaps 5693:dojot-file-server 5694:dojot-file-servers; do
    p=${pair%%:*}; want=${pair#*:}
    got=$("$PY" "$tmp/client.py" udp "${LPORT[$p]}" coap-hello 2>&1)
    [ "$got" = "$want" ] && ok "nginx: UDP $p -> NodePort ($want)" || nok "nginx: UDP $p forward: $got"
  done
  kill "$npid" 2>/dev/null; wait "$npid" 2>/dev/null
fi

tap_end
