#!/usr/bin/env bash
# tether as PID 1 in a containerVM under plain QEMU (TCG here): boots the bootstrap image with
# a busybox root disk and checks everything over the channel with tether-ctl.
# Usage: tether_boot.sh <vmlinuz> <bootstrap.img> <tether-ctl>
source "$(dirname "$0")/qemu.sh"
qemu_setup "$1" "$2"
ctl=${3:?tether-ctl}
expect() { [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"; }
ready() { for _ in $(seq 1 300); do timeout 5 "$ctl" ping >/dev/null 2>&1 && return 0; sleep 0.2; done; fail "tether never answered"; }

# --- A: a long-running main session; exec sessions beside it ---
mac=52:54:00:12:34:56
mkdir -p "$work/vol" && echo "volume data" > "$work/vol/hello"
mke2fs -q -t ext4 -L vol-label -d "$work/vol" "$work/vol.img" 16M
mke2fs -q -t ext4 "$work/ro.img" 16M
config '["sleep","1000"]' '' ',"dns":["10.0.2.3"],"networks":[{"mac":"'$mac'","name":"eth0","addresses":["10.0.2.15/24"],"gateway":"10.0.2.2","mtu":1400}],"mounts":[{"disk":"vol-label","target":"/data"},{"disk":"ro-serial","target":"/mnt/ro","readOnly":true}]' > "$work/a.json"
qemu_boot a "$work/a.json" -netdev user,id=n0 -device virtio-net-pci,netdev=n0,mac=$mac \
  -drive "file=$work/vol.img,if=virtio,format=raw" -drive "file=$work/ro.img,if=none,id=ro,format=raw" -device virtio-blk-pci,drive=ro,serial=ro-serial
ready
expect ping "protocol 1 tether $(cat "$(dirname "$2")/VERSION")" "$("$ctl" ping)"
expect echo "hello tether" "$("$ctl" exec --id e1 -- echo hello tether)"
rc=0; "$ctl" exec --id e2 -- sh -c 'exit 3' || rc=$?; expect "exit 3" 3 "$rc"
expect env "bar /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin box1 /root" \
  "$("$ctl" exec --id e3 -e FOO=bar -- sh -c 'echo $FOO $PATH $HOSTNAME $HOME')"
expect workdir /tmp "$("$ctl" exec --id e4 -w /tmp -- pwd)"
expect "new workdir" /srv/app "$("$ctl" exec --id e5 -w /srv/app -- pwd)"
expect "numeric user" "1000 1000" "$("$ctl" exec --id e6 -u 1000 -- sh -c 'echo $(id -u) $(id -g)')"
expect "user by name" "web /home/web 29" "$("$ctl" exec --id e7 -u web -- sh -c 'echo $(id -un) $HOME $(id -G | tr " " "\n" | grep 29)')"
expect hostname box1 "$("$ctl" exec --id e8 -- hostname)"
expect "volume by label" "volume data" "$("$ctl" exec --id v1 -- cat /data/hello)"
rc=0; "$ctl" exec --id v2 -- touch /mnt/ro/x 2>/dev/null || rc=$?
[ $rc != 0 ] || fail "read-only volume was writable"
expect "eth0 address" "inet 10.0.2.15/24" "$("$ctl" exec --id n1 -- sh -c 'ip -4 addr show eth0 | grep -o "inet [0-9./]*"')"
expect "eth0 mtu" 1400 "$("$ctl" exec --id n2 -- cat /sys/class/net/eth0/mtu)"
expect "default route" "default via 10.0.2.2 dev eth0" "$("$ctl" exec --id n3 -- sh -c 'ip route | grep default | cut -d" " -f1-5')"
expect "resolv.conf" "nameserver 10.0.2.3" "$("$ctl" exec --id n4 -- cat /etc/resolv.conf)"
expect "hosts entry" "10.0.2.15 box1" "$("$ctl" exec --id n5 -- sh -c 'grep box1 /etc/hosts | tr "\t" " "')"
expect "lo up" "inet 127.0.0.1/8" "$("$ctl" exec --id n6 -- sh -c 'ip -4 addr show lo | grep -o "inet [0-9./]*"')"
expect "hosts file" "box1" "$("$ctl" exec --id e9 -- sh -c 'grep -o box1 /etc/hosts | head -n1')"
rc=0; err=$("$ctl" exec --id e10 -- nosuchcmd 2>&1) || rc=$?
expect "missing command" 127 "$rc"
grep -q 'exec: "nosuchcmd": executable file not found in $PATH' <<<"$err" || fail "missing command message: $err"
rc=0; err=$("$ctl" exec --id e11 -u nobody -- true 2>&1) || rc=$?
expect "unknown user" 126 "$rc"
grep -q 'unable to find user nobody' <<<"$err" || fail "unknown user message: $err"
rc=0; err=$("$ctl" exec --id e12 -w /etc/passwd -- true 2>&1) || rc=$?
grep -q 'not a directory' <<<"$err" || fail "file as workdir: $err"
expect "tty size" "40 120" "$("$ctl" exec -t --id t1 --size 40x120 -- stty size | tr -d '\r')"
# one host connection per VM (a virtio-serial port is one stream): resize on the same one
expect "tty resize" "50 132" "$("$ctl" exec -t --id t2 --size 24x80 --resize-after 1000:50x132 -- sh -c 'sleep 3; stty size' | tr -d '\r')"
expect "stdin" "3" "$(printf 'a\nb\nc\n' | "$ctl" exec -i --id i1 -- wc -l | tr -d ' ')"
# docker cp through tether: a tree in, checked inside, and back out
mkdir -p "$work/cp/tree/sub"
echo hi > "$work/cp/tree/a.txt"; chmod 751 "$work/cp/tree/a.txt"
head -c 2000000 /dev/urandom > "$work/cp/tree/sub/blob"
ln -s a.txt "$work/cp/tree/link"
tar -C "$work/cp" -cf "$work/in.tar" tree
"$ctl" cp-in /tmp < "$work/in.tar" || fail "cp-in"
expect "cp-in content" "$(sha256sum < "$work/cp/tree/sub/blob" | cut -c1-64)" \
  "$("$ctl" exec --id c1 -- sh -c 'sha256sum /tmp/tree/sub/blob' | cut -c1-64)"
expect "cp-in mode and link" "751 a.txt" "$("$ctl" exec --id c2 -- sh -c 'echo $(stat -c %a /tmp/tree/a.txt) $(readlink /tmp/tree/link)')"
"$ctl" cp-out /tmp/tree > "$work/out.tar" || fail "cp-out"
mkdir "$work/back" && tar -C "$work/back" -xf "$work/out.tar"
diff -r "$work/cp/tree" "$work/back/tree" || fail "cp-out tree differs"
expect "cp-out mode" 751 "$(stat -c %a "$work/back/tree/a.txt")"
rc=0; err=$("$ctl" cp-out /nonexistent 2>&1 >/dev/null) || rc=$?
expect "cp of a missing path" "tether-ctl: Could not find the file /nonexistent in container test" "$err"
"$ctl" ls | grep -q $'^main\trunning' || fail "main not running: $("$ctl" ls)"
if "$ctl" exec --id e13 -- sh -c 'ls /dev/vport* 2>/dev/null' | grep -q vport; then fail "tether's ports visible in the container"; fi
"$ctl" kill main 15
qemu_wait_poweroff 30  # the main session's end is the VM's end
"$ctl" log "$vm/output.log" 2> "$vm/log.err" >/dev/null
expect "TERM exit record" "exit 143" "$(tail -n1 "$vm/log.err")"
echo "ok: A exec sessions, env, workdir, users, network (netlink), volumes (label, serial, ro), cp in/out, tty + resize, stdin, TERM -> 143, power-off"

# --- B: 10 MB of main-session output, live and in the persistent log; exit 3 ---
config '["sh","-c","yes 0123456789abcdef | head -c 10485760; echo to-stderr >&2; exit 3"]' ',"runBlock":true' > "$work/b.json"
qemu_boot b "$work/b.json"
ready
rc=0; "$ctl" attach --block main > "$vm/live.out" 2> "$vm/live.err" || rc=$?
expect "main exit" 3 "$rc"
want=$({ yes 0123456789abcdef || true; } | head -c 10485760 | sha256sum | cut -c1-64)
expect "live sha256" "$want" "$(sha256sum < "$vm/live.out" | cut -c1-64)"
grep -q to-stderr "$vm/live.err" || fail "stderr not on its own stream: $(cat "$vm/live.err")"
qemu_wait_poweroff 30
"$ctl" log "$vm/output.log" > "$vm/log.out" 2> "$vm/log.err"
expect "log sha256" "$want" "$(sha256sum < "$vm/log.out" | cut -c1-64)"
grep -q '^to-stderr$' "$vm/log.err" || fail "stderr missing from the log"
expect "log exit record" "exit 3" "$(tail -n1 "$vm/log.err")"
echo "ok: B 10 MB live and logged with matching sha256, exit 3, power-off"

# --- C: bad input: a missing root disk and a missing executable end cleanly ---
config '["true"]' '' ',"rootDisk":"nosuch"' > "$work/c.json"
qemu_boot c "$work/c.json"
qemu_wait_poweroff 30
"$ctl" log "$vm/output.log" 2> "$vm/log.err" >/dev/null
expect "missing disk exit record" "exit 125: finding the container disk: no disk with serial or label 'nosuch'" \
  "$(tail -n1 "$vm/log.err")"
head -c 16777216 /dev/zero > "$work/zero.img"
config '["true"]' '' ',"rootDisk":"badfs"' > "$work/e.json"
qemu_boot e "$work/e.json" -drive "file=$work/zero.img,if=none,id=z,format=raw" -device virtio-blk-pci,drive=z,serial=badfs
qemu_wait_poweroff 30
"$ctl" log "$vm/output.log" 2> "$vm/log.err" >/dev/null
grep -q "^exit 125: mounting container disk /dev/vd.* (ext4): " "$vm/log.err" || fail "bad filesystem: $(cat "$vm/log.err")"
config '["/bin/nosuch"]' > "$work/d.json"
qemu_boot d "$work/d.json"
qemu_wait_poweroff 30
"$ctl" log "$vm/output.log" 2> "$vm/log.err" >/dev/null
expect "missing executable exit record" 'exit 127: exec: "/bin/nosuch": stat /bin/nosuch: no such file or directory' \
  "$(tail -n1 "$vm/log.err")"
! grep -q "Kernel panic" "$work"/*/console.log || fail "a kernel panicked"
echo "ok: C missing disk and bad filesystem -> 125 with a clear error, missing executable -> 127, clean power-offs"
echo "PASS: tether boots, runs sessions and powers off as the container"
