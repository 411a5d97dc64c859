// vic-machine: create, list, inspect, configure, restart and delete VCHs (wiring only).
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "runtime/vic_machine/flags.h"
#include "runtime/vic_machine/vch_manager.h"

namespace {
using namespace vic::machine;

// Each command's synopsis: `vic-machine help`, `vic-machine help CMD` and `CMD --help`.
struct CommandHelp {
  const char* name;
  const char* synopsis;
};
const CommandHelp kCommands[] = {
    {"create", R"(--name NAME [--target URI] [--image-store DIR] [--volume-store DIR:LABEL]...
             [--cpu N] [--memory SIZE] [--bridge-network NAME] [--bridge-network-range CIDR]
             [--no-tls | --no-tlsverify] [--tls-cname NAME]... [--api-address IP] [--api-port N] [--admin-port N]
             [--insecure-registry HOST[:PORT]|CIDR]... [--registry-ca FILE]...
             [--kernel FILE] [--bootstrap FILE] [--timeout SECONDS]
             [--no-instant-clone]   (every container start boots its kernel: no template)
             [--container-network BRIDGE:NAME --container-network-gateway NAME:CIDR
              [--container-network-ip-range NAME:CIDR] [--container-network-dns NAME:IP]]...)"},
    {"ls", "(every VCH on this host: endpoint state, DOCKER_HOST, limits, image store)"},
    {"inspect", "--name NAME [--json | --disks]   (--disks: each container's qcow2 chain, the volumes)"},
    {"configure", R"(--name NAME [--cpu N] [--memory SIZE] [--insecure-registry HOST[:PORT]|CIDR]... [--registry-ca FILE]...
             (a registry flag replaces the VCH's list; one empty value clears it))"},
    {"restart", "--name NAME | --all   (--all: every VCH on this host, as a booting host runs it)"},
    {"upgrade", "--name NAME    (installs this build's endpoint, kernel and bootstrap image)"},
    {"delete", "--name NAME [--force]"},
    {"admin-token", "--name NAME [--rotate]   (vicadmin's login token; --rotate replaces it and ends every session)"},
    {"version", "(vic-machine's version)"},
};

const char* kUsageNotes = R"(
--api-address defaults to 0.0.0.0 when clients must present certificates and to 127.0.0.1
with --no-tls or --no-tlsverify (anyone who reaches the port controls the VCH).
An insecure registry is tried over https without checking its certificate, then over plain http
(dockerd's rule); every other registry must present a certificate that the host's CAs or the
--registry-ca certificates verify. Loopback registries always get plain http.
See man vic-machine(1) and docs/runtime.md.
)";

std::string commandLine(const CommandHelp& c) {
  std::string name = c.name;
  return "  " + name + std::string(name.size() < 11 ? 11 - name.size() : 1, ' ') + c.synopsis + "\n";
}

std::string usage() {
  std::string text = "usage: vic-machine COMMAND [flags]   (vic-machine help COMMAND, or COMMAND --help)\n\nCommands:\n";
  for (const auto& c : kCommands) text += commandLine(c);
  return text + kUsageNotes;
}

// One command's help, or nullopt for a command that does not exist.
std::optional<std::string> commandUsage(const std::string& name) {
  for (const auto& c : kCommands) {
    if (name == c.name) return "usage: vic-machine " + name + " [flags]\n\n" + commandLine(c) + (name == "create" ? kUsageNotes : "");
  }
  return std::nullopt;
}

bool wantsHelp(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
}

void progress(const std::string& line) {
  char ts[16];
  std::time_t now = std::time(nullptr);
  std::strftime(ts, sizeof ts, "%H:%M:%S", std::localtime(&now));
  std::printf("[%s] %s\n", ts, line.c_str());
  std::fflush(stdout);
}

int fail(const std::string& message) {
  std::fprintf(stderr, "vic-machine: %s\n", message.c_str());
  return 1;
}

const std::vector<FlagSpec> kCreateFlags = {
    {"name"}, {"target"}, {"image-store"}, {"volume-store", true, true}, {"cpu"}, {"memory"}, {"bridge-network"},
    {"bridge-network-range"}, {"no-tls", false}, {"no-tlsverify", false}, {"tls-cname", true, true}, {"api-address"},
    {"api-port"}, {"admin-port"}, {"insecure-registry", true, true}, {"registry-ca", true, true}, {"kernel"}, {"bootstrap"}, {"timeout"},
    {"no-instant-clone", false}, {"container-network", true, true}, {"container-network-gateway", true, true}, {"container-network-ip-range", true, true},
    {"container-network-dns", true, true}};

vic::Result<CreateOptions> createOptions(const Flags& f) {
  CreateOptions o;
  o.name = f.get("name", o.name);
  o.target = f.get("target", o.target);
  o.imageStore = f.get("image-store");
  for (const auto& v : f.all("volume-store")) {
    auto vs = parseVolumeStore(v);
    if (!vs) return vs.error();
    o.volumeStores.push_back(*vs);
  }
  if (f.has("cpu")) {
    int cpus = std::atoi(f.get("cpu").c_str());
    if (cpus <= 0) return vic::Error(vic::Errc::kInvalidArgument, "--cpu must be a positive number of CPUs");
    o.cpus = cpus;
  }
  if (f.has("memory")) {
    auto m = parseSizeMiB(f.get("memory"));
    if (!m) return m.error();
    o.memoryMiB = *m;
  }
  o.bridgeNetwork = f.get("bridge-network");
  if (f.has("bridge-network-range")) {
    auto r = parseCidr(f.get("bridge-network-range"));
    if (!r) return r.error();
    if (r->prefix > 28) return vic::Error(vic::Errc::kInvalidArgument, "bridge network range " + r->str() + " is too small (at most /28)");
    o.bridgeRange = *r;
  }
  o.tls = !f.has("no-tls");
  o.tlsVerify = !f.has("no-tlsverify");
  o.tlsCnames = f.all("tls-cname");
  o.apiAddress = f.get("api-address", defaultApiAddress(o.tls, o.tlsVerify));
  if (!parseCidr(o.apiAddress)) return vic::Error(vic::Errc::kInvalidArgument, "invalid --api-address " + o.apiAddress);
  o.apiPort = std::atoi(f.get("api-port", "0").c_str());
  if (o.apiPort < 0 || o.apiPort > 65535) return vic::Error(vic::Errc::kInvalidArgument, "invalid --api-port");
  o.adminPort = std::atoi(f.get("admin-port", "0").c_str());
  if (o.adminPort < 0 || o.adminPort > 65535) return vic::Error(vic::Errc::kInvalidArgument, "invalid --admin-port");
  o.insecureRegistries = f.all("insecure-registry");
  o.registryCaFiles = f.all("registry-ca");
  o.instantClone = !f.has("no-instant-clone");
  auto cn = parseContainerNetworks(f);
  if (!cn) return cn.error();
  o.containerNetworks = *cn;
  o.kernel = f.get("kernel");
  o.bootstrap = f.get("bootstrap");
  o.timeoutSeconds = std::atoi(f.get("timeout", "120").c_str());
  return o;
}

int create(const Flags& f) {
  auto o = createOptions(f);
  if (!o) return fail(o.error().message());
  if (auto warning = exposureWarning(o->name, o->apiAddress, o->tls, o->tlsVerify); !warning.empty()) {
    std::fprintf(stderr, "\n%s\n\n", warning.c_str());
  }
  progress("Creating VCH " + o->name);
  auto c = createVch(*o, progress);
  if (!c) return fail("creating " + o->name + ": " + c.error().message());
  progress("VCH " + c->name + " is ready. Environment file: " + c->datastore + "/" + c->name + ".env");
  std::printf("\nConnect the docker CLI with:\n\n  export $(cat %s/%s.env)\n\nor\n\n", c->datastore.c_str(), c->name.c_str());
  std::string text = inspectText(*c, true);
  std::printf("%s", text.substr(text.find("Connect with:\n") + 14).c_str());
  return 0;
}

int list() {
  std::printf("%-16s %-9s %-28s %-6s %-10s %s\n", "NAME", "ENDPOINT", "DOCKER_HOST", "CPU", "MEMORY", "IMAGE STORE");
  for (const auto& c : listVchs()) {
    std::printf("%-16s %-9s %-28s %-6s %-10s %s\n", c.name.c_str(), endpointPid(c) ? "running" : "stopped",
                c.dockerHost.c_str(), c.cpus ? std::to_string(c.cpus).c_str() : "-",
                c.memoryMiB ? (std::to_string(c.memoryMiB) + "MiB").c_str() : "-", c.datastore.c_str());
  }
  return 0;
}

// Every VCH's endpoint stopped (when it runs) and started; the others still come up when one
// fails. The endpoint remakes what a reboot took (resource pool, chains) and applies policies.
int restartAll(int timeoutSeconds) {
  int failed = 0;
  for (const auto& c : listVchs()) {
    auto st = stopEndpoint(c);
    if (st) st = startEndpoint(c, timeoutSeconds, progress);
    if (!st) {
      std::fprintf(stderr, "vic-machine: restarting %s: %s\n", c.name.c_str(), st.error().message().c_str());
      ++failed;
    }
  }
  return failed == 0 ? 0 : 1;
}

int run(const std::string& cmd, const std::vector<std::string>& args) {
  auto parse = [&](const std::vector<FlagSpec>& specs) { return parseFlags(args, specs); };
  if (cmd == "version") {
    std::printf("vic-machine %s\n", VIC_VERSION);
    return 0;
  }
  if (cmd == "ls") {
    auto f = parse({});
    return f ? list() : fail(f.error().message());
  }
  if (cmd == "create") {
    auto f = parse(kCreateFlags);
    return f ? create(*f) : fail(f.error().message());
  }
  auto f = parse({{"name"}, {"all", false}, {"force", false}, {"rotate", false}, {"json", false}, {"disks", false}, {"cpu"}, {"memory"}, {"timeout"},
                  {"insecure-registry", true, true}, {"registry-ca", true, true}});
  if (!f) return fail(f.error().message());
  if (cmd == "restart" && f->has("all")) return restartAll(std::atoi(f->get("timeout", "120").c_str()));
  if (!f->has("name")) return fail(cmd + " needs --name");
  std::string name = f->get("name");
  if (cmd == "delete") {
    auto st = deleteVch(name, f->has("force"), progress);
    if (!st) return fail("deleting " + name + ": " + st.error().message());
    progress("VCH " + name + " deleted");
    return 0;
  }
  auto c = findVch(name);
  if (!c) return fail(c.error().message());
  if (cmd == "inspect" && f->has("disks")) {
    auto text = disksText(*c);
    if (!text) return fail(text.error().message());
    std::printf("%s", text->c_str());
    return 0;
  }
  if (cmd == "inspect") {
    std::printf("%s", f->has("json") ? vic::vch::encodeVchConfig(*c).c_str() : inspectText(*c, endpointPid(*c).has_value()).c_str());
    return 0;
  }
  if (cmd == "restart") {
    if (auto st = stopEndpoint(*c); !st) return fail(st.error().message());
    auto st = startEndpoint(*c, std::atoi(f->get("timeout", "120").c_str()), progress);
    return st ? 0 : fail(st.error().message());
  }
  if (cmd == "admin-token") {
    auto token = adminToken(*c, f->has("rotate"));
    if (!token) return fail(token.error().message());
    std::printf("%s\n", token->c_str());
    return 0;
  }
  if (cmd == "upgrade") {
    auto st = upgradeVch(name, progress);
    return st ? 0 : fail("upgrading " + name + ": " + st.error().message());
  }
  if (cmd == "configure") {
    ConfigureOptions o;
    if (f->has("cpu")) o.cpus = std::atoi(f->get("cpu").c_str());
    if (o.cpus && *o.cpus < 0) return fail("--cpu must be 0 (unlimited) or more");
    if (f->has("memory")) {
      auto m = f->get("memory") == "0" ? vic::Result<uint64_t>(uint64_t{0}) : parseSizeMiB(f->get("memory"));
      if (!m) return fail(m.error().message());
      o.memoryMiB = *m;
    }
    auto list = [&](const char* flag) -> std::optional<std::vector<std::string>> {
      if (!f->has(flag)) return std::nullopt;
      auto all = f->all(flag);
      if (all == std::vector<std::string>{""}) all.clear();  // --flag "": none
      return all;
    };
    o.insecureRegistries = list("insecure-registry");
    o.registryCaFiles = list("registry-ca");
    if (!o.cpus && !o.memoryMiB && !o.insecureRegistries && !o.registryCaFiles) {
      return fail("configure needs --cpu, --memory, --insecure-registry or --registry-ca");
    }
    auto st = configureVch(name, o, progress);
    return st ? 0 : fail("configuring " + name + ": " + st.error().message());
  }
  return fail("unknown command \"" + cmd + "\"\n" + usage());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + std::min(argc, 2), argv + argc);
  std::string cmd = argc < 2 ? "" : argv[1];
  if (cmd.empty() || cmd == "--help" || cmd == "-h" || (cmd == "help" && args.empty())) {
    std::fputs(usage().c_str(), cmd.empty() ? stderr : stdout);
    return cmd.empty() ? 2 : 0;
  }
  if (cmd == "--version") cmd = "version";
  if (cmd == "help" || wantsHelp(args)) {
    auto text = commandUsage(cmd == "help" ? args[0] : cmd);
    if (!text) return fail("unknown command \"" + (cmd == "help" ? args[0] : cmd) + "\"\n" + usage());
    std::fputs(text->c_str(), stdout);
    return 0;
  }
  return run(cmd, args);
}
