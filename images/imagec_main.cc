// vic-imagec: the image store from the command line (tests, benchmarks, debugging).
//   vic-imagec --datastore DIR [--json] pull [--platform os/arch[/variant]] [--parallel N] REF
//   vic-imagec --datastore DIR ls | inspect REF | tag REF NEWREF | rm [-f] REF | load FILE
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "images/image_loader.h"
#include "images/image_store.h"
#include "images/puller.h"
#include "images/reference.h"

namespace {

using namespace vic;
using namespace vic::images;

struct Args {
  std::string datastore, command;
  bool json = false, force = false;
  PullOptions pull;
  std::vector<std::string> rest;
};

int usage() {
  std::fprintf(stderr,
               "usage: vic-imagec --datastore DIR [--json] pull [--platform P] [--parallel N] REF\n"
               "       vic-imagec --datastore DIR ls | inspect REF | tag REF NEW | rm [-f] REF | load FILE\n");
  return 2;
}

Result<Args> parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (s == "--datastore") a.datastore = next();
    else if (s == "--json") a.json = true;
    else if (s == "-f" || s == "--force") a.force = true;
    else if (s == "--parallel") a.pull.parallel = std::atoi(next().c_str());
    else if (s == "--platform") {
      auto p = parsePlatform(next());
      if (!p) return std::move(p).error();
      a.pull.platform = *p;
    } else if (a.command.empty()) a.command = s;
    else a.rest.push_back(s);
  }
  if (a.datastore.empty() || a.command.empty()) return Error(Errc::kInvalidArgument, "missing --datastore or command");
  return a;
}

std::string familiarTags(const ImageRecord& r) {
  std::string out;
  for (const auto& t : r.repoTags) out += (out.empty() ? "" : ",") + parseReference(t)->familiar();
  return out.empty() ? "<none>" : out;
}

Status pull(ImageStore& store, const Args& a) {
  if (a.rest.size() != 1) return Error(Errc::kInvalidArgument, "pull takes one reference");
  Puller puller(store, store.downloadDir());
  ProgressSink sink = [&](const std::string& line) {
    if (a.json) {
      std::cout << line << std::flush;
      return;
    }
    auto j = nlohmann::json::parse(line);
    if (j.contains("progressDetail") && j["progressDetail"].contains("current")) return;
    std::cout << (j.contains("id") ? j["id"].get<std::string>() + ": " : "") << j.value("status", "") << "\n";
  };
  auto r = puller.pull(a.rest[0], a.pull, sink);
  if (!r) return std::move(r).error();
  return ok();
}

Status list(ImageStore& store) {
  for (const auto& r : store.list()) {
    std::printf("%-40s %s %10llu %zu layers\n", familiarTags(r).c_str(), r.id.substr(7, 12).c_str(),
                static_cast<unsigned long long>(r.size), r.diffIds.size());
  }
  return ok();
}

Status inspect(ImageStore& store, const Args& a) {
  if (a.rest.size() != 1) return Error(Errc::kInvalidArgument, "inspect takes one reference");
  auto r = store.find(a.rest[0]);
  if (!r) return std::move(r).error();
  nlohmann::json j = {{"Id", r->id}, {"RepoTags", r->repoTags}, {"RepoDigests", r->repoDigests},
                      {"Size", r->size}, {"TopLayerDisk", store.layers().diskOf(r->topLayer())}};
  std::cout << j.dump(2) << "\n";
  return ok();
}

Status remove(ImageStore& store, const Args& a) {
  if (a.rest.size() != 1) return Error(Errc::kInvalidArgument, "rm takes one reference");
  auto r = store.remove(a.rest[0], a.force, {});
  if (!r) return std::move(r).error();
  for (const auto& e : *r) std::cout << (e.untagged.empty() ? "Deleted: " + e.deleted : "Untagged: " + e.untagged) << "\n";
  return ok();
}

Status load(ImageStore& store, const Args& a) {
  if (a.rest.size() != 1) return Error(Errc::kInvalidArgument, "load takes one file");
  auto r = loadImages(store, a.rest[0], [](const std::string& line) { std::cout << line; });
  return r ? ok() : Status(std::move(r).error());
}

Status run(const Args& a) {
  auto ds = hv::Datastore::open(a.datastore);
  if (!ds) return std::move(ds).error();
  auto store = ImageStore::open(*ds);
  if (!store) return std::move(store).error();
  if (a.command == "pull") return pull(**store, a);
  if (a.command == "ls") return list(**store);
  if (a.command == "inspect") return inspect(**store, a);
  if (a.command == "rm") return remove(**store, a);
  if (a.command == "load") return load(**store, a);
  if (a.command == "tag" && a.rest.size() == 2) return (*store)->tag(a.rest[0], a.rest[1]);
  return Error(Errc::kInvalidArgument, "unknown command " + a.command);
}

}  // namespace

int main(int argc, char** argv) {
  auto args = parseArgs(argc, argv);
  if (!args) return usage();
  auto st = run(*args);
  if (!st) {
    std::fprintf(stderr, "Error: %s\n", st.error().message().c_str());
    return 1;
  }
  return 0;
}
