#!/usr/bin/env bash
# vicadmin, the VCH's admin page, as an admin uses it: in a real browser (Debian's chromium,
# headless, driven by tests/e2e/browser.mjs) and through its JSON twins with curl.
#  - vic-machine starts it with the endpoint; no certificate and no token: refused; a wrong
#    token: refused; the token from `vic-machine admin-token` logs in; rotating it ends sessions.
#  - status: every check green on a healthy VCH; then each check broken for real and seen red
#    with its reason: the endpoint (stopped: no hang; killed), libvirtd, a firewall chain, a
#    registry, the resource pool, the datastore and a volume store (a small file system filled).
#  - containers with their states and CPU/memory sparklines; a console log followed live; the
#    log bundle downloaded, with the expected files and no key or token in it.
#  - bad input: log names that are paths, containers that do not exist.
# Screenshots go to $VIC_ARTIFACTS (default /var/tmp/vic-artifacts)/vicadmin/.
source "$(dirname "$0")/lib.sh"
start_registry
artifacts=${VIC_ARTIFACTS:-/var/tmp/vic-artifacts}/vicadmin
rm -rf "$artifacts"; mkdir -p "$artifacts"
work=$(mktemp -d /var/tmp/vic-vicadmin.XXXXXX)
after_finish+=("rm -rf '$work'")

# A registry the VCH is configured for that the test can stop: /v2/ answers 200.
regport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_fake_registry() {
  python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$regport" > /dev/null 2>&1 &
  regpid=$!
  wait_until 10 "the fake registry answers" curl -sf "http://127.0.0.1:$regport/v2/"
}
start_fake_registry
after_finish+=('kill $regpid 2>/dev/null')
create_vch --insecure-registry "127.0.0.1:$regport"
cfg=$("$VIC_MACHINE" inspect --name "$E2E_NAME" --json)
admin_addr=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["admin"]["address"])' <<< "$cfg")
admin="https://127.0.0.1:${admin_addr##*:}"
C=$DOCKER_CERT_PATH
token=$("$VIC_MACHINE" admin-token --name "$E2E_NAME")
capture "$VIC_MACHINE" inspect --name "$E2E_NAME"
expect_contains "$out" "The VCH's admin page (vicadmin): $admin/" "inspect prints vicadmin's URL"
expect_eq 600 "$(stat -c %a "$VCH_DIR/admin-token")" "the token file is root's alone"

anon() { curl -sS --max-time 20 --cacert "$C/ca.pem" "$@"; }
cert() { curl -sS --max-time 20 --cacert "$C/ca.pem" --cert "$C/cert.pem" --key "$C/key.pem" "$@"; }
status_of() {  # check-id: "ok" or "fail: reason", from /api/status over the client certificate
  cert "$admin/api/status" | python3 -c '
import json, sys
s = json.load(sys.stdin)
for c in s["checks"]:
    if c["id"] == sys.argv[1]:
        print("ok" if c["ok"] else "fail: " + c["reason"]); break
else:
    print("no such check")' "$1"
}
check_is() { output_matches "$2" status_of "$1"; }  # for wait_until: check-id regex

# --- access ---
capture anon -o /dev/null -w '%{http_code}' "$admin/api/status"
expect_eq 401 "$out" "no certificate, no token: the JSON API refuses (401)"
capture anon -o /dev/null -w '%{http_code} %{redirect_url}' "$admin/"
expect_eq "303 $admin/login" "$out" "and a page sends the browser to /login"
capture anon -o /dev/null -w '%{http_code}' "http://127.0.0.1:${admin_addr##*:}/"
expect_ne "$out" 200 "plain HTTP to the TLS port gets nothing ($out)"
capture anon -w '\n%{http_code}' -d "token=not-the-token" "$admin/login"
expect_eq 401 "$(tail -n1 <<< "$out")" "a wrong token is refused (401)"
expect_contains "$out" "wrong token" "and the page says so"
capture anon -c "$work/jar" -o /dev/null -w '%{http_code} %{redirect_url}' -d "token=$token" "$admin/login"
expect_eq "303 $admin/" "$out" "the token from vic-machine admin-token logs in"
capture anon -b "$work/jar" -o /dev/null -w '%{http_code}' "$admin/api/status"
expect_eq 200 "$out" "the session cookie opens the API"
capture cert -o /dev/null -w '%{http_code}' "$admin/api/status"
expect_eq 200 "$out" "so does the VCH's client certificate, without a login"

