#!/usr/bin/env bash
# vic-machine's life cycle of VCHs: a TLS VCH (client certificates required) and a plain one
# side by side, ls/inspect, configure changing the pool's limits, delete refusing while
# containers run and --force removing everything it made, and clear errors for bad flags.
source "$(dirname "$0")/lib.sh"
start_registry
create_vch --cpu 2 --memory 3GiB
plain=$E2E_NAME-plain
extra_vchs+=("$plain")
"$VIC_MACHINE" delete --name "$plain" --force > /dev/null 2>&1 || true

capture "$VIC_MACHINE" create --name "$plain" --no-tls --cpu 1 --memory 1GiB
expect_rc 0 "a second, plain-HTTP VCH beside the first"
expect_contains "$out" "DOCKER_HOST=tcp://127.0.0.1:" "create prints how to connect"
plain_dir=$("$VIC_MACHINE" inspect --name "$plain" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["datastore"])')
plain_host=$(sed -n 's/^DOCKER_HOST=//p' "$plain_dir/$plain.env")

# vicadmin of the plain VCH: plain HTTP, on loopback like its API, and still behind the token.
plain_admin=$("$VIC_MACHINE" inspect --name "$plain" | sed -n "s/^The VCH's admin page (vicadmin): //p")
expect_match "$plain_admin" '^http://127\.0\.0\.1:[0-9]+/$' "the plain VCH's vicadmin is plain HTTP on loopback ($plain_admin)"
plain_admin_port=${plain_admin%/}
plain_admin_port=${plain_admin_port##*:}
expect_match "$(ss -ltnH "sport = :$plain_admin_port" | awk '{print $4}')" '^127\.0\.0\.1:' "and listens on loopback only"
capture curl -sS -m 10 -o /dev/null -w '%{http_code}' "${plain_admin}api/status"
expect_eq 401 "$out" "without the token it refuses"
capture curl -sS -m 10 -o /dev/null -w '%{http_code}' -d "token=$("$VIC_MACHINE" admin-token --name "$plain")" "${plain_admin}login"
expect_eq 303 "$out" "the token logs in"

capture "$VIC_MACHINE" ls
expect_match "$out" "$E2E_NAME +running" "ls lists the TLS VCH as running"
expect_match "$out" "$plain +running" "ls lists the plain VCH as running"
capture "$VIC_MACHINE" inspect --name "$E2E_NAME"
expect_contains "$out" "DOCKER_TLS_VERIFY=1" "inspect says how to connect with TLS"
# Each VCH gets a stripped endpoint; its debug info stays in the build, beside the binary.
capture readelf -S "$plain_dir/bin/vic-endpoint"
expect_not_contains "$out" ".debug_info" "the VCH's copy of vic-endpoint is stripped"
expect_eq 1 "$(( $(stat -c %s "$plain_dir/bin/vic-endpoint") < (32 << 20) ))" "and small ($(( $(stat -c %s "$plain_dir/bin/vic-endpoint") >> 20 )) MiB)"
capture readelf --string-dump=.gnu_debuglink "$VIC_BUILD/runtime/endpoint/vic-endpoint"
expect_contains "$out" "vic-endpoint.debug" "the build's binary points at its debug info"
expect_contains "$(readelf -S "$VIC_BUILD/runtime/endpoint/vic-endpoint.debug")" ".debug_info" "which is there"

# TLS: the server's certificate verifies against the VCH's CA; a client without a certificate
# is turned away.
port=${DOCKER_HOST##*:}
capture curl -sS --max-time 10 --cacert "$DOCKER_CERT_PATH/ca.pem" --cert "$DOCKER_CERT_PATH/cert.pem" \
  --key "$DOCKER_CERT_PATH/key.pem" "https://127.0.0.1:$port/_ping"
expect_eq "OK" "$out" "a client certificate from the VCH's CA is accepted"
capture curl -sS --max-time 10 --cacert "$DOCKER_CERT_PATH/ca.pem" "https://127.0.0.1:$port/_ping"
expect_ne_zero "$rc" "a client without a certificate is refused"
capture curl -sS --max-time 10 "http://127.0.0.1:$port/_ping"
expect_ne_zero "$rc" "plain HTTP to the TLS port is refused"
capture env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH DOCKER_HOST="$plain_host" docker info --format '{{.NCPU}} {{.MemTotal}}'
expect_eq "1 1073741824" "$out" "the plain VCH answers over HTTP with its own limits"

capture "$VIC_MACHINE" configure --name "$E2E_NAME" --cpu 1 --memory 2GiB
expect_rc 0 "vic-machine configure"
capture docker info --format '{{.NCPU}} {{.MemTotal}}'
expect_eq "1 2147483648" "$out" "docker info shows the new limits"

# delete refuses while a container runs, and --force removes VMs, bridge, pool and datastore.
capture env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH DOCKER_HOST="$plain_host" docker run -d "$BUSYBOX" sleep 600
expect_rc 0 "a container on the plain VCH"
capture "$VIC_MACHINE" delete --name "$plain"
expect_ne_zero "$rc" "delete without --force refuses"
expect_contains "$out" "running container" "and says why"
capture virsh list --name
expect_eq 1 "$(grep -c "^$plain-" <<< "$out" || true)" "the container survived the refused delete"
capture "$VIC_MACHINE" delete --name "$plain" --force
expect_rc 0 "delete --force"
capture virsh list --all --name
expect_eq 0 "$(grep -c "^$plain-" <<< "$out" || true)" "no containerVM of the deleted VCH is left"
capture virsh net-list --all --name
expect_not_contains "$out" "$plain-bridge" "its bridge network is gone"
expect_eq "" "$(find /sys/fs/cgroup -maxdepth 3 -name "$plain*" 2> /dev/null)" "its resource pool is gone"
if [ -e "$plain_dir" ]; then fail "its datastore $plain_dir is still there"; else pass "its datastore is gone"; fi
capture "$VIC_MACHINE" ls
expect_not_contains "$out" "$plain " "ls no longer lists it"

# Bad flags: clear errors, nothing made.
capture "$VIC_MACHINE" create --name Bad_Name
expect_ne_zero "$rc" "an invalid VCH name is refused"
expect_contains "$out" "Bad_Name" "naming the bad value"
capture "$VIC_MACHINE" create --name "$E2E_NAME"
expect_ne_zero "$rc" "a duplicate VCH name is refused"
expect_contains "$out" "already exists" "with a clear message"
capture "$VIC_MACHINE" create --name e2e-badmem --memory 12XB
expect_ne_zero "$rc" "a bad --memory is refused"
capture "$VIC_MACHINE" create --name e2e-badflag --no-such-flag
expect_ne_zero "$rc" "an unknown flag is refused"
expect_contains "$out" "no-such-flag" "naming the flag"
capture "$VIC_MACHINE" ls
expect_not_contains "$out" "e2e-bad" "failed creates leave no VCH behind"
capture "$VIC_MACHINE" version
expect_match "$out" "^vic-machine [0-9]+\.[0-9]+" "vic-machine version"
