// ConditionalGenerator: (latent z, condition c) -> image.
#pragma once

#include "covergen/plugin_object.hpp"

#include <cstdint>
#include <string>

namespace covergen {

struct GenerateOptions {
  /// Truncation ψ in [0, 1]: 1 = none. Generators with a W space truncate towards
  /// the (per-condition) mean w; others scale z.
  double truncation = 1.0;
  /// Arithmetic of the generator's convolutions. bfloat16 runs them through oneDNN's
  /// bf16 kernels (AVX512-BF16 on this CPU family; float32 accumulation, float32
  /// output): several times faster, images within a few 8-bit levels of float32
  /// (docs/performance.md). Generators without a bf16 path compute in float32.
  enum class Precision { float32, bfloat16 };
  Precision precision = Precision::float32;
};

/// "float32"/"fp32" or "bfloat16"/"bf16"; throws InputError naming the value otherwise.
GenerateOptions::Precision precision_from_string(const std::string& name);
const char* to_string(GenerateOptions::Precision precision);

class ConditionalGenerator : public PluginObject {
 public:
  ~ConditionalGenerator() override;

  virtual std::int64_t latent_dim() const = 0;
  /// 0 for an unconditional generator (c is then ignored and may be undefined).
  virtual std::int64_t condition_dim() const = 0;
  /// Output images are image_size() x image_size().
  virtual std::int64_t image_size() const = 0;

  /// z [N, latent_dim], c [N, condition_dim] -> images [N, 3, S, S] in [-1, 1] (NCHW,
  /// float32, on the generator's device). Runs without recording gradients.
  virtual at::Tensor generate(const at::Tensor& z, const at::Tensor& c,
                              const GenerateOptions& options = {}) = 0;
};

}  // namespace covergen
