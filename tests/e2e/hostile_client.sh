#!/usr/bin/env bash
# API clients without a certificate are hostile, and so are buggy ones with one: a slow TLS
# handshake and a slowloris header are cut at their deadlines, 2000 silent connections do not
# stop `docker ps`, a 300k-deep JSON body, a huge header, a backtracking name filter and
# invalid UTF-8 each get an answer, and the endpoint is the same process at the end. VCHs
# without client verification listen on loopback unless told otherwise, with a warning then.
source "$(dirname "$0")/lib.sh"
helper=$(dirname "$0")/hostile_client.py
start_registry
create_vch --cpu 1 --memory 1GiB
port=${DOCKER_HOST##*:}
pid=$(cat "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pidFile"])' "$VCH_DIR/vch.json")")
certs=(--cacert "$DOCKER_CERT_PATH/ca.pem" --cert "$DOCKER_CERT_PATH/cert.pem" --key "$DOCKER_CERT_PATH/key.pem")
api=https://127.0.0.1:$port/v1.50
work=$(mktemp -d)
docker pull -q "$BUSYBOX" > /dev/null

# Slow clients, left running while the rest goes on: a ClientHello that never ends (no
# certificate needed) and, with a certificate, a header trickled a byte a second.
python3 "$helper" slowhello 127.0.0.1 "$port" > "$work/slowhello" 2>&1 &
hello_pid=$!
python3 "$helper" slowloris 127.0.0.1 "$port" "$DOCKER_CERT_PATH" > "$work/slowloris" 2>&1 &
loris_pid=$!
both_connected() { local c; c=$(ss -Htnp state established "( dport = :$port )"); printf '%s\n' "$c"
  [[ "$c" == *"pid=$hello_pid,"* && "$c" == *"pid=$loris_pid,"* ]]; }
wait_until 30 "both slow clients are connected" both_connected
capture docker version --format '{{.Server.APIVersion}}'
expect_eq "1.50" "$out" "docker version answers while slow clients hold connections"

# A body nested 300k deep (600 KB, inside the 1 MiB JSON limit) is refused, not recursed into.
python3 -c 'import sys; sys.stdout.write("{\"Image\":" + "[" * 300000 + "]" * 300000 + "}")' > "$work/deep.json"
capture curl -sS --max-time 20 "${certs[@]}" -o "$work/answer" -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary @"$work/deep.json" "$api/containers/create"
expect_eq "400" "$out" "a 300k-deep JSON body gets a 400"
expect_eq '{"message":"invalid JSON: the request body is not valid JSON or nests deeper than 128 levels"}' \
  "$(cat "$work/answer")" "saying why"

capture curl -sS --max-time 20 "${certs[@]}" -o "$work/answer" -w '%{http_code}' \
  -H "X-Big: $(head -c 100000 /dev/zero | tr '\0' a)" "$api/_ping"
expect_eq "400" "$out" "a 100 kB header gets a 400"
expect_eq '{"message":"request header too large"}' "$(cat "$work/answer")" "saying why"

# A field of the wrong type (a number for a string) is the client's mistake: 400, not 500.
capture curl -sS --max-time 20 "${certs[@]}" -o "$work/answer" -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary '{"Container":5}' "$api/networks/bridge/connect"
expect_eq "400" "$out" "a wrong-typed field gets a 400"
expect_contains "$(cat "$work/answer")" "json: cannot unmarshal" "saying why"
capture docker version --format '{{.Server.APIVersion}}'
expect_eq "1.50" "$out" "and the API answers the next request"

# Invalid UTF-8 quoted back in an error message: a JSON error, not an exception.
capture curl -sS --max-time 20 "${certs[@]}" -w ' %{http_code}' "$api/containers/%FF%FEnope/json"
expect_match "$out" ' 404$' "a name in invalid UTF-8 gets a 404"
capture python3 -c 'import json,sys; print(json.loads(sys.argv[1].rsplit(" ", 1)[0])["message"])' "$out"
expect_match "$out" '^No such container: .*nope$' "and its message is JSON"

