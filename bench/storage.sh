#!/usr/bin/env bash
# Sequential disk throughput inside a containerVM, in one run: dd of N MB (default 256) written
# then read back (caches dropped in the guest between the two, O_DIRECT-free as a user's dd
# would be, with conv=fsync so the write is on the disk) on
#   (1) a volume (its own qcow2 disk with ext4),
#   (2) the container's root disk (a thin qcow2 child of the image's top layer), and
#   (3) as the baseline, the host's datastore directory (the same dd on the host).
# Under TCG (no /dev/kvm) the guest figures include emulation cost; compare them with each other.
# Usage: bench/storage.sh [MB]   (as root, after ci/setup)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VIC_BUILD:-$root/build}
mb=${1:-256}
vic_machine=$build/runtime/vic_machine/vic-machine
name=bench-storage
work=$(mktemp -d)

"$root/images/fixtures/registry.sh" fill /var/lib/vic/fixture-registry > /dev/null
image=$(cat /var/lib/vic/fixture-registry/addr)/test/busybox

cleanup() {
  "$vic_machine" delete --name "$name" --force > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$vic_machine" delete --name "$name" --force > /dev/null 2>&1 || true
"$vic_machine" create --name "$name" > "$work/create.log"
datastore=$("$vic_machine" inspect --name "$name" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["datastore"])')
set -a; source "$datastore/$name.env"; set +a
docker pull -q "$image" > /dev/null
docker volume create --opt Capacity=$((mb * 2))MB benchvol > /dev/null

# "write MB/s read MB/s" for dd on `dir`, from busybox dd's summary lines.
guest_dd='f=$1/dd.bin; w=$(dd if=/dev/zero of=$f bs=1M count='$mb' conv=fsync 2>&1 | tail -1);
  sync; echo 3 > /proc/sys/vm/drop_caches; r=$(dd if=$f of=/dev/null bs=1M 2>&1 | tail -1); rm -f $f; echo "$w|$r"'
rate() {  # "268435456 bytes (256.0MB) copied, 1.2 seconds, 213.3MB/s" -> 213.3
  sed -n 's/.*, \([0-9.]*\) *\([KMG]\)B\/s.*/\1 \2/p' | awk '{v=$1; if($2=="K")v/=1024; if($2=="G")v*=1024; printf "%.1f", v}'
}
row() {  # label "write-line|read-line"
  printf '%-34s %10s %10s\n' "$1" "$(cut -d'|' -f1 <<< "$2" | rate)" "$(cut -d'|' -f2 <<< "$2" | rate)"
}

vol=$(docker run --rm -v benchvol:/vol "$image" sh -c "$guest_dd" sh /vol)
rootdisk=$(docker run --rm "$image" sh -c "$guest_dd" sh /tmp)
hw=$(dd if=/dev/zero of="$datastore/dd.bin" bs=1M count="$mb" conv=fsync 2>&1 | tail -1)
sync; echo 3 > /proc/sys/vm/drop_caches
hr=$(dd if="$datastore/dd.bin" of=/dev/null bs=1M 2>&1 | tail -1)
rm -f "$datastore/dd.bin"
host_rate() { sed -n 's/.*, \([0-9.]*\) \([KMG]\)B\/s.*/\1 \2/p' | awk '{v=$1; if($2=="k"||$2=="K")v/=1000; if($2=="G")v*=1000; printf "%.1f", v}'; }

echo "dd of $mb MB, sequential (MB/s; accel: $(cat /etc/vic/accel 2>/dev/null || echo kvm))"
printf '%-34s %10s %10s\n' "where" "write" "read"
row "containerVM, volume disk" "$vol"
row "containerVM, root disk (qcow2 child)" "$rootdisk"
printf '%-34s %10s %10s\n' "host, datastore directory" "$(host_rate <<< "$hw")" "$(host_rate <<< "$hr")"
