#!/usr/bin/env bash
# The docker CLI's everyday commands against a VCH made by vic-machine (TLS with client
# certificates, a 2-CPU / 4 GiB pool): version, info, pull, images, run, exit codes, ps, inspect,
# wait, logs, rm, and docker's own errors for bad input.
source "$(dirname "$0")/lib.sh"
start_registry
create_vch --cpu 2 --memory 4GiB

capture docker version --format '{{.Server.Platform.Name}} {{.Server.APIVersion}}'
expect_eq "vic $E2E_NAME 1.50" "$out" "docker version names the VCH and API 1.50"
capture docker info --format '{{.NCPU}} {{.MemTotal}} {{.Name}}'
expect_eq "2 4294967296 $E2E_NAME" "$out" "docker info reports the pool's limits"
# How the host reaches tether (AF_VSOCK where /dev/vhost-vsock works, else virtio-serial) and the
# accelerator, in docker info (under "Storage Driver: vic") and vic-machine inspect.
transport=virtio-serial
[ -r /dev/vhost-vsock ] && [ -w /dev/vhost-vsock ] && transport=AF_VSOCK
capture docker info
expect_contains "$out" "Tether transport: $transport" "docker info says which tether transport the VCH uses"
expect_match "$out" "Accelerator: (kvm|tcg)" "docker info says which accelerator its containerVMs use"
capture "$VIC_MACHINE" inspect --name "$E2E_NAME"
expect_match "$out" "tether: +$transport" "vic-machine inspect says the tether transport"
expect_match "$out" "accelerator: +(kvm|tcg)" "vic-machine inspect says the accelerator"

capture docker pull "$BUSYBOX"
expect_contains "$out" "Status: Downloaded newer image for $BUSYBOX:latest" "docker pull"
capture docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}'
expect_match "$out" "$BUSYBOX:latest [0-9.]+[kM]B" "docker images lists it with a size"

capture docker run --rm "$BUSYBOX" echo hi
expect_eq "hi" "$out" "docker run --rm echo hi"
capture docker run --name three "$BUSYBOX" sh -c 'echo out; echo err >&2; exit 3'
expect_rc 3 "docker run exit status"
expect_eq $'out\nerr' "$out" "stdout and stderr of docker run"
capture docker inspect -f '{{.State.ExitCode}} {{.State.Status}} {{.Name}}' three
expect_eq "3 exited /three" "$out" "docker inspect -f"
capture docker wait three
expect_eq 3 "$out" "docker wait"
capture docker logs three
expect_eq $'out\nerr' "$out" "docker logs"
capture docker logs --tail 1 three
expect_eq "err" "$out" "docker logs --tail 1"
docker run --name lines "$BUSYBOX" printf 'l1\nl2\nl3\nl4\nl5\n' > /dev/null  # one write: one log record
capture docker logs --tail 2 lines
expect_eq $'l4\nl5' "$out" "docker logs --tail 2 counts lines, not writes"
capture docker logs --tail 0 lines
expect_eq "" "$out" "docker logs --tail 0"
docker rm lines > /dev/null
capture docker logs -t three
expect_match "$out" "^20[0-9-]+T[0-9:.]+Z out" "docker logs -t prefixes RFC 3339 timestamps"
capture docker logs --since 2000-01-01T00:00:00Z --until 2000-01-02T00:00:00Z three
expect_eq "" "$out" "docker logs --until before the run shows nothing"
capture docker ps -a --no-trunc --format '{{.Names}}|{{.Command}}|{{.Status}}'
expect_match "$out" "three\|\"sh -c 'echo out; echo err >&2; exit 3'\"\|Exited \(3\) ([0-9]+ seconds?|Less than a second) ago" "docker ps -a formatting"
expect_not_contains "$out" "hi" "--rm removed its container"

capture docker run -d --name sleeper "$BUSYBOX" sleep 600
capture docker ps --format '{{.Names}} {{.Status}}'
expect_match "$out" "^sleeper Up ([0-9]+ seconds?|Less than a second)$" "docker ps shows the running one only"
capture docker ps -a --filter status=exited --format '{{.Names}}'
expect_eq "three" "$out" "docker ps --filter status=exited"
capture docker ps -a --filter name=sleep --format '{{.Names}}'
expect_eq "sleeper" "$out" "docker ps --filter name="

