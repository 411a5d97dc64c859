#!/usr/bin/env bash
# Storage through the docker CLI, beyond volumes: docker cp in both directions on running
# containers (through tether) and stopped ones (through their disks), including into a volume
# of a stopped container; diff, commit (with --change), export, save and load; the disks
# open as they are in qemu-img and libguestfs; the output log keeps every byte, and is
# rotated per container only when --log-opt asks.
source "$(dirname "$0")/lib.sh"
start_registry
tiny=/var/tmp/$E2E_NAME-tiny  # a volume store on a 1 MiB filesystem: a full datastore
mountpoint -q "$tiny" && umount "$tiny"
mkdir -p "$tiny" && mount -t tmpfs -o size=1m tmpfs "$tiny"
create_vch --cpu 2 --memory 8GiB --volume-store "$tiny:tiny"
capture docker pull "$BUSYBOX"
work=$(mktemp -d /var/tmp/vic-e2e-storage.XXXXXX)

# A tree with modes, a symlink, an empty dir and a 3 MiB binary file: "mode path sha" lines.
make_tree() {
  mkdir -p "$1/t/sub/empty"
  head -c 3145728 /dev/urandom > "$1/t/big.bin"
  printf 'hello\n' > "$1/t/sub/hello.txt"
  chmod 750 "$1/t/sub"; chmod 604 "$1/t/sub/hello.txt"; chmod 711 "$1/t/sub/empty"
  ln -s sub/hello.txt "$1/t/link"
}
describe_tree() {  # dir -> sorted "type mode path [sha|target]"
  (cd "$1" && find . -printf '%y %m %p %l\n' | sort | while read -r y m p l; do
     if [ "$y" = f ]; then echo "$y $m $p $(sha256sum "$p" | cut -c1-16)"; else echo "$y $m $p $l"; fi
   done)
}
make_tree "$work/src"
want=$(describe_tree "$work/src/t")

# ---- docker cp, running container ----
capture docker run -d --name live "$BUSYBOX" sleep 600
capture docker cp "$work/src/t" live:/copied
expect_rc 0 "docker cp a directory into a running container"
capture docker exec live sh -c 'sha256sum /copied/big.bin; stat -c "%a %U" /copied/sub /copied/sub/hello.txt; readlink /copied/link'
expect_contains "$out" "$(sha256sum "$work/src/t/big.bin" | cut -d' ' -f1)" "the file inside has the same sha256"
expect_contains "$out" "750 root" "a directory keeps its mode (and root owns what cp writes)"
expect_contains "$out" "604 root" "a file keeps its mode"
expect_contains "$out" "sub/hello.txt" "a symlink stays a symlink"
mkdir -p "$work/out-live"
capture docker cp live:/copied "$work/out-live/t"
expect_rc 0 "docker cp a directory out of a running container"
expect_eq "$want" "$(describe_tree "$work/out-live/t")" "the round trip keeps content, modes and the tree"
cp "$work/src/t/sub/hello.txt" "$work/owned.txt" && chown 1234:4321 "$work/owned.txt"
capture docker cp -a "$work/owned.txt" live:/tmp/
capture docker exec live stat -c '%u:%g' /tmp/owned.txt
expect_eq "1234:4321" "$out" "docker cp -a keeps the owner"
capture docker cp "$work/src/t/sub/hello.txt" live:/etc/renamed.txt
capture docker exec live cat /etc/renamed.txt
expect_eq hello "$out" "docker cp to a new file name renames it"
capture docker cp live:/etc/hostname -
expect_contains "$out" "hostname" "docker cp to stdout streams a tar"
capture docker cp live:/nope "$work/x"
expect_contains "$out" "Could not find the file /nope in container live" "a missing path (docker's message)"
capture docker cp "$work/src/t/sub/hello.txt" live:/nodir/x
expect_contains "$out" "Could not find the file /nodir" "a missing destination directory"
python3 - "$work/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    data = b"escaped\n"
    for name in ("../../evil", "ok/../../evil2"):
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
PY
capture docker cp - live:/tmp < "$work/evil.tar"
expect_contains "$out" "leaves the destination" "an archive entry escaping the destination is refused"
capture docker exec live sh -c 'ls /evil /evil2 /tmp/evil 2>&1'
expect_not_contains "$out" "escaped" "and nothing was written outside it"

