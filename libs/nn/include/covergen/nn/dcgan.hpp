// The DCGAN-family architecture shared by the dcgan and wgan-gp plugins, its config,
// and the ConditionalGenerator that wraps the generator for inference.
//
// Generator (Radford et al., conditioned as Reed et al.): [z, LReLU(Linear(c))] as a
// 1x1 map -> ConvT k4 s1 -> 4x4 x (ngf * 2^(L-1)) -> (ConvT k4 s2 p1, BN, ReLU) ...
// -> ConvT to 3 channels -> tanh, with L = log2(image_size) - 2 BN blocks (64x64: the
// pytorch/examples layout, 8ngf 4ngf 2ngf ngf).
// Discriminator: Conv k4 s2 p1 down to 4x4 (ndf, 2ndf, ... with `d_norm` after every
// conv but the first; LeakyReLU 0.2), then per `condition`:
//   concat     — the compressed condition replicated over 4x4, concatenated, 1x1 conv
//                back to the feature width + norm + LReLU (Reed et al.);
//   projection — logit += <Linear(c), sum_hw features> (Miyato & Koyama);
// then Conv k4 to one logit per image (no sigmoid: the losses take logits).
#pragma once

#include "covergen/nn/conv_transpose.hpp"
#include "covergen/nn/layers.hpp"

#include <covergen/generator.hpp>

#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace covergen::nn {

/// Everything that fixes a DCGAN-family model; JSON keys are the member names.
struct GanConfig {
  std::int64_t image_size = 64;       ///< 32, 64 or 128
  std::int64_t latent_dim = 100;      ///< nz
  std::int64_t condition_dim = 0;     ///< 0 = unconditional
  std::int64_t condition_embed = 128; ///< width of the compressed condition
  std::int64_t ngf = 64, ndf = 64;
  /// Discriminator side: "projection" (Miyato & Koyama; the default: conditioning fidelity
  /// 0.95 on the synthetic set at 32px after 2000 steps, where "concat" had reached 0.27
  /// after 1200; docs/training.md) | "concat" (the condition joined to D's 4x4 features).
  std::string condition = "projection";
  std::string convt = "viaconv";      ///< "viaconv" | "native"
  std::string d_norm = "batch";       ///< "batch" | "layer" | "none"
  double lr_g = 2e-4, lr_d = 2e-4;
  double beta1 = 0.5, beta2 = 0.999;
  std::int64_t n_critic = 1;          ///< discriminator repeats per step
  double gp_lambda = 0.0;             ///< gradient penalty weight (WGAN-GP)
  double ema_beta = 0.999;
  bool reuse_fake = true;             ///< G phase reuses the D phase's fakes (pytorch/examples)

  /// Overrides the defaults above with the keys of a JSON object string ("" = none);
  /// "lr" sets both lrs, "betas" [b1, b2] both betas. Unknown keys and bad values
  /// throw covergen::InputError naming the key.
  void update_from_json(const std::string& json, const std::string& who);
  /// The resolved config (every key) as a JSON object string.
  std::string to_json() const;
  /// Number of up/down-sampling blocks between 4x4 and image_size.
  std::int64_t blocks() const;
};

class DcganGeneratorImpl : public torch::nn::Cloneable<DcganGeneratorImpl> {
 public:
  explicit DcganGeneratorImpl(const GanConfig& config);
  void reset() override;
  /// z [N, latent_dim] (or [N, latent_dim, 1, 1]), c [N, condition_dim] -> [N, 3, S, S].
  /// Uses BatchNorm in the module's current mode (batch stats when training).
  at::Tensor forward(const at::Tensor& z, const at::Tensor& c);

