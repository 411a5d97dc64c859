#!/usr/bin/env bash
# How users install vic: the Debian package `cpack` makes from the build tree, and
# `cmake --install`.
#  1. The .deb: its name, its Depends (the tools vic runs, the libraries it links), its files
#     (the programs, kernel and bootstrap image in /usr/lib/vic, man pages; no debug info), and
#     stripped programs.
#  2. `apt install ./vic_*.deb` into a clean Debian root made by debootstrap (minbase: nothing
#     but what the package pulls in): apt resolves every dependency, each program runs there
#     (--help, --version, no missing library), the man pages are installed, and apt removes it.
#  3. The package's layout works: vic-machine from the unpacked package finds the endpoint,
#     kernel and bootstrap image beside it, makes a VCH and runs a container.
#  4. cmake --install to a prefix: the same layout, plus the debug info beside the programs.
source "$(dirname "$0")/lib.sh"
cache=${VIC_CACHE:-/var/cache/vic}
work=$(mktemp -d /var/tmp/vic-package.XXXXXX)
root=$work/root
cleanup_root() {  # the chroot's mounts go before its files
  local m
  for m in "$root/var/cache/apt/archives" "$root/proc" "$root/dev"; do
    mountpoint -q "$m" 2>/dev/null && umount -l "$m"
  done
  rm -rf "$work"
}
after_finish+=(cleanup_root)
trap finish EXIT

# 1. The package.
capture cpack -G DEB -B "$work/pkg" --config "$VIC_BUILD/CPackConfig.cmake"
expect_rc 0 "cpack makes the Debian package"
shopt -s nullglob
debs=("$work"/pkg/vic_*.deb)
shopt -u nullglob
expect_eq 1 "${#debs[@]}" "one vic_<version>_<arch>.deb ($(basename "${debs[0]:-none}"))"
deb=${debs[0]}
version=$("$VIC_BUILD/runtime/vic_machine/vic-machine" version | awk '{print $2}')
expect_eq "vic_${version}_amd64.deb" "$(basename "$deb")" "named after the project's version"
depends=$(dpkg-deb -f "$deb" Depends)
for d in libvirt-daemon-system qemu-system-x86 qemu-utils dnsmasq-base iptables e2fsprogs fuse2fs openssl libvirt0 libarchive13 libcurl4 libssl3 libre2-9; do
  expect_match "$depends" "(^|, )$d( |,|$)" "Depends names $d"
done
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/vic-machine ./usr/lib/vic/vic-endpoint ./usr/lib/vic/vic-admin ./usr/lib/vic/vmlinuz ./usr/lib/vic/bootstrap.img \
  ./usr/share/man/man1/vic-machine.1.gz ./usr/share/man/man8/vic-endpoint.8.gz ./usr/share/doc/vic/README.md \
  ./usr/share/doc/vic/docs/architecture.md; do
  expect_contains "$files" "$f" "the package holds ${f#.}"
done
expect_eq "" "$(grep '\.debug$' <<< "$files" || true)" "and no debug info"
dpkg-deb -x "$deb" "$work/x"
for p in usr/bin/vic-machine usr/lib/vic/vic-endpoint usr/lib/vic/vic-admin; do
  expect_not_contains "$(readelf -S "$work/x/$p")" ".debug_info" "/$p is stripped"
done

# 2. apt install into a clean root. The minbase root is made once and kept as a tarball; apt
# in it reuses the host's downloaded packages.
base=$cache/debootstrap/bookworm-minbase.tar
if [ ! -f "$base" ]; then
  mkdir -p "$(dirname "$base")"
  log "making a clean Debian 12 root with debootstrap (once; kept in $base)"
  debootstrap --variant=minbase --cache-dir=/var/cache/apt/archives bookworm "$work/base" http://deb.debian.org/debian \
    > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; fail "debootstrap"; exit 1; }
  tar -C "$work/base" -cf "$base.new" . && mv "$base.new" "$base"
  rm -rf "$work/base"
