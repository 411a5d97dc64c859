#!/usr/bin/env bash
# The endpoint is killed with SIGKILL while containers run and finish; after `vic-machine
# restart` every container is there with its right state, exit code and complete output, the
# running ones can still be exec'd into and stopped, and --rm containers that ended meanwhile
# are gone.
source "$(dirname "$0")/lib.sh"
start_registry
create_vch

capture docker run --name done-before "$BUSYBOX" sh -c 'echo before; exit 2'
expect_rc 2 "a container that ends before the crash"
capture docker run -d --name keeps-running "$BUSYBOX" sh -c \
  'i=0; while true; do echo beat $i; i=$((i+1)); sleep 1; done'
keeps_running=$out
capture docker create --name never-started "$BUSYBOX" true
expect_rc 0 "docker create"
# The next three must end during the outage: they start last and outlive a few cold boots
# (with --no-instant-clone each `docker run -d` waits for a boot, a few seconds under TCG).
capture docker run -d --name ends-during "$BUSYBOX" sh -c \
  'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line $i; sleep 1; done; exit 4'
ends_during=$out
capture docker run -d --rm --name removed-during "$BUSYBOX" sleep 10
removed_during=$out
# Its policy outlives the endpoint: it fails during the outage and is started again after.
capture docker run -d --name comes-back --restart on-failure "$BUSYBOX" sh -c \
  'if [ -f /restarted ]; then exec sleep 600; fi; touch /restarted; sleep 8; exit 5'
comes_back=$out
wait_until 30 "ends-during and keeps-running have begun writing" \
  sh -c 'docker logs ends-during | grep -q "^line 1$" && docker logs keeps-running | grep -q "^beat 0$"'

pid=$(cat "$VCH_DIR/endpoint.pid")
kill -9 "$pid"
log "killed the endpoint (pid $pid) with SIGKILL"
for c in "$ends_during" "$removed_during" "$comes_back"; do
  capture virsh domstate "$E2E_NAME-${c:0:12}"
  expect_eq running "$out" "${c:0:12} was still running when the endpoint went down"
done
capture docker ps
expect_ne_zero "$rc" "the endpoint is down"
# ends-during and removed-during finish while nobody listens (their VMs power off), and
# keeps-running writes on: its output log, which QEMU appends to, reaches "beat 9".
both_ended() { vm_off "$ends_during" && vm_off "$removed_during" && vm_off "$comes_back"; }
wait_until 60 "ends-during and removed-during have ended" both_ended
wait_until 60 "keeps-running has written beat 9" grep -aq 'beat 9' "$VCH_DIR/containers/$keeps_running/output.log"

capture "$VIC_MACHINE" restart --name "$E2E_NAME"
expect_rc 0 "vic-machine restart"
capture docker ps -a --format '{{.Names}}|{{.Status}}'
expect_match "$out" "done-before\|Exited \(2\)" "a container exited before the crash keeps its code"
expect_match "$out" "ends-during\|Exited \(4\)" "a container that ended during the outage has its code"
expect_match "$out" "keeps-running\|Up " "the running container is running"
expect_match "$out" "never-started\|Created" "the created container is created"
expect_not_contains "$out" "removed-during" "an --rm container that ended meanwhile is removed"
wait_until 60 "the restarted endpoint applied comes-back's restart policy" \
  output_is "1 running" docker inspect -f '{{.RestartCount}} {{.State.Status}}' comes-back
# Its second run is up (the file its first run left is there); a removal right away also works.
wait_until 30 "comes-back's second run answers" docker exec comes-back test -f /restarted
capture docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' comes-back
expect_eq "on-failure" "$out" "the policy survived the endpoint's SIGKILL"
docker rm -f comes-back > /dev/null

capture docker logs ends-during
expect_eq "$(seq -f 'line %g' 1 12)" "$out" "all the output written during the outage"
capture docker logs done-before
expect_eq "before" "$out" "the output from before the crash"
capture docker wait ends-during
expect_eq 4 "$out" "docker wait after the restart"
capture docker inspect -f '{{.State.ExitCode}}' ends-during
expect_eq 4 "$out" "docker inspect's exit code"

capture docker logs keeps-running
n_before=$(grep -c beat <<< "$out")
if [ "$n_before" -ge 10 ]; then pass "the running container kept writing ($n_before lines)"; else fail "only $n_before lines"; fi
capture docker exec keeps-running echo reconnected
expect_eq "reconnected" "$out" "exec into a container that ran through the crash"
capture docker stop -t 5 keeps-running
capture docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' keeps-running
expect_eq "exited 143" "$out" "it stops with SIGTERM"
capture docker start -a never-started
expect_rc 0 "a container created before the crash starts"

