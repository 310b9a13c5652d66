#include "covergen/nn/layers.hpp"

#include "covergen/nn/conv_transpose.hpp"

#include <ATen/ATen.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/conv.h>

namespace covergen::nn {

void dcgan_init(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  module.apply([](torch::nn::Module& m) {
    if (auto* c = m.as<torch::nn::Conv2dImpl>()) {
      c->weight.normal_(0.0, 0.02);
    } else if (auto* ct = m.as<torch::nn::ConvTranspose2dImpl>()) {
      ct->weight.normal_(0.0, 0.02);
    } else if (auto* ours = m.as<ConvTranspose2dImpl>()) {
      ours->weight.normal_(0.0, 0.02);
    } else if (auto* bn = m.as<torch::nn::BatchNorm2dImpl>()) {
      if (bn->options.affine()) {
        bn->weight.normal_(1.0, 0.02);
        bn->bias.zero_();
      }
    }
  });
}

std::pair<at::Tensor, at::Tensor> fold_batchnorm(const at::Tensor& weight, const at::Tensor& bias,
                                                 const torch::nn::BatchNorm2dImpl& bn, bool transposed) {
  TORCH_CHECK(bn.options.track_running_stats(), "fold_batchnorm: BatchNorm without running statistics");
  const std::int64_t out_dim = transposed ? 1 : 0;
  const std::int64_t channels = weight.size(out_dim);
  TORCH_CHECK(bn.running_mean.numel() == channels, "fold_batchnorm: ", channels, " output channels but BatchNorm has ",
              bn.running_mean.numel());
  // Compute in float64: the folded weights then match eval-mode BN to float rounding.
  at::Tensor inv = (bn.running_var.to(at::kDouble) + bn.options.eps()).rsqrt();
  if (bn.options.affine()) inv = inv * bn.weight.to(at::kDouble);
  std::vector<std::int64_t> shape(4, 1);
  shape[out_dim] = channels;
  at::Tensor w = (weight.to(at::kDouble) * inv.view(shape)).to(weight.scalar_type());
  at::Tensor b0 = bias.defined() ? bias.to(at::kDouble) : at::zeros_like(inv);
  at::Tensor b = (b0 - bn.running_mean.to(at::kDouble)) * inv;
  if (bn.options.affine()) b = b + bn.bias.to(at::kDouble);
  return {w.contiguous(), b.to(weight.scalar_type())};
}

ConditionEmbeddingImpl::ConditionEmbeddingImpl(std::int64_t condition_dim_, std::int64_t embed_dim_)
    : condition_dim(condition_dim_), embed_dim(embed_dim_) {
  reset();
}

void ConditionEmbeddingImpl::reset() {
  TORCH_CHECK(condition_dim > 0 && embed_dim > 0, "ConditionEmbedding: sizes must be positive");
  linear = register_module("linear", torch::nn::Linear(condition_dim, embed_dim));
}

at::Tensor ConditionEmbeddingImpl::forward(const at::Tensor& c) {
  TORCH_CHECK(c.defined() && c.dim() == 2 && c.size(1) == condition_dim, "condition: expected [N, ", condition_dim,
              "], got ", c.defined() ? c.sizes() : c10::IntArrayRef{});
  return at::leaky_relu(linear->forward(c), 0.2);
}

at::Tensor ConditionEmbeddingImpl::spatial(const at::Tensor& c, std::int64_t size) {
  return forward(c).view({c.size(0), embed_dim, 1, 1}).expand({c.size(0), embed_dim, size, size});
}

ProjectionHeadImpl::ProjectionHeadImpl(std::int64_t condition_dim_, std::int64_t feature_channels_)
    : condition_dim(condition_dim_), feature_channels(feature_channels_) {
  reset();
}

void ProjectionHeadImpl::reset() {
  TORCH_CHECK(condition_dim > 0 && feature_channels > 0, "ProjectionHead: sizes must be positive");
  embed = register_module("embed", torch::nn::Linear(torch::nn::LinearOptions(condition_dim, feature_channels).bias(false)));
  // N(0, 0.02) like the DCGAN head it is added to: torch's default (uniform +-1/sqrt(fan_in))
  // times sum-pooled features gives logits in the tens at init and an unstable start.
  torch::NoGradGuard no_grad;
  embed->weight.normal_(0.0, 0.02);
}

at::Tensor ProjectionHeadImpl::forward(const at::Tensor& features, const at::Tensor& c) {
  TORCH_CHECK(c.defined() && c.dim() == 2 && c.size(1) == condition_dim, "condition: expected [N, ", condition_dim,
              "]");
  const at::Tensor phi = features.sum({2, 3});  // [N, C]
  return (embed->forward(c) * phi).sum(1);
}

}  // namespace covergen::nn
