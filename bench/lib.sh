# shellcheck shell=bash disable=SC2034
# Shared by the bench scripts (sourced): the fixture image, a work directory, and VCHs of
# their own that go away when the script ends, however it ends (also on ^C or TERM).
# Sets root, build, vic_machine, name, work, image; bench_vch adds datastore and DOCKER_*.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VIC_BUILD:-$root/build}
vic_machine=$build/runtime/vic_machine/vic-machine
bench_cleanup_hook=:  # a script may set its own extra cleanup (a command)

bench_start() {  # NAME [MORE NAMES]: name=NAME; every NAME is deleted at exit
  name=$1
  bench_names=("$@")
  work=$(mktemp -d)
  "$root/images/fixtures/registry.sh" fill /var/lib/vic/fixture-registry > /dev/null
  image=$(cat /var/lib/vic/fixture-registry/addr)/test/busybox
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_cleanup() {
  eval "$bench_cleanup_hook"
  local n
  for n in "${bench_names[@]}"; do "$vic_machine" delete --name "$n" --force > /dev/null 2>&1 || true; done
  rm -rf "$work"
}

bench_vch() {  # [vic-machine create flags]: creates the VCH $name and points docker at it
  "$vic_machine" delete --name "$name" --force > /dev/null 2>&1 || true
  "$vic_machine" create --name "$name" "$@" > "$work/create-$name.log"
  datastore=$("$vic_machine" inspect --name "$name" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["datastore"])')
  set -a
  # shellcheck source=/dev/null
  source "$datastore/$name.env"
  set +a
}
