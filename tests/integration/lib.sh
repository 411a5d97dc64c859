# Helpers for integration tests that boot containerVMs under a real libvirtd. Sourced.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/../../ci/accel.sh"
set -euo pipefail

fail() { echo "FAIL: $*"; exit 1; }

# vm_setup <vmlinuz>: checks prerequisites, makes $work (readable by QEMU) and $name.
vm_setup() {
  vmlinuz=${1:?vmlinuz}
  [ -f "$vmlinuz" ] || fail "kernel $vmlinuz missing (build target containervm-kernel)"
  command -v busybox >/dev/null || fail "busybox-static not installed (ci/setup)"
  virsh -c qemu:///system version >/dev/null || fail "libvirtd not answering (ci/setup)"
  kernel_root=$(dirname "$vmlinuz")/kernel-root
  kver=$(basename "$(ls -d "$kernel_root"/lib/modules/*)")
  work=$(mktemp -d /var/tmp/vic-it.XXXXXX)
  chmod 777 "$work"  # QEMU (libvirt-qemu) creates sockets here
  name=vic-it-$$
  trap 'virsh -q -c qemu:///system destroy "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  cp "$vmlinuz" "$work/vmlinuz"
  mkdir -p "$work/root/bin" "$work/root/proc" "$work/root/sys" "$work/root/dev" "$work/root/lib/modules"
  cp "$(command -v busybox)" "$work/root/bin/busybox"
}

# vm_add_modules <name...>: copies kernel modules into the initramfs (insmod order = given order).
# A module built into the kernel (modules.builtin: Debian 13's cloud kernel has virtio and
# virtio_pci) is skipped, as guest/bootstrap/mkimage.sh does.
vm_add_modules() {
  local m f builtin=$kernel_root/lib/modules/$kver/modules.builtin
  for m in "$@"; do
    if [ -f "$builtin" ] && grep -q "/$m\.ko\$" "$builtin"; then continue; fi
    f=$(find "$kernel_root/lib/modules/$kver" -name "$m.ko" | head -n1)
    [ -n "$f" ] || fail "module $m not in the kernel package"
    cp "$f" "$work/root/lib/modules/"
    echo "$m" >> "$work/root/lib/modules/order"
  done
}

# vm_init <script body>: /init runs as PID 1 after /proc, /sys, /dev and the modules.
vm_init() {
  { echo '#!/bin/busybox sh'
    echo '/bin/busybox mount -t proc proc /proc; /bin/busybox mount -t sysfs sys /sys'
    echo '/bin/busybox mount -t devtmpfs dev /dev'
    echo '[ -f /lib/modules/order ] && for m in $(/bin/busybox cat /lib/modules/order); do /bin/busybox insmod /lib/modules/$m.ko; done'
    echo "$1"
    echo '/bin/busybox poweroff -f'
  } > "$work/root/init"
  chmod +x "$work/root/init"
  (cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1 > "$work/initrd.gz")
}

# vm_start <extra device XML>: starts a transient domain; console goes to $work/console.log.
vm_start() {
  local domtype=qemu
  vic_kvm_usable && domtype=kvm
  cat > "$work/dom.xml" <<XML
<domain type='$domtype'>
  <name>$name</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$work/vmlinuz</kernel>
    <initrd>$work/initrd.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'><source path='$work/console.log'/><target port='0'/></serial>
    <memballoon model='none'/>
    ${1:-}
  </devices>
</domain>
XML
  virsh -q -c qemu:///system create "$work/dom.xml" >/dev/null
}

# vm_wait_gone <seconds>: waits for the domain to power off; fails if it does not.
vm_wait_gone() {
  local i
  for i in $(seq 1 $(( ${1:-120} * 5 ))); do
    virsh -q -c qemu:///system domstate "$name" >/dev/null 2>&1 || return 0
    sleep 0.2
  done
  tail -n 30 "$work/console.log" || true
  fail "domain still running after ${1:-120} s"
}
