#!/usr/bin/env bash
# containerVM boot figures under plain QEMU, each next to its floor in the same run:
#   boot -> exit of `true` through tether   vs  the same kernel booting a busybox init that powers off
#   boot -> tether ready (ping answered)    vs  boot -> busybox init running (console marker)
# Usage: bench/tether_boot.sh [runs]   (after a build; default 5 runs, medians printed)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VIC_BUILD:-$root/build}
runs=${1:-5}
vmlinuz=$build/guest/vmlinuz bootstrap=$build/guest/bootstrap.img ctl=$build/vsock/tether-ctl
source "$root/tests/integration/qemu.sh"
qemu_setup "$vmlinuz" "$bootstrap"

# The floor's initramfs: static busybox, an init that marks the console and powers off.
mkdir -p "$work/floor/bin" "$work/floor/proc"
cp "$(command -v busybox)" "$work/floor/bin/busybox"
printf '#!/bin/busybox sh\necho FLOOR-READY\n/bin/busybox poweroff -f\n' > "$work/floor/init"
chmod +x "$work/floor/init"
(cd "$work/floor" && find . | cpio -o -H newc --quiet | gzip -1 > "$work/floor.img")

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1e9}'; }

floor_run() {  # prints "<ready ns> <exit ns>"
  local t0 ready=0 accel=tcg; vic_kvm_usable && accel=kvm
  rm -f "$work/floor.log"; t0=$(now)
  qemu-system-x86_64 -M pc -accel $accel -m 256 -smp 1 -nodefaults -no-user-config -display none \
    -kernel "$vmlinuz" -initrd "$work/floor.img" -append "console=ttyS0 quiet panic=-1" \
    -serial "file:$work/floor.log" -no-reboot & local pid=$!
  while kill -0 $pid 2>/dev/null; do
    [ $ready = 0 ] && grep -q FLOOR-READY "$work/floor.log" 2>/dev/null && ready=$(( $(now) - t0 ))
    sleep 0.01
  done
  echo "$ready $(( $(now) - t0 ))"
}

tether_run() {  # prints "<ready ns> <exit ns>"
  config '["sleep","2"]' > "$work/cfg.json"
  local t0 ready=0; t0=$(now)
  qemu_boot "run$RANDOM" "$work/cfg.json"
  until "$ctl" ping >/dev/null 2>&1; do sleep 0.01; done
  ready=$(( $(now) - t0 ))
  config '["true"]' > "$work/cfg.json"
  t0=$(now)
  qemu_boot "exit$RANDOM" "$work/cfg.json"
  qemu_wait_poweroff 60
  echo "$ready $(( $(now) - t0 ))"
}

: > "$work/floor.txt"; : > "$work/tether.txt"
for _ in $(seq "$runs"); do floor_run >> "$work/floor.txt"; tether_run >> "$work/tether.txt"; done
accel=TCG; vic_kvm_usable && accel=KVM
echo "containerVM boot ($accel, 256 MiB, 1 vCPU, median of $runs runs, seconds)"
printf '  %-44s %6s   floor %6s\n' "boot -> tether ready (first ping answered)" \
  "$(cut -d' ' -f1 "$work/tether.txt" | median)" "$(cut -d' ' -f1 "$work/floor.txt" | median)"
printf '  %-44s %6s   floor %6s\n' "boot -> VM exit, main session \`true\`" \
  "$(cut -d' ' -f2 "$work/tether.txt" | median)" "$(cut -d' ' -f2 "$work/floor.txt" | median)"
printf '  %-44s %6s KiB (kernel %s KiB)\n' "bootstrap image (tether + modules)" \
  "$(( $(stat -c %s "$bootstrap") / 1024 ))" "$(( $(stat -c %s "$vmlinuz") / 1024 ))"
