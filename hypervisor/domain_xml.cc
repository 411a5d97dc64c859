#include "hypervisor/domain_xml.h"

#include <nlohmann/json.hpp>

#include <sstream>

namespace vic::hv {
namespace {

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    size_t semi = s.find(';', i);
    std::string ent = s.substr(i, semi == std::string::npos ? std::string::npos : semi - i + 1);
    if (ent == "&amp;") out += '&';
    else if (ent == "&lt;") out += '<';
    else if (ent == "&gt;") out += '>';
    else if (ent == "&quot;") out += '"';
    else if (ent == "&apos;") out += '\'';
    else if (ent.rfind("&#", 0) == 0 && ent.size() > 3) {
      bool hex = ent[2] == 'x';
      out += static_cast<char>(std::stoi(ent.substr(hex ? 3 : 2), nullptr, hex ? 16 : 10));
    } else {
      out += ent;
    }
    i += ent.size() - 1;
  }
  return out;
}

}  // namespace

std::string xmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\n': out += "&#10;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string diskXml(const DiskSpec& d, size_t index) {
  std::ostringstream x;
  std::string dev = "vd" + std::string(1, static_cast<char>('a' + index % 26));
  if (index >= 26) dev = "vd" + std::string(1, static_cast<char>('a' + index / 26 - 1)) + static_cast<char>('a' + index % 26);
  x << "<disk type='file' device='disk'>"
    << "<driver name='qemu' type='" << xmlEscape(d.format) << "'/>"
    << "<source file='" << xmlEscape(d.path) << "'/>"
    << "<target dev='" << dev << "' bus='virtio'/>";
  if (!d.serial.empty()) x << "<serial>" << xmlEscape(d.serial) << "</serial>";
  if (d.readOnly) x << "<readonly/>";
  x << "</disk>";
  return x.str();
}

std::string nicXml(const NicSpec& n) {
  std::ostringstream x;
  x << "<interface type='network'><source network='" << xmlEscape(n.portGroup) << "'/>";
  if (!n.mac.empty()) x << "<mac address='" << xmlEscape(n.mac) << "'/>";
  x << "<model type='virtio'/>";
  if (n.linkDown) x << "<link state='down'/>";
  x << "</interface>";
  return x.str();
}

std::string metadataXml(const std::map<std::string, std::string>& entries, bool withNamespace) {
  std::string p = withNamespace ? std::string(kMetadataPrefix) + ":" : "";
  std::ostringstream x;
  x << "<" << p << "vm";
  if (withNamespace) x << " xmlns:" << kMetadataPrefix << "='" << kMetadataUri << "'";
  x << ">";
  for (const auto& [k, v] : entries) {
    x << "<" << p << "entry key='" << xmlEscape(k) << "'>" << xmlEscape(v) << "</" << p << "entry>";
  }
  x << "</" << p << "vm>";
  return x.str();
}

// libvirt hands the element back re-serialised (no prefix or its own, double quotes,
// self-closing empty elements), so this reads any of those forms.
Result<std::map<std::string, std::string>> parseMetadataXml(const std::string& xml) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while ((pos = xml.find('<', pos)) != std::string::npos) {
    size_t nameEnd = xml.find_first_of(" />", pos + 1);
    if (nameEnd == std::string::npos) break;
    std::string tag = xml.substr(pos + 1, nameEnd - pos - 1);
    std::string local = tag.substr(tag.find(':') == std::string::npos ? 0 : tag.find(':') + 1);
    size_t tagEnd = xml.find('>', pos);
    if (local != "entry" || tagEnd == std::string::npos) {
      pos = nameEnd;
      continue;
    }
    size_t keyAt = xml.find("key=", nameEnd);
    if (keyAt == std::string::npos || keyAt > tagEnd) {
      return Error(Errc::kProtocol, "malformed vic metadata: entry without a key");
    }
    char quote = xml[keyAt + 4];
    size_t keyEnd = xml.find(quote, keyAt + 5);
    std::string key = unescape(xml.substr(keyAt + 5, keyEnd - keyAt - 5));
    if (xml[tagEnd - 1] == '/') {  // <entry key='k'/>
      out[key] = "";
      pos = tagEnd;
      continue;
    }
    size_t close = xml.find("</", tagEnd);
    if (close == std::string::npos) return Error(Errc::kProtocol, "malformed vic metadata: unterminated entry");
    out[key] = unescape(xml.substr(tagEnd + 1, close - tagEnd - 1));
    pos = close + 2;
  }
  return out;
}