capture docker rename sleeper napper
capture docker ps --format '{{.Names}}'
expect_eq "napper" "$out" "docker rename"
capture docker rename napper sleeper
# docker's own errors
capture docker run "$BUSYBOX" nosuchcmd
expect_rc 127 "a missing command exits 127"
expect_contains "$out" 'exec: "nosuchcmd": executable file not found in $PATH' "with docker's message"
capture docker run --name three "$BUSYBOX" true
expect_rc 125 "a name conflict fails"
expect_contains "$out" 'Conflict. The container name "/three" is already in use' "with docker's message"
capture docker rm sleeper
expect_contains "$out" "container is running: stop the container before removing or force remove" "rm of a running container"
capture docker attach three
expect_contains "$out" "You cannot attach to a stopped container, start it first" "attach to a stopped container"
capture docker rm nosuch
expect_contains "$out" "No such container: nosuch" "rm of an unknown container"
capture docker inspect nosuch
expect_contains "$out" "No such object: nosuch" "inspect of an unknown name"
capture docker run "$REGISTRY/test/nosuch"
expect_rc 125 "run of an unknown image fails"
expect_contains "$out" "not found" "with the registry's answer"
capture docker kill -s NOPE sleeper
expect_contains "$out" "Invalid signal: NOPE" "kill with an unknown signal"

capture docker rm -f sleeper
expect_rc 0 "docker rm -f of a running container"
capture docker ps -a --format '{{.Names}}'
expect_not_contains "$out" "sleeper" "it is gone"
capture virsh list --all --name
expect_eq 2 "$(grep -c "^$E2E_NAME-" <<< "$out")" "only the containerVMs of three and the failed nosuchcmd are left"
capture docker rmi "$BUSYBOX"
expect_contains "$out" "conflict: unable to remove repository reference \"$BUSYBOX\" (must force) - container " "rmi of an image a stopped container uses"
capture docker images -q
expect_eq 1 "$(wc -l <<< "$out")" "the image is still there"
capture docker tag "$BUSYBOX" vic-e2e/other:1.0
capture docker images --format '{{.Repository}}:{{.Tag}}' "$BUSYBOX"
expect_eq "$BUSYBOX:latest" "$out" "docker images REPO lists that repository only"
capture docker images --format '{{.Repository}}:{{.Tag}}' 'vic-e2e/*'
expect_eq "vic-e2e/other:1.0" "$out" "and a wildcard matches as docker's reference filter does"
capture docker images -q --filter dangling=true
expect_eq "" "$out" "no dangling image"
capture docker rmi vic-e2e/other:1.0
three_id=$(docker inspect -f '{{.Id}}' three)
capture docker container prune -f --filter label=nosuch
expect_not_contains "$out" "$three_id" "container prune with a filter no container matches removes none"
capture docker container prune -f
expect_contains "$out" "$three_id" "docker container prune removes the stopped containers"
capture docker ps -aq --filter name=three
expect_eq "" "$out" "and they are gone"
capture sh -c "docker ps -aq | xargs -r docker rm -f"
capture docker rmi "$BUSYBOX"
expect_contains "$out" "Untagged: $BUSYBOX:latest" "rmi once no container uses it"
capture docker images -q
expect_eq "" "$out" "the image is gone"

# Bad requests at the HTTP edge: docker-style JSON errors, the endpoint keeps serving.
sock=$VCH_DIR/docker.sock
capture curl -s --unix-socket "$sock" -XPOST -H 'Content-Type: application/json' -d '{bad' http://vch/containers/create
expect_contains "$out" '"message":"invalid JSON' "malformed JSON is a 400 with a message"
capture sh -c "head -c 3000000 /dev/zero | curl -s --unix-socket '$sock' -XPOST -H 'Content-Type: application/json' --data-binary @- http://vch/containers/create"
expect_contains "$out" "request body too large" "a 3 MB JSON body is refused"
capture curl -s --unix-socket "$sock" -H "X-Big: $(head -c 100000 /dev/zero | tr '\0' a)" http://vch/_ping
expect_contains "$out" "request header too large" "a 100 kB header is refused"
capture curl -s --unix-socket "$sock" -XPOST http://vch/containers/nosuch/pause
expect_contains "$out" "No such container: nosuch" "unknown container before unknown operation"
capture curl -s --unix-socket "$sock" -XPOST http://vch/swarm/init
expect_contains "$out" "POST /swarm/init is not yet supported by vic" "unimplemented endpoints answer 501 naming themselves"
capture curl -s --unix-socket "$sock" -XPOST http://vch/build
expect_contains "$out" "extracting the build context" "a build without a context tar says what is wrong with it"
capture docker version --format '{{.Server.APIVersion}}'
expect_eq "1.50" "$out" "the endpoint still serves"

