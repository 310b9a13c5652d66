// An optional second face of a ConditionalGenerator that has an intermediate
// latent space W (StyleGAN's mapping network output). Interpolation and
// animation look for it with dynamic_cast and then lerp in W instead of slerping
// in Z; generators without a W space simply do not implement it.
//
//   class StyleGenerator : public covergen::ConditionalGenerator, public covergen::WSpace { ... };
//
// The key function (destructor) lives in libcovergen_core so the typeinfo is one
// object for every plugin and dynamic_cast works across plugin boundaries.
#pragma once

#include "covergen/generator.hpp"

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace covergen {

class WSpace {
 public:
  virtual ~WSpace();

  /// Width of one w vector.
  virtual std::int64_t w_dim() const = 0;
  /// z [N, latent_dim], c [N, condition_dim] (undefined when unconditional) -> w [N, w_dim],
  /// with options.truncation applied (towards the per-condition mean w).
  virtual at::Tensor map_to_w(const at::Tensor& z, const at::Tensor& c, const GenerateOptions& options = {}) = 0;
  /// w [N, w_dim] (the same w for every layer) -> images [N, 3, S, S] in [-1, 1].
  /// synthesize(map_to_w(z, c, o)) equals generate(z, c, o).
  virtual at::Tensor synthesize(const at::Tensor& w) = 0;

 protected:
  WSpace() = default;
  WSpace(const WSpace&) = default;
  WSpace& operator=(const WSpace&) = default;
};

}  // namespace covergen