Result<std::string> networkXml(const PortGroupSpec& pg) {
  if (pg.external) {
    if (pg.bridge.empty() || pg.bridge.size() > 15) return Error(Errc::kInvalidArgument, "bridge name must be 1-15 characters");
    return "<network>\n  <name>" + xmlEscape(pg.name) + "</name>\n  <forward mode='bridge'/>\n  <bridge name='" +
           xmlEscape(pg.bridge) + "'/>\n</network>\n";
  }
  auto slash = pg.gateway.find('/');
  if (slash == std::string::npos) return Error(Errc::kInvalidArgument, "port group gateway must be CIDR, e.g. 172.16.0.1/16");
  int prefix = std::atoi(pg.gateway.c_str() + slash + 1);
  if (prefix < 8 || prefix > 30) return Error(Errc::kInvalidArgument, "port group prefix must be between /8 and /30");
  if (pg.bridge.empty() || pg.bridge.size() > 15) return Error(Errc::kInvalidArgument, "bridge name must be 1-15 characters");
  std::ostringstream x;
  x << "<network>\n  <name>" << xmlEscape(pg.name) << "</name>\n";
  if (pg.nat) x << "  <forward mode='nat'/>\n";
  x << "  <bridge name='" << xmlEscape(pg.bridge) << "' stp='off' delay='0'/>\n"
    << "  <ip address='" << xmlEscape(pg.gateway.substr(0, slash)) << "' prefix='" << prefix << "'>";
  if (!pg.dhcpStart.empty()) {
    x << "<dhcp><range start='" << xmlEscape(pg.dhcpStart) << "' end='" << xmlEscape(pg.dhcpEnd) << "'/></dhcp>";
  }
  x << "</ip>\n</network>\n";
  return x.str();
}

std::string dhcpHostXml(const HostEntry& h) {
  std::string name = h.names.empty() ? "" : h.names[0];
  return "<host mac='" + xmlEscape(h.mac) + "' name='" + xmlEscape(name) + "' ip='" + xmlEscape(h.ip) + "'/>";
}

std::string dnsHostXml(const HostEntry& h) {
  std::string x = "<host ip='" + xmlEscape(h.ip) + "'>";
  for (const auto& n : h.names) x += "<hostname>" + xmlEscape(n) + "</hostname>";
  return x + "</host>";
}

namespace {

constexpr const char* kQemuNs = "http://libvirt.org/schemas/domain/qemu/1.0";

// QEMU's option syntax doubles a comma inside a value.
std::string qemuOptValue(const std::string& v) {
  std::string out;
  for (char c : v) out += c == ',' ? std::string(",,") : std::string(1, c);
  return out;
}

std::string qemuArg(const std::string& v) { return "<qemu:arg value='" + xmlEscape(v) + "'/>"; }

// The guest's RAM as a file-backed object (template: shared, clone: private copy-on-write).
std::string memoryArgs(const std::string& file, uint64_t memoryMiB, bool shared) {
  std::string object = "memory-backend-file,id=vic.ram,size=" + std::to_string(memoryMiB) + "M,mem-path=" +
                       qemuOptValue(file) + ",share=" + (shared ? "on" : "off");
  return qemuArg("-object") + qemuArg(object) + qemuArg("-machine") + qemuArg("memory-backend=vic.ram");
}

// The persistent log port. QEMU opens the file itself: a libvirt file channel goes through
// virtlogd, which rotates it at 2 MiB and deletes all but three old parts (docker logs keeps
// everything unless the user asks otherwise). Port 2 on the virtio-serial bus, after the tether's.
// The device is JSON: QEMU creates key=value devices before JSON ones, and libvirt's bus is JSON.
std::string logPortArgs(const std::string& file) {
  nlohmann::json port{{"driver", "virtserialport"}, {"bus", "virtio-serial0.0"}, {"nr", 2},
                      {"chardev", "vic.log"}, {"id", "vic.logport"}, {"name", kLogPort}};
  return qemuArg("-chardev") + qemuArg("file,id=vic.log,path=" + qemuOptValue(file) + ",append=on") + qemuArg("-device") +
         qemuArg(port.dump());
}

// The devices a template and its clones share sit at fixed PCI slots (a clone's own extra disks
// and NICs take the free ones): the virtio-serial controller, the first disk, the first NIC and,
// on a host with vhost-vsock, the vsock device (libvirt would otherwise place it after a clone's
// extra disks, where the template's migration stream does not have it).
constexpr const char* kSerialSlot = "0x1f";
constexpr const char* kFirstDiskSlot = "0x1e";
constexpr const char* kFirstNicSlot = "0x1d";
constexpr const char* kVsockSlot = "0x1c";

std::string atSlot(std::string device, const std::string& closeTag, const char* slot) {
  device.insert(device.rfind(closeTag),
                std::string("<address type='pci' domain='0x0000' bus='0x00' slot='") + slot + "' function='0x0'/>");
  return device;
}

}  // namespace

