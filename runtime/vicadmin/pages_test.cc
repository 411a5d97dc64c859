// Golden HTML of every page from a fixed model (the fake VCH of test_fixture.h). To accept a
// change: VIC_UPDATE_GOLDEN=1 ./vicadmin_test --gtest_filter='VicadminPages.*' and review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "common/files.h"
#include "common/json.h"
#include "runtime/vicadmin/logs.h"
#include "runtime/vicadmin/model.h"
#include "runtime/vicadmin/pages.h"
#include "runtime/vicadmin/status.h"
#include "runtime/vicadmin/test_fixture.h"

namespace vic::vicadmin {
namespace {

void golden(const std::string& name, const std::string& got) {
  std::string file = std::string(VIC_VICADMIN_TESTDATA) + "/" + name;
  if (const char* u = std::getenv("VIC_UPDATE_GOLDEN"); u && *u && std::string(u) != "0") {
    std::ofstream(file, std::ios::trunc) << got;
    return;
  }
  EXPECT_EQ(readFile(file), got) << "golden " << file << " differs (VIC_UPDATE_GOLDEN=1 regenerates it)";
}

// The fixed status model: the fake VCH with one volume store filling up, a registry down and
// a firewall chain missing.
json fixedStatus() {
  testing::FakeProbe p;
  vch::VchConfig cfg;
  cfg.name = "vch1";
  cfg.version = "0.1.0";
  cfg.datastore = "/var/lib/vic/vch1";
  cfg.unixSocket = "/var/lib/vic/vch1/docker.sock";
  cfg.pool = "vch1";
  cfg.volumeStores = {{"default", "/var/lib/vic/vch1/volumes"}, {"fast", "/srv/fast"}};
  cfg.insecureRegistries = {"10.0.0.5:5000", "192.168.0.0/16", "registry.example.com"};
  p.disks["/srv/fast"] = {uint64_t{20} << 30, uint64_t{10} << 20};
  p.downRegistries = {"registry.example.com"};
  p.missingChains = {"VIC-vch1-FWD"};
  return gatherStatus(cfg, p);
}

json fixedContainers() {
  Samples samples;
  for (int i = 0; i < 6; ++i) samples[testing::kId1].push_back({1700000000 + i * 5, 10.0 * i, uint64_t(100 + 10 * i) << 20});
  return listPage(containersModel(parseJson(testing::psJson()), samples));
}

json fixed(const std::string& target) {
  testing::FakeProbe p;
  return parseJson(p.answers.at(target));
}

TEST(VicadminPages, StatusGolden) { golden("status.html", statusPage("vch1", fixedStatus())); }
TEST(VicadminPages, StatusJsonGolden) { golden("status.json", dumpJson(fixedStatus(), 2) + "\n"); }
TEST(VicadminPages, ContainersGolden) { golden("containers.html", containersPage("vch1", fixedContainers())); }
TEST(VicadminPages, ContainersJsonGolden) { golden("containers.json", dumpJson(fixedContainers(), 2) + "\n"); }
TEST(VicadminPages, ImagesGolden) { golden("images.html", imagesPage("vch1", listPage(imagesModel(fixed("/images/json"))))); }
TEST(VicadminPages, VolumesGolden) { golden("volumes.html", volumesPage("vch1", listPage(volumesModel(fixed("/volumes"))))); }
TEST(VicadminPages, NetworksGolden) { golden("networks.html", networksPage("vch1", listPage(networksModel(fixed("/networks"))))); }
TEST(VicadminPages, LogsGolden) {
  std::vector<ContainerName> cs = {{testing::kId1, "web"}, {testing::kHostileId, "<script>alert(1)</script>"}};
  golden("logs.html", logsPage("vch1", logsModel(availableLogs(cs, {}), ok())));
}
TEST(VicadminPages, LogViewGolden) {
  json tail = {{"log", "container:" + testing::kId1}, {"lines", {"booting", "<script>alert('log')</script>", "a & b"}}};
  golden("log_view.html", logViewPage("vch1", tail));
}
TEST(VicadminPages, LoginGolden) { golden("login.html", loginPage("vch1", "wrong token")); }
TEST(VicadminPages, EndpointDownGolden) {
  golden("containers_down.html", containersPage("vch1", listPage(Error(Errc::kUnavailable, "no answer to GET /containers/json?all=1 within 2000 ms"))));
}

TEST(VicadminPages, StatusChecksHaveStableIdsAndVerdicts) {
  json s = fixedStatus();
  std::map<std::string, bool> verdicts;
  for (const auto& c : s["checks"]) verdicts[c["id"].get<std::string>()] = c["ok"].get<bool>();
  std::map<std::string, bool> want = {{"endpoint", true}, {"libvirt", true}, {"pool", true}, {"datastore", true},
                                      {"volume-store:default", true}, {"volume-store:fast", false}, {"registry:10.0.0.5:5000", true},
                                      {"registry:registry.example.com", false}, {"firewall:VIC-vch1-DNAT", true},
                                      {"firewall:VIC-vch1-POST", true}, {"firewall:VIC-vch1-FWD", false}, {"firewall:VIC-vch1-IN", true}};
  EXPECT_EQ(verdicts, want);
  EXPECT_FALSE(s["healthy"].get<bool>());
  std::string html = statusPage("vch1", s);
  EXPECT_NE(html.find("<tr class=\"check fail\" data-check=\"firewall:VIC-vch1-FWD\">"), std::string::npos);
  EXPECT_NE(html.find("No chain/target/match by that name"), std::string::npos);
  EXPECT_NE(html.find("only 10.0 MiB free of 20.0 GiB"), std::string::npos);
}

TEST(VicadminPages, EveryValueIsEscaped) {
  std::string html = containersPage("vch1", fixedContainers());
  EXPECT_EQ(html.find("<script>alert(1)</script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<img src=x"), std::string::npos);
  EXPECT_NE(html.find("evil&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<b>net</b>"), std::string::npos);
  std::string vols = volumesPage("vch1", listPage(volumesModel(fixed("/volumes"))));
  EXPECT_EQ(vols.find("<script>x</script>"), std::string::npos);
  std::string view = logViewPage("\"><script>", {{"log", "endpoint"}, {"lines", {"</pre><script>alert(3)</script>"}}});
  EXPECT_EQ(view.find("<script>alert"), std::string::npos);
  EXPECT_EQ(view.find("\"><script>"), std::string::npos);
  for (const auto& page : {html, vols, view, statusPage("x", fixedStatus()), loginPage("<x>", "<y>")}) {
    EXPECT_EQ(page.find("style="), std::string::npos);  // no inline style: the CSP forbids it
    EXPECT_EQ(page.find("<script>"), std::string::npos);  // no inline script either
  }
  EXPECT_EQ(escapeHtml("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  EXPECT_EQ(urlEncode("container:ab/../"), "container%3Aab%2F..%2F");
}

TEST(VicadminPages, SparklineIsInlineSvgScaledToItsValues) {
  EXPECT_EQ(sparkline({}, 0, "spark cpu", "no samples"),
            "<svg class=\"spark cpu\" width=\"120\" height=\"24\" viewBox=\"0 0 120 24\" role=\"img\" aria-label=\"no samples\"></svg>");
  std::string s = sparkline({0, 50, 100}, 0, "spark", "x");
  EXPECT_NE(s.find("points=\"0.0,23.0 60.0,12.0 120.0,1.0\""), std::string::npos) << s;
  EXPECT_NE(sparkline({1, 1}, 4, "spark", "x").find("0.0,17.5 120.0,17.5"), std::string::npos);
}

}  // namespace
}  // namespace vic::vicadmin