# ---- docker cp, stopped container (its disk, without booting it) ----
capture docker run --name dead -v keepvol:/vol "$BUSYBOX" sh -c 'echo before > /vol/v; echo gone > /etc/gone; ln -s /etc /etclink'
capture docker cp "$work/src/t" dead:/copied
expect_rc 0 "docker cp into a stopped container"
expect_eq exited "$(docker inspect -f '{{.State.Status}}' dead)" "the container stays stopped"
mkdir -p "$work/out-dead"
capture docker cp dead:/copied "$work/out-dead/t"
expect_rc 0 "docker cp out of a stopped container"
expect_eq "$want" "$(describe_tree "$work/out-dead/t")" "the stopped round trip keeps content, modes and the tree"
capture docker cp dead:/vol/v -
expect_contains "$out" "before" "a file in a stopped container's volume is read from the volume's disk"
capture docker cp "$work/src/t/sub/hello.txt" dead:/vol/
capture docker cp dead:/etclink -
expect_match "$out" "etclink" "a symlink is copied as a symlink"
capture docker cp dead:/etclink/gone -
expect_contains "$out" "gone" "a symlink inside the path resolves inside the container"
capture docker start -a dead
capture docker run --rm -v keepvol:/vol "$BUSYBOX" cat /vol/hello.txt /vol/v
expect_eq "hello
before" "$out" "docker cp into a stopped container's volume lands on the volume"