std::string domainXml(const VmSpec& s, const std::string& domainType) {
  std::ostringstream x;
  x << "<domain type='" << domainType << "' xmlns:qemu='" << kQemuNs << "'>\n"
    << "  <name>" << xmlEscape(s.name) << "</name>\n"
    << (s.uuid.empty() ? "" : "  <uuid>" + xmlEscape(s.uuid) + "</uuid>\n")
    << "  <metadata>" << metadataXml(s.metadata) << "</metadata>\n"
    << "  <memory unit='MiB'>" << s.memoryMiB << "</memory>\n"
    << "  <vcpu>" << s.vcpus << "</vcpu>\n";
  if (!s.partition.empty()) x << "  <resource><partition>" << xmlEscape(s.partition) << "</partition></resource>\n";
  if (!s.fwCfg.empty()) {
    x << "  <sysinfo type='fwcfg'>";
    for (const auto& [name, file] : s.fwCfg) x << "<entry name='" << xmlEscape(name) << "' file='" << xmlEscape(file) << "'/>";
    x << "</sysinfo>\n";
  }
  x << "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n";
  if (!s.kernel.empty()) x << "    <kernel>" << xmlEscape(s.kernel) << "</kernel>\n";
  if (!s.initrd.empty()) x << "    <initrd>" << xmlEscape(s.initrd) << "</initrd>\n";
  if (!s.cmdline.empty()) x << "    <cmdline>" << xmlEscape(s.cmdline) << "</cmdline>\n";
  // TCG's translated code is QEMU's own memory: its cache (1 GiB by default) grows with all the
  // code a guest ever ran, ~60 MiB for a boot. A containerVM's hot code is small; cap it.
  x << "  </os>\n  <features><acpi/>" << (domainType == "qemu" ? "<tcg><tb-cache unit='MiB'>32</tb-cache></tcg>" : "")
    << "</features>\n";
  if (domainType == "kvm") x << "  <cpu mode='host-passthrough'/>\n";
  x << "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n  <on_crash>destroy</on_crash>\n"
    << "  <devices>\n";
  if (!s.tetherSocket.empty() || !s.outputLog.empty()) {
    x << "    " << atSlot("<controller type='virtio-serial' index='0'></controller>", "</controller>", kSerialSlot) << "\n";
  }
  for (size_t i = 0; i < s.disks.size(); ++i) {
    x << "    " << (i == 0 ? atSlot(diskXml(s.disks[i], i), "</disk>", kFirstDiskSlot) : diskXml(s.disks[i], i)) << "\n";
  }
  for (size_t i = 0; i < s.nics.size(); ++i) {
    x << "    " << (i == 0 ? atSlot(nicXml(s.nics[i]), "</interface>", kFirstNicSlot) : nicXml(s.nics[i])) << "\n";
  }
  if (!s.tetherSocket.empty()) {
    x << "    <channel type='unix'><source mode='bind' path='" << xmlEscape(s.tetherSocket)
      << "'/><target type='virtio' name='" << kTetherPort << "'/></channel>\n";
  }
  if (!s.consoleLog.empty()) {
    x << "    <serial type='file'><source path='" << xmlEscape(s.consoleLog)
      << "' append='on'/><target port='0'/></serial>\n";
  }
  if (s.vsockCid) {  // the CID is the VM's own (a clone's too: QEMU gets it from this definition)
    std::string vsock = "<vsock model='virtio'><cid auto='no' address='" + std::to_string(*s.vsockCid) + "'/></vsock>";
    x << "    " << atSlot(vsock, "</vsock>", kVsockSlot) << "\n";
  }
  x << "    <memballoon model='none'/>\n  </devices>\n";
  if (!s.outputLog.empty() || !s.templateMemoryFile.empty()) {
    x << "  <qemu:commandline>" << (s.outputLog.empty() ? "" : logPortArgs(s.outputLog))
      << (s.templateMemoryFile.empty() ? "" : memoryArgs(s.templateMemoryFile, s.memoryMiB, true)) << "</qemu:commandline>\n";
  }
  // libvirt otherwise asks QEMU for every CPU feature at each start (~800 QMP round trips, a
  // third of a second under TCG); it only double-checks the CPU model we did not ask for.
  x << "  <qemu:capabilities><qemu:del capability='cpu-unavailable-features'/></qemu:capabilities>\n";
  x << "</domain>\n";
  return x.str();
}

