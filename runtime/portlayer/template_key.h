// Instant clone templates: what makes one usable for a container (pure, unit-tested).
// A template is only ever used for a clone whose every input matches: the same kernel and
// bootstrap image bytes, the same QEMU and accelerator (the device state's format), and the
// same shape (vCPUs, memory). The key names its directory, so a stale template is never found.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace vic::pl {

struct TemplateInputs {
  std::string imageDigest;  // sha256 over the kernel and the bootstrap image
  std::string hypervisor;   // QEMU version and accelerator, e.g. "7.2.22/tcg"
  int vcpus = 1;
  uint64_t memoryMiB = 0;
  uint64_t diskBytes = 0;  // every root disk's virtual size: the template's disk has it
  // The devices a template has, and where (hypervisor/domain_xml.cc): bumped when they change.
  std::string layout = "serial@1f,disk@1e,nic@1d,log@nr2";  // domain_xml.cc's fixed places
};

// "<12 hex of the inputs' digest>-<memory>m-<vcpus>c": a directory and VM name part.
std::string templateKey(const TemplateInputs& in);

// template.json, written last when a template is complete (its presence marks it usable).
std::string encodeTemplateRecord(const TemplateInputs& in, const std::string& tetherVersion);
// Ok when `record` describes exactly `in`; else why the template is not usable.
Status checkTemplateRecord(const std::string& record, const TemplateInputs& in);
// A template of any shape made for other images, QEMU or devices than `current`'s: never used again.
bool staleTemplateRecord(const std::string& record, const TemplateInputs& current);

}  // namespace vic::pl
