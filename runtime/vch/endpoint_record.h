// What a VCH's endpoint decided about its host when it started: the tether transport (AF_VSOCK or
// virtio-serial, runtime/portlayer/vsock_cid.h) and the containerVMs' accelerator (kvm or tcg).
// docker info shows them; the endpoint also writes them into the VCH's run directory, where
// vic-machine inspect reads them. A reboot clears /run, and the next endpoint writes them again.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace vic::vch {

struct EndpointRecord {
  std::string tetherTransport;
  std::string accelerator;
};

std::string endpointRecordFile(const std::string& vchName);  // <runDir>/endpoint.json
std::string encodeEndpointRecord(const EndpointRecord& r);
std::optional<EndpointRecord> decodeEndpointRecord(const std::string& text);  // none when unreadable
Status writeEndpointRecord(const std::string& vchName, const EndpointRecord& r);
// vic-machine inspect's lines about it: `record` is the running endpoint's (none: it wrote none).
std::string endpointRecordText(const std::optional<EndpointRecord>& record, bool running);

}  // namespace vic::vch
