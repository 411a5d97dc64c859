# Shared by the bench scripts (sourced): the fixture image, a work directory, and a VCH of
# their own that goes away when the script ends, however it ends.
# Sets root, build, vic_machine, name, work, image; bench_vch adds datastore and DOCKER_*.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VIC_BUILD:-$root/build}
vic_machine=$build/runtime/vic_machine/vic-machine
bench_cleanup_hook=:  # a script may set its own extra cleanup (a command)

bench_start() {  # NAME
  name=$1
  work=$(mktemp -d)
  "$root/images/fixtures/registry.sh" fill /var/lib/vic/fixture-registry > /dev/null
  image=$(cat /var/lib/vic/fixture-registry/addr)/test/busybox
  trap bench_cleanup EXIT
}

bench_cleanup() {
  eval "$bench_cleanup_hook"
  "$vic_machine" delete --name "$name" --force > /dev/null 2>&1 || true
  rm -rf "$work"
}

bench_vch() {  # [vic-machine create flags]: creates the VCH and points docker at it
  "$vic_machine" delete --name "$name" --force > /dev/null 2>&1 || true
  "$vic_machine" create --name "$name" "$@" > "$work/create.log"
  datastore=$("$vic_machine" inspect --name "$name" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["datastore"])')
  set -a; source "$datastore/$name.env"; set +a
}
