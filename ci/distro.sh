# Which distribution this host runs and what that changes for ci/setup. Sourced, never run.
# Every function here is pure: it reads its arguments (and ci/packages.txt), prints to stdout,
# says what is wrong on stderr with status 1, and writes no file (ci/distro-test checks that).
#   distro_id OS-RELEASE-FILE       debian-12, debian-13, ubuntu-22.04 or ubuntu-24.04
#   distro_packages ID              the packages ci/setup installs there, one a line
#   distro_kernel_source ID         the metapackage naming the current containerVM kernel
#   distro_kernel_packages ID PKG   the .debs to download once that metapackage resolved to PKG
# Debian 12 is the reference: ci/packages.txt is its list, and the only branch exercised here.
# shellcheck shell=bash

VIC_DISTROS="debian-12 debian-13 ubuntu-22.04 ubuntu-24.04"
VIC_DISTRO_PACKAGES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/packages.txt

# One os-release(5) value, parsed and never sourced or evaluated: the last KEY= line wins (as
# for the shell that os-release is written for), one pair of enclosing quotes is removed, and
# backslash escapes and $(...) are left as they are, so they can only fail the checks below.
_distro_value() {  # file key
  local v
  v=$(LC_ALL=C sed -n "s/^$2=//p" "$1" | tail -n 1 | LC_ALL=C tr -d '\000') || return 1
  v=${v%$'\r'}
  case $v in
    \"*\") v=${v#\"}; v=${v%\"} ;;
    \'*\') v=${v#\'}; v=${v%\'} ;;
  esac
  printf '%s' "$v"
}

# A value fit for an error message: printable characters only, at most 40 of them.
_distro_shown() { local v; v=$(printf '%s' "$1" | LC_ALL=C tr -cd '[:print:]'); printf '%s' "${v:0:40}"; }

_distro_err() { printf 'distro: %s\n' "$*" >&2; return 1; }

distro_id() {  # os-release-file
  local f=${1-} id ver
  if ! [ -f "$f" ] || ! [ -r "$f" ]; then _distro_err "cannot read $f"; return 1; fi
  if ! id=$(_distro_value "$f" ID) || ! ver=$(_distro_value "$f" VERSION_ID); then _distro_err "cannot read $f"; return 1; fi
  # os-release(5): ID is lower-case letters, digits, '.', '_' and '-'; VERSION_ID adds none
  [[ $id =~ ^[a-z0-9._-]{1,32}$ ]] || { _distro_err "$f: ID '$(_distro_shown "$id")' is not an os-release ID"; return 1; }
  [ -n "$ver" ] || { _distro_err "$f: no VERSION_ID (a testing or unstable release?): ci/setup knows ${VIC_DISTROS// /, }"; return 1; }
  [[ $ver =~ ^[a-z0-9._~-]{1,32}$ ]] || { _distro_err "$f: VERSION_ID '$(_distro_shown "$ver")' is not an os-release version"; return 1; }
  case "$id-$ver" in
    debian-12 | debian-13 | ubuntu-22.04 | ubuntu-24.04) printf '%s\n' "$id-$ver" ;;
    *) _distro_err "unsupported distribution $id $ver ($f): ci/setup knows ${VIC_DISTROS// /, }"; return 1 ;;
  esac
}

_distro_known() {
  case " $VIC_DISTROS " in *" $1 "*) return 0 ;; esac
  _distro_err "unknown distribution id '$(_distro_shown "$1")' (one of: $VIC_DISTROS)"
}

