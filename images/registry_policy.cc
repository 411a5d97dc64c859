#include "images/registry_policy.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "common/files.h"
#include "common/net.h"

namespace vic::images {
namespace {

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

bool allDigits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// A DNS name as dockerd's validHostPortRegex takes it: dot-separated labels of letters, digits
// and inner hyphens.
bool validName(const std::string& host) {
  if (host.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string label = host.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    if (label.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

// host[:port] into its host (brackets dropped) and port ("" when none); false when malformed.
bool splitHostPort(const std::string& text, std::string& host, std::string& port) {
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    std::string rest = text.substr(close + 1);
    port = rest.empty() ? "" : rest.substr(1);
    return rest.empty() || rest.front() == ':';
  }
  auto colon = text.find(':');
  if (colon != std::string::npos && text.find(':', colon + 1) != std::string::npos) {  // a bare IPv6 address
    host = text;
    port.clear();
    return true;
  }
  host = text.substr(0, colon);
  port = colon == std::string::npos ? "" : text.substr(colon + 1);
  return true;
}

// Whether the textual address `addr` lies in `cidr` (both of one family).
bool inCidr(const std::string& addr, const std::string& cidr) {
  auto net = parseIpPrefix(cidr);
  auto ip = parseIpPrefix(addr);
  if (!net || !ip || net->family != ip->family) return false;
  for (int bit = 0; bit < net->prefix; ++bit) {
    uint8_t m = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((net->addr[bit / 8] & m) != (ip->addr[bit / 8] & m)) return false;
  }
  return true;
}

// A CIDR with the host bits cleared, as dockerd shows it ("10.0.0.0/8").
std::string maskedCidr(const IpPrefix& p) {
  IpPrefix m = p;
  int bytes = p.family == AF_INET ? 4 : 16;
  for (int bit = p.prefix; bit < bytes * 8; ++bit) m.addr[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(p.family, m.addr.data(), text, sizeof text);
  return std::string(text) + "/" + std::to_string(p.prefix);
}

}  // namespace

Result<std::string> parseInsecureRegistry(const std::string& text) {
  std::string r = lower(text);
  if (auto sep = r.find("://"); sep != std::string::npos) {
    std::string scheme = r.substr(0, sep);
    if (scheme != "http" && scheme != "https") {
      return Error(Errc::kInvalidArgument, "insecure registry " + text + " should not contain '://'");
    }
    r = r.substr(sep + 3);
  }
  while (!r.empty() && r.back() == '/') r.pop_back();
  if (r == "index.docker.io") r = "docker.io";
  auto invalid = [&](const std::string& why) {
    return Error(Errc::kInvalidArgument, "insecure registry " + text + " is not valid: " + why);
  };
  if (r.empty()) return invalid("it is empty");
  if (r.front() == '-' || r.back() == '-') return invalid("it cannot begin or end with a hyphen");
  if (r.find('/') != std::string::npos) {
    auto p = parseIpPrefix(r);
    if (!p || r.find('/') + 1 >= r.size()) return invalid("not a CIDR (10.0.0.0/8) or host[:port]");
    return maskedCidr(*p);
  }
  std::string host, port;
  if (!splitHostPort(r, host, port)) return invalid("not host[:port]");
  if (!parseIpPrefix(host).hasValue() && !validName(host)) return invalid("invalid host \"" + host + "\"");
  if (!port.empty() && (!allDigits(port) || port.size() > 5 || std::stoi(port) > 65535)) {
    return invalid("invalid port \"" + port + "\"");
  }
  return r;
}

std::vector<std::string> resolveHost(const std::string& host) {
  if (parseIpPrefix(host).hasValue()) return {host};
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return {};
  std::vector<std::string> out;
  for (addrinfo* a = res; a; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* where = a->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                                                : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) && ::inet_ntop(a->ai_family, where, text, sizeof text)) {
      out.push_back(text);
    }
  }
  ::freeaddrinfo(res);
  return out;
}

bool isInsecureRegistry(const RegistryPolicy& p, const std::string& domain, const HostResolver& resolve) {
  std::string d = lower(domain);
  if (d == "docker.io" || d == "index.docker.io") return false;  // dockerd: Docker Hub is always secure
  bool anyCidr = false;
  for (const auto& e : p.insecure) {
    if (e == d) return true;
    anyCidr = anyCidr || e.find('/') != std::string::npos;
  }
  if (!anyCidr) return false;
  std::string host, port;
  if (!splitHostPort(d, host, port)) return false;
  for (const auto& addr : resolve(host)) {
    for (const auto& e : p.insecure) {
      if (e.find('/') != std::string::npos && inCidr(addr, e)) return true;
    }
  }
  return false;
}

RegistryOptions registryOptionsFor(const RegistryPolicy& p, const std::string& domain, RegistryOptions base,
                                   const HostResolver& resolve) {
  base.caFile = p.caFile;
  if (isLoopbackRegistry(domain)) {
    base.transport = RegistryTransport::kHttp;
  } else if (isInsecureRegistry(p, domain, resolve)) {
    base.transport = RegistryTransport::kInsecure;
  } else {
    base.transport = RegistryTransport::kHttps;
  }
  return base;
}

std::string loginRegistryDomain(const std::string& server) {
  // moby's Auth: "https://index.docker.io/v1/" and docker.io are Docker Hub; otherwise the host
  // of the address, with or without a scheme and a path.
  std::string host = server;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (host.rfind(scheme, 0) == 0) host = host.substr(scheme.size());
  }
  host = lower(host.substr(0, host.find('/')));
  if (host.empty() || host == "index.docker.io" || host == "registry-1.docker.io") host = "docker.io";
  return host;
}

Result<std::string> readPemCertificates(const std::vector<std::string>& files) {
  std::string out;
  for (const auto& file : files) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) return Error(Errc::kNotFound, "CA file " + file + " not found");
    std::string text = readFile(file);
    std::unique_ptr<BIO, int (*)(BIO*)> in(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free);
    int count = 0;
    while (true) {
      ERR_clear_error();
      std::unique_ptr<X509, void (*)(X509*)> cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr), &X509_free);
      if (!cert) {
        unsigned long e = ERR_peek_last_error();
        bool atEnd = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
        ERR_clear_error();
        if (!atEnd) return Error(Errc::kInvalidArgument, "CA file " + file + ": certificate " + std::to_string(count + 1) + " does not parse");
        break;
      }
      std::unique_ptr<BIO, int (*)(BIO*)> pem(BIO_new(BIO_s_mem()), &BIO_free);
      PEM_write_bio_X509(pem.get(), cert.get());
      char* data = nullptr;
      long n = BIO_get_mem_data(pem.get(), &data);
      out.append(data, static_cast<size_t>(n));
      ++count;
    }
    if (count == 0) return Error(Errc::kInvalidArgument, "CA file " + file + " holds no PEM certificate");
  }
  return out;
}

Status writeCaBundle(const std::string& extraPemFile, const std::string& out) {
  const curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
  std::string system = v && v->cainfo ? v->cainfo : "/etc/ssl/certs/ca-certificates.crt";
  std::error_code ec;
  std::string bundle = std::filesystem::exists(system, ec) ? readFile(system) : "";
  if (!bundle.empty() && bundle.back() != '\n') bundle += '\n';
  if (!std::filesystem::exists(extraPemFile, ec)) return Error(Errc::kNotFound, "registry CA file " + extraPemFile + " not found");
  bundle += readFile(extraPemFile);
  return writeFileAtomically(out, bundle);
}

}  // namespace vic::images
