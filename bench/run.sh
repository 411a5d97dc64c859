#!/usr/bin/env bash
# docker run latency and idle memory, side by side in one run, for three peers:
#   vic-clone  a VCH made by default: containers start as instant clones of its template VM
#   vic-cold   a VCH made with --no-instant-clone: every container boots its kernel
#   dockerd    Debian's dockerd + runc (docker.io; --install-dockerd installs it)
# on the same busybox image from the fixture registry:
#   docker run --rm busybox true             median, min and max of N runs after one warm-up
#   docker run -d + stop + rm                (the container traps TERM), same
#   8 x docker run --rm busybox true at once failures (each printed), median and max latency
#   PSS of an idle `sleep 600` container      ~3 s after its start: its containerVM's QEMU (vic),
#                                             its process tree (runc); file-backed vs anonymous
# vic-clone is measured once its endpoint logs its template ready, and its endpoint log must
# then hold no "cold boot" (else a FAIL line: the clone path fell back). Under the table: the
# floor, the same kernel + tether booted by plain QEMU running `true` (bench/tether_boot.sh).
# Usage: bench/run.sh [--install-dockerd] [--no-floor] [--out FILE] [runs]
#   as root, after ci/setup; default 5 runs (~5 minutes under TCG on 2 cores). Where the e2e
#   tests run too: flock -o /tmp/vic-e2e.lock bench/run.sh
set -euo pipefail
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
runs=5 out='' floor=1 concurrency=8
while [ $# -gt 0 ]; do
  case $1 in
    --install-dockerd) command -v dockerd > /dev/null || apt-get install -y -q docker.io > /dev/null ;;
    --no-floor) floor=0 ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift ;;
    [1-9]*) [[ $1 =~ ^[0-9]+$ ]] || usage; runs=$1 ;;
    *) usage ;;
  esac
  shift
done
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_start bench-clone bench-cold
bench_cleanup_hook='stop_dockerd'
started=$(date +%s%N)
load_start=$(cut -d' ' -f1 /proc/loadavg)
peers=(vic-clone vic-cold dockerd)

now() { date +%s%N; }
say() { printf '[%3ds] %s\n' $(( ($(now) - started) / 1000000000 )) "$*" >&2; }
note() { echo "  $*" >> "$work/notes"; say "$*"; }  # a line printed under the table

run_rm() { docker run --rm "$image" true; }
# The stopped container exits on SIGTERM under both runtimes (under runc it is PID 1, which
# ignores signals it has no handler for, so a bare `sleep` would measure stop's timeout).
run_stop_rm() {
  local id
  id=$(docker run -d "$image" sh -c 'trap "exit 0" TERM; sleep 600 & wait') && docker stop "$id" && docker rm "$id"
}

timed() {  # FILE COMMAND...: appends COMMAND's ns to FILE, or to FILE.fail when it fails
  local t0 rc=0; t0=$(now)
  "${@:2}" > /dev/null 2>> "$1.err" || rc=$?
  if [ $rc = 0 ]; then echo $(( $(now) - t0 )) >> "$1"; else echo "exit $rc after $(( ($(now) - t0) / 1000000 )) ms" >> "$1.fail"; fi
}

concurrent() {  # DIR: $concurrency `docker run --rm` launched together; DIR/conc, conc.fail, conc.wall
  local d=$1 i t0 pids=(); t0=$(now)
  for i in $(seq "$concurrency"); do
    ( s=$(now)
      if run_rm > "$d/conc.$i.out" 2>&1; then echo $(( $(now) - s )) >> "$d/conc"
      else echo "run $i: exit $? after $(( ($(now) - s) / 1000000 )) ms: $(tail -n 3 "$d/conc.$i.out" | tr '\n' ' ')" >> "$d/conc.fail"; fi ) &
    pids+=($!)
  done
  wait "${pids[@]}"
  echo $(( $(now) - t0 )) > "$d/conc.wall"
}

descendants() { local c; for c in $(pgrep -P "$1" || true); do echo "$c"; descendants "$c"; done; }
rollup() {  # PID...: smaps_rollup summed over the processes, "Field kB" lines
  local p; for p in "$@"; do cat "/proc/$p/smaps_rollup" 2> /dev/null || true; done | awk '$NF == "kB" {s[$1] += $(NF-1)} END {for (k in s) print k, s[k]}'
}

memory() {  # PEER DIR: DIR/mem, the PSS of an idle container ~3 s after `docker run -d`
  local id pids pid shim
  id=$(docker run -d "$image" sleep 600)
  sleep 3
  if [ "$1" = dockerd ]; then
    pid=$(docker inspect -f '{{.State.Pid}}' "$id")
    pids="$pid $(descendants "$pid")"
    shim=$(ps -o ppid= -p "$pid" | tr -d ' ')
    rollup "$shim" > "$2/mem.shim"
  else
    pids=$(pgrep -f "guest=$name-${id:0:12}," || true)
  fi
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086  # one pid per word
    rollup $pids > "$2/mem"
  else
    note "FAIL: $1: no process for container ${id:0:12} (QEMU pattern guest=$name-${id:0:12},)"
  fi
  docker rm -f "$id" > /dev/null
}

