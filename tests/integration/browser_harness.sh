#!/usr/bin/env bash
# The e2e tests' headless browser (tests/e2e/browser.mjs: Debian's chromium driven by
# playwright-core) against a small HTTPS server standing in for vicadmin: a token login form
# that sets a cookie, rows read with their classes, text that arrives later over server-sent
# events, a download, screenshots; and a second port that requires a client certificate, made
# like vic-machine's (EC P-256, one CA). Proves the harness works before vicadmin's e2e uses it,
# and that what it says is true: an untrusted server, a missing client certificate and a
# failing step are all reported as failures.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
driver=$root/tests/e2e/browser.mjs
fail() { echo "FAIL: $*"; exit 1; }
command -v node >/dev/null || fail "no node (ci/packages.txt installs nodejs)"
command -v openssl >/dev/null || fail "no openssl (ci/packages.txt)"
command -v certutil >/dev/null || fail "no certutil (ci/packages.txt installs libnss3-tools)"
[ -x "${VIC_CHROMIUM:-/usr/bin/chromium}" ] || fail "no chromium (ci/packages.txt)"
modules=${VIC_BROWSER_MODULES:-${VIC_CACHE:-/var/cache/vic}/npm/browser}
[ -f "$modules/node_modules/playwright-core/package.json" ] || fail "no playwright-core in $modules (ci/setup installs it)"

work=$(mktemp -d /var/tmp/vic-browser-it.XXXXXX)
export VIC_ARTIFACTS=${VIC_ARTIFACTS:-/var/tmp/vic-artifacts}/integration.browser_harness
rm -rf "$VIC_ARTIFACTS"; mkdir -p "$VIC_ARTIFACTS"
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- certificates, as runtime/vic_machine/certs.cc makes them ------------------------------------
cd "$work"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -keyout ca-key.pem -out ca.pem -days 2 -sha256 -subj "/CN=vic browser-test CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
issue() {  # name cn extensions
  openssl req -new "${ec[@]}" -keyout "$1-key.pem" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%b' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -sha256 \
    -extfile "$1.ext" -out "$1-cert.pem" 2>/dev/null
}
issue server 127.0.0.1 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n'
issue client "vic browser-test client" 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n'
# a client certificate from another CA: the server must refuse it
openssl req -x509 "${ec[@]}" -keyout stranger-key.pem -out stranger-cert.pem -days 2 -subj "/CN=stranger" 2>/dev/null
head -c 300000 /dev/urandom > bundle.bin
want_sha=$(sha256sum bundle.bin | cut -d' ' -f1)

# --- the server: port A (server certificate only), port B (client certificate required) ---------
cat > server.py <<'PY'
import html, http.server, ssl, sys, threading, time
work = sys.argv[1]
TOKEN, SESSION = "s3cret-token", "session-1234"
PAGE = "<!doctype html><html><head><meta charset=utf-8><title>{t}</title><style>.ok{{color:green}}.bad{{color:red}}</style></head><body><h1>{t}</h1>{b}</body></html>"

