# Shared by the e2e tests: a VCH made by vic-machine, the fixture registry, and assertions.
# Sourced. Needs VIC_BUILD (the build tree) and VIC_ROOT (the checkout).
# shellcheck shell=bash
set -euo pipefail

: "${VIC_BUILD:?}" "${VIC_ROOT:?}"
VIC_MACHINE=$VIC_BUILD/runtime/vic_machine/vic-machine
# VIC_E2E_COLD=1: the same tests with every container cold-booted (no instant clone).
if [ "${VIC_E2E_COLD:-0}" = 1 ]; then
  export VIC_MACHINE_REAL=$VIC_MACHINE
  VIC_MACHINE=$VIC_ROOT/tests/e2e/cold-vic-machine.sh
fi
REGISTRY_DIR=${VIC_FIXTURE_REGISTRY:-/var/lib/vic/fixture-registry}
E2E_NAME=${E2E_NAME:-e2e-$(basename "$0" .sh | tr '_' '-')}
failures=0
extra_vchs=()  # further VCHs a test made: finish deletes them too
after_finish=()  # commands finish runs once the VCHs are deleted (e.g. unmounting their store)

log() { printf '[%s] %s\n' "$E2E_NAME" "$*"; }
fail() { log "FAIL: $*"; failures=$((failures + 1)); }
pass() { log "ok:   $*"; }

expect_eq() {  # expected actual what
  if [ "$1" == "$2" ]; then pass "$3"; else fail "$3: expected [$1], got [$2]"; fi
}
expect_ne() {  # one other what: the two differ (and the first is not empty)
  if [ -n "$1" ] && [ "$1" != "$2" ]; then pass "$3"; else fail "$3: both are [$1]"; fi
}
expect_rc() {  # expected-status what: checks $rc from capture, shows $out when it differs
  if [ "$1" == "$rc" ]; then pass "$2"; else fail "$2: expected status $1, got $rc: $(tail -c 600 <<< "$out")"; fi
}
expect_contains() {  # haystack needle what
  if [[ "$1" == *"$2"* ]]; then pass "$3"; else fail "$3: [$2] not in [$1]"; fi
}
expect_not_contains() {
  if [[ "$1" != *"$2"* ]]; then pass "$3"; else fail "$3: [$2] unexpectedly in [$1]"; fi
}
expect_match() {  # text regex what
  if [[ "$1" =~ $2 ]]; then pass "$3"; else fail "$3: [$1] does not match /$2/"; fi
}
expect_ne_zero() {  # status what
  if [ "$1" -ne 0 ]; then pass "$2"; else fail "$2: exit status 0"; fi
}
# Runs a command, captures its output (stdout+stderr) in $out and its status in $rc.
capture() {
  set +e
  out=$("$@" 2>&1)
  rc=$?
  set -e
}

# Polls until a command succeeds instead of sleeping a fixed time:
#   wait_until [-i INTERVAL] SECONDS WHAT COMMAND...
# Runs COMMAND every INTERVAL seconds (0.5 unless given) and returns as soon as it exits 0,
# logging how long that took. After SECONDS it fails the test, naming WHAT was awaited and
# showing what the last check printed, and returns 1 (so under set -e the test stops there,
# with the endpoint log tail).
wait_until() {
  local interval=0.5
  if [ "$1" = -i ]; then interval=$2; shift 2; fi
  local timeout=$1 what=$2 last start=$SECONDS t0=$EPOCHREALTIME
  shift 2
  while true; do
    if last=$("$@" 2>&1); then
      log "waited $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s until $what"
      return 0
    fi
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      fail "gave up after ${timeout}s waiting until $what; the last check ($*) printed: [$(tail -c 400 <<< "$last")]"
      return 1
    fi
    sleep "$interval"
  done
}
# Conditions for wait_until: run a command (its status ignored), print its output and succeed
# when that output contains TEXT / equals TEXT / matches REGEX.
output_has() { local want=$1 got; shift; got=$("$@" 2>&1) || true; printf '%s\n' "$got"; [[ "$got" == *"$want"* ]]; }
output_is() { local want=$1 got; shift; got=$("$@" 2>&1) || true; printf '%s\n' "$got"; [ "$got" == "$want" ]; }
output_matches() { local re=$1 got; shift; got=$("$@" 2>&1) || true; printf '%s\n' "$got"; [[ "$got" =~ $re ]]; }
# True once a container's VM is powered off (its process ended): vm_off CONTAINER-ID
vm_off() { output_is "shut off" virsh domstate "$E2E_NAME-${1:0:12}"; }
# True once tether has started a container's main process (an attached container shows as
# running before tether lets its main process go): the start record (0xD7, kind 4, empty;
# vsock/log_record.h) is in its output log. main_started CONTAINER-ID
main_started() { LC_ALL=C grep -qaP '\xd7\x04\x00{6}' "$VCH_DIR/containers/$1/output.log"; }
# True once tether in a container's VM has opened its channel (libvirt shows the port
# connected). tether_up CONTAINER-ID
tether_up() { virsh dumpxml "$E2E_NAME-${1:0:12}" | grep -q "name='org.vic.tether' state='connected'"; }

