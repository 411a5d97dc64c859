#include "runtime/docker/network_json.h"

#include <gtest/gtest.h>

#include "runtime/docker/volume_json.h"

namespace vic::docker {
namespace {

// What the docker 28.2 CLI sends for `docker run -p 8080:80 -p 127.0.0.1::53/udp --expose 81 -P
// --network mynet --network-alias web --ip 10.5.0.9 --link db:database --dns 9.9.9.9 --add-host h:1.2.3.4`.
const json kCreate = json::parse(R"({
  "ExposedPorts": {"80/tcp": {}, "53/udp": {}, "81/tcp": {}},
  "HostConfig": {"NetworkMode": "mynet", "PublishAllPorts": true,
    "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
    "Links": ["db:database"], "Dns": ["9.9.9.9"], "ExtraHosts": ["h:1.2.3.4"]},
  "NetworkingConfig": {"EndpointsConfig": {"mynet": {"IPAMConfig": {"IPv4Address": "10.5.0.9"}, "Aliases": ["web"]}}}
})");

TEST(NetworkingFromCreate, ReadsWhatTheCliSends) {
  pl::ContainerSpec s;
  ASSERT_TRUE(networkingFromCreate(kCreate, json::parse(R"({"ExposedPorts": {"9000/tcp": {}}})"), s));
  EXPECT_EQ(s.networkMode, "mynet");
  ASSERT_EQ(s.networks.size(), 1u);
  EXPECT_EQ(s.networks[0].scope, "mynet");
  EXPECT_EQ(s.networks[0].ip, "10.5.0.9");
  EXPECT_EQ(s.networks[0].aliases, std::vector<std::string>{"web"});
  EXPECT_EQ(s.exposed, (std::vector<std::string>{"53/udp", "80/tcp", "81/tcp", "9000/tcp"}));
  std::vector<pl::PortBinding> want{{"udp", 53, "127.0.0.1", 0}, {"tcp", 80, "", 8080}, {"tcp", 81, "", 0}, {"tcp", 9000, "", 0}};
  EXPECT_EQ(s.ports, want);
  EXPECT_EQ(s.links, std::vector<std::string>{"db:database"});
  EXPECT_EQ(s.config.dns, std::vector<std::string>{"9.9.9.9"});
  EXPECT_EQ(s.config.extraHosts, std::vector<std::string>{"h:1.2.3.4"});
}

TEST(NetworkingFromCreate, DefaultNoneAndRefusals) {
  pl::ContainerSpec d;
  ASSERT_TRUE(networkingFromCreate(json::parse(R"({"HostConfig":{"NetworkMode":"default"},
    "NetworkingConfig":{"EndpointsConfig":{"default":{"Aliases":["x"]}}}})"), json(), d));
  ASSERT_EQ(d.networks.size(), 1u);
  EXPECT_EQ(d.networks[0].scope, "bridge");  // the CLI calls the default network "default"
  EXPECT_EQ(d.networks[0].aliases, std::vector<std::string>{"x"});
  pl::ContainerSpec none;
  ASSERT_TRUE(networkingFromCreate(json::parse(R"({"HostConfig":{"NetworkMode":"none"}})"), json(), none));
  EXPECT_TRUE(none.networks.empty());
  pl::ContainerSpec bad;
  EXPECT_FALSE(networkingFromCreate(json::parse(R"({"HostConfig":{"NetworkMode":"host"}})"), json(), bad));
  EXPECT_FALSE(networkingFromCreate(json::parse(R"({"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"80-90"}]}}})"), json(), bad));
  EXPECT_FALSE(networkingFromCreate(json::parse(R"({"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"70000"}]}}})"), json(), bad));
  EXPECT_FALSE(networkingFromCreate(json::parse(R"({"HostConfig":{"Dns":["not-an-ip"]}})"), json(), bad));
}

TEST(NetworkSettings, GoldenForARunningContainer) {
  pl::Scope sc;
  sc.id = std::string(64, 'a');
  sc.name = "mynet";
  sc.subnet = *parseCidr("10.5.0.0/24");
  sc.gateway = *parseIp("10.5.0.1");
  pl::ContainerSpec s;
  s.id = std::string(64, 'c');
  s.name = "web";
  s.exposed = {"80/tcp", "81/tcp"};
  ContainerView v{{{sc, {sc.id, "10.5.0.9", "02:42:0a:05:00:09", {"www"}}}}, {{"tcp", 80, "", 8080}}, {}};
  json ns = networkSettings(s, v);
  EXPECT_EQ(ns["IPAddress"], "10.5.0.9");
  EXPECT_EQ(ns["Gateway"], "10.5.0.1");
  EXPECT_EQ(ns["MacAddress"], "02:42:0a:05:00:09");
  EXPECT_EQ(ns["Ports"].dump(), R"({"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}],"81/tcp":null})");
  EXPECT_EQ(ns["Networks"]["mynet"]["Aliases"].dump(), R"(["www"])");
  EXPECT_EQ(ns["Networks"]["mynet"]["DNSNames"].dump(), R"(["web","www","cccccccccccc"])");
  EXPECT_EQ(portSummaries(s, v).dump(),
            R"([{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},{"PrivatePort":81,"Type":"tcp"}])");
}