fi
mkdir -p "$root"
tar -C "$root" -xf "$base"
expect_eq "" "$(chroot "$root" sh -c 'command -v qemu-system-x86_64 virsh vic-machine' || true)" "the clean root has no QEMU, libvirt or vic"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"  # no daemons started in the chroot
chmod +x "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /var/cache/apt/archives "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
capture in_root apt-get update -q
expect_rc 0 "apt-get update in the clean root"
t0=$SECONDS
capture in_root apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")"
expect_rc 0 "apt install ./$(basename "$deb") pulls in every dependency ($((SECONDS - t0)) s)"
expect_eq "install ok installed" "$(in_root dpkg-query -W -f='${Status}' vic 2>&1)" "dpkg lists vic as installed"
capture in_root vic-machine version
expect_eq "vic-machine $version" "$out" "vic-machine runs in the clean root"
capture in_root vic-machine create --help
expect_contains "$out" "--name NAME" "vic-machine create --help shows the create flags"
capture in_root vic-machine help restart
expect_contains "$out" "--all" "vic-machine help restart"
capture in_root /usr/lib/vic/vic-endpoint --version
expect_eq "vic-endpoint $version" "$out" "vic-endpoint runs in the clean root"
capture in_root /usr/lib/vic/vic-admin --version
expect_eq "vic-admin $version" "$out" "vic-admin runs in the clean root"
capture in_root ldd /usr/bin/vic-machine /usr/lib/vic/vic-endpoint /usr/lib/vic/vic-admin
expect_not_contains "$out" "not found" "every library the programs link is installed"
for t in qemu-system-x86_64 qemu-img virsh dnsmasq iptables mke2fs fuse2fs openssl; do
  expect_ne "$(in_root sh -c "command -v $t" || true)" "" "the tool vic runs is installed: $t"
done
capture in_root sh -c 'zcat /usr/share/man/man1/vic-machine.1.gz | head -1; zcat /usr/share/man/man8/vic-endpoint.8.gz | head -1'
expect_contains "$out" ".TH VIC-MACHINE 1" "man vic-machine(1) is installed"
expect_contains "$out" ".TH VIC-ENDPOINT 8" "man vic-endpoint(8) is installed"
capture in_root apt-get remove -y -q vic
expect_rc 0 "apt-get remove vic"
expect_eq "" "$(ls "$root/usr/bin/vic-machine" "$root/usr/lib/vic" 2>/dev/null)" "removing it leaves no program behind"

# 3. The unpacked package makes a VCH that runs a container: vic-machine finds its parts in
# ../lib/vic, and the VCH runs the package's endpoint.
start_registry
VIC_MACHINE=$work/x/usr/bin/vic-machine create_vch --no-tls
same_file() {  # a b what
  if cmp -s "$1" "$2"; then pass "$3"; else fail "$3: $2 differs from $1"; fi
}
same_file "$work/x/usr/lib/vic/vic-endpoint" "$VCH_DIR/bin/vic-endpoint" "the VCH runs the package's endpoint"
same_file "$work/x/usr/lib/vic/bootstrap.img" "$VCH_DIR/bootstrap/bootstrap.img" "and its bootstrap image"
same_file "$work/x/usr/lib/vic/vic-admin" "$VCH_DIR/bin/vic-admin" "and its vicadmin"
docker pull -q "$BUSYBOX" > /dev/null
capture docker run --rm "$BUSYBOX" echo installed
expect_eq "installed" "$out" "a container runs on a VCH made by the packaged vic-machine"

# 4. cmake --install: the same layout under a prefix; the debug info only when asked for.
capture cmake --install "$VIC_BUILD" --prefix "$work/prefix"
expect_rc 0 "cmake --install"
for f in bin/vic-machine lib/vic/vic-endpoint lib/vic/vmlinuz lib/vic/bootstrap.img share/man/man1/vic-machine.1.gz \
  share/man/man8/vic-endpoint.8.gz share/doc/vic/docs/packaging.md; do
  expect_eq 1 "$([ -f "$work/prefix/$f" ] && echo 1)" "cmake --install puts $f under the prefix"
done
expect_eq "" "$(find "$work/prefix" -name '*.debug')" "without the debug info"
capture cmake --install "$VIC_BUILD" --prefix "$work/prefix" --component debug
for f in bin/vic-machine.debug lib/vic/vic-endpoint.debug lib/vic/vic-admin.debug; do
  expect_eq 1 "$([ -f "$work/prefix/$f" ] && echo 1)" "cmake --install --component debug puts $f beside its program"
done
capture "$work/prefix/bin/vic-machine" inspect --name "$E2E_NAME"
expect_rc 0 "the installed vic-machine sees the VCH"