# A second crash while a `docker run` is attached: the client sees the stream end, the
# container's exit code is kept. The crash comes once the VM is on: under TCG that is before
# tether lets the main process go (the restarted endpoint releases it), with a faster boot it
# may be after (the process then ends during the outage). (Its own 'sleep 6' is that process.)
docker run --name attached-crash "$BUSYBOX" sh -c 'sleep 6; echo finished; exit 5' > /dev/null 2>&1 &
wait_until 60 "attached-crash's VM is on (its client attached)" \
  output_is true docker inspect -f '{{.State.Running}}' attached-crash
attached_crash=$(docker inspect -f '{{.Id}}' attached-crash)
kill -9 "$(cat "$VCH_DIR/endpoint.pid")"
wait || true
# Held: the endpoint comes back once tether is up and holding the process (an endpoint back
# before tether opened its channel never releases it: the container hangs). Started: once
# the process has ended.
held_or_ended() { if main_started "$attached_crash"; then vm_off "$attached_crash"; else tether_up "$attached_crash"; fi; }
wait_until 60 "attached-crash is held by a running tether, or has ended" held_or_ended
if main_started "$attached_crash"; then log "the crash came after its main process started"
else log "the crash came before tether let its main process go"; fi
capture "$VIC_MACHINE" restart --name "$E2E_NAME"
capture timeout 120 docker wait attached-crash  # bounded: a container left held never ends
expect_eq 5 "$out" "the exit code of a container whose client was cut off"
capture docker logs attached-crash
expect_eq "finished" "$out" "and its output"

# ---- libvirtd goes away (killed, restarted, upgraded): QEMU and the containers run on ----
# Answers keep the last known state or fail clearly; nothing dies or is removed for the outage;
# once libvirtd is back, what happened meanwhile is read from the VMs.
docker run -d --name lv-up "$BUSYBOX" sh -c 'trap "" TERM; while true; do sleep 1; done' > /dev/null
# These two end when told (through tether, which needs no libvirt): during the outage.
docker run -d --name lv-ends "$BUSYBOX" sh -c 'until [ -f /go ]; do sleep 0.2; done; exit 4' > /dev/null
docker run -d --rm --name lv-rm "$BUSYBOX" sh -c 'until [ -f /go ]; do sleep 0.2; done' > /dev/null
lv_ends=$(docker inspect -f '{{.Id}}' lv-ends)
since=$(date +%s)
pkill -9 -x libvirtd
capture timeout 60 docker exec lv-ends touch /go
expect_rc 0 "docker exec works while libvirtd is down"
# It outlives its container: it hung here once (tether powered off before the endpoint had the
# exec's exit; libvirt, down, could not say the VM was off).
capture timeout 60 docker exec lv-rm sh -c 'touch /go; sleep 30'
expect_rc 137 "an exec that outlives its container dies with it while libvirtd is down"
main_exited() { LC_ALL=C grep -qaP '\xd7\x03\x00\x00' "$VCH_DIR/containers/$1/output.log"; }
wait_until 60 "lv-ends's process exits while libvirtd is down" main_exited "$lv_ends"
capture timeout 60 docker exec lv-ends true  # its guest has powered off: no one answers there
expect_contains "$out" "is not running" "docker exec into a container whose process ended is refused while libvirtd is down"
sleep 2  # its tether powers the VM off: no one is told
capture timeout 60 docker stop -t 1 lv-up
expect_ne_zero "$rc" "docker stop that needs a power-off fails while libvirtd is down"
expect_contains "$out" "libvirt" "and says libvirt is unreachable"
capture docker ps --format '{{.Names}}'
expect_contains "$out" "lv-rm" "an --rm container is not removed for an outage"
capture docker events --since "$since" --until "$(date +%s)" --filter event=die --format '{{.Actor.Attributes.name}}'
expect_eq "" "$out" "and no die event comes from it"
"$VIC_ROOT/ci/start-libvirtd"
wait_until 30 "libvirtd is back and lv-ends is read as exited (4)" \
  output_is "exited 4" docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' lv-ends
wait_until 30 "the --rm container that ended meanwhile is removed" output_has "No such" docker inspect lv-rm
capture docker inspect -f '{{.State.Running}}' lv-up
expect_eq true "$out" "the container that ran through the outage is still running"
sleep 1  # --until is whole seconds: the last events may be in this one
capture docker events --since "$since" --until "$(date +%s)" --filter event=die --format '{{.Actor.Attributes.name}}'
expect_eq $'lv-ends\nlv-rm' "$(sort <<< "$out")" "one die event each for the two that ended"
capture docker rm -f lv-up lv-ends
expect_rc 0 "docker rm -f works again"
