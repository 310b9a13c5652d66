// A cover genre classifier trained on a dataset's real covers: the judge of
// conditioning fidelity. Its accuracy on real test covers is the ceiling a
// generator conditioned on genre can reach under this judge.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>

namespace covergen::eval {

struct ClassifierOptions {
  std::int64_t epochs = 30;
  std::int64_t batch_size = 64;
  double lr = 2e-3;
  std::uint64_t seed = 0;
  c10::Device device{c10::kCPU};
};

class CoverClassifier {
 public:
  /// images: float32 [N, 3, S, S] in [-1, 1]; labels: int64 [N] in [0, classes).
  CoverClassifier(const at::Tensor& images, const at::Tensor& labels, std::int64_t classes,
                  const ClassifierOptions& options = {});
  ~CoverClassifier();
  CoverClassifier(CoverClassifier&&) noexcept;
  CoverClassifier& operator=(CoverClassifier&&) noexcept;

  /// Predicted class per image, int64 [N] (on the CPU).
  at::Tensor predict(const at::Tensor& images) const;
  /// The penultimate layer: globally average-pooled last conv block, float32 [N, 128]
  /// (on the CPU). The built-in feature space for FID/KID when no Inception is given.
  at::Tensor features(const at::Tensor& images) const;
  static constexpr std::int64_t feature_dim = 128;
  /// The last conv block before pooling, float32 [N, 128, S/4, S/4] on the judge's
  /// device, differentiable with respect to `images` (the judge's own weights are
  /// frozen): the feature term of perceptual losses (libs/upscale).
  at::Tensor feature_maps(const at::Tensor& images) const;
  /// Fraction of `images` predicted as `labels`.
  double accuracy(const at::Tensor& images, const at::Tensor& labels) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace covergen::eval
