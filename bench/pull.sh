#!/usr/bin/env bash
# Pull wall time from the fixture registry: vic-imagec (registry -> verified blobs -> one
# qcow2 child per layer) next to `skopeo copy` of the same image into a local directory
# (download + verify only, no unpacking), and dockerd's pull when a dockerd is reachable.
# Image: test/big (busybox-free, 4 layers x 16 MiB of incompressible data, 64 MiB).
# Usage: bench/pull.sh [runs]   (after a build; default 3 runs, medians printed)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VIC_BUILD:-$root/build}
runs=${1:-3}
work=$(mktemp -d /var/tmp/vic-pull-bench.XXXXXX)
trap '"$root/images/fixtures/registry.sh" stop "$work/registry" >/dev/null; rm -rf "$work"' EXIT
"$root/images/fixtures/registry.sh" fill-big "$work/registry" >/dev/null
addr=$(cat "$work/registry/addr")
image=$addr/test/big:latest

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%6.2f s", m/1e9}'; }
timed() {  # timed <cleanup> <command...>: prints ns
  local t0; eval "$1"; t0=$(now); "${@:2}" >/dev/null; echo $(( $(now) - t0 ))
}

vic() { "$build/images/vic-imagec" --datastore "$work/ds" pull --parallel "$1" "$image"; }
skopeo_copy() { skopeo copy -q --src-tls-verify=false "docker://$image" "dir:$work/skopeo"; }
again() { "$build/images/vic-imagec" --datastore "$work/ds" pull "$image"; }

declare -A t
for _ in $(seq "$runs"); do
  t[vic3]+="$(timed 'rm -rf "$work/ds"' vic 3) "
  t[again]+="$(timed : again) "
  t[vic1]+="$(timed 'rm -rf "$work/ds"' vic 1) "
  t[skopeo]+="$(timed 'rm -rf "$work/skopeo"' skopeo_copy) "
done
printf '%-58s %s\n' "pull test/big (64 MiB, 4 layers), median of $runs" ""
printf '  %-56s %s\n' "vic-imagec pull, 3 parallel downloads, into qcow2" "$(tr ' ' '\n' <<<"${t[vic3]}" | grep . | median)"
printf '  %-56s %s\n' "vic-imagec pull, 1 download at a time" "$(tr ' ' '\n' <<<"${t[vic1]}" | grep . | median)"
printf '  %-56s %s\n' "vic-imagec pull again (everything present)" "$(tr ' ' '\n' <<<"${t[again]}" | grep . | median)"
printf '  %-56s %s\n' "baseline: skopeo copy to a directory (no unpacking)" "$(tr ' ' '\n' <<<"${t[skopeo]}" | grep . | median)"
if docker -H unix:///var/run/docker.sock version >/dev/null 2>&1; then
  dockerd_pull() { docker -H unix:///var/run/docker.sock pull -q "$image"; }
  d=""; for _ in $(seq "$runs"); do
    d+="$(timed 'docker -H unix:///var/run/docker.sock rmi -f "$image" >/dev/null 2>&1 || true' dockerd_pull) "
  done
  printf '  %-56s %s\n' "baseline: dockerd pull" "$(tr ' ' '\n' <<<"$d" | grep . | median)"
else
  printf '  %-56s %s\n' "baseline: dockerd pull" "n/a (no dockerd on this machine)"
fi
