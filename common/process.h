// Running a helper program (qemu-img, mke2fs) and capturing what it prints.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace vic {

struct ProcessResult {
  int exitCode = -1;
  std::string out, err;
};

// Runs argv[0] (searched in PATH) to completion. A non-zero exit is not an error here.
Result<ProcessResult> runProcess(const std::vector<std::string>& argv);
// Same, but a non-zero exit becomes an error carrying the program's stderr.
Result<std::string> runChecked(const std::vector<std::string>& argv, const std::string& what);

}  // namespace vic
