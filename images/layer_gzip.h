// A layer as it goes to a registry: a gzip-compressed tar (Docker's schema 2 layer type). A blob
// kept gzip-compressed (as pulled, so it is byte for byte the registry's original) is used as it
// is; anything else (a plain tar from docker load or commit, a zstd layer) is decompressed and
// compressed anew with zlib, deterministically: no name and no mtime in the header, the same
// level, so the same tar always gives the same digest (a second push finds it in place).
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace vic::images {

struct LayerBlob {
  std::string path;        // the gzip file to upload
  std::string digest;      // its sha256
  uint64_t size = 0;       // its bytes
  bool temporary = false;  // made here under the work directory: the caller removes it
};

// `blob`: a layer's tar as the LayerStore kept it. `diffId`: checked against the uncompressed
// bytes when the layer is compressed anew (a stored tar that no longer matches is an error).
Result<LayerBlob> gzipLayer(const std::string& blob, const std::string& diffId, const std::string& workDir);

// The first two bytes are gzip's magic.
bool isGzipFile(const std::string& path);

// Deterministic gzip of `data` (the same bytes gzipLayer writes for a tar holding `data`).
std::string gzipBytes(const std::string& data);

}  // namespace vic::images
