// libvirt XML for our primitives, as pure functions (golden-tested): the only place that
// knows libvirt's domain and network formats.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "hypervisor/types.h"

namespace vic::hv {

inline constexpr const char* kMetadataUri = "https://vic.dev/xmlns/vm/1";
inline constexpr const char* kMetadataPrefix = "vic";
inline constexpr const char* kTetherPort = "org.vic.tether";
inline constexpr const char* kLogPort = "org.vic.log";

std::string xmlEscape(const std::string& s);

// `domainType` is "kvm" or "qemu" (TCG).
std::string domainXml(const VmSpec& spec, const std::string& domainType);
// The live definition that starts a defined VM as a fork of a template: its inactive XML (as
// libvirt returns it) plus the template's memory, private, and a deferred incoming migration.
Result<std::string> cloneDomainXml(const std::string& inactiveXml, const CloneSource& source);
// The guest CID of a domain's <vsock> device (<cid address='N'/>: given, or libvirt's choice in
// a running domain's live XML); none without one, or before libvirt chose an automatic one.
std::optional<uint32_t> vsockCidOf(const std::string& domainXml);
// The device aliases of the NICs a live domain definition wants without carrier.
std::vector<std::string> downLinkAliases(const std::string& liveXml);
// The "Pss:" of /proc/<pid>/smaps_rollup, in bytes.
std::optional<uint64_t> pssBytes(const std::string& smapsRollup);
// query-migrate's status ("", "setup", "active", "completed"); failed/cancelled are errors.
Result<std::string> migrationStatus(const std::string& reply);
std::string diskXml(const DiskSpec& disk, size_t index);
std::string nicXml(const NicSpec& nic);

// Network XML for a port group; a DHCP host and a DNS host entry for live updates.
Result<std::string> networkXml(const PortGroupSpec& pg);
std::string dhcpHostXml(const HostEntry& h);
std::string dnsHostXml(const HostEntry& h);

// The metadata element (<vic:vm><vic:entry key=..>value</vic:entry>...</vic:vm>) and back.
// virDomainSetMetadata wants it without the namespace (libvirt adds prefix and URI).
std::string metadataXml(const std::map<std::string, std::string>& entries, bool withNamespace = true);
Result<std::map<std::string, std::string>> parseMetadataXml(const std::string& xml);

// The whole <tag ...>...</tag> device element of a domain's XML that contains `attribute`
// (e.g. "file='/ds/v.qcow2'" for a disk, "address='52:54:..'" for a NIC): what a detach names.
// kNotFound when no such element holds it.
Result<std::string> deviceElement(const std::string& domainXml, const std::string& tag, const std::string& attribute);

// QMP: the reply's error description ("" when the reply is not an error).
std::string qmpError(const std::string& reply);

}  // namespace vic::hv