# A small ext4 file system on a loop device mounted at DIR (made anew; unmounted and removed
# when the test finishes): a datastore or volume store that can be filled. Not tmpfs: a clone
# maps its template's memory file, and tmpfs allocates even for reading its holes.
#   mount_small_fs DIR IMAGE-FILE SIZE   (SIZE as truncate takes it: 512M, 1536M)
mount_small_fs() {
  local dir=$1 img=$2 size=$3
  mkdir -p "$dir"
  if mountpoint -q "$dir"; then umount -l "$dir"; fi
  truncate -s 0 "$img" && truncate -s "$size" "$img" && mkfs.ext4 -q -F -m 0 "$img"
  mount -o loop "$img" "$dir"
  after_finish+=("umount -l '$dir'; rm -f '$img'")
}

# Starts (idempotently) and fills the fixture registry; sets REGISTRY and BUSYBOX.
start_registry() {
  "$VIC_ROOT/images/fixtures/registry.sh" fill "$REGISTRY_DIR" > /dev/null
  REGISTRY=$(cat "$REGISTRY_DIR/addr")
  BUSYBOX=$REGISTRY/test/busybox
}

# Creates the test's VCH (removing a leftover one first) and points docker at it.
create_vch() {
  # One test's failure must not fail the rest: a test that stops libvirtd and is cut off by its
  # timeout before it starts it again (recovery, reboot) has already failed on its own.
  if ! virsh -c qemu:///system version > /dev/null 2>&1; then
    log "libvirtd does not answer (a test before this one left it down): starting it"
    "$VIC_ROOT/ci/start-libvirtd"
  fi
  "$VIC_MACHINE" delete --name "$E2E_NAME" --force > /dev/null 2>&1 || true
  "$VIC_MACHINE" create --name "$E2E_NAME" "$@" > "/tmp/$E2E_NAME.create.log" 2>&1 || {
    cat "/tmp/$E2E_NAME.create.log"; log "FAIL: vic-machine create"; exit 1; }
  VCH_DIR=$("$VIC_MACHINE" inspect --name "$E2E_NAME" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["datastore"])')
  set -a
  # shellcheck disable=SC1090
  source "$VCH_DIR/$E2E_NAME.env"
  set +a
  trap finish EXIT
}

finish() {
  local status=$?
  [ "$BASHPID" = "$$" ] || return 0  # the EXIT trap also fires in $(...) subshells
  if [ "$failures" -gt 0 ] || [ "$status" -ne 0 ]; then
    log "endpoint log tail:"; tail -n 30 "${VCH_DIR:-/nonexistent}/endpoint.log" 2>/dev/null || true
  fi
  # On the instant clone path, every start of the default shape must be a clone; another shape
  # boots once while its template is made ("... yet (making one)").
  local fallbacks
  if [ "${VIC_E2E_COLD:-0}" != 1 ] && [ -n "${VCH_DIR:-}" ] &&
    fallbacks=$(grep "cold boot of" "$VCH_DIR/endpoint.log" 2>/dev/null | grep -v "yet (making one)"); then
    fail "containers were cold-booted on the instant clone path: $fallbacks"
  fi
  if [ -z "${E2E_KEEP:-}" ]; then
    for vch in "$E2E_NAME" "${extra_vchs[@]}"; do "$VIC_MACHINE" delete --name "$vch" --force > /dev/null 2>&1 || true; done
  fi
  local c
  for c in "${after_finish[@]}"; do eval "$c" || true; done
  if [ "$failures" -gt 0 ]; then log "$failures check(s) failed"; exit 1; fi
  [ "$status" -eq 0 ] && log "all checks passed"
  exit "$status"
}