# Two containers are two machines, however they started (clones of one template on the default
# path): their own boot id, random numbers, hostname and clock.
capture docker run --rm --name twin1 "$BUSYBOX" sh -c 'cat /proc/sys/kernel/random/boot_id; head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n"; echo; hostname; date +%s'
first=$out
capture docker run --rm --name twin2 "$BUSYBOX" sh -c 'cat /proc/sys/kernel/random/boot_id; head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n"; echo; hostname; date +%s'
second=$out
expect_ne "$(sed -n 1p <<< "$first")" "$(sed -n 1p <<< "$second")" "two containers have different boot ids"
expect_ne "$(sed -n 2p <<< "$first")" "$(sed -n 2p <<< "$second")" "and different random numbers"
expect_ne "$(sed -n 3p <<< "$first")" "$(sed -n 3p <<< "$second")" "and different hostnames"
skew=$(( $(date +%s) - $(sed -n 4p <<< "$second") ))
if [ "${skew#-}" -le 5 ]; then pass "a container's clock is the host's"; else fail "a container's clock is ${skew} s off the host's"; fi

# ---- image prune, system df, system prune, image events ----
since=$(date +%s)
capture docker pull "$BUSYBOX"
busybox_id=$(docker inspect -f '{{.Id}}' "$BUSYBOX")
docker run --name keeper "$BUSYBOX" sh -c 'echo kept > /kept' > /dev/null
first=$(docker commit keeper vic-e2e/made:1)
second=$(docker commit keeper vic-e2e/made:1)  # the tag moves on: the first commit is left dangling
capture docker images -q --no-trunc --filter dangling=true
expect_eq "$first" "$out" "a commit whose tag moved on is dangling"
capture docker image prune -f
expect_contains "$out" "deleted: $first" "docker image prune removes the dangling image"
expect_contains "$out" "Total reclaimed space:" "and says what it reclaimed"
capture docker images -q --no-trunc
expect_eq "$(sort <<< "$busybox_id"$'\n'"$second")" "$(sort <<< "$out")" "the tagged commit and the image a stopped container uses stay"
capture docker system df --format '{{.Type}} {{.TotalCount}} {{.Active}}'
expect_eq $'Images 2 1\nContainers 1 0\nLocal Volumes 0 0\nBuild Cache 0 0' "$out" "docker system df counts images, containers, volumes and no build cache"
capture docker system df
expect_match "$(sed -n 2p <<< "$out")" "^Images +2 +1 +[0-9.]+[kMG]?B +[0-9.]+[kMG]?B \([0-9]+%\)$" "docker system df prints its table with sizes"
capture docker system df -v
expect_contains "$out" "Images space usage:" "docker system df -v"
expect_match "$(grep -m1 -F "$BUSYBOX " <<< "$out")" " 1$" "shows the image a container uses with its count"
expect_match "$(grep -F "keeper" <<< "$out")" "Exited \(0\)" "and the container with its disk"
capture docker image prune -af
expect_contains "$out" "untagged: vic-e2e/made:1" "docker image prune -a untags an image no container uses"
expect_contains "$out" "deleted: $second" "and deletes it"
expect_not_contains "$out" "$busybox_id" "but keeps the one a stopped container uses"
capture docker system prune -f
expect_rc 0 "docker system prune -f"
expect_contains "$out" "Deleted Containers:" "removes the stopped container"
expect_contains "$out" "Total reclaimed space:" "and reports the space reclaimed"
capture docker system prune -af --volumes
expect_contains "$out" "deleted: $busybox_id" "docker system prune -a removes the image no container uses now"
capture docker images -q
expect_eq "" "$out" "no image is left"
capture docker events --since "$since" --until "$(($(date +%s) + 1))" --filter type=image --format '{{.Action}} {{.Actor.ID}} {{index .Actor.Attributes "name"}}'
expect_contains "$out" "pull $BUSYBOX:latest $BUSYBOX" "docker events: pull, the reference named by its repository"
expect_contains "$out" "tag $first vic-e2e/made:1" "a commit's tag"
expect_contains "$out" "delete $first $first" "the dangling image's delete"
expect_contains "$out" "untag $second $second"$'\n'"delete $second $second" "a tagged image's untag and delete"
expect_contains "$out" "prune  " "and the prunes"
capture docker events --since "$since" --until "$(date +%s)" --filter image=vic-e2e/made --format '{{.Action}}'
expect_eq $'tag\ntag' "$out" "docker events --filter image=REPO finds the image events that name it"
