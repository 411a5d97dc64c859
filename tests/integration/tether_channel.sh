#!/usr/bin/env bash
# The tether channel over a real virtio-serial port: libvirt boots a VM whose init runs the
# (static) fake tether on /dev/vportNpM (port org.vic.tether); the host talks to QEMU's
# chardev unix socket with tether-ctl. Every tether-ctl run is a new host connection on the
# same, never-reset port stream, and one is cut mid-stream: the handshake must resync.
# Usage: tether_channel.sh <vmlinuz> <fake-tether-static> <tether-ctl>
source "$(dirname "$0")/lib.sh"
vm_setup "${1:?vmlinuz}"
fake=${2:?fake-tether-static}; ctl=${3:?tether-ctl}
cp "$fake" "$work/root/bin/fake-tether"
vm_add_modules virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console
vm_init '
for d in /sys/class/virtio-ports/*; do
  [ "$(/bin/busybox cat $d/name)" = org.vic.tether ] && port=/dev/$(/bin/busybox basename $d)
done
echo "tether port: ${port:-none}"
/bin/fake-tether port:$port'
vm_start "<channel type='unix'><source mode='bind' path='$work/tether.sock'/><target type='virtio' name='org.vic.tether'/></channel>"
export TETHER_CTL_ENDPOINT=unix:$work/tether.sock

for _ in $(seq 1 300); do
  out=$(timeout 5 "$ctl" ping 2>/dev/null) && break
  sleep 0.2
done
[ "${out:-}" = "protocol 1 tether fake" ] || { cat "$work/console.log"; fail "no ping answer over virtio-serial: ${out:-}"; }
[ "$("$ctl" run --id a -- echo hello over virtio-serial)" = "hello over virtio-serial" ] || fail "echo"
rc=0; "$ctl" run --id b -- exit 3 || rc=$?
[ $rc = 3 ] || fail "exit 3 gave $rc"
head -c 1000000 /dev/urandom > "$work/in"
"$ctl" run -i --id c -- cat < "$work/in" > "$work/out"
cmp -s "$work/in" "$work/out" || fail "1 MB stdin round trip through the VM differs"

# Cut a connection in the middle of a flood; the next connection must still handshake.
timeout 2 "$ctl" run --id flood -- yes 1000000000 > /dev/null || true
[ "$("$ctl" ping)" = "protocol 1 tether fake" ] || fail "no resync after a mid-stream disconnect"
"$ctl" ls | grep -q $'^flood\trunning' || fail "session did not survive the disconnect: $("$ctl" ls)"
"$ctl" kill flood 15
[ "$("$ctl" wait flood)" = 143 ] || fail "killed flood session did not exit 143"
echo "PASS: ping, echo, exit code, 1 MB stdin, mid-stream reconnect over virtio-serial"