class A(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send(self, code, body, ctype="text/html; charset=utf-8", headers=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers: self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
    def logged_in(self):
        return f"session={SESSION}" in self.headers.get("Cookie", "")
    def do_GET(self):
        p = self.path
        if p == "/login":
            self.send(200, PAGE.format(t="Log in", b='<form method=post action=/login><input id=token name=token type=password>'
                                       '<button id=go type=submit>Log in</button></form>'))
        elif not self.logged_in():
            self.send(303, "", headers=[("Location", "/login")])
        elif p == "/checks":
            rows = "".join(f'<tr data-check="{n}" class="{c}"><td>{n}</td><td>{html.escape(r)}</td></tr>'
                           for n, c, r in [("endpoint", "ok", "answers"), ("libvirtd", "ok", "connected"),
                                           ("firewall", "bad", "chain VIC-x missing")])
            self.send(200, PAGE.format(t="Status", b=f'<table id=checks>{rows}</table><a id=bundle href="/bundle">log bundle</a>'))
        elif p == "/log":
            js = ("const s=new EventSource('/events');s.onmessage=e=>{document.getElementById('log').textContent+=e.data+'\\n'};"
                  "setTimeout(()=>{document.getElementById('late').textContent='ready after a while'},1500);")
            self.send(200, PAGE.format(t="Log", b=f'<pre id=log></pre><p id=late></p><script>{js}</script>'))
        elif p == "/events":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            try:
                for i in range(1, 4):
                    self.wfile.write(f"data: line {i}\n\n".encode()); self.wfile.flush(); time.sleep(0.2)
                time.sleep(2)  # the line a follower must wait for
                self.wfile.write(b"data: the late line\n\n"); self.wfile.flush()
                time.sleep(30)
            except OSError:
                pass
            self.close_connection = True
        elif p == "/bundle":
            with open(f"{work}/bundle.bin", "rb") as f:
                self.send(200, f.read(), "application/gzip",
                          [("Content-Disposition", 'attachment; filename="vch-bundle.tar.gz"')])
        else:
            self.send(404, PAGE.format(t="Not found", b=""))
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = self.rfile.read(n).decode()
        if self.path == "/login" and form == f"token={TOKEN}":
            self.send(303, "", headers=[("Location", "/checks"),
                                        ("Set-Cookie", f"session={SESSION}; Path=/; HttpOnly; Secure; SameSite=Strict")])
        else:
            self.send(401, PAGE.format(t="Wrong token", b="<p id=error>wrong token</p>"))

class B(A):
    def do_GET(self):
        cert = self.connection.getpeercert() or {}
        subject = ",".join(f"{k}={v}" for rdn in cert.get("subject", ()) for k, v in rdn)
        self.send(200, PAGE.format(t="Client certificate", b=f"<p id=subject>{html.escape(subject)}</p>"))

def serve(handler, require_client):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{work}/server-cert.pem", f"{work}/server-key.pem")
    if require_client:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(f"{work}/ca.pem")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]

a, b = serve(A, False), serve(B, True)
with open(f"{work}/ports.tmp", "w") as f: f.write(f"{a} {b}\n")
import os; os.rename(f"{work}/ports.tmp", f"{work}/ports")
while True: time.sleep(3600)
PY
python3 server.py "$work" 2>server.log &
server_pid=$!
for _ in $(seq 1 50); do [ -s ports ] && break; kill -0 "$server_pid" 2>/dev/null || fail "server died: $(cat server.log)"; sleep 0.1; done
read -r port_a port_b < ports || fail "the server gave no ports: $(cat server.log)"
A=https://127.0.0.1:$port_a B=https://127.0.0.1:$port_b
# the server is what the test thinks it is (curl's view, independent of the browser)
curl -sS --cacert ca.pem "$A/login" | grep -q 'id=token' || fail "port A does not serve the login form"
curl -sS --cacert ca.pem --cert client-cert.pem --key client-key.pem "$B/" | grep -q 'commonName=vic browser-test client' ||
  fail "port B does not answer with a client certificate"

# --- helpers ------------------------------------------------------------------------------------
# browse NAME JSON: runs the driver; its stdout in NAME.out, stderr in NAME.err, status in $rc
browse() {
  printf '%s\n' "$2" > "$1.json"
  rc=0; node "$driver" "$1.json" > "$1.out" 2> "$1.err" || rc=$?
}
# got NAME STEP EXPR: a python expression over step STEP's result line (d)
got() {
  python3 - "$1.out" "$2" "$3" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
d = next((l for l in lines if l["step"] == int(sys.argv[2])), None)
if d is None: sys.exit(f"no result for step {sys.argv[2]}")
v = eval(sys.argv[3], {"d": d})
print(v if isinstance(v, str) else json.dumps(v))
PY
}
expect_ok() { [ "$rc" = 0 ] || fail "$1: driver failed (status $rc): $(cat "$1.err") $(tail -n 3 "$1.out")"; }
expect_eq() { [ "$2" = "$3" ] || fail "$1: got [$2], expected [$3]"; }

# --- port A: login, rows, follow, download, screenshots, cookies, trusting the CA ------------------
browse main "$(cat <<EOF
{"options": {"ca": "$work/ca.pem", "viewport": {"width": 1024, "height": 700}},
 "steps": [
  {"goto": "$A/checks", "name": "no session"},
  {"url": true, "expect": "/login"},
  {"fill": "#token", "value": "wrong"},
  {"click": "#go"},
  {"text": "#error", "expect": "wrong token"},
  {"goto": "$A/login"},
  {"fill": "#token", "value": "s3cret-token"},
  {"click": "#go", "name": "log in"},
  {"waitForURL": "/checks"},
  {"attrs": "[data-check]", "names": ["data-check", "class"]},
  {"cookies": true},
  {"screenshot": "checks.png"},
  {"download": "#bundle", "saveAs": "bundle.tar.gz"},
  {"goto": "$A/log", "expectStatus": 200},
  {"waitForText": "#log", "text": "line 3", "timeoutMs": 5000},
  {"text": "#log"},
  {"waitForText": "#log", "text": "the late line", "timeoutMs": 8000, "name": "follow"},
  {"waitForText": "#late", "text": "ready after a while", "timeoutMs": 5000},
  {"screenshot": "log.png"}
 ]}
EOF
)"
expect_ok main
expect_eq "no session: status after redirect" "$(got main 1 'd["status"]')" 200
expect_eq "no session: redirected to" "$(got main 1 'd["url"]')" "$A/login"
expect_eq "logged in at" "$(got main 9 'd["url"]')" "$A/checks"
expect_eq "rows" "$(got main 10 '";".join(i["data-check"] + "=" + i["class"] for i in d["items"])')" \
  "endpoint=ok;libvirtd=ok;firewall=bad"