measure() {  # PEER: every figure of the engine docker points at, into $work/PEER/
  local d=$work/$1; mkdir -p "$d"
  docker pull -q "$image" > /dev/null
  say "$1: warm-up, then $runs x (run --rm, run -d + stop + rm)"
  timed "$d/warmup" run_rm; timed "$d/warmup" run_stop_rm
  for _ in $(seq "$runs"); do timed "$d/rm" run_rm; timed "$d/cycle" run_stop_rm; done
  say "$1: $concurrency concurrent run --rm"
  concurrent "$d"
  say "$1: idle memory"
  memory "$1" "$d"
  local f; for f in warmup rm cycle; do
    [ -s "$d/$f.fail" ] && note "FAIL: $1: $(wc -l < "$d/$f.fail") failed $f run(s): $(tail -n 2 "$d/$f.err" | tr '\n' ' ')"
  done
  if [ -s "$d/conc.fail" ]; then
    note "FAIL: $1: $(wc -l < "$d/conc.fail") of $concurrency concurrent runs failed:"
    sed 's/^/      /' "$d/conc.fail" | tee -a "$work/notes" >&2
  fi
  return 0
}

vic_peer() {  # PEER [create flags]: a VCH $name, measured, then deleted (run in a subshell: DOCKER_*)
  local peer=$1 log t0; shift
  say "$peer: vic-machine create --name $name $*"
  bench_vch "$@"
  log=$datastore/endpoint.log
  if [ "$peer" = vic-clone ]; then  # wait for the template the endpoint makes after create
    t0=$(now)
    until grep -q 'template [^ ]* ready' "$log" 2> /dev/null; do
      if grep -qE 'making a template:|no template:' "$log" 2> /dev/null || [ $(( $(now) - t0 )) -gt 300000000000 ]; then
        note "FAIL: vic-clone: no template ready after $(( ($(now) - t0) / 1000000000 )) s: $(grep -E 'template' "$log" | tail -n 2 | tr '\n' ' ')"
        break
      fi
      sleep 0.2
    done
    grep -q 'template [^ ]* ready' "$log" && note "vic-clone: template ready $(awk -v n=$(( $(now) - t0 )) 'BEGIN {printf "%.1f", n/1e9}') s after create returned"
  fi
  measure "$peer"
  if [ "$peer" = vic-clone ]; then
    if grep -q 'cold boot' "$log"; then
      note "FAIL: vic-clone fell back to a cold boot $(grep -c 'cold boot' "$log") time(s): the clone figures are not all clones"
      grep 'cold boot' "$log" | head -n 5 | sed 's/^/      /' | tee -a "$work/notes" >&2
    else
      note "vic-clone: ok, no \"cold boot\" in the endpoint log"
    fi
  elif grep -q 'making template' "$log"; then
    note "FAIL: vic-cold: its endpoint made a template (--no-instant-clone ignored?)"
  fi
  "$vic_machine" delete --name "$name" --force > /dev/null
}

stop_dockerd() {
  [ -z "${dockerd_pid:-}" ] && return 0
  kill "$dockerd_pid" 2> /dev/null || true
  wait "$dockerd_pid" 2> /dev/null || true
  dockerd_pid=
}

# vic: VCHs made by vic-machine, reached over TLS as a user would; one at a time.
( name=bench-clone; vic_peer vic-clone )
( name=bench-cold; vic_peer vic-cold --no-instant-clone )