TEST(ScopeRequest, FromNetworkCreate) {
  auto r = scopeRequestFromCreate(json::parse(R"({"Name":"n1","Driver":"bridge","Internal":true,"Labels":{"a":"b"},
    "IPAM":{"Driver":"default","Config":[{"Subnet":"10.9.0.0/24","Gateway":"10.9.0.254","IPRange":"10.9.0.128/25"}]}})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subnet, "10.9.0.0/24");
  EXPECT_EQ(r->gateway, "10.9.0.254");
  EXPECT_EQ(r->ipRange, "10.9.0.128/25");
  EXPECT_TRUE(r->internal);
  EXPECT_EQ(scopeRequestFromCreate(json::parse(R"({"Name":"n","Driver":"overlay"})")).error().code(), Errc::kNotImplemented);
  EXPECT_FALSE(scopeRequestFromCreate(json::parse(R"({"Driver":"bridge"})")));
}

TEST(VolumesFromCreate, BindsAnonymousMountsAndTheImagesVolumes) {
  auto v = volumesFromCreate(json::parse(R"({"Volumes":{"/cache":{}},
    "HostConfig":{"Binds":["data:/data:ro"],"Mounts":[{"Type":"volume","Source":"logs","Target":"/var/log/app"}]}})"),
                             json::parse(R"({"Volumes":{"/data":{},"/image-vol":{}}})"));
  ASSERT_TRUE(v) << v.error().message();
  std::vector<pl::VolumeMount> want{{"data", "/data", true, false}, {"logs", "/var/log/app", false, false},
                                    {"", "/cache", false, true}, {"", "/image-vol", false, true}};
  EXPECT_EQ(*v, want);  // the image's /data is already covered by the named volume
  auto host = volumesFromCreate(json::parse(R"({"HostConfig":{"Binds":["/etc:/x"]}})"), json());
  ASSERT_FALSE(host);
  EXPECT_NE(host.error().message().find("a containerVM shares no filesystem with its host"), std::string::npos);
  EXPECT_FALSE(volumesFromCreate(json::parse(R"({"HostConfig":{"Binds":["a:/x","b:/x"]}})"), json()));
  EXPECT_FALSE(volumesFromCreate(json::parse(R"({"HostConfig":{"Binds":["a:relative"]}})"), json()));
  EXPECT_FALSE(volumesFromCreate(json::parse(R"({"HostConfig":{"Binds":["a:/x:z"]}})"), json()));
  EXPECT_FALSE(volumesFromCreate(json::parse(R"({"HostConfig":{"Mounts":[{"Type":"bind","Source":"/etc","Target":"/x"}]}})"), json()));
}

TEST(VolumeJson, Golden) {
  pl::Volume v{"data", "default", 2048, {{"a", "b"}}, false, 0, {}};
  EXPECT_EQ(volumeJson(v, "/vs/data/disk.qcow2").dump(),
            R"({"CreatedAt":"0001-01-01T00:00:00Z","Driver":"vsphere","Labels":{"a":"b"},"Mountpoint":"/vs/data/disk.qcow2",)"
            R"("Name":"data","Options":null,"Scope":"local",)"
            R"("Status":{"Capacity":"2048 MiB","VolumeStore":"default"}})");
  v.opts = {{"Capacity", "2G"}};  // as asked, no more: compose compares them with its file's driver_opts
  EXPECT_EQ(volumeJson(v, "").at("Options"), json({{"Capacity", "2G"}}));
  auto r = volumeRequestFromCreate(json::parse(R"({"Name":"x","Driver":"local","DriverOpts":{"Capacity":"2G"},"Labels":{"k":"v"}})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->opts.at("Capacity"), "2G");
  EXPECT_FALSE(volumeRequestFromCreate(json::parse(R"({"Name":"x","Driver":"nfs"})")));
}

}  // namespace
}  // namespace vic::docker
