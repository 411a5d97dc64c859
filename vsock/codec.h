// JSON conversion of the control protocol and the container configuration: the only place
// these structs meet JSON. Decoding never throws and never trusts the peer.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "vsock/messages.h"

namespace vic::vsock {

std::string encode(const Message& m);
Result<Message> decode(std::span<const uint8_t> bytes);
Result<Message> decode(std::string_view text);

std::string encodeConfig(const ContainerConfig& c);
Result<ContainerConfig> decodeConfig(std::string_view text);

std::string encodeExitStatus(const ExitStatus& e);  // the persistent log's exit record
Result<ExitStatus> decodeExitStatus(std::string_view text);

std::string_view requestName(const Request& r);

}  // namespace vic::vsock
