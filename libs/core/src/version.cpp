#include "covergen/version.hpp"

#include <torch/csrc/api/include/torch/version.h>

namespace covergen {
const char* version() { return COVERGEN_VERSION_STRING; }
const char* torch_version() { return TORCH_VERSION; }
}  // namespace covergen
