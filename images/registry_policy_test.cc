// Which registry gets which transport (vic-machine --insecure-registry as dockerd reads
// --insecure-registry), the CA files of --registry-ca, and the https -> http fallback of an
// insecure registry against a plain-HTTP fake that a pinned name makes non-loopback.
#include "common/testing/test_ca.h"
#include "images/registry_policy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "images/fake_registry.h"

namespace vic::images {
namespace {

namespace fs = std::filesystem;

TEST(InsecureRegistries, ParsedAsDockerdDoes) {
  EXPECT_EQ(*parseInsecureRegistry("10.0.0.5:5000"), "10.0.0.5:5000");
  EXPECT_EQ(*parseInsecureRegistry("HTTP://Reg.Example.com:5000/"), "reg.example.com:5000");  // scheme dropped
  EXPECT_EQ(*parseInsecureRegistry("https://reg.example.com"), "reg.example.com");
  EXPECT_EQ(*parseInsecureRegistry("10.1.2.3/8"), "10.0.0.0/8");  // a CIDR, masked as docker info shows it
  EXPECT_EQ(*parseInsecureRegistry("fd00::1/8"), "fd00::/8");
  EXPECT_EQ(*parseInsecureRegistry("[fd00::2]:5000"), "[fd00::2]:5000");
  EXPECT_EQ(*parseInsecureRegistry("index.docker.io"), "docker.io");
  struct Case {
    std::string in, message;
  } refused[] = {
      {"ftp://reg:21", "insecure registry ftp://reg:21 should not contain '://'"},
      {"reg:99999", "insecure registry reg:99999 is not valid: invalid port \"99999\""},
      {"reg:x", "insecure registry reg:x is not valid: invalid port \"x\""},
      {"-reg", "insecure registry -reg is not valid: it cannot begin or end with a hyphen"},
      {"re_g:5000", "insecure registry re_g:5000 is not valid: invalid host \"re_g\""},
      {"10.0.0.0/33", "insecure registry 10.0.0.0/33 is not valid: not a CIDR (10.0.0.0/8) or host[:port]"},
      {"reg/path", "insecure registry reg/path is not valid: not a CIDR (10.0.0.0/8) or host[:port]"},
      {"", "insecure registry  is not valid: it is empty"},
  };
  for (const auto& c : refused) {
    auto r = parseInsecureRegistry(c.in);
    ASSERT_FALSE(r) << c.in;
    EXPECT_EQ(r.error().message(), c.message);
  }
}

TEST(InsecureRegistries, AnEntryOrAnAddressInACidr) {
  RegistryPolicy p{{"10.0.0.5:5000", "reg.example.com", "192.168.0.0/16", "fd00::/8"}, ""};
  auto dns = [](const std::string& host) -> std::vector<std::string> {
    if (host == "lan-registry") return {"192.168.7.7"};
    if (host == "v6-registry") return {"fd00::9"};
    if (host == "10.0.0.5" || host == "8.8.8.8") return {host};
    return {};
  };
  EXPECT_TRUE(isInsecureRegistry(p, "10.0.0.5:5000", dns));
  EXPECT_FALSE(isInsecureRegistry(p, "10.0.0.5:5001", dns));  // an entry names its port, as dockerd's IndexConfigs
  EXPECT_FALSE(isInsecureRegistry(p, "10.0.0.5", dns));
  EXPECT_TRUE(isInsecureRegistry(p, "Reg.Example.com", dns));
  EXPECT_FALSE(isInsecureRegistry(p, "reg.example.com:443", dns));
  EXPECT_TRUE(isInsecureRegistry(p, "192.168.3.4:5000", [](const std::string& h) { return std::vector<std::string>{h}; }));
  EXPECT_TRUE(isInsecureRegistry(p, "lan-registry:5000", dns));  // a name resolved into a CIDR entry
  EXPECT_TRUE(isInsecureRegistry(p, "v6-registry", dns));
  EXPECT_FALSE(isInsecureRegistry(p, "nowhere.example:5000", dns));  // resolving failed: secure
  EXPECT_FALSE(isInsecureRegistry(p, "8.8.8.8", dns));
  RegistryPolicy hub{{"docker.io", "0.0.0.0/0"}, ""};
  EXPECT_FALSE(isInsecureRegistry(hub, "docker.io", dns));  // Docker Hub is always secure
}

TEST(InsecureRegistries, OptionsPerRegistry) {
  RegistryPolicy p{{"10.0.0.5:5000"}, "/ds/certs/registry-ca-bundle.pem"};
  RegistryOptions base;
  base.creds.username = "vic";
  base.push = true;
  auto noDns = [](const std::string&) { return std::vector<std::string>{}; };
  auto insecure = registryOptionsFor(p, "10.0.0.5:5000", base, noDns);
  EXPECT_EQ(insecure.transport, RegistryTransport::kInsecure);
  EXPECT_EQ(insecure.creds.username, "vic");
  EXPECT_TRUE(insecure.push);
  auto secure = registryOptionsFor(p, "registry.example.com", base, noDns);
  EXPECT_EQ(secure.transport, RegistryTransport::kHttps);
  EXPECT_EQ(secure.caFile, "/ds/certs/registry-ca-bundle.pem");
  EXPECT_EQ(registryOptionsFor(p, "127.0.0.1:5000", {}, noDns).transport, RegistryTransport::kHttp);
  EXPECT_EQ(registryOptionsFor(p, "localhost", {}, noDns).transport, RegistryTransport::kHttp);
  RegistryOptions asked;
  asked.transport = RegistryTransport::kHttp;  // the policy decides, not the caller
  EXPECT_EQ(registryOptionsFor(p, "docker.io", asked, noDns).transport, RegistryTransport::kHttps);
}

TEST(InsecureRegistries, LoginServerAddresses) {
  EXPECT_EQ(loginRegistryDomain("https://index.docker.io/v1/"), "docker.io");
  EXPECT_EQ(loginRegistryDomain(""), "docker.io");
  EXPECT_EQ(loginRegistryDomain("10.0.0.5:5000"), "10.0.0.5:5000");
  EXPECT_EQ(loginRegistryDomain("http://Reg.Example.com:5000/v2/"), "reg.example.com:5000");
}

TEST(TransportErrors, InGoClientWords) {
  EXPECT_EQ(transportErrorText(60, "SSL certificate problem: unable to get local issuer certificate"),
            "tls: failed to verify certificate: x509: certificate signed by unknown authority");
  EXPECT_EQ(transportErrorText(60, "SSL certificate problem: self-signed certificate"),
            "tls: failed to verify certificate: x509: certificate signed by unknown authority");
  EXPECT_EQ(transportErrorText(60, "SSL certificate problem: certificate has expired"),
            "tls: failed to verify certificate: x509: certificate has expired or is not yet valid");
  EXPECT_EQ(transportErrorText(35, "OpenSSL/3.0.19: error:0A00010B:SSL routines::wrong version number"),
            "http: server gave HTTP response to HTTPS client");
  EXPECT_EQ(transportErrorText(7, "Failed to connect to 10.0.0.5 port 5000"), "Couldn't connect to server");
}

using vic::testing::kTestCa;

class CaFiles : public ::testing::Test {
 protected:
  std::string file(const std::string& name, const std::string& text) {
    std::string f = dir_ + "/" + name;
    std::ofstream(f, std::ios::binary) << text;
    return f;
  }
  void SetUp() override { fs::create_directories(dir_); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_ = ::testing::TempDir() + "/ca-files-" + std::to_string(::getpid());
};

TEST_F(CaFiles, CertificatesAreReadAndConcatenated) {
  auto one = file("one.pem", std::string("a comment before\n") + kTestCa);
  auto two = file("two.pem", std::string(kTestCa) + kTestCa);
  auto pem = readPemCertificates({one, two});
  ASSERT_TRUE(pem) << pem.error().message();
  EXPECT_EQ(*pem, std::string(kTestCa) + kTestCa + kTestCa);
}

TEST_F(CaFiles, WhatIsNoCertificateIsRefused) {
  auto empty = file("empty.pem", "nothing here\n");
  auto r = readPemCertificates({empty});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "CA file " + empty + " holds no PEM certificate");
  std::string broken = kTestCa;
  broken.replace(broken.find("MIIB"), 4, "!!!!");
  auto bad = file("bad.pem", broken);
  r = readPemCertificates({bad});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "CA file " + bad + ": certificate 1 does not parse");
  r = readPemCertificates({dir_ + "/missing.pem"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "CA file " + dir_ + "/missing.pem not found");
}

TEST_F(CaFiles, TheBundleIsTheSystemsThenTheRegistryCas) {
  auto extra = file("registry-ca.pem", kTestCa);
  ASSERT_TRUE(writeCaBundle(extra, dir_ + "/bundle.pem"));
  std::string bundle = readFile(dir_ + "/bundle.pem");
  ASSERT_GE(bundle.size(), std::string(kTestCa).size());
  EXPECT_EQ(bundle.substr(bundle.size() - std::string(kTestCa).size()), kTestCa);
  if (fs::exists("/etc/ssl/certs/ca-certificates.crt")) {  // curl's default bundle on Debian
    std::string system = readFile("/etc/ssl/certs/ca-certificates.crt");
    EXPECT_EQ(bundle.substr(0, system.size()), system);
  }
}

// A plain-HTTP registry that is not loopback to the client: the fake answers on 127.0.0.1 but
// the reference names it insecure.test, pinned to that address.
class NamedRegistry : public ::testing::Test {
 protected:
  RegistryClient client(RegistryTransport t) {
    RegistryOptions o;
    o.transport = t;
    o.attempts = 1;
    std::string port = reg_.host().substr(reg_.host().rfind(':') + 1);
    o.resolve = {"insecure.test:" + port + ":127.0.0.1"};
    return RegistryClient(*parseReference("insecure.test:" + port + "/test/x"), std::move(o));
  }
  std::string name() { return "insecure.test:" + reg_.host().substr(reg_.host().rfind(':') + 1); }
  std::vector<std::string> methods() {
    std::vector<std::string> out;
    for (const auto& r : reg_.requests()) out.push_back(r.method + " " + r.path);
    return out;
  }
  FakeRegistry reg_;
};

TEST_F(NamedRegistry, AnInsecureRegistryFallsBackToPlainHttpOnce) {
  reg_.set("/v2/test/x/manifests/latest", {200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}}, "{}"});
  reg_.set("/v2/test/x/blobs/sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", {200, {}, "{}"});
  auto c = client(RegistryTransport::kInsecure);
  auto m = c.manifest("latest");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(c.transport(), RegistryTransport::kHttp);
  EXPECT_EQ(c.baseUrl(), "http://" + name() + "/v2/test/x");
  ASSERT_TRUE(c.fetchBlobBytes("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"));
  EXPECT_EQ(methods(), (std::vector<std::string>{"TLS ", "GET /v2/test/x/manifests/latest",
                                                 "GET /v2/test/x/blobs/sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}));
}

TEST_F(NamedRegistry, APingSettlesTheTransport) {
  auto c = client(RegistryTransport::kInsecure);
  EXPECT_TRUE(c.ping());  // the fake's 404 is an answer
  EXPECT_EQ(c.transport(), RegistryTransport::kHttp);
}

TEST_F(NamedRegistry, ASecureRegistryNeverFallsBack) {
  auto c = client(RegistryTransport::kHttps);
  auto m = c.manifest("latest");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message(),
            "Get \"https://" + name() + "/v2/test/x/manifests/latest\": http: server gave HTTP response to HTTPS client");
  EXPECT_EQ(methods(), std::vector<std::string>{"TLS "});
}

TEST(InsecureRegistryDown, TheErrorIsThePlainHttpAttempts) {
  RegistryOptions o;
  o.transport = RegistryTransport::kInsecure;
  o.resolve = {"insecure.test:1:127.0.0.1"};
  RegistryClient c(*parseReference("insecure.test:1/test/x"), o);
  auto m = c.manifest("latest");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message(), "Get \"http://insecure.test:1/v2/test/x/manifests/latest\": Couldn't connect to server");
}

}  // namespace
}  // namespace vic::images
