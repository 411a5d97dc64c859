#!/usr/bin/env bash
# Eight `docker run --rm` at once against one VCH: every one prints its own output and exit
# code, and nothing is left behind in libvirt or on the datastore.
source "$(dirname "$0")/lib.sh"
start_registry
create_vch --cpu 2 --memory 8GiB
capture docker pull "$BUSYBOX"
tmp=$(mktemp -d)

for i in 1 2 3 4 5 6 7 8; do
  (set +e; docker run --rm "$BUSYBOX" sh -c "echo run-$i; exit $i" > "$tmp/$i.out" 2>&1; echo $? > "$tmp/$i.rc") &
done
wait
for i in 1 2 3 4 5 6 7 8; do
  expect_eq "run-$i" "$(cat "$tmp/$i.out")" "concurrent run $i printed its output"
  expect_eq "$i" "$(cat "$tmp/$i.rc")" "concurrent run $i exit code"
done
capture docker ps -a -q
expect_eq "" "$out" "every --rm container is removed"

# Unnamed containers get random names that never collide (a small name list once made one run in
# eight fail with a name conflict).
made=0
for i in $(seq 1 40); do docker create "$BUSYBOX" true > /dev/null 2>>"$tmp/create.err" && made=$((made + 1)); done
expect_eq 40 "$made" "40 unnamed creates all succeed $(head -c 300 "$tmp/create.err")"
capture docker ps -a --format '{{.Names}}'
expect_eq 40 "$(sort -u <<< "$out" | wc -l)" "and get 40 distinct names"
capture sh -c 'docker rm $(docker ps -aq)'
expect_rc 0 "the unnamed containers are removed"
capture virsh list --all --name
expect_eq 0 "$(grep -c "^$E2E_NAME-" <<< "$out" || true)" "no containerVM is left in libvirt"
expect_eq 0 "$(find "$VCH_DIR/containers" -mindepth 1 -maxdepth 1 | wc -l)" "no container directory is left"
rm -rf "$tmp"
