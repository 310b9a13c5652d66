// The conditional StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image
// Quality of StyleGAN"; conditioning as in StyleGAN2-ADA) behind the stylegan plugin.
//
// Generator:  z, c -> mapping -> w -> synthesis(w per layer) -> image.
//   mapping:   [norm2(z), norm2(embed(c))] -> `mapping_layers` equalised-lr linear
//              layers (lr multiplier `mapping_lr_mul`, leaky ReLU) -> w.
//   synthesis: learned 4x4 constant -> modulated/demodulated 3x3 conv (+noise) -> toRGB,
//              then per resolution 8..S: bilinear 2x upsample, two modulated convs
//              (+noise), toRGB added to the upsampled running image (skip generator).
//              Layer i of the synthesis reads w[:, i]; num_ws() = 2 log2(S) - 2.
// Discriminator (residual): fromRGB at S -> ResBlocks (3x3 conv, blurred downsample +
//   3x3 conv, 1x1 skip, summed / sqrt 2) down to 4x4 -> minibatch stddev -> 3x3 conv ->
//   linear -> h; logit = linear(h) + <embed(c), h> / sqrt(dim h) (projection head).
// Every weight is stored N(0, 1) and scaled at run time by its He constant (equalised
// learning rate). Channels per resolution: min(channel_base / res, channel_max).
#pragma once

#include <covergen/gan.hpp>
#include <covergen/w_space.hpp>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace covergen::stylegan {

/// Everything that fixes a model; JSON keys are the member names.
struct StyleGanConfig {
  std::int64_t image_size = 64;          ///< 32, 64, 128 or 256
  std::int64_t latent_dim = 512;         ///< z
  std::int64_t w_dim = 512;              ///< w (and style) width
  std::int64_t condition_dim = 0;        ///< 0 = unconditional
  std::int64_t condition_embed = 0;      ///< width of embed(c) before the mapping; 0 = w_dim
  std::int64_t mapping_layers = 8;
  double mapping_lr_mul = 0.01;
  std::int64_t channel_base = 32768;     ///< channels at resolution r: min(channel_base / r, channel_max)
  std::int64_t channel_max = 512;
  double lr = 0.002;
  double beta1 = 0.0, beta2 = 0.99;
  double r1_gamma = 10.0;                ///< 0 disables R1
  std::int64_t r1_interval = 16;         ///< lazy R1: every r1_interval steps
  double pl_weight = 2.0;                ///< path-length regularisation weight; 0 disables it
  std::int64_t pl_interval = 4;
  std::int64_t pl_batch_shrink = 2;
  double pl_decay = 0.01;
  double style_mixing = 0.9;             ///< probability of mixing two latents per batch
  std::int64_t mbstd_group = 4;
  double ema_beta = 0.999;
  std::int64_t w_avg_samples = 1024;     ///< latents used to estimate the mean w of a condition

  void update_from_json(const std::string& json);
  std::string to_json() const;
  std::int64_t log2_size() const;
  std::int64_t channels(std::int64_t resolution) const;
  std::int64_t num_ws() const { return 2 * log2_size() - 2; }
  std::int64_t embed_dim() const { return condition_embed > 0 ? condition_embed : w_dim; }
};

/// x / sqrt(mean(x^2 over dim 1) + eps) (StyleGAN's 2nd-moment normalisation).
at::Tensor normalize_2nd_moment(const at::Tensor& x, double eps = 1e-8);

/// Linear layer with equalised learning rate: y = x (W * lr_mul / sqrt(in))^T + b * lr_mul,
/// W ~ N(0, 1/lr_mul^2) stored; optional leaky ReLU(0.2) * sqrt(2).
class EqualLinearImpl : public torch::nn::Module {
 public:
  EqualLinearImpl(std::int64_t in, std::int64_t out, bool bias = true, double bias_init = 0.0, double lr_mul = 1.0,
                  bool activate = false);
  at::Tensor forward(const at::Tensor& x);
  std::int64_t in, out;
  double lr_mul;
  bool activate;
  at::Tensor weight, bias;
};
TORCH_MODULE(EqualLinear);

/// Modulated convolution: the weight W [out, in, k, k] (He-scaled) modulated by the
/// per-sample style s = affine(w) [N, in] and, when `demodulate`, each output channel
/// divided by sqrt(sum_{in,k,k} (W s)^2 + 1e-8). Computed without grouped convolution:
/// conv(x * s, W) * d, identical in exact arithmetic to the per-sample weight.
class ModulatedConvImpl : public torch::nn::Module {
 public:
  ModulatedConvImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t w_dim, bool demodulate);
  /// x [N, in, H, W], w [N, w_dim] -> [N, out, H, W] (no bias, no activation).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& w);
  /// The demodulation coefficients [N, out] for styles s [N, in].
  at::Tensor demod_coefficients(const at::Tensor& styles) const;
  std::int64_t in, out, kernel;
  bool demodulate;
  EqualLinear affine{nullptr};  ///< w -> style, bias initialised to 1
  at::Tensor weight;            ///< [out, in, k, k] ~ N(0, 1)
};
TORCH_MODULE(ModulatedConv);

