#!/usr/bin/env bash
# An https seed URL (ds=nocloud;s=https://...) as the node agent fetches it
# (cloud-init/README.md, the trust model): a self-signed seed server is
# refused unless nodeos.seed_pin= on the kernel command line pins its
# public key; a wrong pin is refused naming the parameter; a pin beside an
# http URL is refused; an https URL that redirects to http is refused
# (what came over TLS is never fetched in the clear). Every refusal leaves
# nothing of the seed applied. The real binary, `run --root` with
# `--cmdline`, against Python's HTTPS server on loopback. TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/integration/lib.sh
scratch

# the seed server: a self-signed certificate for 127.0.0.1, its key pinned
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=seed-server \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/srv.key" -out "$tmp/srv.crt" 2>/dev/null
pin=sha256//$(openssl x509 -in "$tmp/srv.crt" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=other -keyout "$tmp/o.key" -out "$tmp/o.crt" 2>/dev/null
other_pin=sha256//$(openssl x509 -in "$tmp/o.crt" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
mkdir -p "$tmp/www/lb"; cp cloud-init/examples/lb/{meta-data,user-data} "$tmp/www/lb/"
hport=$((20000 + RANDOM % 20000)) sport=$((hport + 1))
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$hport" >"$tmp/http.log" 2>&1 &
pids+=($!)
python3 - "$tmp/www" "$sport" "$tmp/srv.crt" "$tmp/srv.key" "$hport" >"$tmp/https.log" 2>&1 <<'PY' &
import functools, http.server, ssl, sys
www, port, crt, key, hport = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
class H(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/to-http/"):       # an https seed that sends the client to http
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:%s/via-redirect/%s" % (hport, self.path.rsplit("/", 1)[1]))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(H, directory=www))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(crt, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
pids+=($!)
wait_port "$sport" "$hport"

# run NAME CMDLINE: node-agent run --root on a fresh root; log in $tmp/NAME.log
run() {
  local root=$tmp/$1; rm -rf "$root"; mkdir -p "$root"; printf '%s\n' "$2" >"$tmp/$1.cmdline"
  "$AGENT" run --root "$root" --cmdline "$tmp/$1.cmdline" --roles-dir "$ROLES" >"$tmp/$1.log" 2>&1
}
applied() { [ -e "$tmp/$1/etc/haproxy/haproxy.cfg" ]; }
refused() {  # NAME WHAT TEXT
  if [ "$rc" -ne 0 ] && grep -qF -- "$3" "$tmp/$1.log" && ! applied "$1"; then ok "$2"
  else nok "$2 (rc=$rc, haproxy.cfg $(applied "$1" && echo written || echo absent)): $(grep -m2 -i 'error\|fail' "$tmp/$1.log" | tr '\n' ' ')"; fi
}

run plain "ro ds=nocloud;s=http://127.0.0.1:$hport/lb/"; rc=$?
if [ $rc -eq 0 ] && applied plain; then ok "an http seed URL without a pin is fetched and applied"; else nok "http seed: rc=$rc: $(tail -2 "$tmp/plain.log")"; fi

run unpinned "ro ds=nocloud;s=https://127.0.0.1:$sport/lb/"; rc=$?
refused unpinned "a self-signed https seed server without a pin is refused" "https://127.0.0.1:$sport/lb/meta-data"

run pinned "ro ds=nocloud;s=https://127.0.0.1:$sport/lb/ nodeos.seed_pin=$pin quiet"; rc=$?
if [ $rc -eq 0 ] && applied pinned; then ok "with nodeos.seed_pin= of its key, the self-signed https seed is applied"
else nok "pinned: rc=$rc: $(grep -m2 -i 'error' "$tmp/pinned.log")"; fi
grep -q "url:https://127.0.0.1:$sport/lb/" "$tmp/pinned.log" && ok "the run names the https source" || nok "the run does not name the https source"

run twopins "ro ds=nocloud;s=https://127.0.0.1:$sport/lb/ nodeos.seed_pin=$other_pin;$pin"; rc=$?
if [ $rc -eq 0 ] && applied twopins; then ok "one of several pins (the next key beside the current) is enough"
else nok "two pins: rc=$rc: $(grep -m2 -i 'error' "$tmp/twopins.log")"; fi

run wrongpin "ro ds=nocloud;s=https://127.0.0.1:$sport/lb/ nodeos.seed_pin=$other_pin"; rc=$?
refused wrongpin "a seed server whose key is not the pinned one is refused, naming the parameter" "nodeos.seed_pin= on the kernel command line"

run pinhttp "ro ds=nocloud;s=http://127.0.0.1:$hport/lb/ nodeos.seed_pin=$pin"; rc=$?
refused pinhttp "a pin beside an http seed URL is refused" "pins the seed server's key, but the seed URL http://127.0.0.1:$hport/lb/ is not https"

run badpin "ro ds=nocloud;s=https://127.0.0.1:$sport/lb/ nodeos.seed_pin=${pin#sha256//}"; rc=$?
refused badpin "a malformed pin is refused with the form it wants" "want sha256//<base64 SHA-256 of the server's public key>"

run downgrade "ro ds=nocloud;s=https://127.0.0.1:$sport/to-http/ nodeos.seed_pin=$pin"; rc=$?
refused downgrade "an https seed that redirects to http is refused" "https://127.0.0.1:$sport/to-http/meta-data"
grep -q '"GET /via-redirect/' "$tmp/http.log" && nok "the downgrade reached the http server" ||
  ok "the redirect target over http was never fetched"

for c in unpinned wrongpin pinhttp badpin downgrade; do
  st=$("$AGENT" status --root "$tmp/$c" >/dev/null 2>&1; echo $?)
  [ "$st" = 1 ] || { nok "$c: node-agent status exits $st, want 1 (failed)"; continue; }
  ok "$c: the node is marked failed in status"
done

tap_end
