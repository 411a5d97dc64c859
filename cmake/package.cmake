# How vic is installed: `cmake --install <build> [--prefix DIR]` and the Debian package that
# `cpack` (run in the build tree) makes from the same rules (docs/packaging.md).
#   bin/vic-machine                      the command users run
#   lib/vic/{vic-endpoint,vic-admin,vmlinuz,bootstrap.img}   what vic-machine copies into each VCH
#   share/man/man1/vic-machine.1.gz, share/man/man8/vic-endpoint.8.gz
#   share/doc/vic/                       README and docs/
# The split debug info (<program>.debug) is the "debug" component, installed only when asked
# for (`cmake --install <build> --component debug`), beside the programs; never in the package.

# Man pages, compressed as Debian wants them (-n: no name or time inside, reproducible).
find_program(VIC_GZIP gzip REQUIRED)
set(VIC_MAN_PAGES vic-machine.1 vic-endpoint.8)
set(VIC_MAN_OUT)
foreach(page IN LISTS VIC_MAN_PAGES)
  set(out ${CMAKE_BINARY_DIR}/man/${page}.gz)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND ${VIC_GZIP} -9n -c ${CMAKE_SOURCE_DIR}/docs/man/${page} > ${out}
    DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/${page} VERBATIM)
  list(APPEND VIC_MAN_OUT ${out})
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  install(FILES ${out} DESTINATION share/man/man${section} COMPONENT vic)
endforeach()
add_custom_target(man-pages ALL DEPENDS ${VIC_MAN_OUT})

install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION share/doc/vic COMPONENT vic)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION share/doc/vic/docs COMPONENT vic
        FILES_MATCHING PATTERN "*.md" PATTERN "*.png" PATTERN "man" EXCLUDE)

# The Debian package: vic_<version>_<arch>.deb, installable with `apt install ./vic_*.deb`.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vic)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "vic developers <vic@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Docker containers as real VMs on KVM/QEMU")
set(CPACK_PACKAGE_DESCRIPTION "vic rebuilds VMware's vSphere Integrated Containers on libvirt and QEMU.
A Virtual Container Host (VCH) is a resource pool plus an endpoint that speaks the Docker API;
every container run through it is its own virtual machine with its own kernel, disk and
network card. vic-machine creates and manages VCHs; the ordinary docker client talks to them.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # the libraries the programs link, from dpkg-shlibdeps
# What the programs run: libvirt and QEMU (VMs), qemu-img (disks), dnsmasq (the bridge's DHCP
# and DNS through libvirt), iptables and ip (ports, networks), mke2fs/e2fsck and fuse2fs
# (volumes, image layers), openssl (certificates). docs/dependencies.md says why each is needed.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libvirt-daemon-system, libvirt-clients, qemu-system-x86, qemu-utils, dnsmasq-base, iptables, iproute2, e2fsprogs, fuse2fs, openssl")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "docker.io | docker-ce-cli")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "tini")
include(CPack)
