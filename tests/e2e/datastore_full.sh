#!/usr/bin/env bash
# The VCH's datastore fills up while a container writes. QEMU pauses the writer's VM (its write
# waits: nothing is lost); docker shows it paused with the reason, new containers are refused
# at once with docker's "no space left on device", and once space is freed the writer resumes
# by itself and finishes. The datastore is a small ext4 file system here (not tmpfs: a clone
# maps its template's memory file, and tmpfs allocates even for reading its holes).
source "$(dirname "$0")/lib.sh"
start_registry
store=/var/tmp/$E2E_NAME-store
mount_small_fs "$store" "/var/tmp/$E2E_NAME.img" 1536M
create_vch --image-store "$store/ds"

capture docker pull "$BUSYBOX"
expect_rc 0 "docker pull"
capture docker run --rm "$BUSYBOX" true
expect_rc 0 "a container runs"
avail=$(df --output=avail -B1 "$store" | tail -n 1)
fallocate -l $((avail - (96 << 20))) "$store/ballast"
log "the datastore now has $(df --output=avail -BM "$store" | tail -n 1 | tr -d ' ') free"

since=$(date +%s)
capture docker run -d --name filler "$BUSYBOX" sh -c 'dd if=/dev/zero of=/fill bs=1M count=160 2>&1; sync; echo wrote; exec sleep 600'
expect_rc 0 "a container that writes 160 MiB starts"
wait_until 180 "the writer is paused" output_is true docker inspect -f '{{.State.Paused}}' filler
capture docker inspect -f '{{.State.Status}}|{{.State.Error}}' filler
expect_match "$out" '^paused\|.*no space left on device' "inspect says paused, and why"
capture docker ps --filter name=filler --format '{{.Status}}'
expect_match "$out" '\(Paused\)$' "docker ps shows it paused"
expect_contains "$(cat "$VCH_DIR/endpoint.log")" "is paused: a write to its disk failed" "the endpoint log says why"
t0=$SECONDS
capture docker run --rm "$BUSYBOX" true
expect_ne_zero "$rc" "a new container is refused while the datastore is full"
expect_contains "$out" "no space left on device" "with docker's words"
expect_eq 1 "$(( SECONDS - t0 < 15 ))" "at once, not after a boot timeout ($(( SECONDS - t0 )) s)"

rm "$store/ballast"
wait_until 60 "the writer resumes once space is freed" output_is false docker inspect -f '{{.State.Paused}}' filler
wait_until 120 "the writer finished its write" output_has wrote docker logs filler
capture docker exec filler sh -c 'wc -c < /fill'
expect_eq $((160 << 20)) "$out" "every byte it wrote is there"
capture docker inspect -f '{{.State.Status}}|{{.State.Error}}' filler
expect_eq "running|" "$out" "running, no error"
capture docker events --since "$since" --until "$(($(date +%s) + 1))" --filter container=filler --format '{{.Action}}'
expect_contains "$out" $'pause\nunpause' "pause and unpause events"
capture docker run --rm "$BUSYBOX" echo room-again
expect_eq room-again "$out" "new containers run again"
capture docker rm -f filler
expect_rc 0 "docker rm -f"
