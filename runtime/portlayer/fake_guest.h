// What boots inside a FakeHypervisor VM for port-layer and API unit tests: a FakeTether on the
// VM's tether socket running the main session from the container's config (the fw_cfg file
// the port layer writes), writing the persistent output log, halting the VM when main exits.
// Together they stand in for libvirt + QEMU + tether; see vsock/fake_tether.h for the
// simulated commands (echo, cat, yes, exit, sleep).
#pragma once

#include <memory>

#include "hypervisor/fake_hypervisor.h"

namespace vic::pl {

hv::FakeHypervisor::GuestBoot fakeTetherGuest();

}  // namespace vic::pl
