#!/usr/bin/env bash
# Unpacks the containerVM kernel package(s) (dpkg -x, nothing installed) into one tree laid out
# as Debian 12's cloud kernel is, which mkimage.sh, ci/setup (libguestfs) and the integration
# tests read: <root>/boot/vmlinuz-<kver> and plain .ko files under <root>/lib/modules/<kver>.
#  - several packages go into the same tree: Ubuntu splits image and modules
#    (linux-image-<kver> holds /boot/vmlinuz-*, linux-modules-<kver> the modules);
#  - merged-/usr packages (Debian 13) ship usr/lib/modules: moved to lib/modules, and
#    usr/lib/modules left as a link to it;
#  - compressed modules (.ko.xz on Debian 13, .ko.zst on Ubuntu 24.04, .ko.gz) are
#    decompressed, and the module indexes made from their old names dropped (ci/setup runs
#    depmod on the tree again).
# The tree is made beside the old one and swapped in, and the kernel written under another name
# and renamed: a VM starting meanwhile never reads half a kernel.
# Usage: unpack-kernel.sh <kernel-root> <vmlinuz-out> <deb...>
set -euo pipefail
final=$1 vmlinuz=$2; shift 2
[ $# -gt 0 ] || { echo "unpack-kernel: no kernel package given" >&2; exit 2; }
root=$final.new
rm -rf "$root"
for deb in "$@"; do dpkg -x "$deb" "$root"; done
if [ ! -d "$root/lib/modules" ] && [ -d "$root/usr/lib/modules" ] && [ ! -L "$root/usr/lib/modules" ]; then
  mkdir -p "$root/lib"
  mv "$root/usr/lib/modules" "$root/lib/modules"
  ln -s ../../lib/modules "$root/usr/lib/modules"
fi
[ -d "$root/lib/modules" ] || { echo "unpack-kernel: no lib/modules in $*" >&2; exit 1; }
compressed=$(find "$root/lib/modules" -type f \( -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) | wc -l)
if [ "$compressed" -gt 0 ]; then
  find "$root/lib/modules" -type f -name '*.ko.xz' -exec xz -d -q {} +
  find "$root/lib/modules" -type f -name '*.ko.zst' -exec zstd -d -q --rm {} +
  find "$root/lib/modules" -type f -name '*.ko.gz' -exec gzip -d -q {} +
  find "$root/lib/modules" -maxdepth 2 -type f \( -name 'modules.dep*' -o -name 'modules.alias*' \
    -o -name 'modules.symbols*' -o -name 'modules.softdep' -o -name 'modules.devname' \) -delete
fi
images=("$root"/boot/vmlinuz-*)
[ -f "${images[0]}" ] || { echo "unpack-kernel: no boot/vmlinuz-* in $*" >&2; exit 1; }
[ ${#images[@]} = 1 ] || { echo "unpack-kernel: several kernels in $*: ${images[*]}" >&2; exit 1; }
rm -rf "$final"
mv "$root" "$final"
cp "$final/boot/${images[0]##*/}" "$vmlinuz.tmp"
chmod 0644 "$vmlinuz.tmp"  # Ubuntu ships it 0600; QEMU runs as another user
mv "$vmlinuz.tmp" "$vmlinuz"