# docker ps --filter name=(a|aa)*c against a 41-character name: linear time (RE2).
long=$(printf 'a%.0s' $(seq 41))
capture docker create --name "$long" "$BUSYBOX" true
expect_rc 0 "docker create of a container named with 41 a's (not started)"
start=$(date +%s%N)
capture docker ps -a --filter 'name=(a|aa)*c' --format '{{.Names}}'
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "0 " "$rc $out" "the backtracking pattern matches nothing"
if [ "$ms" -lt 3000 ]; then pass "and answers in ${ms} ms"; else fail "docker ps with (a|aa)*c took ${ms} ms"; fi
log "measured: docker ps --filter 'name=(a|aa)*c' over a 41-character name: ${ms} ms"
capture docker ps -a --filter 'name=^/?a+$' --format '{{.Names}}'
expect_eq "$long" "$out" "a Go-syntax pattern still finds it"

wait "$hello_pid" "$loris_pid" || true
hello=$(cat "$work/slowhello"); loris=$(cat "$work/slowloris")
log "measured: an unfinished TLS handshake was closed after ${hello}s, a trickled header after ${loris}s"
expect_match "$hello" '^([89]|1[0-9])\.[0-9]$' "the server closes a TLS handshake that does not finish (10 s)"
expect_match "$loris" '^(2[89]|3[0-9])\.[0-9]$' "the server closes a header trickled a byte a second (30 s)"

# 2000 silent connections: more than the endpoint's descriptor limit used to allow and more
# than its connection cap (1024); the oldest idle ones make room for docker ps.
ulimit -n 8192
python3 "$helper" idle 127.0.0.1 "$port" 2000 "$work/idle" 25 > "$work/idle.log" 2>&1 &
idle_pid=$!
wait_until 30 "the idle client has opened its connections" test -s "$work/idle"
expect_eq "2000" "$(head -n1 "$work/idle" 2>/dev/null)" "2000 silent connections are open"
fds=$(ls "/proc/$pid/fd" | wc -l)
log "measured: the endpoint holds $fds descriptors with 2000 silent connections open"
if [ "$fds" -lt 1400 ]; then pass "the endpoint holds at most its cap of them ($fds descriptors)"; else fail "$fds descriptors open"; fi
capture timeout 30 docker ps -a --format '{{.Names}}'
expect_eq "0 $long" "$rc $out" "docker ps answers meanwhile"
wait "$idle_pid" || true
expect_eq "closed 2000" "$(tail -n1 "$work/idle")" "all 2000 were closed by the server within 25 s"
capture docker version --format '{{.Server.APIVersion}}'
expect_eq "1.50" "$out" "docker version answers after them"

expect_eq "$pid" "$(cat "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pidFile"])' "$VCH_DIR/vch.json")")" \
  "the endpoint is the same process"
if kill -0 "$pid" 2>/dev/null; then pass "and it is alive"; else fail "endpoint $pid is gone"; fi

# Without client verification a VCH listens on loopback, unless the admin says otherwise,
# and then vic-machine warns.
plain=$E2E_NAME-plain
open=$E2E_NAME-open
extra_vchs+=("$plain" "$open")
for v in "$plain" "$open"; do "$VIC_MACHINE" delete --name "$v" --force > /dev/null 2>&1 || true; done
capture "$VIC_MACHINE" create --name "$plain" --no-tls --cpu 1 --memory 512MiB
expect_rc 0 "a plain-HTTP VCH"
expect_not_contains "$out" "WARNING" "on loopback without a warning"
capture "$VIC_MACHINE" inspect --name "$plain"
expect_match "$out" "API: +127\.0\.0\.1:[0-9]+" "it listens on 127.0.0.1"
capture "$VIC_MACHINE" create --name "$open" --no-tlsverify --api-address 0.0.0.0 --cpu 1 --memory 512MiB
expect_rc 0 "a VCH without client verification on 0.0.0.0, asked for"
expect_contains "$out" "WARNING: VCH $open serves the Docker API on 0.0.0.0 with TLS without client verification" \
  "vic-machine warns loudly"
rm -rf "$work"
