#!/usr/bin/env bash
# docker build, side by side in one run: a VCH (RUN steps in instant-clone containerVMs) and
# Debian's dockerd with its classic builder (DOCKER_BUILDKIT=0, runc), on the same busybox image
# from the fixture registry and the same 5-step Dockerfile (FROM, COPY, 2 x RUN, CMD):
#   cold     every step runs (--no-cache)          median, min and max of N builds
#   cached   every step from the cache             same
# Usage: bench/build.sh [runs]   (as root, after ci/setup; default 5; dockerd from docker.io)
#   Where the e2e tests run too: flock -o /tmp/vic-e2e.lock bench/build.sh
set -euo pipefail
runs=${1:-5}
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_start bench-build
bench_cleanup_hook='stop_dockerd'
export DOCKER_BUILDKIT=0

now() { date +%s%N; }
say() { printf '%s\n' "$*" >&2; }

context() {  # the context every peer builds
  mkdir -p "$work/ctx"
  head -c 65536 /dev/urandom | base64 > "$work/ctx/data.txt"
  cat > "$work/ctx/Dockerfile" <<EOF
FROM $image
COPY data.txt /data/
RUN wc -c /data/data.txt > /data/count
RUN echo built > /data/marker
CMD ["cat", "/data/count"]
EOF
}

timed_build() {  # FILE [build flags]: appends one build's ns to FILE (FILE.fail when it fails)
  local file=$1 t0 t1; shift
  t0=$(now)
  if docker build -q --network none "$@" -t bench-built "$work/ctx" > /dev/null 2>> "$file.err"; then
    t1=$(now); echo $((t1 - t0)) >> "$file"
  else
    echo fail >> "$file.fail"
  fi
}

measure() {  # PEER
  local d=$work/$1; mkdir -p "$d"
  docker pull -q "$image" > /dev/null
  timed_build "$d/warmup" --no-cache
  for _ in $(seq "$runs"); do timed_build "$d/cold" --no-cache; done
  timed_build "$d/warmup"
  for _ in $(seq "$runs"); do timed_build "$d/cached"; done
  local f; for f in cold cached; do
    [ -s "$d/$f.fail" ] && say "FAIL: $1: $(wc -l < "$d/$f.fail") $f build(s) failed: $(tail -n 3 "$d/$f.err" | tr '\n' ' ')"
  done
  return 0
}

stats() {  # FILE: "median (min-max)" in seconds
  [ -s "$1" ] || { echo "n/a"; return; }
  sort -n "$1" | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.2f s (%.2f-%.2f)", m/1e9, v[1]/1e9, v[NR]/1e9}'
}

median() { [ -s "$1" ] && sort -n "$1" | awk '{v[NR]=$1} END {print (NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2}' || echo 0; }

stop_dockerd() {
  [ -z "${dockerd_pid:-}" ] && return 0
  kill "$dockerd_pid" 2> /dev/null || true
  wait "$dockerd_pid" 2> /dev/null || true
  dockerd_pid=
}

context
say "vic: a VCH (instant clones), $runs cold and $runs cached builds"
(
  bench_vch
  until grep -q 'template [^ ]* ready' "$datastore/endpoint.log" 2> /dev/null; do sleep 0.2; done
  measure vic
  grep -q 'cold boot' "$datastore/endpoint.log" && say "FAIL: vic: a RUN step's container was cold-booted"
  "$vic_machine" delete --name "$name" --force > /dev/null
)

if command -v dockerd > /dev/null; then
  say "dockerd: classic builder, $runs cold and $runs cached builds"
  sock=$work/docker.sock
  dockerd --data-root "$work/dockerd" -H "unix://$sock" --pidfile "$work/dockerd.pid" --exec-root "$work/exec" \
    --bridge none --iptables=false --ip-masq=false --insecure-registry "${image%%/*}" > "$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 150); do DOCKER_HOST=unix://$sock docker version > /dev/null 2>&1 && break; sleep 0.2; done
  ( export DOCKER_HOST=unix://$sock; unset DOCKER_TLS_VERIFY DOCKER_CERT_PATH; measure dockerd )
  stop_dockerd
else
  say "dockerd: not installed (apt-get install docker.io)"
fi

printf '\n%-28s %-26s %-26s %s\n' "docker build (5 steps)" "vic (clones)" "dockerd classic + runc" "vic / dockerd"
for f in cold cached; do
  v=$(median "$work/vic/$f"); d=$(median "$work/dockerd/$f")
  ratio=$(awk -v v="$v" -v d="$d" 'BEGIN {if (d > 0 && v > 0) printf "%.1fx", v/d; else print "n/a"}')
  printf '%-28s %-26s %-26s %s\n' "$f" "$(stats "$work/vic/$f")" "$(stats "$work/dockerd/$f")" "$ratio"
done
