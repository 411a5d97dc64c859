// The container's resolver (docker's embedded DNS at 127.0.0.11): each query goes to the DNS of
// every network the container is on (each network's DNS knows the names of that network's
// containers and forwards the rest), and the best answer wins, so a container on two networks
// resolves the names of both. Runs on its own thread in tether; upstreams change when a network
// is connected.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace vic::tether {

inline constexpr const char* kEmbeddedDnsAddress = "127.0.0.11";

// The response to give among those received (in the order of the upstreams; empty: no answer
// from that one): the first with answers, else the first that says the name exists (NOERROR
// without answers: another record type), else the first at all. Responses that are not
// answers to `query` (too short, another id, not a response) are ignored. nullopt: none usable.
std::optional<size_t> pickResponse(std::span<const uint8_t> query, const std::vector<std::vector<uint8_t>>& responses);

// Starts the resolver on 127.0.0.11:53 (once; later calls only change the upstreams).
Status serveEmbeddedDns(const std::vector<std::string>& upstreams);

}  // namespace vic::tether
