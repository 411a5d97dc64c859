#include "runtime/docker/docker_json.h"
#include "runtime/portlayer/health.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/json.h"
#include "images/auth.h"

namespace vic::docker {
namespace {

TEST(DockerJson, RegistryConfigAsDockerdReportsIt) {
  EXPECT_EQ(registryConfigJson({}), json::parse(R"({
    "InsecureRegistryCIDRs": ["::1/128", "127.0.0.0/8"],
    "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": true, "Official": true}},
    "Mirrors": []})"));
  EXPECT_EQ(registryConfigJson({"192.0.2.2:5000", "10.0.0.0/8", "reg.example.com", "127.0.0.0/8", "docker.io"}), json::parse(R"({
    "InsecureRegistryCIDRs": ["10.0.0.0/8", "127.0.0.0/8", "::1/128"],
    "IndexConfigs": {
      "192.0.2.2:5000": {"Name": "192.0.2.2:5000", "Mirrors": [], "Secure": false, "Official": false},
      "reg.example.com": {"Name": "reg.example.com", "Mirrors": [], "Secure": false, "Official": false},
      "docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": true, "Official": true}},
    "Mirrors": []})"));
}

TEST(DockerJson, HumanDurationsLikeGoUnits) {
  EXPECT_EQ(humanDuration(0), "Less than a second");
  EXPECT_EQ(humanDuration(1), "1 second");
  EXPECT_EQ(humanDuration(2), "2 seconds");
  EXPECT_EQ(humanDuration(60), "About a minute");
  EXPECT_EQ(humanDuration(180), "3 minutes");
  EXPECT_EQ(humanDuration(3600), "About an hour");
  EXPECT_EQ(humanDuration(7200), "2 hours");
  EXPECT_EQ(humanDuration(3 * 86400), "3 days");
}

TEST(DockerJson, StatusStrings) {
  int64_t now = 1000'000000000;
  pl::ContainerStatus s;
  EXPECT_EQ(statusString(s, now), "Created");
  s.state = pl::RunState::kRunning;
  s.startedNs = now - 2'000000000;
  EXPECT_EQ(statusString(s, now), "Up 2 seconds");
  s.health = pl::Health{};
  EXPECT_EQ(statusString(s, now), "Up 2 seconds (health: starting)");
  s.health->status = "healthy";
  EXPECT_EQ(statusString(s, now), "Up 2 seconds (healthy)");
  s.health->status = "unhealthy";
  EXPECT_EQ(statusString(s, now), "Up 2 seconds (unhealthy)");
  s.paused = true;
  EXPECT_EQ(statusString(s, now), "Up 2 seconds (Paused)");
  EXPECT_EQ(pl::stateName(s), "paused");
  s.paused = false;
  s.state = pl::RunState::kExited;
  s.exitCode = 137;
  s.finishedNs = now - 300'000000000;
  EXPECT_EQ(statusString(s, now), "Exited (137) 5 minutes ago");
}

