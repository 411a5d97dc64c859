#include "runtime/vch/vch_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace vic::vch {
namespace {

TEST(VchConfig, RoundTripsEveryField) {
  VchConfig c;
  c.name = "vch1";
  c.datastore = "/var/lib/vic/vch1";
  c.volumeStores = {{"default", "/var/lib/vic/vch1/volumes"}};
  c.pool = "vic-vch1";
  c.cpus = 2;
  c.memoryMiB = 4096;
  c.bridgeNetwork = "vic-vch1-bridge";
  c.containerNetworks = {{"br0", "lan", "192.168.1.1/24", "192.168.1.128/25", {"192.168.1.1"}}};
  c.unixSocket = "/var/lib/vic/vch1/docker.sock";
  c.tcpAddress = "127.0.0.1:2376";
  c.dockerHost = "tcp://127.0.0.1:2376";
  c.clientCerts = "/var/lib/vic/vch1/certs/client";
  c.endpoint = "/var/lib/vic/vch1/bin/vic-endpoint";
  c.tls = {true, false, "ca.pem", "cert.pem", "key.pem"};
  c.insecureRegistries = {"10.0.0.1:5000", "192.168.0.0/16"};
  c.registryCa = "/var/lib/vic/vch1/certs/registry-ca.pem";
  c.instantClone = false;
  c.created = 42;
  auto back = decodeVchConfig(encodeVchConfig(c));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(encodeVchConfig(*back), encodeVchConfig(c));
  EXPECT_EQ(back->memoryMiB, 4096u);
  EXPECT_FALSE(back->tls.verifyClient);
  EXPECT_FALSE(back->instantClone);
  std::string old = encodeVchConfig(c);
  old.erase(old.find("\"instantClone\""), std::string("\"instantClone\": false,").size());
  auto before = decodeVchConfig(old);  // a VCH made before it was an option
  ASSERT_TRUE(before) << before.error().message() << old;
  EXPECT_TRUE(before->instantClone);
  EXPECT_EQ(back->dockerHost, "tcp://127.0.0.1:2376");
  EXPECT_EQ(back->insecureRegistries, (std::vector<std::string>{"10.0.0.1:5000", "192.168.0.0/16"}));
  EXPECT_EQ(back->registryCa, "/var/lib/vic/vch1/certs/registry-ca.pem");
  auto json = nlohmann::json::parse(encodeVchConfig(c));  // the golden fields
  EXPECT_EQ(json["insecureRegistries"], nlohmann::json::parse(R"(["10.0.0.1:5000", "192.168.0.0/16"])"));
  EXPECT_EQ(json["registryCa"], "/var/lib/vic/vch1/certs/registry-ca.pem");
  std::string noCa = old;
  noCa.erase(noCa.find("\"registryCa\""), noCa.find('\n', noCa.find("\"registryCa\"")) + 1 - noCa.find("\"registryCa\""));
  auto beforeCa = decodeVchConfig(noCa);  // a VCH made before --registry-ca
  ASSERT_TRUE(beforeCa) << beforeCa.error().message() << noCa;
  EXPECT_EQ(beforeCa->registryCa, "");
  EXPECT_EQ(back->endpoint, "/var/lib/vic/vch1/bin/vic-endpoint");
  EXPECT_EQ(back->volumeStores.at("default"), "/var/lib/vic/vch1/volumes");
  ASSERT_EQ(back->containerNetworks.size(), 1u);
  EXPECT_EQ(back->containerNetworks[0].ipRange, "192.168.1.128/25");
  EXPECT_EQ(bridgeDevice("vch1"), "vic-vch1");
  EXPECT_LE(bridgeDevice("a-very-long-vch-name").size(), 15u);
}

TEST(VchConfig, CarriesVicadminFields) {
  VchConfig c;
  c.name = "vch1";
  c.datastore = "/var/lib/vic/vch1";
  c.adminAddress = "127.0.0.1:2378";
  c.adminTokenFile = "/var/lib/vic/vch1/admin-token";
  c.adminLogFile = "/var/lib/vic/vch1/vicadmin.log";
  c.adminPidFile = "/var/lib/vic/vch1/vicadmin.pid";
  auto back = decodeVchConfig(encodeVchConfig(c));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->adminAddress, "127.0.0.1:2378");
  EXPECT_EQ(back->adminTokenFile, "/var/lib/vic/vch1/admin-token");
  EXPECT_EQ(back->adminLogFile, "/var/lib/vic/vch1/vicadmin.log");
  EXPECT_EQ(back->adminPidFile, "/var/lib/vic/vch1/vicadmin.pid");
  auto json = nlohmann::json::parse(encodeVchConfig(c));  // the golden field names
  EXPECT_EQ(json["admin"], nlohmann::json::parse(R"({"address": "127.0.0.1:2378", "tokenFile": "/var/lib/vic/vch1/admin-token",
      "logFile": "/var/lib/vic/vch1/vicadmin.log", "pidFile": "/var/lib/vic/vch1/vicadmin.pid"})"));
  auto old = decodeVchConfig(R"({"name":"x","datastore":"/d"})");  // a VCH made before vicadmin
  ASSERT_TRUE(old);
  EXPECT_EQ(old->adminAddress, "");
  EXPECT_EQ(old->adminTokenFile, "");
}

TEST(VchConfig, RejectsWhatCannotRun) {
  EXPECT_FALSE(decodeVchConfig("[]"));
  EXPECT_FALSE(decodeVchConfig(R"({"name":"x"})"));
  EXPECT_FALSE(decodeVchConfig(R"({"name":"x","datastore":7})"));
  EXPECT_TRUE(decodeVchConfig(R"({"name":"x","datastore":"/d"})"));
}

}  // namespace
}  // namespace vic::vch
