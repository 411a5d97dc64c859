// Image references with docker's normalisation: "busybox" is docker.io/library/busybox:latest,
// "localhost:5000/a/b@sha256:..." keeps its registry and digest. Errors use docker's words.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace vic::images {

struct Reference {
  std::string domain;  // registry: "docker.io", "localhost:5000"
  std::string path;    // repository path: "library/busybox"
  std::string tag;     // "latest" unless a digest alone was given
  std::string digest;  // "sha256:<64 hex>" or ""

  std::string name() const { return domain + "/" + path; }   // docker.io/library/busybox
  std::string str() const;        // fully qualified: name[:tag][@digest]
  std::string familiar() const;   // as docker prints it: busybox:latest, foo/bar:1
  std::string registryHost() const;  // where to connect: registry-1.docker.io for docker.io
};

Result<Reference> parseReference(std::string_view text);

// "sha256:<64 lowercase hex>"
bool validDigest(std::string_view d);

}  // namespace vic::images
