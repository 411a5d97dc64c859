// Which registries are reached how: dockerd's --insecure-registry rules, and the CA bundle that
// verifies every other registry (vic-machine --insecure-registry and --registry-ca). A VCH's
// pulls, pushes, logins and docker build's FROM pulls all take their options from
// registryOptionsFor (through pl::ImageOps), so one rule decides for all of them.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "images/registry_client.h"

namespace vic::images {

struct RegistryPolicy {
  std::vector<std::string> insecure;  // "host[:port]" or a CIDR, each as parseInsecureRegistry leaves it
  std::string caFile;                 // PEM bundle that verifies https registries ("" = curl's default)
};

// One --insecure-registry value as dockerd takes it: a leading "http://" or "https://" is
// dropped (another scheme is refused), then a CIDR ("10.0.0.0/8", "fd00::/8") or host[:port]
// (a name, an IPv4 address or a bracketed IPv6 one; the port 0-65535). Lowercased.
Result<std::string> parseInsecureRegistry(const std::string& text);

// A host's addresses as text ("10.0.0.5", "fd00::2"); a literal address is its own.
using HostResolver = std::function<std::vector<std::string>(const std::string& host)>;
std::vector<std::string> resolveHost(const std::string& host);  // getaddrinfo; none when it fails

// dockerd's rule (isSecureIndex, inverted): `domain` ("10.0.0.5:5000", "reg.example.com") is an
// entry of its own, or its host's address (a name resolved) lies in a CIDR entry. docker.io is
// never insecure. Loopback registries are not asked about: they always get plain http.
bool isInsecureRegistry(const RegistryPolicy& p, const std::string& domain, const HostResolver& resolve = resolveHost);

// The options for the registry at `domain` (a reference's domain, or what docker login names):
// plain http for loopback, kInsecure for an insecure registry (https without verification, then
// http), else verified https against the policy's CA bundle. `base` keeps its credentials and
// push settings. Resolves names when a CIDR entry needs it: call off the I/O thread.
RegistryOptions registryOptionsFor(const RegistryPolicy& p, const std::string& domain, RegistryOptions base = {},
                                   const HostResolver& resolve = resolveHost);

// The registry docker login's server address names: "https://index.docker.io/v1/" and docker.io
// are docker.io; otherwise the host[:port] of the address, with or without scheme and path.
std::string loginRegistryDomain(const std::string& server);

// The certificates of PEM files (vic-machine --registry-ca), concatenated as PEM. An error names
// a file that cannot be read or that holds no certificate or a block that does not parse.
Result<std::string> readPemCertificates(const std::vector<std::string>& files);

// Writes curl's default CA bundle followed by the certificates in `extraPemFile` to `out` (temp
// + rename): curl's CAINFO replaces its default bundle, so public registries stay verified.
Status writeCaBundle(const std::string& extraPemFile, const std::string& out);

}  // namespace vic::images
