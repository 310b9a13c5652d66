// Upscaler: cover art at S px -> the same art at factor()·S px (super-resolution),
// the step between a generator's 32-64 px output and print size (docs/upscaling.md).
//
// The plugin owns its architecture; the fitting loop, the losses and the data live in
// libs/upscale (upscale.hpp), so every upscaler plugin trains and is measured the same way.
#pragma once

#include "covergen/plugin_object.hpp"

#include <cstdint>
#include <vector>

namespace covergen {

class Upscaler : public PluginObject {
 public:
  ~Upscaler() override;

  /// Output side / input side, e.g. 16 for 64 px -> 1024 px.
  virtual std::int64_t factor() const = 0;
  /// The trainable tensors (leaves with requires_grad), aliasing the live ones.
  virtual std::vector<at::Tensor> parameters() = 0;
  /// images float32 [N, 3, S, S] in [-1, 1] -> [N, 3, k·S, k·S] (k = factor()), not
  /// clamped; records gradients when grad mode is on. Any S >= 4 works (fully convolutional).
  /// Throws InputError for another shape.
  virtual at::Tensor forward(const at::Tensor& images) = 0;

  /// forward() without gradients, clamped to [-1, 1]: what finishing uses.
  at::Tensor upscale(const at::Tensor& images);
};

}  // namespace covergen