Result<std::string> cloneDomainXml(const std::string& inactiveXml, const CloneSource& src) {
  if (inactiveXml.find("id=vic.ram") != std::string::npos) {
    return Error(Errc::kInvalidArgument, "a template cannot be cloned from another template");
  }
  if (inactiveXml.find("id=vic.log,") == std::string::npos && inactiveXml.find(kLogPort) != std::string::npos) {
    // Defined by an earlier version, with the log port as a libvirt channel: not the template's layout.
    return Error(Errc::kInvalidArgument, "its log port is not where a template's is");
  }
  size_t root = inactiveXml.find("<domain ");
  size_t rootEnd = root == std::string::npos ? root : inactiveXml.find('>', root);
  size_t end = inactiveXml.rfind("</domain>");
  if (rootEnd == std::string::npos || end == std::string::npos || end < rootEnd) {
    return Error(Errc::kProtocol, "not a domain definition");
  }
  std::string out = inactiveXml.substr(0, end);
  if (out.substr(root, rootEnd - root).find("xmlns:qemu=") == std::string::npos) {
    out.insert(rootEnd, std::string(" xmlns:qemu='") + kQemuNs + "'");
  }
  std::string args = memoryArgs(src.memoryFile, src.memoryMiB, false) + qemuArg("-incoming") + qemuArg("defer");
  if (size_t open = out.find("<qemu:commandline>", rootEnd); open != std::string::npos) {  // the log port's
    size_t close = out.find("</qemu:commandline>", open);
    if (close == std::string::npos) return Error(Errc::kProtocol, "an unterminated qemu:commandline");
    out.insert(close, args);
    return out + "</domain>\n";
  }
  return out + "  <qemu:commandline>" + args + "</qemu:commandline>\n</domain>\n";
}

std::optional<uint32_t> vsockCidOf(const std::string& domainXml) {
  size_t open = domainXml.find("<vsock");
  if (open == std::string::npos) return std::nullopt;
  size_t close = domainXml.find("</vsock>", open);
  size_t cid = domainXml.find("<cid ", open);
  if (cid == std::string::npos || (close != std::string::npos && cid > close)) return std::nullopt;
  size_t end = domainXml.find('>', cid);
  size_t at = domainXml.find("address=", cid);
  if (at == std::string::npos || at > end || at + 9 >= domainXml.size()) return std::nullopt;
  char quote = domainXml[at + 8];
  size_t valueEnd = domainXml.find(quote, at + 9);
  if (valueEnd == std::string::npos) return std::nullopt;
  std::string value = domainXml.substr(at + 9, valueEnd - at - 9);
  if (value.empty() || value.size() > 10 || value.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  uint64_t n = std::stoull(value);
  if (n > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(n);
}

std::vector<std::string> downLinkAliases(const std::string& liveXml) {
  std::vector<std::string> out;
  for (size_t at = liveXml.find("<interface"); at != std::string::npos; at = liveXml.find("<interface", at + 1)) {
    size_t end = liveXml.find("</interface>", at);
    if (end == std::string::npos) break;
    std::string nic = liveXml.substr(at, end - at);
    bool down = nic.find("<link state='down'/>") != std::string::npos || nic.find("<link state=\"down\"/>") != std::string::npos;
    size_t alias = nic.find("<alias name=");
    if (!down || alias == std::string::npos) continue;
    size_t open = alias + 12;
    size_t close = nic.find(nic[open], open + 1);
    if (close != std::string::npos) out.push_back(unescape(nic.substr(open + 1, close - open - 1)));
  }
  return out;
}

std::optional<uint64_t> pssBytes(const std::string& smapsRollup) {
  std::istringstream in(smapsRollup);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Pss:", 0) != 0) continue;
    std::istringstream fields(line.substr(4));
    uint64_t kib = 0;
    std::string unit;
    if (fields >> kib >> unit && unit == "kB") return kib * 1024;
    return std::nullopt;
  }
  return std::nullopt;
}

Result<std::string> migrationStatus(const std::string& reply) {
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (!j.is_object() || !j.contains("return") || !j["return"].is_object()) {
    return Error(Errc::kProtocol, "query-migrate: unexpected reply");
  }
  const auto& r = j["return"];
  std::string status = r.value("status", "");
  if (status == "failed" || status == "cancelled") {
    std::string why = r.contains("error-desc") && r["error-desc"].is_string() ? r["error-desc"].get<std::string>() : status;
    return Error(Errc::kInternal, "migration " + status + ": " + why);
  }
  return status;  // "" before any migration, "setup", "active", "completed"
}

Result<std::string> deviceElement(const std::string& domainXml, const std::string& tag, const std::string& attribute) {
  std::string open = "<" + tag + " ", close = "</" + tag + ">";
  for (size_t start = domainXml.find(open); start != std::string::npos; start = domainXml.find(open, start + 1)) {
    size_t end = domainXml.find(close, start);
    if (end == std::string::npos) break;
    end += close.size();
    std::string element = domainXml.substr(start, end - start);
    if (element.find(attribute) != std::string::npos) return element;
  }
  return Error(Errc::kNotFound, "no <" + tag + "> with " + attribute);
}

std::string qmpError(const std::string& reply) {
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (!j.is_object() || !j.contains("error")) return "";
  const auto& e = j["error"];
  if (e.is_object() && e.contains("desc") && e["desc"].is_string()) return e["desc"].get<std::string>();
  return e.dump();
}

}  // namespace vic::hv