  /// BatchNorm folded into the preceding transposed convs: one (weight, bias) per conv.
  /// `dtype` kBFloat16 keeps bf16 copies for a bf16 forward (float32 otherwise).
  struct Folded {
    std::vector<at::Tensor> weights, biases;
    at::ScalarType dtype = at::kFloat;
  };
  Folded fold(at::ScalarType dtype = at::kFloat) const;
  /// Eval-mode forward with folded weights (identical to eval forward up to rounding;
  /// in bf16 when folded so, float32 output either way). Not differentiable.
  at::Tensor forward_folded(const at::Tensor& z, const at::Tensor& c, const Folded& folded,
                            bool channels_last = false);

  GanConfig config;
  ConditionEmbedding embed{nullptr};
  std::vector<ConvTranspose2d> convs;          ///< blocks() + 1 of them
  std::vector<torch::nn::BatchNorm2d> norms;   ///< blocks() of them

 private:
  at::Tensor input(const at::Tensor& z, const at::Tensor& c);
};
TORCH_MODULE(DcganGenerator);

class DcganDiscriminatorImpl : public torch::nn::Cloneable<DcganDiscriminatorImpl> {
 public:
  explicit DcganDiscriminatorImpl(const GanConfig& config);
  void reset() override;
  /// x [N, 3, S, S], c [N, condition_dim] (undefined when unconditional) -> logits [N].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& c);

  GanConfig config;
  std::vector<torch::nn::Conv2d> convs;  ///< down to 4x4
  std::vector<torch::nn::AnyModule> norms;  ///< after convs[1..]; empty modules for "none"
  ConditionEmbedding embed{nullptr};     ///< concat mode
  torch::nn::Conv2d joint{nullptr};      ///< concat mode: 1x1 conv over [features, condition]
  torch::nn::AnyModule joint_norm;
  ProjectionHead projection{nullptr};    ///< projection mode
  torch::nn::Conv2d head{nullptr};       ///< 4x4 -> 1

 private:
  torch::nn::AnyModule make_norm(std::int64_t channels, std::int64_t spatial, const std::string& name);
};
TORCH_MODULE(DcganDiscriminator);

/// All parameters then all buffers of a module, with their module-path names.
NamedTensors module_tensors(const torch::nn::Module& module, const std::string& prefix = "");

/// The generator as a covergen::ConditionalGenerator. generate() runs in eval mode under
/// InferenceMode with BatchNorm folded into the convolutions; the folded weights are
/// cached and recomputed when any generator tensor changes (version counters).
class DcganConditionalGenerator : public ConditionalGenerator {
 public:
  /// Shares `module` (the GanModel's live generator) or, with a null module, builds its own.
  DcganConditionalGenerator(const GanConfig& config, DcganGenerator module);
  ~DcganConditionalGenerator() override;

  std::string config_json() const override;
  NamedTensors named_tensors() override;
  void to(const c10::Device& device) override;
  c10::Device device() const override;
  std::int64_t latent_dim() const override { return config_.latent_dim; }
  std::int64_t condition_dim() const override { return config_.condition_dim; }
  std::int64_t image_size() const override { return config_.image_size; }
  at::Tensor generate(const at::Tensor& z, const at::Tensor& c, const GenerateOptions& options = {}) override;

  DcganGenerator& module() { return module_; }
  /// Generation knobs (measured in docs/performance.md).
  bool fold_batchnorm = true;
  bool channels_last = true;   // measured faster for generation (docs/performance.md)
  /// Run the convolutions in bfloat16 (oneDNN, AVX512-BF16): faster, image error
  /// ~1e-3 (measured in docs/performance.md); float32 output. Off by default.
  bool bf16 = false;
  /// Return the InferenceMode tensor itself (saves one copy; such a tensor cannot be
  /// used in autograd later). Off by default.
  bool return_inference_tensor = false;

 private:
  std::vector<std::int64_t> state_key() const;
  GanConfig config_;
  DcganGenerator module_;
  DcganGeneratorImpl::Folded folded_;
  std::vector<std::int64_t> folded_key_;
};

}  // namespace covergen::nn