# dockerd + runc on the same image, when there is a dockerd.
if command -v dockerd > /dev/null; then
  sock=$work/docker.sock
  dockerd --data-root "$work/dockerd" -H "unix://$sock" --pidfile "$work/dockerd.pid" --exec-root "$work/exec" \
    --bridge none --iptables=false --ip-masq=false > "$work/dockerd.log" 2>&1 & dockerd_pid=$!
  up=0
  for _ in $(seq 150); do DOCKER_HOST=unix://$sock docker version > /dev/null 2>&1 && { up=1; break; }; sleep 0.2; done
  if [ $up = 1 ]; then
    ( export DOCKER_HOST=unix://$sock; unset DOCKER_TLS_VERIFY DOCKER_CERT_PATH; measure dockerd )
  else
    note "FAIL: dockerd did not answer within 30 s: $(tail -n 2 "$work/dockerd.log" | tr '\n' ' ')"
  fi
  stop_dockerd
else
  note "dockerd + runc: not installed (bench/run.sh --install-dockerd adds Debian's docker.io)"
fi

# The floor: the same kernel and tether under plain QEMU (boot -> exit of `true`).
if [ $floor = 1 ]; then
  say "floor: bench/tether_boot.sh $runs"
  floor_s=$("$root/bench/tether_boot.sh" "$runs" | awk -F'  +' '/VM exit/ {print $3}')
  floor_s=${floor_s%% *}
fi

# The table.
secs() {  # PEER FILE WHAT (median|min|max|range): seconds, or - without samples
  local f=$work/$1/$2
  [ -s "$f" ] || { echo -; return; }
  sort -n "$f" | awk -v w="$3" '{a[NR] = $1} END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    if (w == "median") printf "%.2f", m / 1e9; else if (w == "max") printf "%.2f", a[NR] / 1e9
    else printf "%.2f-%.2f", a[1] / 1e9, a[NR] / 1e9 }'
}
mem() {  # PEER FIELD [FILE]: MiB, or -
  local f=$work/$1/${3:-mem}
  [ -s "$f" ] || { echo -; return; }
  awk -v k="$2:" '$1 == k {v = $2; found = 1} END {if (found) printf "%.1f", v / 1024; else printf "-"}' "$f"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b > 0) printf "%.1fx", a / b; else printf "-" }'; }
failed() {  # PEER: "failed/total" of the concurrent runs
  local n=0
  [ -s "$work/$1/conc.wall" ] || { echo -; return; }
  [ -f "$work/$1/conc.fail" ] && n=$(wc -l < "$work/$1/conc.fail")
  echo "$n/$concurrency"
}
row() { printf '  %-42s %11s %11s %11s %14s\n' "$@"; }
row_of() {  # LABEL FUNCTION ARGS...: a row with FUNCTION PEER ARGS per peer, and clone/dockerd
  local label=$1 p v=(); shift
  for p in "${peers[@]}"; do v+=("$("$1" "$p" "${@:2}")"); done
  row "$label" "${v[@]}" "$(ratio "${v[0]}" "${v[2]}")"
}
row_plain() {  # LABEL FUNCTION ARGS...: the same without a ratio
  local label=$1 p v=(); shift
  for p in "${peers[@]}"; do v+=("$("$1" "$p" "${@:2}")"); done
  row "$label" "${v[@]}" ""
}
# shellcheck source=ci/accel.sh
accel=TCG; source "$root/ci/accel.sh"; vic_kvm_usable && accel=KVM
{
  echo "docker run: vic instant clone vs vic cold boot vs dockerd + runc ($accel, $(nproc) CPUs, $(date -u +%F))"
  echo "  seconds: median of $runs runs after one warm-up, and min-max; memory: MiB of PSS"
  row "" vic-clone vic-cold dockerd clone/dockerd
  row_of "docker run --rm busybox true" secs rm median
  row_plain "  min-max" secs rm range
  row_of "docker run -d + stop + rm" secs cycle median
  row_plain "  min-max" secs cycle range
  row_plain "$concurrency x run --rm at once: failed" failed
  row_of "$concurrency x run --rm at once: median latency" secs conc median
  row_of "$concurrency x run --rm at once: max latency" secs conc max
  row_of "$concurrency x run --rm at once: all done" secs conc.wall median
  row_of "idle sleep container: PSS" mem Pss
  row_of "  file-backed (Pss_File)" mem Pss_File
  row_of "  anonymous (Pss_Anon)" mem Pss_Anon
  row_of "  shmem (Pss_Shmem)" mem Pss_Shmem
  row_plain "  Private_Dirty" mem Private_Dirty
  row_plain "  Private_Clean" mem Private_Clean
  row_plain "  Shared_Clean" mem Shared_Clean
  echo "  vic: the containerVM's QEMU process; dockerd: runc's container process tree (its"
  echo "  containerd-shim-runc-v2, not counted: $(mem dockerd Pss mem.shim) MiB PSS). A clone maps its template's memory"
  echo "  file private: pages it never writes stay file-backed (Pss_File, shared by every clone of"
  echo "  the template); written ones become private anonymous (Pss_Anon)."
  [ -n "${floor_s:-}" ] && echo "  floor (same kernel + tether, plain QEMU, boot -> exit of \`true\`): $floor_s s; cold / floor $(ratio "$(secs vic-cold rm median)" "$floor_s")"
  [ -s "$work/notes" ] && cat "$work/notes"
  echo "  bench took $(( ($(now) - started) / 1000000000 )) s; 1-minute load average $load_start at its start, $(cut -d' ' -f1 /proc/loadavg) at its end"
} > "$work/table"
cat "$work/table"
[ -z "$out" ] || cp "$work/table" "$out"
