#!/usr/bin/env bash
# A container's life through the docker CLI: run -d, logs -f, kill -s HUP to a trapping shell,
# stop (signal, then SIGKILL after the timeout), restart, stats, and the events it all makes.
source "$(dirname "$0")/lib.sh"
start_registry
create_vch
capture docker pull "$BUSYBOX"
t0=$(date +%s)

capture docker run -d --name ticker "$BUSYBOX" sh -c \
  'trap "echo got HUP" HUP; i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done'
expect_rc 0 "docker run -d"
expect_match "$out" "^[0-9a-f]{64}$" "prints the full container id"
id=$out

# logs -f follows the running container: stop reading after a few lines.
capture timeout 60 sh -c 'docker logs -f ticker | head -n 3'
expect_eq $'tick 0\ntick 1\ntick 2' "$out" "docker logs -f follows"

capture docker kill -s HUP ticker
expect_eq "ticker" "$out" "docker kill -s HUP"
wait_until 30 "ticker's HUP trap has run" output_has "got HUP" docker logs ticker
capture docker inspect -f '{{.State.Running}}' ticker
expect_eq "true" "$out" "a trapping container survives HUP"
capture docker logs ticker
expect_contains "$out" "got HUP" "the trap ran in the container"

capture docker stats --no-stream --format '{{.Name}} {{.CPUPerc}} {{.MemUsage}}' ticker
expect_match "$out" "^ticker [0-9.]+% [0-9.]+[KMG]i?B / [0-9.]+[KMG]i?B$" "docker stats --no-stream"

# stop: the shell dies of SIGTERM (no trap for it) well before the timeout.
capture docker stop ticker
expect_eq "ticker" "$out" "docker stop"
capture docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' ticker
expect_eq "exited 143" "$out" "stopped by SIGTERM: 128+15"

# A container that ignores SIGTERM is killed after -t seconds. (Each of these shells says
# "ready" once its trap is set, so that stop is not sent before.)
capture docker run -d --name stubborn "$BUSYBOX" sh -c 'trap "" TERM; echo ready; while true; do sleep 1; done'
wait_until 30 "stubborn ignores TERM" output_is ready docker logs stubborn
s0=$(date +%s)
capture docker stop -t 2 stubborn
took=$(( $(date +%s) - s0 ))
expect_eq "stubborn" "$out" "docker stop -t 2 of a TERM-ignoring container"
capture docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' stubborn
expect_eq "exited 137" "$out" "killed after the timeout: 128+9"
if [ "$took" -ge 2 ]; then pass "stop waited the timeout ($took s)"; else fail "stop returned after $took s"; fi

# A main process that exits on TERM while its background child holds stdout: the container
# ends with its main process (the child dies with it), well inside stop's timeout.
capture docker run -d --name bg "$BUSYBOX" sh -c 'trap "exit 0" TERM; echo ready; sleep 600 & wait'
wait_until 30 "bg traps TERM" output_is ready docker logs bg
capture docker stop bg
capture docker inspect -f '{{.State.ExitCode}}' bg
expect_eq 0 "$out" "the container ends with its main process, background children and all"

# --stop-signal: the container's own stop signal is used.
capture docker run -d --name usr1 --stop-signal USR1 "$BUSYBOX" sh -c \
  'trap "echo bye; exit 7" USR1; echo ready; while true; do sleep 1; done'
wait_until 30 "usr1 traps USR1" output_is ready docker logs usr1
capture docker stop usr1
capture docker inspect -f '{{.State.ExitCode}}' usr1
expect_eq 7 "$out" "docker stop sends the container's --stop-signal"
capture docker logs usr1
expect_eq $'ready\nbye' "$out" "its handler ran"

# restart runs the same command again in the same container.
capture docker restart ticker
expect_eq "ticker" "$out" "docker restart"
wait_until 60 "ticker's second run has begun (a second 'tick 0' in its log)" \
  output_is 2 sh -c "docker logs ticker 2>&1 | grep -c '^tick 0\$'"
capture docker inspect -f '{{.State.Running}} {{.Id}}' ticker
expect_eq "true $id" "$out" "running again, same container"
capture docker logs ticker
expect_eq 2 "$(grep -c '^tick 0$' <<< "$out")" "the log keeps both runs"
capture docker rm -f ticker stubborn usr1 bg
expect_rc 0 "docker rm -f"

