#!/usr/bin/env bash
# Integration smoke test of the host setup: a real libvirtd starts a real QEMU domain
# (KVM when /dev/kvm exists, TCG otherwise) with the containerVM kernel and a busybox
# initramfs; the guest prints a marker with its kernel release and powers off; the test
# asserts the marker and that libvirt saw the domain go away.
set -euo pipefail
vmlinuz=${1:?usage: libvirt_boot.sh <vmlinuz>}
[ -f "$vmlinuz" ] || { echo "FAIL: kernel $vmlinuz missing (build target containervm-kernel)"; exit 1; }
command -v busybox >/dev/null || { echo "FAIL: busybox-static not installed (ci/setup)"; exit 1; }
virsh -c qemu:///system version >/dev/null || { echo "FAIL: libvirtd not answering (ci/setup)"; exit 1; }

work=$(mktemp -d /var/tmp/vic-smoke.XXXXXX)
chmod 755 "$work"
name=vic-smoke-$$
cleanup() { virsh -q -c qemu:///system destroy "$name" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

# initramfs: static busybox + an init that reports and powers off
mkdir -p "$work/root/bin" "$work/root/proc"
cp "$(command -v busybox)" "$work/root/bin/busybox"
cat > "$work/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "VIC-SMOKE-OK release=$(/bin/busybox uname -r) cpus=$(/bin/busybox nproc)"
/bin/busybox poweroff -f
INIT
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1 > "$work/initrd.gz")
cp "$vmlinuz" "$work/vmlinuz"

domtype=qemu; [ -w /dev/kvm ] && domtype=kvm
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
  </devices>
</domain>
XML

start=$(date +%s.%N)
virsh -q -c qemu:///system create "$work/dom.xml" >/dev/null
for _ in $(seq 1 600); do
  virsh -q -c qemu:///system domstate "$name" >/dev/null 2>&1 || break
  sleep 0.2
done
end=$(date +%s.%N)
if virsh -q -c qemu:///system domstate "$name" >/dev/null 2>&1; then
  echo "FAIL: domain still running after 120 s"; tail -n 20 "$work/console.log" || true; exit 1
fi
want=$(basename "$(ls -d "$(dirname "$vmlinuz")"/kernel-root/lib/modules/*)")
if ! grep -q "VIC-SMOKE-OK release=$want " "$work/console.log"; then
  echo "FAIL: marker for kernel $want not in console log:"; tail -n 30 "$work/console.log"; exit 1
fi
printf 'PASS: %s domain booted kernel %s and powered off in %.1f s\n' "$domtype" "$want" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')"