# The differences from ci/packages.txt (Debian 12), one "<Debian 12 name> <name there>" a line;
# "-" as the name there drops the package. Everything not named is the same package there.
# Verified here (Debian's archive answers): Debian 13 has libboost1.83-dev and clang 19
# (libclang-rt-19-dev), neither libboost1.81-dev nor libclang-rt-14-dev, and does have
# docker-registry, tini, umoci, fuse2fs, skopeo, nodejs and npm (its docker-compose is v2,
# 2.26, where Debian 12 has 1.29). Not verified (Ubuntu's archive cannot be reached here):
#  - Ubuntu 24.04: Boost 1.83 (libboost1.83-dev) and clang 18 (libclang-rt-18-dev) as defaults;
#    docker-registry, tini, umoci, fuse2fs, skopeo, docker-compose (1.29) in universe, synced
#    from Debian. images/fixtures/registry.sh runs `docker-registry serve`: the e2e tiers need
#    that binary, and the Ubuntu archive has nothing else that provides it, so it stays listed.
#  - Ubuntu 22.04: Boost 1.74 only, which the code does not build with (asio::as_tuple and
#    awaitable operators are newer; docs/dependencies.md): listed so that setup gets as far as
#    the build. Its llvm-toolchain-14 (14.0.0) predates Debian's split of compiler-rt into
#    libclang-rt-14-dev (14.0.6-10, Dec 2022): libFuzzer is in libclang-common-14-dev there.
#  - Ubuntu (both): its "chromium" package only installs the snap, which needs snapd running;
#    dropped there: tests/e2e/browser.mjs takes /usr/bin/google-chrome when there is no
#    /usr/bin/chromium (GitHub's Ubuntu runners have Chrome), or $VIC_CHROMIUM.
_distro_overrides() {  # id
  case $1 in
    debian-12) ;;
    debian-13) printf '%s\n' 'libboost1.81-dev libboost1.83-dev' 'libclang-rt-14-dev libclang-rt-19-dev' ;;
    ubuntu-24.04) printf '%s\n' 'libboost1.81-dev libboost1.83-dev' 'libclang-rt-14-dev libclang-rt-18-dev' 'chromium -' ;;
    ubuntu-22.04) printf '%s\n' 'libboost1.81-dev libboost1.74-dev' 'libclang-rt-14-dev libclang-common-14-dev' 'chromium -' ;;
  esac
}

distro_packages() {  # id
  local id=${1-} p from to
  _distro_known "$id" || return 1
  [ -r "$VIC_DISTRO_PACKAGES" ] || { _distro_err "cannot read $VIC_DISTRO_PACKAGES"; return 1; }
  local -A swap=()
  while IFS=' ' read -r from to; do swap[$from]=$to; done < <(_distro_overrides "$id")
  while IFS= read -r p; do
    [ -n "$p" ] || continue
    if [ -n "${swap[$p]+set}" ]; then p=${swap[$p]}; fi
    [ "$p" = - ] || printf '%s\n' "$p"
  done < <(sed 's/#.*//; s/[[:space:]]*$//; s/^[[:space:]]*//' "$VIC_DISTRO_PACKAGES")
}

# Debian: the cloud kernel, a metapackage depending on one linux-image-<version>-cloud-amd64
# that holds the kernel and its modules. Ubuntu: the kvm flavour (its kernel for KVM guests);
# linux-image-<version>-kvm holds only /boot/vmlinuz-*, the modules tether loads are in
# linux-modules-<version>-kvm (not verified here: Ubuntu's archive cannot be reached).
distro_kernel_source() {  # id
  local id=${1-}
  _distro_known "$id" || return 1
  case $id in
    debian-*) echo linux-image-cloud-amd64 ;;
    ubuntu-*) echo linux-image-kvm ;;
  esac
}

distro_kernel_packages() {  # id resolved-image-package
  local id=${1-} pkg=${2-}
  _distro_known "$id" || return 1
  [[ $pkg =~ ^linux-image-(unsigned-)?([0-9][a-z0-9.+~-]*)$ ]] || {
    _distro_err "'$(_distro_shown "$pkg")' is not a versioned linux-image package"; return 1; }
  printf '%s\n' "$pkg"
  case $id in ubuntu-*) printf 'linux-modules-%s\n' "${BASH_REMATCH[2]}" ;; esac
}
