// TLS material for a VCH, made with the openssl CLI: a CA, a server certificate naming every
// address clients may use, and a client certificate for docker's --tlsverify. Laid out as
// <dir>/ca (CA key), <dir>/server (what the endpoint loads) and <dir>/client (DOCKER_CERT_PATH:
// ca.pem, cert.pem, key.pem, as the docker CLI expects).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace vic::machine {

struct CertFiles {
  std::string ca, serverCert, serverKey;  // for the endpoint
  std::string clientDir;                  // for DOCKER_CERT_PATH
};

// The subjectAltName value for the server certificate: DNS and IP entries, de-duplicated.
std::string subjectAltNames(const std::vector<std::string>& names);

Result<CertFiles> generateCerts(const std::string& dir, const std::string& vchName, const std::vector<std::string>& serverNames);

}  // namespace vic::machine