# --- a healthy VCH: every check green ---
capture cert "$admin/api/status"
healthy=$(python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["healthy"], " ".join(c["id"] for c in s["checks"]), "|", "; ".join(c["id"]+": "+c["reason"] for c in s["checks"] if not c["ok"]))' <<< "$out")
expect_match "$healthy" "^True " "every status check is green on a healthy VCH ($healthy)"
for id in endpoint libvirt pool datastore volume-store:default "registry:127.0.0.1:$regport" \
  "firewall:VIC-$E2E_NAME-DNAT" "firewall:VIC-$E2E_NAME-IN"; do
  expect_contains "$healthy" "$id" "the status page has the check $id"
done

# --- containers, logs ---
docker pull -q "$BUSYBOX" > /dev/null
ticker=$(docker run -d --name ticker "$BUSYBOX" sh -c 'i=0; while :; do echo tick-$i; i=$((i+1)); sleep 1; done')
docker run --name done "$BUSYBOX" echo '<img src=x id=xss onerror=alert(1)>' > /dev/null
container_states() { cert "$admin/api/containers" | python3 -c 'import json,sys; print(" ".join(c["name"]+" "+c["state"] for c in json.load(sys.stdin)["items"]))'; }
ticker_samples() { cert "$admin/api/containers" | python3 -c 'import json,sys; print([len(c.get("cpu",[])) for c in json.load(sys.stdin)["items"] if c["name"]=="ticker"][0])'; }
wait_until 60 "vicadmin lists both containers with their states" output_matches 'ticker running.*done exited|done exited.*ticker running' container_states
wait_until 60 "the sampler has CPU and memory samples of the running container" output_matches '^([2-9]|[1-9][0-9])$' ticker_samples
capture cert "$admin/api/logs/tail?log=container:$ticker&lines=50"
expect_contains "$out" "tether: entered the container" "a container's console log through the API"
capture cert "$admin/api/logs/tail?log=output:$ticker&lines=50"
expect_contains "$out" '"tick-0"' "a container's output (docker logs) through the API"
capture cert "$admin/api/logs/tail?log=output:$(docker inspect -f '{{.Id}}' done)&lines=5"
expect_contains "$out" '[exited with code 0]' "and an exited one's ends with its exit"
capture cert -N --max-time 4 "$admin/api/logs/follow?log=output:$ticker"
expect_match "$out" $'\ndata: tick-[0-9]+\n' "following a container's output brings its new lines"
for bad in "../../etc/shadow" "container:../../../etc/shadow" "container:0000000000000000" "/etc/passwd" "endpoint/../../x" \
  "output:../../etc/shadow" "output:$ticker/../../x"; do
  capture cert -o /dev/null -w '%{http_code}' -G --data-urlencode "log=$bad" "$admin/api/logs/tail"
  expect_eq 404 "$out" "log name '$bad' is refused (404), never read as a path"
done

