// The port layer's volumes: made at create (named ones on first use, anonymous ones always),
// attached as disks, mounted by tether, one running containerVM per volume, and removed with
// the container when anonymous and asked for (--rm, rm -v).
#include "common/log.h"
#include "runtime/portlayer/port_layer.h"

namespace vic::pl {

Result<std::vector<std::string>> PortLayer::provideVolumes(ContainerSpec& spec) {
  std::vector<std::string> made;
  auto undo = [&] { dropVolumes(made); };
  for (auto& m : spec.volumes) {
    if (!m.name.empty() && vols_.find(m.name)) continue;  // a named volume that exists
    VolumeRequest r;
    r.name = m.name;
    r.anonymous = m.name.empty();
    auto v = vols_.create(r);
    if (!v) {
      undo();
      return std::move(v).error();
    }
    m.name = v->name;
    m.anonymous = r.anonymous;
    made.push_back(v->name);
    events_.publish({"volume", "create", v->name, {{"driver", "vsphere"}}, nowNs(), 0});
  }
  return made;
}

void PortLayer::dropVolumes(const std::vector<std::string>& names) {
  for (const auto& n : names) (void)vols_.remove(n);
}

// docker refuses nothing here, but a disk can be open in one VM at a time: say so clearly
// instead of QEMU's image-lock error.
Status PortLayer::volumesFree(const ContainerSpec& spec) {
  for (const auto& m : spec.volumes) {
    for (const auto& user : volumeUsers(m.name)) {
      if (user == spec.id) continue;
      auto other = specs_.find(user);
      if (other == specs_.end() || statusOf(other->second).state != RunState::kRunning) continue;
      return Error(Errc::kConflict, "volume " + m.name + " is in use by running container " + other->second.name +
                                        ": a volume's disk is attached to one containerVM at a time");
    }
  }
  return ok();
}

std::vector<std::string> PortLayer::volumeUsers(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [id, s] : specs_) {
    for (const auto& m : s.volumes) {
      if (m.name == name) {
        out.push_back(id);
        break;
      }
    }
  }
  return out;
}

void PortLayer::addVolumeDisks(const ContainerSpec& spec, hv::VmSpec& vm) const {
  for (const auto& m : spec.volumes) {
    auto v = vols_.find(m.name);
    if (!v) continue;  // removed behind our back: tether reports the missing disk
    // attached writable even for :ro (tether mounts it read-only): ext4 replays its journal at
    // mount, which a read-only disk would refuse
    vm.disks.push_back({vols_.diskPath(*v), volumeSerial(m.name), "qcow2", false});
  }
}

void PortLayer::fillMounts(const ContainerSpec& spec, vsock::ContainerConfig& cfg) const {
  cfg.mounts.clear();
  for (const auto& m : spec.volumes) cfg.mounts.push_back({volumeSerial(m.name), m.target, m.readOnly});
}

void PortLayer::removeAnonymousVolumes(const ContainerSpec& spec) {
  for (const auto& m : spec.volumes) {
    if (!m.anonymous) continue;
    bool shared = false;
    for (const auto& user : volumeUsers(m.name)) shared = shared || user != spec.id;
    if (shared) continue;
    if (auto st = vols_.remove(m.name); !st) {
      log::warn("portlayer", "removing volume " + m.name + ": " + st.error().message());
    } else {
      events_.publish({"volume", "destroy", m.name, {{"driver", "vsphere"}}, nowNs(), 0});
    }
  }
}

}  // namespace vic::pl
