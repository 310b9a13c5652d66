// Device selection: one tensor backend (LibTorch), CPU or CUDA, chosen at run time.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace covergen {

/// Parses "auto", "cpu", "cuda" or "cuda:N". "auto" picks CUDA when
/// torch::cuda::is_available(), else CPU. Throws InputError when CUDA (or device N)
/// is requested but not available, saying which devices exist.
c10::Device parse_device(const std::string& spec);

/// Number of CUDA devices visible to this process (0 on a CPU-only build).
int cuda_device_count();

/// "cpu" or "cuda:N".
std::string device_string(const c10::Device& device);

}  // namespace covergen
