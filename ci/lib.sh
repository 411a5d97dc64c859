# Shared helpers for the ci/ scripts. Sourced, never run.
# shellcheck shell=bash
set -euo pipefail

VIC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VIC_BUILD=${VIC_BUILD:-$VIC_ROOT/build}           # RelWithDebInfo: binaries, integration and e2e tiers
VIC_BUILD_ASAN=${VIC_BUILD_ASAN:-$VIC_ROOT/build-asan}  # Debug + ASan/UBSan: unit tier
VIC_BUILD_FUZZ=${VIC_BUILD_FUZZ:-$VIC_ROOT/build-fuzz}  # clang + libFuzzer
VIC_CACHE=${VIC_CACHE:-/var/cache/vic}            # downloaded .debs survive clean clones

say()  { printf '[%s] %s\n' "$(basename "$0")" "$*"; }
did()  { printf '[%s] did: %s\n' "$(basename "$0")" "$*"; }
ok()   { printf '[%s] ok:  %s\n' "$(basename "$0")" "$*"; }
die()  { printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (installs packages, starts libvirtd)"; }