# --- the browser ---
token_options="{\"ca\": \"$C/ca.pem\", \"artifacts\": \"$artifacts\"}"
browser() {  # name steps-json [options-json]: runs the steps, output in $out/$rc
  printf '{"options": %s, "steps": %s}\n' "${3:-$token_options}" "$2" > "$work/$1.json"
  capture node "$VIC_ROOT/tests/e2e/browser.mjs" "$work/$1.json"
}
cert_options="{\"ca\": \"$C/ca.pem\", \"artifacts\": \"$artifacts\", \"clientCertificate\": {\"origin\": \"$admin\", \"cert\": \"$C/cert.pem\", \"key\": \"$C/key.pem\"}}"
browser login '[
  {"goto": "'"$admin"'/", "name": "open"},
  {"waitForURL": "/login"},
  {"screenshot": "login.png"},
  {"fill": "#token", "value": "wrong"},
  {"click": "button[type=submit]"},
  {"waitForText": ".alert", "text": "wrong token", "name": "wrong token"},
  {"fill": "#token", "value": "'"$token"'"},
  {"click": "button[type=submit]"},
  {"waitFor": "tr.check", "name": "status after login"},
  {"attrs": "tr[data-check]", "names": ["data-check", "class"], "name": "checks"},
  {"screenshot": "status.png"},
  {"goto": "'"$admin"'/containers"},
  {"waitForText": "tr[data-container]", "text": "ticker"},
  {"attrs": "tr[data-container] td.state", "names": ["class"], "name": "states"},
  {"attrs": "svg.spark", "names": ["class"], "name": "sparklines"},
  {"attrs": "img#xss", "names": ["src"], "min": 0, "name": "xss"},
  {"screenshot": "containers.png"},
  {"goto": "'"$admin"'/images"}, {"screenshot": "images.png"},
  {"goto": "'"$admin"'/volumes"}, {"screenshot": "volumes.png"},
  {"goto": "'"$admin"'/networks"}, {"screenshot": "networks.png"},
  {"goto": "'"$admin"'/logs"}, {"screenshot": "logs.png"}
]'
expect_rc 0 "the browser logs in with the token and walks every page"
checks_line=$(grep '"name":"checks"' <<< "$out" || true)
expect_contains "$checks_line" '"check ok"' "the status page shows green checks"
expect_not_contains "$checks_line" '"check fail"' "and no red one"
expect_contains "$(grep '"name":"wrong token"' <<< "$out" || true)" '"ok":true' "a wrong token in the form says so"
states=$(grep '"name":"states"' <<< "$out" || true)
expect_contains "$states" "state running" "the containers page shows the running container"
expect_contains "$states" "state exited" "and the exited one"
expect_match "$(grep '"name":"sparklines"' <<< "$out" || true)" 'spark cpu.*spark mem' "with CPU and memory sparklines"
expect_contains "$(grep '"name":"xss"' <<< "$out" || true)" '[]' "a container's hostile output is text, not HTML"

# The log view follows the endpoint's log as lines are added: the endpoint logs each refused
# API call, so a loop of `docker rm` of containers that do not exist writes a line a second.
( sleep 4; for i in $(seq 1 30); do docker rm "follow-marker-$i" > /dev/null 2>&1 || true; sleep 1; done ) &
marker_loop=$!
browser follow '[
  {"goto": "'"$admin"'/logs/view?log=endpoint"},
  {"text": "#log", "name": "first"},
  {"waitForText": "#log", "text": "follow-marker-6", "timeoutMs": 40000, "name": "followed"},
  {"screenshot": "log-follow.png"}
]' "$cert_options"
kill $marker_loop 2> /dev/null || true
expect_not_contains "$(grep '"name":"first"' <<< "$out" || true)" "follow-marker-6" "the log view opened before the line was written"
expect_contains "$(grep '"name":"followed"' <<< "$out" || true)" '"ok":true' "the log view follows new lines live (follow-marker-6 appeared)"
expect_contains "$(grep '"name":"first"' <<< "$out" || true)" '"ok":true' "the browser presents the VCH's client certificate instead of a token"

browser bundle '[
  {"goto": "'"$admin"'/"},
  {"waitFor": "tr.check"},
  {"download": "a[href=\"/bundle\"]", "saveAs": "'"$work"'/bundle.tar.gz", "name": "bundle"}
]' "$cert_options"
expect_rc 0 "the log bundle downloads from the page"
capture tar -tzf "$work/bundle.tar.gz"
members=$out
for m in endpoint.log vicadmin.log vch.json docker-info.json docker-version.json status.json; do
  expect_ne "$(grep -E "(^|/)$m\$" <<< "$members" || true)" "" "the bundle holds $m"