# Out of band: a containerVM powered off behind the endpoint's back is seen as exited.
capture docker run -d --name oob "$BUSYBOX" sleep 600
oob=$out
wait_until 30 "oob runs" output_is true docker inspect -f '{{.State.Running}}' oob
virsh destroy "$E2E_NAME-${oob:0:12}" > /dev/null
wait_until 30 "the endpoint sees oob's VM powered off" \
  output_matches '^Exited' docker ps -a --filter name=oob --format '{{.Status}}'
capture docker ps -a --filter name=oob --format '{{.Status}}'
expect_match "$out" "^Exited \(137\)" "a VM powered off with virsh destroy shows as Exited (137)"
capture docker rm oob

# events: the lifecycle of a short container, bounded by --since/--until.
capture docker run --rm --name shortlived "$BUSYBOX" true
# (--until is in whole seconds: it takes the second after the destroy to cover it)
wait_until 30 "shortlived's destroy event is before --until" output_has "container destroy" \
  sh -c 'docker events --since "$1" --until "$(date +%s)" --filter container=shortlived --format "{{.Type}} {{.Action}}"' _ "$t0"
capture docker events --since "$t0" --until "$(date +%s)" --filter container=shortlived \
  --format '{{.Type}} {{.Action}}'
expect_eq $'container create\ncontainer attach\ncontainer start\ncontainer die\ncontainer destroy' \
  "$(grep -v '^network' <<< "$out")" "docker events shows create, attach, start, die, destroy"
capture docker events --since "$t0" --until "$(date +%s)" --filter event=kill --format '{{.Actor.Attributes.name}} {{.Actor.Attributes.signal}}'
expect_contains "$out" "ticker 1" "kill events carry the signal (HUP = 1)"
capture docker events --since "$t0" --until "$(date +%s)" --filter event=stop --format '{{.Actor.Attributes.name}}'
expect_contains "$out" "stubborn" "stop events"

# A streaming events client sees a container as it happens.
docker events --filter event=start --format '{{.Actor.Attributes.name}}' > /tmp/$E2E_NAME.events &
events_pid=$!
wait_until 30 "the events client is connected" output_has "pid=$events_pid," ss -Htnp state established
docker run --rm --name watched "$BUSYBOX" true > /dev/null
wait_until 30 "the events client has printed the start of watched" output_is watched cat /tmp/$E2E_NAME.events
kill "$events_pid"; wait "$events_pid" 2> /dev/null || true
expect_eq "watched" "$(cat /tmp/$E2E_NAME.events)" "docker events streams live"

# Restart policies, applied by the endpoint with docker's back-off.
capture docker run -d --name flaky --restart on-failure:2 "$BUSYBOX" sh -c 'exit 3'
expect_rc 0 "docker run --restart on-failure:2"
wait_until 90 "flaky was restarted twice and then left exited" \
  output_is "2 exited 3" docker inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' flaky
capture docker inspect -f '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}' flaky
expect_eq "on-failure:2" "$out" "inspect shows the policy"
capture docker run -d --name keeper --restart always "$BUSYBOX" sh -c 'sleep 2; exit 0'
wait_until 90 "an always container that exits 0 is started again" \
  output_matches "^[1-9][0-9]* " docker inspect -f '{{.RestartCount}} {{.State.Status}}' keeper
capture docker stop keeper
sleep 3
capture docker inspect -f '{{.State.Status}}' keeper
expect_eq "exited" "$out" "docker stop is by hand: the policy does not start it again"
capture docker update --restart no keeper
expect_rc 0 "docker update --restart"
capture docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' keeper
expect_eq "no" "$out" "the new policy is in inspect"
# docker update of memory: the VM's definition changes, its next start has it.
capture docker create --name grow "$BUSYBOX" sleep 600
capture docker update --memory 768m grow
expect_rc 0 "docker update --memory"
capture docker inspect -f '{{.HostConfig.Memory}}' grow
expect_eq "805306368" "$out" "inspect shows the new memory"
capture docker start grow
capture docker exec grow sh -c "awk '/MemTotal/ {print \$2}' /proc/meminfo"
expect_match "$out" "^(7[0-9]{5}|6[5-9][0-9]{4})$" "the container's start has the new memory (MemTotal kB)"
capture docker update --cpu-shares 512 grow
expect_contains "$out" "not supported by a VCH" "docker update of what a VM has no control for says so, instead of ignoring it"
"$VIC_MACHINE" configure --name "$E2E_NAME" --memory 4g > /dev/null
capture docker update --memory 8g grow
expect_ne_zero "$rc" "docker update beyond the VCH's resource pool is refused"
expect_contains "$out" "resource pool" "and says the pool's limit is why"
"$VIC_MACHINE" configure --name "$E2E_NAME" --memory 0 > /dev/null
docker rm -f grow > /dev/null
capture docker run -d --name looper --restart always "$BUSYBOX" sh -c 'exit 1'
wait_until 120 "docker ps (without -a) lists the restarting container" \
  output_matches "^Restarting \(1\) " docker ps --filter name=looper --format '{{.Status}}'
