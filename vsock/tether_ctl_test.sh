#!/usr/bin/env bash
# tether-ctl against fake-tether over a unix socket: the debug client works as a user runs it.
set -euo pipefail
ctl=${1:?tether-ctl}; fake=${2:?fake-tether}
sock=$(mktemp -u /tmp/vic-ctl-test.XXXXXX.sock)
"$fake" "unix:$sock" & pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$sock"' EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
export TETHER_CTL_ENDPOINT=unix:$sock
fail() { echo "FAIL: $*"; exit 1; }

[ "$("$ctl" ping)" = "protocol 1 tether fake" ] || fail "ping"
[ "$("$ctl" run --id a -- echo hello world)" = "hello world" ] || fail "echo output"
rc=0; "$ctl" run --id b -- exit 3 || rc=$?
[ $rc = 3 ] || fail "exit 3 gave $rc"
rc=0; err=$("$ctl" run --id c -- nosuch 2>&1) || rc=$?
[ $rc = 127 ] || fail "missing command gave $rc"
grep -q 'executable file not found in \$PATH' <<<"$err" || fail "missing command message: $err"
head -c 300000 /dev/urandom > "$sock.in"
"$ctl" run -i --id d -- cat < "$sock.in" > "$sock.out"
cmp -s "$sock.in" "$sock.out" || fail "stdin round trip differs"
rm -f "$sock.in" "$sock.out"
"$ctl" ls | grep -q $'^b\texited\t3$' || fail "ls: $("$ctl" ls)"
rc=0; "$ctl" --connect unix:/nonexistent.sock ping 2>"$sock.err" || rc=$?
[ $rc = 1 ] && grep -q 'No such file or directory' "$sock.err" || fail "bad endpoint: $(cat "$sock.err")"
rm -f "$sock.err"
echo "PASS: tether-ctl ping, run, exit codes, stdin, ls, errors"
