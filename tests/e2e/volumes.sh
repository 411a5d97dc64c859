#!/usr/bin/env bash
# Volumes through the docker CLI: named volumes outlive containers, anonymous ones go with
# --rm / rm -v, an image's VOLUME content fills a new volume, read-only mounts, one running
# containerVM per volume, host directories refused, and the bad-input errors.
source "$(dirname "$0")/lib.sh"
start_registry
create_vch --cpu 2 --memory 8GiB --volume-store "/var/tmp/$E2E_NAME-fast:fast"
capture docker pull "$BUSYBOX"
VOLIMG=$REGISTRY/test/volume
capture docker pull "$VOLIMG"

# ---- named volumes ----
capture docker volume create --opt Capacity=64MB --label team=a data
expect_rc 0 "docker volume create with Capacity and a label"
capture docker volume inspect -f '{{.Driver}} {{.Options.Capacity}} {{.Status.Capacity}} {{.Labels.team}}' data
expect_eq "vsphere 64MB 64 MiB a" "$out" "volume inspect shows driver, options as given, capacity and labels"
capture docker run --rm -v data:/data "$BUSYBOX" sh -c 'echo kept > /data/file; df -m /data | tail -1'
expect_rc 0 "a container writes to the named volume"
expect_match "$out" "/data$" "the volume is mounted at /data"
capture docker run --rm -v data:/data "$BUSYBOX" cat /data/file
expect_eq kept "$out" "the next container reads what the first one wrote"
capture docker run --rm -v data:/data:ro "$BUSYBOX" sh -c 'cat /data/file; touch /data/x'
expect_contains "$out" "kept" "a :ro mount reads"
expect_contains "$out" "Read-only file system" "and refuses writes"
capture docker run --rm -v auto:/auto "$BUSYBOX" sh -c 'echo made > /auto/f'
capture docker volume ls -q
expect_contains "$out" "auto" "-v name:/path creates the volume on first use"

# ---- anonymous volumes ----
before=$(docker volume ls -q | wc -l)
capture docker run --rm -v keep:/k -v /anon "$BUSYBOX" sh -c 'echo x > /anon/f; echo y > /k/f'
expect_rc 0 "--rm with an anonymous and a named volume"
capture docker volume ls -q
expect_contains "$out" "keep" "the named volume stays"
expect_eq $((before + 1)) "$(wc -l <<< "$out")" "the anonymous one is gone"
capture docker create --name anon -v /scratch "$BUSYBOX" true
anon_vol=$(docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}' anon)
expect_match "$anon_vol" '^[0-9a-f]{64}$' "inspect shows the anonymous volume's name in Mounts"
capture docker rm anon
capture docker volume ls -q
expect_contains "$out" "$anon_vol" "docker rm without -v keeps the anonymous volume"
capture docker volume rm "$anon_vol"
capture docker create --name anon2 -v /scratch -v named2:/n "$BUSYBOX" true
anon_vol=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/scratch"}}{{.Name}}{{end}}{{end}}' anon2)
capture docker rm -v anon2
capture docker volume ls -q
expect_not_contains "$out" "$anon_vol" "docker rm -v removes the anonymous volume"
expect_contains "$out" "named2" "but never a named one"

# ---- the image's VOLUME ----
capture docker run --rm "$VOLIMG" sh -c 'cat /data/seed /data/sub/file; stat -c %a /data/seed; mount | grep -c " /data "'
expect_eq $'seeded\ndeep\n640\n1' "$out" "an image VOLUME is a volume filled with the image's content (modes kept)"
capture docker run --rm -v filled:/data "$VOLIMG" sh -c 'echo more > /data/more'
capture docker run --rm -v filled:/data "$BUSYBOX" sh -c 'cat /data/seed /data/more'
expect_eq $'seeded\nmore' "$out" "a new named volume mounted over image content gets it once, then keeps its own"

# ---- one running containerVM per volume ----
capture docker run -d --name holder -v data:/data "$BUSYBOX" sleep 300
capture docker run --rm -v data:/data "$BUSYBOX" true
expect_ne_zero "$rc" "a volume in use by a running container cannot be attached to a second one"
expect_contains "$out" "volume data is in use by running container holder" "with a clear error"
capture docker volume rm data
expect_contains "$out" "remove data: volume is in use" "a volume in use cannot be removed"
holder_id=$(docker inspect -f '{{.Id}}' holder)
capture "$VIC_MACHINE" inspect --name "$E2E_NAME" --disks
expect_contains "$out" "holder (${holder_id:0:12})" "vic-machine inspect --disks lists the container"
expect_contains "$out" "containers/$holder_id/rw.qcow2"$'\n'"    images/layers/" "with its chain from its writable layer"
expect_contains "$out" "images/layers/scratch.qcow2" "down to scratch"
expect_contains "$out" "data (default): $VCH_DIR/volumes/data/disk.qcow2" "and the volumes' disks"
capture qemu-img info -U --backing-chain "$VCH_DIR/containers/$holder_id/rw.qcow2"
expect_rc 0 "qemu-img info --backing-chain opens a running container's disk as it is"
expect_contains "$out" "scratch.qcow2" "and follows the chain to scratch"
capture docker rm -f holder

# ---- volume stores ----
capture docker volume create --opt VolumeStore=fast quick
expect_rc 0 "a volume in the labelled store"
expect_eq 1 "$(find "/var/tmp/$E2E_NAME-fast" -name disk.qcow2 | wc -l)" "its disk is in that store's directory"
capture docker volume create --opt VolumeStore=nope x1
expect_contains "$out" "volume store nope not found" "an unknown volume store"

# ---- bad input ----
capture docker volume create data
expect_contains "$out" "A volume named data already exists" "a duplicate name"
capture docker volume create 'bad name'
expect_contains "$out" "includes invalid characters for a local volume name" "an invalid name (docker's message)"
for cap in 0 -5 99TB; do
  capture docker volume create --opt Capacity=$cap "cap$RANDOM"
  expect_contains "$out" "invalid Capacity" "capacity $cap is refused"
done
capture docker run --rm -v /etc:/hostetc "$BUSYBOX" true
expect_contains "$out" "a containerVM shares no filesystem with its host" "host directories are refused with the reason"
capture docker volume inspect nosuch
expect_contains "$out" "no such volume" "an unknown volume"

# ---- prune and rm ----
capture docker volume rm data keep auto filled named2 quick
expect_rc 0 "docker volume rm"
capture docker volume create --label x=y pruneme
capture docker volume prune -a -f
expect_contains "$out" "pruneme" "docker volume prune -a removes unused volumes"
expect_eq "" "$(docker volume ls -q)" "no volume is left"
rm -rf "/var/tmp/$E2E_NAME-fast"