TEST(DockerJson, Rfc3339NanoLikeGo) {
  EXPECT_EQ(rfc3339Nano(0), "0001-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339Nano(1714979289'123000000), "2024-05-06T07:08:09.123Z");
  EXPECT_EQ(rfc3339Nano(1714979289'000000000), "2024-05-06T07:08:09Z");
}

TEST(DockerJson, CreateMergesTheImageConfig) {
  images::ImageRecord img;
  img.id = "sha256:" + std::string(64, 'c');
  json ic = {{"config", {{"Cmd", {"sh"}}, {"Env", {"PATH=/bin", "A=1"}}, {"WorkingDir", "/w"}}}};
  auto s = specFromCreate(json{{"Image", "busybox"}, {"Cmd", {"echo", "hi"}}, {"Env", {"A=2"}}, {"Tty", true},
                               {"HostConfig", {{"Memory", 256 << 20}, {"AutoRemove", true}}}},
                          "web", img, ic, 5);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->config.main.argv, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_EQ(s->config.main.env, (std::vector<std::string>{"PATH=/bin", "A=2"}));
  EXPECT_EQ(s->config.main.workdir, "/w");
  EXPECT_TRUE(s->config.main.tty);
  EXPECT_EQ(s->memoryMiB, 256u);
  EXPECT_TRUE(s->autoRemove);
  EXPECT_EQ(s->name, "web");
  auto dflt = specFromCreate(json{{"Image", "busybox"}}, "", img, ic, 5);
  ASSERT_TRUE(dflt);
  EXPECT_EQ(dflt->config.main.argv, std::vector<std::string>{"sh"});
  EXPECT_EQ(dflt->memoryMiB, kDefaultMemoryMiB);
  auto bind = specFromCreate(json{{"Image", "busybox"}, {"HostConfig", {{"Binds", {"/etc:/x"}}}}}, "", img, ic, 5);
  ASSERT_FALSE(bind);
  EXPECT_NE(bind.error().message().find("not supported"), std::string::npos);
  EXPECT_FALSE(specFromCreate(json{{"Image", "busybox"}}, "-bad", img, ic, 5));
  EXPECT_FALSE(specFromCreate(json{{"Image", "busybox"}, {"StopSignal", "SIGNOPE"}}, "", img, ic, 5));
}

TEST(DockerJson, HealthcheckFromTheImageUnderTheContainersFlags) {
  images::ImageRecord img;
  img.id = "sha256:" + std::string(64, 'c');
  json ic = {{"config", {{"Cmd", {"sh"}}, {"Healthcheck", {{"Test", {"CMD-SHELL", "wget -q localhost"}}, {"Interval", 10'000'000'000}, {"Retries", 5}}}}}};
  auto fromImage = specFromCreate(json{{"Image", "web"}}, "", img, ic, 5);
  ASSERT_TRUE(fromImage) << fromImage.error().message();
  EXPECT_EQ(fromImage->health.test, (std::vector<std::string>{"CMD-SHELL", "wget -q localhost"}));
  EXPECT_EQ(fromImage->health.intervalNs, 10'000'000'000);
  auto cfg = json::parse(fromImage->annotations.at(kConfigAnnotation));
  EXPECT_EQ(cfg["Healthcheck"]["Test"][1], "wget -q localhost");  // inspect's Config shows the check that runs
  auto flags = specFromCreate(json{{"Image", "web"}, {"Healthcheck", {{"Interval", 2'000'000'000}, {"Timeout", 1'000'000'000}}}}, "", img, ic, 5);
  ASSERT_TRUE(flags);
  EXPECT_EQ(flags->health.test[0], "CMD-SHELL");
  EXPECT_EQ(flags->health.intervalNs, 2'000'000'000);
  EXPECT_EQ(flags->health.timeoutNs, 1'000'000'000);
  EXPECT_EQ(flags->health.retries, 5);
  auto off = specFromCreate(json{{"Image", "web"}, {"Healthcheck", {{"Test", {"NONE"}}}}}, "", img, ic, 5);  // --no-healthcheck
  ASSERT_TRUE(off);
  EXPECT_TRUE(pl::probeArgv(off->health).empty());
  auto tooFast = specFromCreate(json{{"Image", "web"}, {"Healthcheck", {{"Interval", 1000}}}}, "", img, ic, 5);
  ASSERT_FALSE(tooFast);
  EXPECT_EQ(tooFast.error().message(), "Interval in Healthcheck cannot be less than 1ms");
  auto negative = specFromCreate(json{{"Image", "web"}, {"Healthcheck", {{"Retries", -2}}}}, "", img, ic, 5);
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().message(), "Retries in Healthcheck cannot be negative");
}

TEST(DockerJson, StateHealthAsDockerInspectShowsIt) {
  pl::Health h;
  h.status = "unhealthy";
  h.failingStreak = 3;
  h.log.push_back({1714979289'000000000, 1714979289'500000000, 1, "no\n"});
  auto j = healthJson(h);
  EXPECT_EQ(j, json::parse(R"({"Status":"unhealthy","FailingStreak":3,"Log":[{"Start":"2024-05-06T07:08:09Z","End":"2024-05-06T07:08:09.5Z","ExitCode":1,"Output":"no\n"}]})"));
}

TEST(DockerJson, InspectHasWhatTheCliReads) {
  pl::ContainerInfo c;
  c.spec.id = std::string(64, 'a');
  c.spec.name = "web";
  c.spec.config.main.argv = {"echo", "hi"};
  c.status.state = pl::RunState::kExited;
  c.status.exitCode = 3;
  auto j = containerInspect(c, "/log");
  EXPECT_EQ(j["Name"], "/web");
  EXPECT_EQ(j["Path"], "echo");
  EXPECT_EQ(j["State"]["ExitCode"], 3);
  EXPECT_EQ(j["State"]["Status"], "exited");
  EXPECT_FALSE(j["Config"]["Tty"].get<bool>());
  EXPECT_TRUE(j["HostConfig"].contains("AutoRemove"));
  EXPECT_EQ(signalNumber("SIGHUP"), 1);
  EXPECT_EQ(signalNumber("KILL"), 9);
  EXPECT_EQ(signalNumber("15"), 15);
  EXPECT_EQ(signalNumber("NOPE"), -1);
  EXPECT_EQ(signalNumber("99999999999"), -1);  // was std::stoi's out_of_range: a crash answer
}

// --log-driver and --log-opt: json-file's rotation is kept per container; the rest is refused.
TEST(DockerJson, LogConfigFromCreate) {
  images::ImageRecord img;
  img.id = "sha256:" + std::string(64, 'c');
  json ic = {{"config", {{"Cmd", {"sh"}}}}};
  auto create = [&](json logConfig) {
    return specFromCreate(json{{"Image", "busybox"}, {"HostConfig", {{"LogConfig", logConfig}}}}, "", img, ic, 5);
  };
  auto s = create({{"Type", "json-file"}, {"Config", {{"max-size", "10m"}, {"max-file", "3"}}}});
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->logLimits.maxBytes, 10'000'000u);  // docker's sizes are decimal
  EXPECT_EQ(s->logLimits.maxFiles, 3);
  auto j = containerInspect({*s, {}}, "/log");
  EXPECT_EQ(j["HostConfig"]["LogConfig"], (json{{"Type", "json-file"}, {"Config", {{"max-size", "10m"}, {"max-file", "3"}}}}));
  auto plain = create({{"Type", ""}, {"Config", nullptr}});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->logLimits.maxBytes, 0u);
  EXPECT_EQ(containerInspect({*plain, {}}, "/log")["HostConfig"]["LogConfig"], (json{{"Type", "json-file"}, {"Config", json::object()}}));
  for (auto [size, bytes] : std::vector<std::pair<std::string, uint64_t>>{
           {"1024", 1024}, {"1k", 1000}, {"1.5MB", 1'500'000}, {"2 g", 2'000'000'000}, {"3mib", 3'000'000}}) {
    auto r = create({{"Config", {{"max-size", size}}}});
    ASSERT_TRUE(r) << size << ": " << r.error().message();
    EXPECT_EQ(r->logLimits.maxBytes, bytes) << size;
  }
  struct Bad {
    json config;
    std::string message;
  };
  for (const auto& b : std::vector<Bad>{
           {{{"Type", "syslog"}}, "logging driver \"syslog\" is not supported by a VCH"},
           {{{"Config", {{"max-size", "0"}}}}, "max-size must be a positive number"},
           {{{"Config", {{"max-size", "ten"}}}}, "invalid size: 'ten'"},
           {{{"Config", {{"max-size", "1x"}}}}, "invalid size: '1x'"},
           {{{"Config", {{"max-size", "99999999999999999999"}}}}, "invalid size"},
           {{{"Config", {{"max-size", "1e400"}}}}, "invalid size"},
           {{{"Config", {{"max-file", "0"}}}}, "max-file cannot be less than 1"},
           {{{"Config", {{"max-file", "-1"}}}}, "invalid syntax"},
           {{{"Config", {{"compress", "true"}}}}, "log opt 'compress' is not supported"},
           {{{"Config", {{"mode", "non-blocking"}}}}, "unknown log opt 'mode' for json-file log driver"}}) {
    auto r = create(b.config);
    ASSERT_FALSE(r) << b.config.dump();
    EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
    EXPECT_NE(r.error().message().find(b.message), std::string::npos) << r.error().message();
  }
}

TEST(DockerJson, RestartPolicyAsTheDaemonValidatesIt) {
  auto policy = [](json rp, bool rm = false) { return restartPolicyFrom(json{{"RestartPolicy", rp}}, rm); };
  EXPECT_EQ(policy(json::object())->name, "no");
  EXPECT_EQ(policy({{"Name", ""}})->name, "no");
  auto onFailure = policy({{"Name", "on-failure"}, {"MaximumRetryCount", 3}});
  ASSERT_TRUE(onFailure);
  EXPECT_EQ(onFailure->maxRetries, 3);
  EXPECT_EQ(policy({{"Name", "unless-stopped"}})->name, "unless-stopped");
  EXPECT_EQ(policy({{"Name", "bogus"}}).error().message(),
            "invalid restart policy: unknown policy 'bogus'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
  EXPECT_EQ(policy({{"Name", "always"}, {"MaximumRetryCount", 2}}).error().message(),
            "invalid restart policy: maximum retry count can only be used with 'on-failure'");
  EXPECT_EQ(policy({{"Name", "on-failure"}, {"MaximumRetryCount", -1}}).error().message(),
            "invalid restart policy: maximum retry count cannot be negative");
  EXPECT_EQ(policy({{"Name", "always"}}, true).error().message(), "can't create 'AutoRemove' container with restart policy");
  EXPECT_TRUE(policy({{"Name", "on-failure"}, {"MaximumRetryCount", 1e300}}));  // clamped, not UB
  pl::ContainerInfo c;
  c.spec.restart = {"on-failure", 5};
  c.status.state = pl::RunState::kExited;
  c.status.restarting = true;
  c.status.restartCount = 2;
  auto j = containerInspect(c, "/log");
  EXPECT_EQ(j["HostConfig"]["RestartPolicy"], (json{{"Name", "on-failure"}, {"MaximumRetryCount", 5}}));
  EXPECT_EQ(j["RestartCount"], 2);
  EXPECT_EQ(j["State"]["Status"], "restarting");
  EXPECT_TRUE(j["State"]["Restarting"].get<bool>());
  EXPECT_EQ(statusString(c.status, c.status.finishedNs).rfind("Restarting (0) ", 0), 0u);
}

TEST(DockerJson, ExecSessionFromWhatTheCliSends) {
  pl::ContainerSpec c;
  c.config.main.env = {"PATH=/bin", "A=1"};
  c.config.main.workdir = "/srv";
  c.config.main.user = "web";
  // docker 28.2's body for `docker exec x echo hi`: Env null, User and WorkingDir empty.
  auto body = json::parse(R"({"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,)"
                          R"("AttachStdout":true,"Detach":false,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["echo","hi"]})");
  auto session = [&c](const json& b, const std::string& id) -> Result<vsock::SessionSpec> {
    auto spec = execSpecFromCreate(b);
    if (!spec) return std::move(spec).error();
    return pl::sessionSpec(*spec, c, id);
  };
  auto s = session(body, "e1");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->argv, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_EQ(s->env, (std::vector<std::string>{"PATH=/bin", "A=1"}));
  EXPECT_EQ(s->workdir, "/srv");
  EXPECT_EQ(s->user, "web");
  EXPECT_FALSE(s->openStdin);
  auto it = session(json::parse(R"({"Cmd":["sh"],"Env":["A=2","B=3"],"Tty":true,"AttachStdin":true,"User":"0","ConsoleSize":[40,120]})"), "e2");
  ASSERT_TRUE(it);
  EXPECT_EQ(it->env, (std::vector<std::string>{"PATH=/bin", "A=2", "B=3"}));
  EXPECT_EQ(it->user, "0");
  EXPECT_TRUE(it->tty && it->openStdin && it->stdinOnce);
  EXPECT_EQ(it->rows, 40);
  EXPECT_EQ(it->cols, 120);
  EXPECT_EQ(execSpecFromCreate(json::parse(R"({"Cmd":null})")).error().message(), "No exec command specified");
}

TEST(DockerJson, ExecInspectGolden) {
  pl::ExecRecord e;
  e.id = "e1";
  e.container = "c1";
  e.spec.argv = {"sh", "-c", "exit 3"};
  e.spec.tty = true;
  auto created = execInspect(e);
  EXPECT_EQ(dumpJson(created), R"({"ContainerID":"c1","ExitCode":null,"ID":"e1","OpenStderr":true,"OpenStdin":false,)"
                               R"("OpenStdout":true,"Pid":0,"ProcessConfig":{"arguments":["-c","exit 3"],)"
                               R"("entrypoint":"sh","tty":true},"Running":false})");
  e.started = true;
  e.exitCode = 3;
  EXPECT_EQ(execInspect(e)["ExitCode"], 3);
  e.running = true;
  EXPECT_TRUE(execInspect(e)["ExitCode"].is_null());
}

TEST(DockerJson, PsCommandQuotesSpacedArguments) {
  pl::ContainerSpec c;
  c.config.main.argv = {"sh", "-c", "echo out; exit 3"};
  EXPECT_EQ(commandString(c), "sh -c 'echo out; exit 3'");
  c.config.main.argv = {"/bin/my tool", "a"};
  EXPECT_EQ(commandString(c), "/bin/my tool a");  // the path itself is never quoted
}

TEST(DockerJson, PathStatHeaderIsBase64OfGoFileModeJson) {
  EXPECT_EQ(goFileMode(S_IFDIR | 0755), (1u << 31) | 0755);
  EXPECT_EQ(goFileMode(S_IFLNK | 0777), (1u << 27) | 0777);
  EXPECT_EQ(goFileMode(S_IFREG | S_ISUID | 0755), (1u << 23) | 0755);
  EXPECT_EQ(goFileMode(S_IFREG | 0644), 0644u);
  vsock::FileStat st{"tmp", 4096, S_IFDIR | 01777, 1700000000123456789, ""};
  auto decoded = images::base64Decode(pathStatHeader(st));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, R"({"linkTarget":"","mode":2148532735,"mtime":"2023-11-14T22:13:20.123456789Z","name":"tmp","size":4096})");
}

}  // namespace
}  // namespace vic::docker

namespace vic::docker {
namespace {
TEST(DockerJson, EventsCarryDockerdsDeprecatedFieldsForContainersAndImages) {
  auto c = eventJson({"container", "start", "abc", {{"image", "busybox"}, {"name", "web"}}, 1'500'000'000, 1});
  EXPECT_EQ(c["status"], "start");
  EXPECT_EQ(c["id"], "abc");
  EXPECT_EQ(c["from"], "busybox");
  EXPECT_EQ(c["time"], 1);
  auto i = eventJson({"image", "pull", "busybox:latest", {{"name", "busybox"}}, 0, 2});
  EXPECT_EQ(i["status"], "pull");
  EXPECT_EQ(i["id"], "busybox:latest");
  EXPECT_FALSE(i.contains("from"));
  auto n = eventJson({"network", "connect", "n1", {}, 0, 3});
  EXPECT_FALSE(n.contains("status"));
  EXPECT_EQ(n["Actor"]["ID"], "n1");
}
}  // namespace
}  // namespace vic::docker