done
expect_eq 1 "$(grep -c "logs/containers/$ticker/output.log" <<< "$members")" "and the running container's output log, once"
expect_eq 1 "$(grep -c "logs/containers/$ticker/console.log" <<< "$members")" "and its console log, once"
expect_match "$members" "\.xml" "and the VMs' libvirt XML"
mkdir -p "$work/bundle" && tar -xzf "$work/bundle.tar.gz" -C "$work/bundle"
expect_eq "" "$(grep -rl 'PRIVATE KEY' "$work/bundle" || true)" "no private key in the bundle"
expect_eq "" "$(grep -rl "$token" "$work/bundle" || true)" "nor the admin token"
expect_eq "" "$(grep -E '\.(key|pem)$|admin-token' <<< "$members" || true)" "nor key, certificate or token files"

# --- rotation ends sessions ---
new=$("$VIC_MACHINE" admin-token --name "$E2E_NAME" --rotate)
expect_ne "$new" "$token" "admin-token --rotate makes a new token"
capture anon -b "$work/jar" -o /dev/null -w '%{http_code}' "$admin/api/status"
expect_eq 401 "$out" "the old token's session ends"
capture anon -o /dev/null -w '%{http_code}' -d "token=$token" "$admin/login"
expect_eq 401 "$out" "the old token no longer logs in"
capture anon -o /dev/null -w '%{http_code}' -d "token=$new" "$admin/login"
expect_eq 303 "$out" "the new one does"

# --- a guesser slows only itself: 16 wrong tokens at once from 127.0.0.2 (the ones after the
# first wait a second, fail together and push the next attempt 15 s back: past the 10 s cap) ---
guessers=()
for i in $(seq 16); do
  anon --interface 127.0.0.2 -o /dev/null -d "token=guess$i" "$admin/login" &
  guessers+=($!)
done
wait "${guessers[@]}"
capture anon --interface 127.0.0.2 -o /dev/null -w '%{http_code}' -d "token=$new" "$admin/login"
expect_eq 429 "$out" "an address that guessed wrong 16 times is refused at once (429), even with the token"
capture anon -o /dev/null -w '%{http_code}' -d "token=$new" "$admin/login"
expect_eq 303 "$out" "while an admin at another address logs in"

# --- silent clients: more connections than vicadmin keeps (128) that never send a byte, and
# some that stop half way through a request; an admin with the certificate still gets in ---
python3 -c '
import socket, sys, time
port = int(sys.argv[1])
held = []
for i in range(200):
    s = socket.create_connection(("127.0.0.1", port)); held.append(s)
for i in range(10):
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"\x16\x03\x01\x02\x00\x01"); held.append(s)
print("holding", len(held), flush=True)
time.sleep(40)' "${admin_addr##*:}" > "$work/silent.out" 2>&1 &
silent=$!
wait_until 20 "210 silent connections are open" grep -q holding "$work/silent.out"
t0=$SECONDS
capture cert -o /dev/null -w '%{http_code}' "$admin/api/status"
expect_eq 200 "$out" "with 210 silent connections open, vicadmin still answers an admin"
expect_eq 1 "$(( SECONDS - t0 < 15 ))" "at once ($(( SECONDS - t0 )) s)"
capture docker version --format '{{.Server.APIVersion}}'
expect_eq 1.50 "$out" "and the Docker API is untouched"
kill $silent 2> /dev/null || true

# --- each check broken for real, seen red with its reason ---
endpoint_pid=$(cat "$VCH_DIR/endpoint.pid")
kill -STOP "$endpoint_pid"
t0=$SECONDS
capture status_of endpoint
kill -CONT "$endpoint_pid"
expect_match "$out" "^fail: endpoint is down" "a hung endpoint turns its check red ($out)"
expect_eq 1 "$(( SECONDS - t0 < 15 ))" "without hanging the page ($(( SECONDS - t0 )) s)"
iptables -E "VIC-$E2E_NAME-IN" "VIC-$E2E_NAME-INx"
wait_until 20 "a missing firewall chain is red" check_is "firewall:VIC-$E2E_NAME-IN" "^fail: .*VIC-$E2E_NAME-IN"
browser red-firewall '[
  {"goto": "'"$admin"'/"},
  {"attrs": "tr.check.fail", "names": ["data-check"], "name": "red"},
  {"screenshot": "status-red-firewall.png"}
]' "$cert_options"
expect_contains "$(grep '"name":"red"' <<< "$out" || true)" "firewall:VIC-$E2E_NAME-IN" "the browser shows the chain's check red"
iptables -E "VIC-$E2E_NAME-INx" "VIC-$E2E_NAME-IN"
wait_until 20 "the chain back: green" check_is "firewall:VIC-$E2E_NAME-IN" "^ok$"

