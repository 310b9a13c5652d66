// Small building blocks of the GAN plugins: DCGAN init, BatchNorm folding, the
// condition embedding (Reed et al. 2016) and the projection head (Miyato & Koyama 2018).
#pragma once

#include <ATen/core/Tensor.h>

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>

namespace covergen::nn {

/// DCGAN initialisation (Radford et al.): every Conv2d / ConvTranspose2d weight (torch's
/// and ours) from N(0, 0.02); BatchNorm scale from N(1, 0.02), shift 0. Other modules
/// keep their own init. Applies recursively; draws from the default generator.
void dcgan_init(torch::nn::Module& module);

/// A (transposed) convolution followed by an eval-mode BatchNorm, as one convolution:
/// w' = w * g / sqrt(var + eps) along the output-channel axis (dim 0 for a conv weight
/// [out, in, k, k], dim 1 for a transposed one [in, out, k, k]) and
/// b' = beta + (b - mean) * g / sqrt(var + eps). `bias` may be undefined. Returns {w', b'}.
std::pair<at::Tensor, at::Tensor> fold_batchnorm(const at::Tensor& weight, const at::Tensor& bias,
                                                 const torch::nn::BatchNorm2dImpl& bn, bool transposed);

/// Reed et al.'s condition compression: c [N, condition_dim] -> LeakyReLU_0.2(Linear(c)) [N, embed_dim].
class ConditionEmbeddingImpl : public torch::nn::Cloneable<ConditionEmbeddingImpl> {
 public:
  ConditionEmbeddingImpl(std::int64_t condition_dim, std::int64_t embed_dim);
  void reset() override;
  at::Tensor forward(const at::Tensor& c);
  /// forward(c) replicated over a size x size grid: [N, embed_dim, size, size].
  at::Tensor spatial(const at::Tensor& c, std::int64_t size);

  std::int64_t condition_dim, embed_dim;
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(ConditionEmbedding);

/// The projection discriminator's conditional term <embed(c), phi(x)>, with phi(x) the
/// features summed over space: features [N, C, H, W], c [N, condition_dim] -> [N].
/// For one-hot conditions embed(c) is exactly the class embedding of Miyato & Koyama.
class ProjectionHeadImpl : public torch::nn::Cloneable<ProjectionHeadImpl> {
 public:
  ProjectionHeadImpl(std::int64_t condition_dim, std::int64_t feature_channels);
  void reset() override;
  at::Tensor forward(const at::Tensor& features, const at::Tensor& c);

  std::int64_t condition_dim, feature_channels;
  torch::nn::Linear embed{nullptr};
};
TORCH_MODULE(ProjectionHead);

}  // namespace covergen::nn
