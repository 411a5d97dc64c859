#!/usr/bin/env bash
# docker run latency against a VCH, next to its floors, in one run (medians, seconds):
#   docker run --rm busybox true            vs  the same kernel + tether booted by plain QEMU
#   docker run -d + docker stop + docker rm     (tether's boot -> exit, from bench/tether_boot.sh)
#   ... and the same two through dockerd + runc when dockerd is installed (Debian docker.io;
#   pass --install-dockerd to install it).
# Usage: bench/run.sh [--install-dockerd] [runs]   (as root, after ci/setup; default 5 runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VIC_BUILD:-$root/build}
[ "${1:-}" = --install-dockerd ] && { shift; command -v dockerd > /dev/null || apt-get install -y -q docker.io > /dev/null; }
runs=${1:-5}
vic_machine=$build/runtime/vic_machine/vic-machine
name=bench-run
work=$(mktemp -d)

"$root/images/fixtures/registry.sh" fill /var/lib/vic/fixture-registry > /dev/null
image=$(cat /var/lib/vic/fixture-registry/addr)/test/busybox

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1e9}'; }
time_ns() { local t0; t0=$(now); "$@" > /dev/null; echo $(( $(now) - t0 )); }
run_rm() { docker run --rm "$image" true; }
# The stopped container exits on SIGTERM under both runtimes (under runc it is PID 1, which
# ignores signals it has no handler for, so a bare `sleep` would measure stop's timeout).
run_stop_rm() {
  local id; id=$(docker run -d "$image" sh -c 'trap "exit 0" TERM; sleep 600 & wait')
  docker stop "$id"; docker rm "$id"
}

measure() {  # label: appends "<label>-rm" and "<label>-cycle" samples after one warm-up each
  run_rm > /dev/null; run_stop_rm > /dev/null
  for _ in $(seq "$runs"); do
    time_ns run_rm >> "$work/$1-rm"
    time_ns run_stop_rm >> "$work/$1-cycle"
  done
}

cleanup() {
  "$vic_machine" delete --name "$name" --force > /dev/null 2>&1 || true
  [ -n "${dockerd_pid:-}" ] && kill "$dockerd_pid" 2> /dev/null && wait "$dockerd_pid" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# vic: a VCH made by vic-machine, reached over TLS as a user would.
"$vic_machine" delete --name "$name" --force > /dev/null 2>&1 || true
"$vic_machine" create --name "$name" > "$work/create.log"
datastore=$("$vic_machine" inspect --name "$name" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["datastore"])')
( set -a; source "$datastore/$name.env"; set +a; docker pull -q "$image" > /dev/null; measure vic )

# dockerd + runc on the same image, when there is a dockerd.
if command -v dockerd > /dev/null; then
  sock=$work/docker.sock
  dockerd --data-root "$work/dockerd" -H "unix://$sock" --pidfile "$work/dockerd.pid" --exec-root "$work/exec" \
    --bridge none --iptables=false --ip-masq=false > "$work/dockerd.log" 2>&1 & dockerd_pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && DOCKER_HOST=unix://$sock docker version > /dev/null 2>&1 && break; sleep 0.2; done
  ( export DOCKER_HOST=unix://$sock; docker pull -q "$image" > /dev/null; measure dockerd )
fi

# The floor: the same kernel and tether under plain QEMU (boot -> exit of `true`).
floor=$("$root/bench/tether_boot.sh" "$runs" | awk -F'  +' '/VM exit/ {print $3}')
floor=${floor%% *}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else printf "-" }'; }
rm_s=$(median < "$work/vic-rm") cycle_s=$(median < "$work/vic-cycle")
accel=TCG; source "$root/ci/accel.sh"; vic_kvm_usable && accel=KVM
echo "docker run latency ($accel, median of $runs runs, seconds)"
printf '  %-36s %7s %7s %14s\n' "" vic "floor" "vic / floor"
printf '  %-36s %7s %7s %14s\n' "docker run --rm busybox true" "$rm_s" "$floor" "$(ratio "$rm_s" "$floor")"
printf '  %-36s %7s %7s %14s\n' "docker run -d + stop + rm" "$cycle_s" "$floor" "$(ratio "$cycle_s" "$floor")"
if [ -s "$work/dockerd-rm" ]; then
  d_rm=$(median < "$work/dockerd-rm") d_cycle=$(median < "$work/dockerd-cycle")
  printf '  %-36s %7s %7s %14s\n' "dockerd + runc: run --rm true" "$d_rm" "" "vic $(ratio "$rm_s" "$d_rm")"
  printf '  %-36s %7s %7s %14s\n' "dockerd + runc: run -d + stop + rm" "$d_cycle" "" "vic $(ratio "$cycle_s" "$d_cycle")"
else
  echo "  dockerd + runc: not installed (bench/run.sh --install-dockerd adds Debian's docker.io)"
fi
