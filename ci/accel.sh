# Which accelerator containerVMs use: KVM only where it can boot our kernel. Sourced.
# Decided by, in order: $VIC_ACCEL (kvm|tcg), /etc/vic/accel (written by ci/setup's probe),
# then whether /dev/kvm is writable. hypervisor/libvirt_hypervisor.cc applies the same rule.
# shellcheck shell=bash
vic_kvm_usable() {
  local choice=${VIC_ACCEL:-$(cat /etc/vic/accel 2>/dev/null || true)}
  case $choice in kvm) return 0 ;; tcg) return 1 ;; esac
  [ -w /dev/kvm ]
}
