// What boots inside a FakeHypervisor VM for port-layer and API unit tests: a FakeTether on the
// VM's tether socket running the main session from the container's config (the fw_cfg file
// the port layer writes, or the Identity a clone is given), writing the persistent output log, halting the VM when main exits.
// Together they stand in for libvirt + QEMU + tether; see vsock/fake_tether.h for the
// simulated commands (echo, cat, yes, exit, sleep).
#pragma once

#include <functional>
#include <memory>

#include "hypervisor/fake_hypervisor.h"
#include "vsock/messages.h"
#include "vsock/transport.h"

namespace vic::pl {

// A VM without a container config (a template) or cloned from one waits for an Identity;
// `onIdentity` sees each one a guest accepts. A VM with a vsock CID serves where `vsockEndpoint`
// says for its CID (its "AF_VSOCK"; as tether, it then leaves its virtio-serial port alone).
hv::FakeHypervisor::GuestBoot fakeTetherGuest(std::function<void(const vsock::Identity&)> onIdentity = nullptr,
                                              std::function<vsock::Endpoint(uint32_t cid)> vsockEndpoint = nullptr);

}  // namespace vic::pl
