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
source "$(dirname "$0")/lib.sh"
mb=${1:-256}
bench_start bench-storage
bench_vch
docker pull -q "$image" > /dev/null
docker volume create --opt Capacity=$((mb * 2))MB benchvol > /dev/null

# Seconds for the write and the read of dd on a directory ($1), timed with /proc/uptime (busybox dd
# prints no rate): "write-seconds read-seconds".
guest_dd='f=$1/dd.bin; t0=$(cut -d" " -f1 /proc/uptime); dd if=/dev/zero of=$f bs=1M count='$mb' conv=fsync 2>/dev/null;
  t1=$(cut -d" " -f1 /proc/uptime); sync; echo 3 > /proc/sys/vm/drop_caches; t2=$(cut -d" " -f1 /proc/uptime);
  dd if=$f of=/dev/null bs=1M 2>/dev/null; t3=$(cut -d" " -f1 /proc/uptime); rm -f $f; echo "$t0 $t1 $t2 $t3"'
host_dd() {
  local f=$1/dd.bin t0 t1 t2 t3
  t0=$(cut -d" " -f1 /proc/uptime); dd if=/dev/zero of="$f" bs=1M count="$mb" conv=fsync 2>/dev/null
  t1=$(cut -d" " -f1 /proc/uptime); sync; echo 3 > /proc/sys/vm/drop_caches; t2=$(cut -d" " -f1 /proc/uptime)
  dd if="$f" of=/dev/null bs=1M 2>/dev/null; t3=$(cut -d" " -f1 /proc/uptime); rm -f "$f"; echo "$t0 $t1 $t2 $t3"
}
row() {  # label "t0 t1 t2 t3" -> MB/s written and read
  awk -v l="$1" -v mb="$mb" '{w=$2-$1; r=$4-$3; if (w<=0) w=0.01; if (r<=0) r=0.01;
    printf "%-38s %10.1f %10.1f\n", l, mb/w, mb/r}' <<< "$2"
}

vol=$(docker run --rm -v benchvol:/vol "$image" sh -c "$guest_dd" sh /vol)
rootdisk=$(docker run --rm "$image" sh -c "$guest_dd" sh /tmp)
host=$(host_dd "$datastore")

echo "dd of $mb MB, sequential, MB/s (accel: $(cat /etc/vic/accel 2>/dev/null || echo kvm); the guest rows include emulation)"
printf '%-38s %10s %10s\n' "where" "write" "read"
row "containerVM, volume disk" "$vol"
row "containerVM, root disk (qcow2 child)" "$rootdisk"
row "host, datastore directory (baseline)" "$host"