docker rm -f looper > /dev/null
capture docker run --restart bogus "$BUSYBOX" true
expect_contains "$out" "invalid restart policy: unknown policy 'bogus'" "an unknown policy gets the daemon's error"
capture docker rm -f flaky keeper

# Health checks: run through exec on the interval; (healthy) in ps, State.Health, health_status events.
since=$(date +%s)
capture docker run -d --name checked --health-cmd 'test -f /tmp/ok' --health-interval 1s --health-retries 2 \
  "$BUSYBOX" sh -c 'touch /tmp/ok; exec sleep 600'
expect_rc 0 "docker run with --health-*"
wait_until 60 "checked is healthy" output_is healthy docker inspect -f '{{.State.Health.Status}}' checked
capture docker ps --filter name=checked --format '{{.Status}}'
expect_match "$out" "^Up .* \(healthy\)$" "docker ps shows (healthy)"
docker exec checked rm /tmp/ok
wait_until 60 "checked turns unhealthy after two failed probes" \
  output_is "unhealthy" docker inspect -f '{{.State.Health.Status}}' checked
capture docker inspect -f '{{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).ExitCode}}' checked
expect_match "$out" "^[2-9] [01]$" "the failing streak and the probes' exit codes"
capture docker ps --filter health=unhealthy --format '{{.Names}}'
expect_eq "checked" "$out" "ps --filter health=unhealthy"
sleep 1  # --until is whole seconds: the last event may be in this one
capture docker events --since "$since" --until "$(date +%s)" --filter event=health_status --format '{{.Action}}'
expect_eq $'health_status: healthy\nhealth_status: unhealthy' "$out" "health_status events on each change"

# pause / unpause: the VM's vCPUs stop; what needs the guest is refused in docker's words.
capture docker pause checked
expect_eq "checked" "$out" "docker pause"
capture docker ps --filter name=checked --format '{{.Status}} {{.State}}'
expect_match "$out" "^Up .* \(Paused\) paused$" "docker ps shows Paused"
capture docker exec checked true
expect_contains "$out" "is paused, unpause the container before exec" "exec into a paused container"
capture docker pause checked
expect_contains "$out" "is already paused" "pausing twice"
capture docker unpause checked
expect_eq "checked" "$out" "docker unpause"
capture docker exec checked echo awake
expect_eq "awake" "$out" "exec works again after unpause"
capture docker unpause checked
expect_contains "$out" "is not paused" "unpausing a running container"
capture docker pause flaky_gone_missing
expect_contains "$out" "No such container" "pausing an unknown container"

# top: the guest's processes, as ps prints them.
capture docker top checked
expect_rc 0 "docker top"
expect_match "$(head -1 <<< "$out")" "^UID +PID +PPID +C +STIME +TTY +TIME +CMD$" "docker top's default columns (ps -ef)"
expect_contains "$out" "sleep 600" "docker top lists the container's process"
capture docker top checked -o pid,comm
expect_match "$out" "PID +COMMAND" "docker top -o pid,comm"
expect_match "$out" "[0-9]+ +sleep" "docker top -o lists the command"
capture docker top checked aux
expect_match "$(head -1 <<< "$out")" "^USER +PID +%CPU +%MEM" "docker top aux"
capture docker top checked --forest
expect_contains "$out" "not supported by a VCH" "an unsupported ps option says what works"
docker rm -f checked > /dev/null
capture docker top checked
expect_contains "$out" "No such container" "top of a removed container"

