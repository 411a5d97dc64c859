#include "runtime/vic_machine/certs.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/process.h"

namespace vic::machine {
namespace fs = std::filesystem;

std::string subjectAltNames(const std::vector<std::string>& names) {
  std::vector<std::string> seen;
  std::string out;
  for (const auto& n : names) {
    if (n.empty() || std::find(seen.begin(), seen.end(), n) != seen.end()) continue;
    seen.push_back(n);
    in_addr a4{};
    in6_addr a6{};
    bool ip = ::inet_pton(AF_INET, n.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, n.c_str(), &a6) == 1;
    out += (out.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + n;
  }
  return out;
}

namespace {

Status writeExtensions(const std::string& file, const std::string& text) {
  std::ofstream out(file, std::ios::trunc);
  out << text;
  return out ? ok() : Error(Errc::kIo, "writing " + file);
}

// A P-256 key and a certificate for `cn` signed by the CA, with the given extensions.
Status issue(const std::string& dir, const std::string& name, const std::string& cn, const std::string& ext,
             const std::string& caCert, const std::string& caKey) {
  std::string key = dir + "/" + name + "-key.pem", csr = dir + "/" + name + ".csr", extFile = dir + "/" + name + ".ext";
  if (auto r = runChecked({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                           "-keyout", key, "-out", csr, "-subj", "/CN=" + cn},
                          "creating the " + name + " key");
      !r) {
    return std::move(r).error();
  }
  if (auto st = writeExtensions(extFile, ext); !st) return st;
  auto r = runChecked({"openssl", "x509", "-req", "-in", csr, "-CA", caCert, "-CAkey", caKey, "-CAcreateserial", "-days",
                       "825", "-sha256", "-extfile", extFile, "-out", dir + "/" + name + "-cert.pem"},
                      "signing the " + name + " certificate");
  fs::remove(csr);
  fs::remove(extFile);
  if (!r) return std::move(r).error();
  return ok();
}

}  // namespace

Result<CertFiles> generateCerts(const std::string& dir, const std::string& vchName, const std::vector<std::string>& serverNames) {
  std::string caDir = dir + "/ca", serverDir = dir + "/server", clientDir = dir + "/client";
  std::error_code ec;
  for (const auto& d : {caDir, serverDir, clientDir}) {
    fs::create_directories(d, ec);
    if (ec) return Error(Errc::kIo, "creating " + d + ": " + ec.message());
    ::chmod(d.c_str(), 0700);
  }
  std::string caCert = caDir + "/ca.pem", caKey = caDir + "/ca-key.pem";
  if (auto r = runChecked({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                           "-keyout", caKey, "-out", caCert, "-days", "3650", "-sha256", "-subj", "/CN=vic " + vchName + " CA",
                           "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
                          "creating the CA");
      !r) {
    return std::move(r).error();
  }
  std::string serverExt = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                          "extendedKeyUsage=serverAuth\nsubjectAltName=" + subjectAltNames(serverNames) + "\n";
  if (auto st = issue(serverDir, "server", serverNames.empty() ? vchName : serverNames.front(), serverExt, caCert, caKey); !st) return st.error();
  std::string clientExt = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";
  if (auto st = issue(clientDir, "client", "vic " + vchName + " client", clientExt, caCert, caKey); !st) return st.error();
  // docker's DOCKER_CERT_PATH names: ca.pem, cert.pem, key.pem.
  fs::rename(clientDir + "/client-cert.pem", clientDir + "/cert.pem", ec);
  if (!ec) fs::rename(clientDir + "/client-key.pem", clientDir + "/key.pem", ec);
  if (!ec) fs::copy_file(caCert, clientDir + "/ca.pem", fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::copy_file(caCert, serverDir + "/ca.pem", fs::copy_options::overwrite_existing, ec);
  if (ec) return Error(Errc::kIo, "laying out certificates in " + dir + ": " + ec.message());
  return CertFiles{serverDir + "/ca.pem", serverDir + "/server-cert.pem", serverDir + "/server-key.pem", clientDir};
}

}  // namespace vic::machine
