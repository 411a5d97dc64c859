// Owning pointers for libarchive handles (layer_apply, image_loader, image_saver).
#pragma once

#include <archive.h>

#include <memory>

namespace vic::images {

struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveReadFree>;
using ArchiveWriter = std::unique_ptr<archive, ArchiveWriteFree>;

}  // namespace vic::images
