#!/usr/bin/env bash
# Interaction with containerVMs through the docker CLI: exec (plain, exit codes, -i, -d, -t),
# attach (output, exit code, stdin half-close), and run -it / exec -it driven through a real
# pseudo-terminal with a window resize and the detach keys.
source "$(dirname "$0")/lib.sh"
start_registry
create_vch
pty=(python3 "$(dirname "$0")/pty_drive.py")

capture docker run -d --name box "$BUSYBOX" sleep 600
expect_rc 0 "a running container for exec"

capture docker exec box echo hi from exec
expect_eq "hi from exec" "$out" "docker exec"
capture docker exec box sh -c 'echo to-stderr >&2; exit 4'
expect_rc 4 "docker exec's exit code propagates"
expect_eq "to-stderr" "$out" "and its stderr"
capture sh -c "printf 'line1\nline2\n' | docker exec -i box sh -c 'cat; echo done'"
expect_eq $'line1\nline2\ndone' "$out" "docker exec -i pipes stdin and closes it at EOF"
capture docker exec -d box sh -c 'sleep 1; echo written > /tmp/flag'  # its sleep: -d must not wait for it
expect_eq "" "$out" "docker exec -d returns at once"
wait_until 30 "the detached exec has written /tmp/flag" output_is written docker exec box cat /tmp/flag
capture docker exec box cat /tmp/flag
expect_eq "written" "$out" "the detached exec ran"
capture docker exec -t box sh -c 'test -t 1 && echo is-a-tty'
expect_eq $'is-a-tty\r' "$out" "docker exec -t gives the process a terminal"
capture docker exec box nosuchcmd
expect_rc 127 "exec of a missing command exits 127"
expect_contains "$out" 'exec: "nosuchcmd": executable file not found in $PATH' "with docker's message"
capture docker exec nosuch true
expect_contains "$out" "No such container: nosuch" "exec in an unknown container"

# An exec that ends its container: its own exit code when it ends first, 137 when it outlives
# the container (killed with it, as in docker's pid namespace). Neither hangs: tether powers
# the VM off only once the endpoint has the exec's exit.
for n in 1 2; do
  docker run -d --name "ender$n" "$BUSYBOX" sh -c 'until [ -f /go ]; do sleep 0.1; done' > /dev/null
done
capture timeout 60 docker exec ender1 touch /go
expect_rc 0 "an exec that ends its container has its own exit code"
capture timeout 60 docker exec ender2 sh -c 'echo telling; touch /go; sleep 30'
expect_rc 137 "an exec still running when its container ends dies with it (137)"
expect_eq telling "$out" "and its output before that comes through"
wait_until 30 "ender2 has exited" output_is exited docker inspect -f '{{.State.Status}}' ender2
docker rm -f ender1 ender2 > /dev/null

# exec -it through a pty: the size follows the terminal. (The 'sleep 1' after each resize
# stays: the new size reaches the session asynchronously and pty_drive's script cannot poll,
# it would wait on the first 'stty size' answer with the old size.)
capture "${pty[@]}" 24 80 'expect # ;; send stty size\r;; expect 24 80;; resize 40 120;; sleep 1;; send stty size\r;; expect 40 120;; send exit 9\r' \
  -- docker exec -it box sh
expect_rc 9 "docker exec -it exit code"
expect_contains "$out" "40 120" "docker exec -it resize reaches the session"

# run -it through a pty, resized, then exited.
capture "${pty[@]}" 24 80 'expect # ;; send stty size\r;; expect 24 80;; resize 33 101;; sleep 1;; send stty size\r;; expect 33 101;; send echo $((6*7))\r;; expect 42;; send exit 5\r' \
  -- docker run -it --name tty1 "$BUSYBOX" sh
expect_rc 5 "docker run -it exit code"
expect_contains "$out" "33 101" "docker run -it resize reaches the container"
capture docker logs tty1
expect_contains "$out" "42" "a TTY container's output is in its log"

# Detach keys leave the container running; attach gets back in. The CLI's escape proxy only
# matches keys read one at a time, as typed. (Over plain TCP the docker 28 CLI misses them: its
# io.Copy goes through TCPConn.ReadFrom, which wraps the escape error; TLS and unix are fine.)
# The 'sleep 0.5's are that typing, the behaviour under test, not a wait.
capture "${pty[@]}" 24 80 'expect # ;; send echo attached-once\r;; expect attached-once;; sleep 0.5;; send \x10;; sleep 0.5;; send \x11' \
  -- docker run -it --name tty2 "$BUSYBOX" sh
expect_rc 0 "ctrl-p ctrl-q detaches docker run -it"
capture docker inspect -f '{{.State.Running}}' tty2
expect_eq true "$out" "the container still runs after detaching"
capture "${pty[@]}" 24 80 'send \r;; expect # ;; send exit 2\r' -- docker attach tty2
expect_rc 2 "docker attach to a TTY container and exit"

# attach without a TTY: output from after the attach, then the exit code. (The container's own
# 'sleep 4' lets the attach come before its output.)
capture docker run -d --name late "$BUSYBOX" sh -c 'sleep 4; echo late output; exit 6'
capture docker attach late
expect_rc 6 "docker attach returns the container's exit code"
expect_eq "late output" "$out" "docker attach streams output"

# attach with stdin: the container reads until the client closes its input.
capture docker run -d -i --name catter "$BUSYBOX" sh -c 'cat; echo eof-seen'
wait_until 30 "catter's cat is reading" docker exec catter pidof cat
capture sh -c "echo piped | docker attach catter"
expect_eq $'piped\neof-seen' "$out" "docker attach forwards stdin and its end"

# docker run -i without a TTY reads stdin to the end.
capture sh -c "seq 1 1000 | docker run -i --rm $BUSYBOX wc -l"
expect_eq 1000 "$(tr -d ' ' <<< "$out")" "docker run -i streams stdin"
