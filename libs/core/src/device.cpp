#include "covergen/device.hpp"

#include "covergen/errors.hpp"

#include <torch/cuda.h>

namespace covergen {

int cuda_device_count() { return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0; }

std::string device_string(const c10::Device& device) { return device.str(); }

c10::Device parse_device(const std::string& spec) {
  const int n = cuda_device_count();
  if (spec == "auto") return n > 0 ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (spec == "cpu") return c10::Device(c10::kCPU);
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (spec.size() > 5) {
      const std::string num = spec.substr(5);
      if (num.empty() || num.size() > 3 || num.find_first_not_of("0123456789") != std::string::npos)
        throw InputError("--device " + spec + ": expected cuda:N with N a device number");
      index = std::stoi(num);
    }
    if (n == 0)
      throw InputError("--device " + spec +
                       ": CUDA is not available in this build or on this machine (this LibTorch is CPU-only or no "
                       "GPU is visible); use --device cpu or auto, or build against a CUDA LibTorch via Torch_DIR");
    if (index >= n)
      throw InputError("--device " + spec + ": only " + std::to_string(n) + " CUDA device(s) visible (cuda:0..cuda:" +
                       std::to_string(n - 1) + ")");
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw InputError("--device " + spec + ": expected auto, cpu, cuda or cuda:N");
}

}  // namespace covergen
