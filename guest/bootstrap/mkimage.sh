#!/usr/bin/env bash
# Assembles the bootstrap initramfs: tether as /init, the kernel modules it loads, /VERSION.
# Reproducible: sorted entries, fixed timestamps and owners, gzip without a name or time.
# Usage: mkimage.sh <out.img> <tether> <kernel-root> <project-version> <module...>
set -euo pipefail
out=$1 tether=$2 kroot=$3 pversion=$4; shift 4
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
kver=$(basename "$(ls -d "$kroot"/lib/modules/*)")
mkdir -p "$stage/lib/modules" "$stage/proc" "$stage/sys" "$stage/dev" "$stage/newroot"
strip --strip-all -o "$stage/init" "$tether"
builtin="$kroot/lib/modules/$kver/modules.builtin"
for m in "$@"; do
  # built into this kernel (Debian 13's cloud kernel has virtio and virtio_pci): nothing to load
  if [ -f "$builtin" ] && grep -q "/$m\.ko\$" "$builtin"; then continue; fi
  f=$(find "$kroot/lib/modules/$kver" -name "$m.ko" | head -n1)
  [ -n "$f" ] || { echo "mkimage: module $m not in $kroot" >&2; exit 1; }
  cp "$f" "$stage/lib/modules/"
  echo "$m" >> "$stage/lib/modules/order"
done
digest=$( (cd "$stage" && find . -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-12)
echo "$pversion-$kver-$digest" > "$stage/VERSION"
find "$stage" -exec touch -h -d @0 {} +
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --owner=0:0 --reproducible) | gzip -9 -n > "$out.tmp"
mv "$out.tmp" "$out"
cp "$stage/VERSION" "$(dirname "$out")/VERSION"
echo "bootstrap image $(cat "$stage/VERSION"): $(stat -c %s "$out") bytes"