/// How the synthesis gets its per-pixel noise.
enum class NoiseMode { random, constant, none };

/// Modulated 3x3 conv, optional 2x bilinear upsample before it, noise, bias, lReLU*sqrt2.
class StyledConvImpl : public torch::nn::Module {
 public:
  StyledConvImpl(std::int64_t in, std::int64_t out, std::int64_t w_dim, std::int64_t resolution, bool upsample);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& w, NoiseMode noise);
  bool upsample;
  ModulatedConv conv{nullptr};
  at::Tensor noise_strength, bias, noise_const;  ///< noise_const [1, 1, R, R] (a buffer)
};
TORCH_MODULE(StyledConv);

/// 1x1 modulated conv to RGB without demodulation, plus bias.
class ToRgbImpl : public torch::nn::Module {
 public:
  ToRgbImpl(std::int64_t in, std::int64_t w_dim);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& w);
  ModulatedConv conv{nullptr};
  at::Tensor bias;
};
TORCH_MODULE(ToRgb);

class MappingNetworkImpl : public torch::nn::Module {
 public:
  explicit MappingNetworkImpl(const StyleGanConfig& config);
  /// z [N, latent_dim], c [N, condition_dim] (undefined when unconditional) -> w [N, w_dim].
  at::Tensor forward(const at::Tensor& z, const at::Tensor& c);
  StyleGanConfig config;
  EqualLinear embed{nullptr};  ///< condition embedding (conditional only)
  std::vector<EqualLinear> layers;
};
TORCH_MODULE(MappingNetwork);

class SynthesisNetworkImpl : public torch::nn::Module {
 public:
  explicit SynthesisNetworkImpl(const StyleGanConfig& config);
  /// ws [N, num_ws, w_dim] -> image [N, 3, S, S] (not clamped).
  at::Tensor forward(const at::Tensor& ws, NoiseMode noise);
  StyleGanConfig config;
  at::Tensor const_input;             ///< [C4, 4, 4]
  StyledConv conv1{nullptr};          ///< 4x4, reads ws[:, 0]
  ToRgb to_rgb1{nullptr};             ///< reads ws[:, 1]
  /// Per resolution 8..S (block b): convs[2b] (upsampling, ws[:, 1+2b]),
  /// convs[2b+1] (ws[:, 2+2b]), to_rgbs[b] (ws[:, 3+2b]).
  std::vector<StyledConv> convs;
  std::vector<ToRgb> to_rgbs;
};
TORCH_MODULE(SynthesisNetwork);

class StyleGeneratorImpl : public torch::nn::Module {
 public:
  explicit StyleGeneratorImpl(const StyleGanConfig& config);
  /// ws [N, num_ws, w_dim] from one w per sample, or from two mixed at `crossover`
  /// (layers < crossover read w1, the rest w2).
  at::Tensor broadcast(const at::Tensor& w) const;
  at::Tensor mix(const at::Tensor& w1, const at::Tensor& w2, std::int64_t crossover) const;
  StyleGanConfig config;
  MappingNetwork mapping{nullptr};
  SynthesisNetwork synthesis{nullptr};
};
TORCH_MODULE(StyleGenerator);

/// Blurred 2x downsample ([1,3,3,1] filter, stride 2), per channel.
at::Tensor blur_downsample(const at::Tensor& x);
/// Minibatch standard deviation (Karras et al.): x [N, C, H, W] -> [N, C+1, H, W], the
/// extra channel the stddev over groups of min(group, N) samples (largest divisor of N).
at::Tensor minibatch_stddev(const at::Tensor& x, std::int64_t group);

/// Equalised-lr 2-D convolution (optionally with a blurred 2x downsample before it).
class EqualConvImpl : public torch::nn::Module {
 public:
  EqualConvImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, bool bias, bool activate, bool downsample);
  at::Tensor forward(const at::Tensor& x);
  std::int64_t in, out, kernel;
  bool activate, downsample;
  at::Tensor weight, bias;
};
TORCH_MODULE(EqualConv);

