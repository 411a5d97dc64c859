# Booting the bootstrap image under plain QEMU (no libvirt), for tether's tests. Sourced.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/../../ci/accel.sh"
set -euo pipefail

fail() { echo "FAIL: $*"; [ -n "${vm:-}" ] && [ -f "$vm/console.log" ] && tail -n 20 "$vm/console.log"; exit 1; }

# qemu_setup <vmlinuz> <bootstrap.img>: makes $work with a busybox root disk image (label
# containerfs) holding users root and web (1000), group audio (29) with web in it.
qemu_setup() {
  vmlinuz=${1:?vmlinuz}; bootstrap=${2:?bootstrap image}
  [ -f "$vmlinuz" ] && [ -f "$bootstrap" ] || fail "kernel or bootstrap image missing (build them)"
  command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86 not installed (ci/setup)"
  work=$(mktemp -d /var/tmp/vic-tether.XXXXXX)
  pids=()
  trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
  local r=$work/rootfs
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root" "$r/home/web" "$r/proc" "$r/sys" "$r/dev"
  cp "$(command -v busybox)" "$r/bin/busybox"
  for a in $("$r/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000:web:/home/web:/bin/sh\n' > "$r/etc/passwd"
  printf 'root:x:0:\nweb:x:1000:\naudio:x:29:web\n' > "$r/etc/group"
  chmod 1777 "$r/tmp"
  mke2fs -q -t ext4 -L containerfs -d "$r" "$work/root.img" 64M
}

# qemu_boot <name> <config.json> [extra QEMU args...]: boots a containerVM from a copy-on-write child of the root
# disk; sets $vm (its directory) and TETHER_CTL_ENDPOINT; returns once the socket exists.
qemu_boot() {
  vm=$work/$1; mkdir -p "$vm"
  cp "$2" "$vm/config.json"
  shift 2
  qemu-img create -q -f qcow2 -b "$work/root.img" -F raw "$vm/disk.qcow2"
  local accel=tcg; vic_kvm_usable && accel=kvm
  qemu-system-x86_64 -M pc -accel $accel -m 256 -smp 1 -nodefaults -no-user-config -display none \
    -kernel "$vmlinuz" -initrd "$bootstrap" -append "console=ttyS0 quiet panic=-1" \
    -serial "file:$vm/console.log" -no-reboot \
    -drive "file=$vm/disk.qcow2,if=virtio,format=qcow2" \
    -device virtio-serial-pci \
    -chardev "socket,id=tether,path=$vm/tether.sock,server=on,wait=off" \
    -device virtserialport,chardev=tether,name=org.vic.tether \
    -chardev "file,id=log,path=$vm/output.log" -device virtserialport,chardev=log,name=org.vic.log \
    -fw_cfg "name=opt/org.vic/config,file=$vm/config.json" "$@" &
  qemu_pid=$!
  pids+=("$qemu_pid")
  export TETHER_CTL_ENDPOINT=unix:$vm/tether.sock
  for _ in $(seq 1 100); do [ -S "$vm/tether.sock" ] && return 0; sleep 0.1; done
  fail "QEMU did not create $vm/tether.sock"
}

# qemu_wait_poweroff <seconds>: the VM must power itself off.
qemu_wait_poweroff() {
  local i
  for i in $(seq 1 $(( ${1:-60} * 10 ))); do
    kill -0 "$qemu_pid" 2>/dev/null || return 0
    sleep 0.1
  done
  fail "the VM did not power off within ${1:-60} s"
}

# config <argv-json> [main-session fields] [top-level fields]: a ContainerConfig.
config() {
  printf '{"id":"c0ffee","name":"test","hostname":"box1"%s,"main":{"id":"main","argv":%s%s}}' "${3:-}" "$1" "${2:-}"
}