kill $regpid; wait $regpid 2>/dev/null || true
wait_until 20 "an unreachable registry is red" check_is "registry:127.0.0.1:$regport" "^fail: .*(refused|connect)"
start_fake_registry
wait_until 20 "the registry back: green" check_is "registry:127.0.0.1:$regport" "^ok$"

libvirtd_pid=$(cat /run/libvirtd.pid)
kill "$libvirtd_pid"
wait_until 20 "libvirtd stopped: its check is red" check_is libvirt "^fail: "
capture status_of libvirt
log "with libvirtd down: $out"
"$VIC_ROOT/ci/start-libvirtd"
wait_until 30 "libvirtd back: green" check_is libvirt "^ok$"

kill "$endpoint_pid"
wait_until 20 "a stopped endpoint is red" check_is endpoint "^fail: endpoint is down"
capture cert -o /dev/null -w '%{http_code}' "$admin/containers"
expect_eq 200 "$out" "the containers page still answers, saying the endpoint is down"
expect_contains "$(cert "$admin/containers")" "endpoint is down" "in words"
"$VIC_MACHINE" restart --name "$E2E_NAME" > /dev/null
wait_until 30 "vic-machine restart brings both back: green" check_is endpoint "^ok$"

# The pool, the datastore and a volume store, on a second VCH (no template VM, so its pool can
# be emptied) whose image and volume stores are on a small file system.
small=$E2E_NAME-small
extra_vchs+=("$small")
store=/var/tmp/$small-store
mount_small_fs "$store" "/var/tmp/$small.img" 512M
"$VIC_MACHINE" delete --name "$small" --force > /dev/null 2>&1 || true
capture "$VIC_MACHINE" create --name "$small" --no-instant-clone --memory 1GiB --image-store "$store/ds" --volume-store "$store/vols:extra"
expect_rc 0 "a second VCH on a small file system"
small_cfg=$("$VIC_MACHINE" inspect --name "$small" --json)
small_port=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["admin"]["address"].rsplit(":",1)[1])' <<< "$small_cfg")
SC=$store/ds/certs/client
small_status() {
  curl -sS --max-time 20 --cacert "$SC/ca.pem" --cert "$SC/cert.pem" --key "$SC/key.pem" "https://127.0.0.1:$small_port/api/status" |
    python3 -c 'import json,sys; print(" | ".join(c["id"]+" "+("ok" if c["ok"] else "fail: "+c["reason"]) for c in json.load(sys.stdin)["checks"]))'
}
wait_until 20 "the second VCH's pool and stores are green" output_matches 'pool ok.*datastore ok.*volume-store:extra ok' small_status
avail=$(df --output=avail -B1 "$store" | tail -n 1)
fallocate -l $((avail - (8 << 20))) "$store/ballast"
wait_until 20 "a full datastore and volume store are red" output_matches 'datastore fail: only .* free.*volume-store:extra fail: only' small_status
rm -f "$store/ballast"
wait_until 20 "space back: green" output_matches 'datastore ok.*volume-store:extra ok' small_status
pool_dirs=$(find /sys/fs/cgroup -type d -path "*machine*/$small.partition" 2>/dev/null | sort -r)
expect_ne "$pool_dirs" "" "the second VCH's pool is a cgroup partition ($(wc -l <<< "$pool_dirs") controllers)"
for d in $pool_dirs; do rmdir "$d"; done
wait_until 20 "a missing resource pool is red" output_matches "pool fail: " small_status
"$VIC_MACHINE" restart --name "$small" > /dev/null
wait_until 20 "restart remakes the pool: green" output_matches 'pool ok' small_status