class StyleDiscriminatorImpl : public torch::nn::Module {
 public:
  explicit StyleDiscriminatorImpl(const StyleGanConfig& config);
  /// x [N, 3, S, S], c [N, condition_dim] (undefined when unconditional) -> logits [N].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& c);
  StyleGanConfig config;
  EqualConv from_rgb{nullptr};
  /// Per resolution S..8: conv (3x3), down (blurred downsample + 3x3), skip (downsample + 1x1).
  std::vector<EqualConv> block_conv, block_down, block_skip;
  EqualConv final_conv{nullptr};
  EqualLinear final_linear{nullptr}, out{nullptr}, projection{nullptr};
};
TORCH_MODULE(StyleDiscriminator);

/// The generator as a covergen::ConditionalGenerator: constant noise, output clamped to
/// [-1, 1]; truncation psi < 1 pulls w towards the mean w of each sample's condition,
/// estimated from `w_avg_samples` fixed latents (cached per condition until the
/// weights change). Its W space (covergen::WSpace) is the mapping network's output:
/// generate(z, c, o) = synthesize(map_to_w(z, c, o)), one w for every layer.
class StyleConditionalGenerator : public ConditionalGenerator, public WSpace {
 public:
  StyleConditionalGenerator(const StyleGanConfig& config, StyleGenerator module);
  ~StyleConditionalGenerator() override;
  std::string config_json() const override { return config_.to_json(); }
  NamedTensors named_tensors() override;
  void to(const c10::Device& device) override;
  c10::Device device() const override;
  std::int64_t latent_dim() const override { return config_.latent_dim; }
  std::int64_t condition_dim() const override { return config_.condition_dim; }
  std::int64_t image_size() const override { return config_.image_size; }
  at::Tensor generate(const at::Tensor& z, const at::Tensor& c, const GenerateOptions& options = {}) override;

  std::int64_t w_dim() const override { return config_.w_dim; }
  /// Checked inputs, then map(z, c, options.truncation), without gradients.
  at::Tensor map_to_w(const at::Tensor& z, const at::Tensor& c, const GenerateOptions& options = {}) override;
  /// w [N, w_dim] -> images [N, 3, S, S] in [-1, 1] (constant noise), without gradients.
  at::Tensor synthesize(const at::Tensor& w) override;

  /// w of each sample (truncated towards its condition's mean w when psi < 1): [N, w_dim].
  at::Tensor map(const at::Tensor& z, const at::Tensor& c, double psi);
  /// The mean w of one condition row c [condition_dim] (or of the prior when unconditional).
  /// Under the JIT tracer (covergen export) a conditional centre is computed in the
  /// traced graph from c, not looked up by c's value.
  at::Tensor mean_w(const at::Tensor& c);
  StyleGenerator& module() { return module_; }

 private:
  std::int64_t weights_version() const;
  StyleGanConfig config_;
  StyleGenerator module_;
  std::map<std::vector<float>, at::Tensor> w_avg_cache_;
  std::int64_t cache_version_ = -1;
};

/// The GanModel: phases {D, D_r1 every r1_interval, G, G_pl every pl_interval}.
class StyleGanModel : public GanModel {
 public:
  explicit StyleGanModel(const std::string& json);
  ~StyleGanModel() override;

  ConditionalGenerator& generator() override { return *gen_; }
  std::unique_ptr<ConditionalGenerator> make_generator() const override;
  std::vector<OptimizerSpec> optimizers() override;
  std::vector<Phase> phases() const override;
  LossStats run_phase(std::size_t phase, const PhaseBatch& batch, const PhaseContext& ctx) override;
  double ema_beta() const override { return config_.ema_beta; }
  void set_training(bool training) override;
  std::string config_json() const override { return config_.to_json(); }
  /// "G.<name>" (the generator's names), "D.<name>", "state.pl_mean".
  NamedTensors named_tensors() override;
  void to(const c10::Device& device) override;
  c10::Device device() const override;

  const StyleGanConfig& config() const { return config_; }
  StyleGenerator& G() { return G_; }
  StyleDiscriminator& D() { return D_; }
  /// ws for a batch, mixing with a second latent with probability style_mixing.
  at::Tensor training_ws(const at::Tensor& z, const at::Tensor& c, const PhaseContext& ctx);

 private:
  void check_batch(const PhaseBatch& b, bool needs_real) const;
  LossStats run_d(const PhaseBatch& b, const PhaseContext& ctx);
  LossStats run_r1(const PhaseBatch& b);
  LossStats run_g(const PhaseBatch& b, const PhaseContext& ctx);
  LossStats run_pl(const PhaseBatch& b, const PhaseContext& ctx);

  StyleGanConfig config_;
  StyleGenerator G_{nullptr};
  StyleDiscriminator D_{nullptr};
  at::Tensor pl_mean_;
  std::unique_ptr<StyleConditionalGenerator> gen_;
};

}  // namespace covergen::stylegan