# ---- diff, commit, history ----
capture docker run --name changer "$BUSYBOX" sh -c 'echo changed > /etc/motd; mkdir /made; echo x > /made/f; rm /bin/vi'
capture docker diff changer
expect_eq "C /bin
D /bin/vi
C /etc
C /etc/motd
A /made
A /made/f" "$out" "docker diff lists what the container changed (not tether's mount points or /etc/hosts)"
capture docker commit --change 'CMD ["cat", "/etc/motd"]' --change 'ENV HELLO=world' -m "by the test" changer committed:v1
expect_rc 0 "docker commit with --change and a message"
new_id=$out
capture docker run --rm committed:v1
expect_eq changed "$out" "the committed image runs its new CMD and shows the change"
capture docker run --rm committed:v1 sh -c 'echo $HELLO; ls /made; ls /bin/vi'
expect_contains "$out" "world" "--change ENV is in the new image"
expect_contains "$out" "f" "an added directory is in the new image"
expect_contains "$out" "No such file" "a deleted file stays deleted (a whiteout)"
capture docker history committed:v1
expect_contains "$out" "by the test" "docker history shows the commit's message"
capture docker inspect -f '{{len .RootFS.Layers}} {{.Id}}' committed:v1
expect_eq "$(( $(docker inspect -f '{{len .RootFS.Layers}}' "$BUSYBOX") + 1 )) $new_id" "$out" "one new layer and a new id"
capture docker exec live sh -c 'echo fresh > /fresh'
capture docker diff live
expect_contains "$out" "A /fresh" "docker diff of a running container (a snapshot after tether flushed its disk)"
capture docker commit live fromlive:1
expect_rc 0 "docker commit of a running container"
capture docker run --rm fromlive:1 cat /fresh
expect_eq fresh "$out" "the image committed from a running container has its latest write"
capture docker exec live cat /fresh
expect_eq fresh "$out" "and the running container was left as it was"
capture docker exec live sh -c 'echo unpaused > /fresh2'
capture docker commit --pause=false live fromlive:2
expect_rc 0 "docker commit --pause=false of a running container"
capture docker run --rm fromlive:2 cat /fresh2
expect_eq unpaused "$out" "the image committed without a pause has the container's write"
capture docker inspect -f '{{.State.Status}}' live
expect_eq running "$out" "and it is still running, not paused"
capture docker commit --change 'RUN echo' changer nope:2
expect_contains "$out" "RUN is not a valid change command" "a bad --change (docker's message)"

# ---- export, save and load ----
capture docker export live -o "$work/live.tar"
expect_rc 0 "docker export of a running container (through tether)"
listing=$(tar tf "$work/live.tar")
expect_contains "$listing" "copied/big.bin" "holds what was copied in"
expect_not_contains "$listing" "proc/1/" "and stays on the container's own filesystem"
capture docker export changer -o "$work/changer.tar"
expect_rc 0 "docker export"
listing=$(tar tf "$work/changer.tar")
expect_contains "$listing" "made/f" "the export holds the container's files"
expect_not_contains "$listing" "proc/1" "and not the contents of /proc"
capture docker save committed:v1 -o "$work/saved.tar"
expect_rc 0 "docker save"
capture skopeo inspect "docker-archive:$work/saved.tar"
expect_contains "$out" "sha256:" "another tool (skopeo) reads the saved tarball, layers verified against the config"
capture docker rmi committed:v1
capture docker load -i "$work/saved.tar"
expect_contains "$out" "Loaded image: committed:v1" "docker load takes the saved tarball back"
capture docker run --rm committed:v1
expect_eq changed "$out" "and the loaded image runs"

# ---- the disks as they are ----
disk=$VCH_DIR/containers/$(docker inspect -f '{{.Id}}' changer)/rw.qcow2
capture qemu-img info --backing-chain -U "$disk"
expect_contains "$out" "backing file:" "qemu-img follows the container disk's backing chain"
set -a; source /etc/vic/guestfs.env; set +a  # written by ci/setup: the appliance's kernel, TCG where needed
capture timeout 300 virt-ls --format=qcow2 -a "$disk" /made
expect_eq f "$out" "virt-ls (libguestfs) lists a file in a stopped container's disk"
rm -rf "$work"

# ---- the output log: nothing lost, rotated only on request ----
# QEMU writes it (not virtlogd, which would rotate it at 2 MiB and delete the rest).
docker run --name biglog "$BUSYBOX" head -c 52428800 /dev/urandom > "$work.run" 2> "$work.err"
expect_eq 52428800 "$(stat -c %s "$work.run")" "docker run streams 50 MiB of binary output [$(tail -c 300 "$work.err")]"
docker logs biglog > "$work.logs" 2>&1
expect_eq "$(sha256sum < "$work.run")" "$(sha256sum < "$work.logs")" "docker logs gives back the same 50 MiB, byte for byte"
capture docker inspect -f '{{json .HostConfig.LogConfig}} {{.State.ExitCode}}' biglog
expect_eq '{"Type":"json-file","Config":{}} 0' "$out" "json-file, as docker's default"
rm -f "$work.run" "$work.err" "$work.logs"
docker rm biglog > /dev/null
capture docker run --name rot --log-opt max-size=100k --log-opt max-file=2 "$BUSYBOX" sh -c 'seq 1 300000; exit 3'
expect_rc 3 "a container with --log-opt max-size=100k max-file=2 runs to its exit"
kept_small() { [ "$(docker logs rot 2>&1 | wc -c)" -le 200000 ]; }  # of 1.9 MB
wait_until 15 "its log is trimmed to at most max-size * max-file" kept_small
out=$(docker logs rot 2>&1 | awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { print (NR > 1000), bad + 0, prev }')
expect_eq "1 0 300000" "$out" "what stays is the newest lines, whole and in order"
capture docker inspect -f '{{json .HostConfig.LogConfig}} {{.State.ExitCode}}' rot
expect_eq '{"Type":"json-file","Config":{"max-file":"2","max-size":"100k"}} 3' "$out" "inspect shows the options; the exit code outlives the trim"
docker rm rot > /dev/null
capture docker run --rm --log-driver syslog "$BUSYBOX" true
expect_ne_zero "$rc" "--log-driver syslog is refused"
expect_contains "$out" 'logging driver "syslog" is not supported' "and says why"
capture docker run --rm --log-opt max-size=lots "$BUSYBOX" true
expect_contains "$out" "invalid size: 'lots'" "a bad max-size gets docker's error"

# ---- a full datastore ----
capture docker volume create --opt VolumeStore=tiny --opt Capacity=2G big
expect_ne_zero "$rc" "a volume that does not fit its store is refused"
expect_contains "$out" "creating volume big" "with the reason"
expect_not_contains "$(docker volume ls -q)" "big" "and no half volume is listed"
expect_eq "" "$(ls -A "$tiny")" "nor left in the store"
umount "$tiny"
