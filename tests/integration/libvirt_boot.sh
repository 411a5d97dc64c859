#!/usr/bin/env bash
# Integration smoke test of the host setup: a real libvirtd starts a real QEMU domain
# (KVM when /dev/kvm exists, TCG otherwise) with the containerVM kernel and a busybox
# initramfs; the guest prints a marker with its kernel release and powers off; the test
# asserts the marker and that libvirt saw the domain go away.
source "$(dirname "$0")/lib.sh"
vm_setup "${1:?usage: libvirt_boot.sh <vmlinuz>}"
vm_init 'echo "VIC-SMOKE-OK release=$(/bin/busybox uname -r) cpus=$(/bin/busybox nproc)"'
start=$(date +%s.%N)
vm_start
vm_wait_gone 120
end=$(date +%s.%N)
grep -q "VIC-SMOKE-OK release=$kver " "$work/console.log" || { tail -n 30 "$work/console.log"; fail "marker for kernel $kver not in console log"; }
printf 'PASS: domain booted kernel %s and powered off in %.1f s\n' "$kver" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')"