expect_eq "row text" "$(got main 10 'd["items"][2]["text"]')" $'firewall\tchain VIC-x missing'
expect_eq "session cookie" "$(got main 11 '[(c["name"], c["value"], c["httpOnly"], c["secure"]) for c in d["cookies"]]')" \
  '[["session", "session-1234", true, true]]'
expect_eq "download name" "$(got main 13 'd["suggestedFilename"]')" vch-bundle.tar.gz
expect_eq "download sha256 (driver)" "$(got main 13 'd["sha256"]')" "$want_sha"
expect_eq "download sha256 (file)" "$(sha256sum "$VIC_ARTIFACTS/bundle.tar.gz" | cut -d' ' -f1)" "$want_sha"
expect_eq "log before the late line" "$(got main 16 'd["text"]')" $'line 1\nline 2\nline 3'
expect_eq "log after following" "$(got main 17 'd["text"]')" $'line 1\nline 2\nline 3\nthe late line'
[ "$(got main 17 'd["ms"]')" -ge 1000 ] || fail "the late line came too early to prove that waitForText waits"
for png in checks.png log.png; do
  [ "$(head -c 8 "$VIC_ARTIFACTS/$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$png is not a PNG"
  [ "$(stat -c %s "$VIC_ARTIFACTS/$png")" -gt 2000 ] || fail "$png is too small to show a page"
done
echo "ok: login form, redirect, rows with classes, cookie, download ($want_sha), SSE follow, screenshots in $VIC_ARTIFACTS"

# --- port B: the client certificate ---------------------------------------------------------------
browse cert "{\"options\": {\"ca\": \"$work/ca.pem\",
  \"clientCertificate\": {\"origin\": \"$B\", \"cert\": \"$work/client-cert.pem\", \"key\": \"$work/client-key.pem\"}},
  \"steps\": [{\"goto\": \"$B/\", \"expectStatus\": 200}, {\"text\": \"#subject\"}, {\"goto\": \"$A/login\", \"expectStatus\": 200}]}"
expect_ok cert
expect_eq "subject seen by the server" "$(got cert 2 'd["text"]')" "commonName=vic browser-test client"
echo "ok: client certificate presented to $B, the server's certificate verified against the CA"

# no client certificate: the server refuses the handshake, the step fails and is named
browse nocert "{\"options\": {\"ca\": \"$work/ca.pem\"}, \"steps\": [{\"goto\": \"$B/\", \"name\": \"needs a cert\"}]}"
[ "$rc" = 1 ] || fail "no client certificate: driver status $rc, expected 1: $(cat nocert.out)"
grep -q 'step 1 "needs a cert".*failed: .*net::ERR_' nocert.err || fail "no client certificate: unexpected error: $(cat nocert.err)"
[ -s "$VIC_ARTIFACTS/failure-nocert-step-1.png" ] || fail "no screenshot of the failing step"
# the same refusal, expected by the script (how an e2e test asks for a refusal)
browse nocert2 "{\"options\": {\"ca\": \"$work/ca.pem\"}, \"steps\": [{\"goto\": \"$B/\", \"expectFailure\": \"net::ERR_\"}]}"
expect_ok nocert2
# a certificate from another CA: refused too (the driver reports the TLS alert that playwright's
# proxy turned into a 503 page of its own)
browse stranger "{\"options\": {\"ca\": \"$work/ca.pem\",
  \"clientCertificate\": {\"origin\": \"$B\", \"cert\": \"$work/stranger-cert.pem\", \"key\": \"$work/stranger-key.pem\"}},
  \"steps\": [{\"goto\": \"$B/\", \"expectStatus\": 200}]}"
[ "$rc" = 1 ] && grep -q "step 1 .* failed: TLS to $B failed: " stranger.err ||
  fail "a stranger's client certificate was accepted, or refused unclearly: $(cat stranger.out stranger.err)"
echo "   $(head -c 300 nocert.err)"
echo "   $(head -c 300 stranger.err)"
echo "ok: without a client certificate, and with one from another CA, $B is refused"

# --- trust is real: no CA, no ignoreHTTPSErrors -> the server certificate is refused -------------
browse untrusted "{\"steps\": [{\"goto\": \"$A/login\"}]}"
[ "$rc" = 1 ] && grep -q 'ERR_CERT_AUTHORITY_INVALID' untrusted.err || fail "an untrusted server was accepted: $(cat untrusted.out untrusted.err)"
browse untrusted2 "{\"options\": {\"clientCertificate\": {\"origin\": \"$B\", \"cert\": \"$work/client-cert.pem\", \"key\": \"$work/client-key.pem\"}},
  \"steps\": [{\"goto\": \"$B/\", \"expectStatus\": 200}]}"
[ "$rc" = 1 ] && grep -q "step 1 .* failed: TLS to $B failed: .*certificate" untrusted2.err ||
  fail "an untrusted server was accepted through the client-certificate proxy: $(cat untrusted2.out untrusted2.err)"
browse insecure "{\"options\": {\"ignoreHTTPSErrors\": true}, \"steps\": [{\"goto\": \"$A/login\", \"expectStatus\": 200}]}"
expect_ok insecure
echo "   $(head -c 300 untrusted.err)"
echo "   $(head -c 300 untrusted2.err)"
echo "ok: an untrusted server certificate fails (browser and client-certificate proxy) unless ignoreHTTPSErrors"

# --- the driver's own failures are failures --------------------------------------------------------
browse timeout "{\"options\": {\"ca\": \"$work/ca.pem\"}, \"steps\": [{\"goto\": \"$A/login\"},
  {\"fill\": \"#token\", \"value\": \"s3cret-token\"}, {\"click\": \"#go\"}, {\"waitForURL\": \"/checks\"},
  {\"goto\": \"$A/log\"}, {\"waitForText\": \"#log\", \"text\": \"never written\", \"timeoutMs\": 1500}]}"
[ "$rc" = 1 ] || fail "waitForText of absent text succeeded"
grep -q 'step 6 .*"never written" did not appear in #log within 1500 ms; its text: "line 1' timeout.err ||
  fail "waitForText: unexpected error: $(cat timeout.err)"
expect_eq "failing step's line" "$(got timeout 6 'd["ok"]')" false
browse badstep '{"steps": [{"frobnicate": 1}]}'
[ "$rc" = 1 ] && grep -q 'unknown step' badstep.err || fail "an unknown step was not refused: $(cat badstep.err)"
browse notexpected "{\"options\": {\"ca\": \"$work/ca.pem\"}, \"steps\": [{\"goto\": \"$A/login\", \"expectFailure\": true}]}"
[ "$rc" = 1 ] && grep -q 'succeeded, but was expected to fail' notexpected.err || fail "expectFailure of a success passed"
echo "PASS: browser harness (chromium $(chromium --version 2>/dev/null | awk '{print $2}'), playwright-core $(node -p "require('$modules/node_modules/playwright-core/package.json').version"))"
