#include "stylegan_arch.hpp"

#include <covergen/errors.hpp>
#include <covergen/nn/dcgan.hpp>
#include <covergen/nn/gan_model.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TracerMode.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/autograd.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

namespace covergen::stylegan {

namespace {

const double kSqrt2 = std::sqrt(2.0);

at::Tensor lrelu_gain(const at::Tensor& x) { return at::leaky_relu(x, 0.2) * kSqrt2; }

template <class T>
T get_value(const nlohmann::json& v, const std::string& key) {
  try {
    return v.get<T>();
  } catch (const nlohmann::json::exception&) {
    throw InputError("stylegan config: \"" + key + "\" has the wrong type (" + v.dump() + ")");
  }
}

}  // namespace

// ---------------------------------------------------------------- config

void StyleGanConfig::update_from_json(const std::string& json) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json.empty() ? "{}" : json);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("stylegan config: not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw InputError("stylegan config: expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    auto i64 = [&] { return get_value<std::int64_t>(v, k); };
    auto dbl = [&] { return get_value<double>(v, k); };
    if (k == "image_size") image_size = i64();
    else if (k == "latent_dim") latent_dim = i64();
    else if (k == "w_dim") w_dim = i64();
    else if (k == "condition_dim") condition_dim = i64();
    else if (k == "condition_embed") condition_embed = i64();
    else if (k == "mapping_layers") mapping_layers = i64();
    else if (k == "mapping_lr_mul") mapping_lr_mul = dbl();
    else if (k == "channel_base") channel_base = i64();
    else if (k == "channel_max") channel_max = i64();
    else if (k == "lr") lr = dbl();
    else if (k == "beta1") beta1 = dbl();
    else if (k == "beta2") beta2 = dbl();
    else if (k == "betas") {
      auto b = get_value<std::vector<double>>(v, k);
      if (b.size() != 2) throw InputError("stylegan config: \"betas\" takes two numbers");
      beta1 = b[0];
      beta2 = b[1];
    } else if (k == "r1_gamma") r1_gamma = dbl();
    else if (k == "r1_interval") r1_interval = i64();
    else if (k == "pl_weight") pl_weight = dbl();
    else if (k == "pl_interval") pl_interval = i64();
    else if (k == "pl_batch_shrink") pl_batch_shrink = i64();
    else if (k == "pl_decay") pl_decay = dbl();
    else if (k == "style_mixing") style_mixing = dbl();
    else if (k == "mbstd_group") mbstd_group = i64();
    else if (k == "ema_beta") ema_beta = dbl();
    else if (k == "w_avg_samples") w_avg_samples = i64();
    else
      throw InputError("stylegan config: unknown key \"" + k +
                       "\" (known: image_size latent_dim w_dim condition_dim condition_embed mapping_layers "
                       "mapping_lr_mul channel_base channel_max lr betas beta1 beta2 r1_gamma r1_interval pl_weight "
                       "pl_interval pl_batch_shrink pl_decay style_mixing mbstd_group ema_beta w_avg_samples)");
  }
  auto bad = [](const std::string& what) { throw InputError("stylegan config: " + what); };
  if (image_size != 32 && image_size != 64 && image_size != 128 && image_size != 256)
    bad("image_size must be 32, 64, 128 or 256");
  if (latent_dim <= 0 || w_dim <= 0) bad("latent_dim and w_dim must be positive");
  if (condition_dim < 0) bad("condition_dim must be >= 0 (0 = unconditional)");
  if (condition_embed < 0) bad("condition_embed must be >= 0 (0 = w_dim)");
  if (mapping_layers < 1) bad("mapping_layers must be >= 1");
  if (!(mapping_lr_mul > 0)) bad("mapping_lr_mul must be positive");
  if (channel_base <= 0 || channel_max <= 0) bad("channel_base and channel_max must be positive");
  if (channel_base / image_size < 1)
    bad("channel_base " + std::to_string(channel_base) + " leaves no channels at " + std::to_string(image_size) +
        "px (need channel_base >= image_size)");
  if (!(lr > 0)) bad("lr must be positive");
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) bad("betas must lie in [0, 1)");
  if (!(r1_gamma >= 0)) bad("r1_gamma must be >= 0");
  if (r1_interval < 1 || pl_interval < 1) bad("r1_interval and pl_interval must be >= 1");
  if (!(pl_weight >= 0)) bad("pl_weight must be >= 0");
  if (pl_batch_shrink < 1) bad("pl_batch_shrink must be >= 1");
  if (!(pl_decay > 0 && pl_decay <= 1)) bad("pl_decay must lie in (0, 1]");
  if (!(style_mixing >= 0 && style_mixing <= 1)) bad("style_mixing must lie in [0, 1]");
  if (mbstd_group < 1) bad("mbstd_group must be >= 1");
  if (!(ema_beta >= 0 && ema_beta < 1)) bad("ema_beta must lie in [0, 1)");
  if (w_avg_samples < 1) bad("w_avg_samples must be >= 1");
}

std::string StyleGanConfig::to_json() const {
  nlohmann::json j{{"image_size", image_size},     {"latent_dim", latent_dim},
                   {"w_dim", w_dim},               {"condition_dim", condition_dim},
                   {"condition_embed", condition_embed}, {"mapping_layers", mapping_layers},
                   {"mapping_lr_mul", mapping_lr_mul},   {"channel_base", channel_base},
                   {"channel_max", channel_max},   {"lr", lr},
                   {"beta1", beta1},               {"beta2", beta2},
                   {"r1_gamma", r1_gamma},         {"r1_interval", r1_interval},
                   {"pl_weight", pl_weight},       {"pl_interval", pl_interval},
                   {"pl_batch_shrink", pl_batch_shrink}, {"pl_decay", pl_decay},
                   {"style_mixing", style_mixing}, {"mbstd_group", mbstd_group},
                   {"ema_beta", ema_beta},         {"w_avg_samples", w_avg_samples}};
  return j.dump();
}

std::int64_t StyleGanConfig::log2_size() const {
  std::int64_t l = 0;
  while ((std::int64_t{1} << l) < image_size) ++l;
  return l;
}

std::int64_t StyleGanConfig::channels(std::int64_t resolution) const {
  return std::max<std::int64_t>(1, std::min(channel_base / resolution, channel_max));
}

// ---------------------------------------------------------------- layers

at::Tensor normalize_2nd_moment(const at::Tensor& x, double eps) {
  return x * (x.square().mean(1, /*keepdim=*/true) + eps).rsqrt();
}

EqualLinearImpl::EqualLinearImpl(std::int64_t in_, std::int64_t out_, bool with_bias, double bias_init,
                                 double lr_mul_, bool activate_)
    : in(in_), out(out_), lr_mul(lr_mul_), activate(activate_) {
  weight = register_parameter("weight", at::randn({out, in}) / lr_mul);
  if (with_bias) bias = register_parameter("bias", at::full({out}, bias_init / lr_mul));
}

at::Tensor EqualLinearImpl::forward(const at::Tensor& x) {
  const at::Tensor y = at::linear(x, weight * (lr_mul / std::sqrt(static_cast<double>(in))),
                                  bias.defined() ? at::Tensor(bias * lr_mul) : at::Tensor());
  return activate ? lrelu_gain(y) : y;
}

ModulatedConvImpl::ModulatedConvImpl(std::int64_t in_, std::int64_t out_, std::int64_t kernel_, std::int64_t w_dim,
                                     bool demodulate_)
    : in(in_), out(out_), kernel(kernel_), demodulate(demodulate_) {
  affine = register_module("affine", EqualLinear(w_dim, in, true, 1.0));
  weight = register_parameter("weight", at::randn({out, in, kernel, kernel}));
}

at::Tensor ModulatedConvImpl::demod_coefficients(const at::Tensor& styles) const {
  const double scale = 1.0 / static_cast<double>(in * kernel * kernel);  // squared He constant
  const at::Tensor wsq = weight.square().sum({2, 3}) * scale;        // [out, in]
  return (at::matmul(styles.square(), wsq.t()) + 1e-8).rsqrt();      // [N, out]
}

at::Tensor ModulatedConvImpl::forward(const at::Tensor& x, const at::Tensor& w) {
  const std::int64_t n = x.size(0);
  const at::Tensor styles = affine->forward(w);  // [N, in]
  const double scale = 1.0 / std::sqrt(static_cast<double>(in * kernel * kernel));
  at::Tensor y = at::conv2d(x * styles.view({n, in, 1, 1}), weight * scale, {}, 1, kernel / 2);
  if (demodulate) y = y * demod_coefficients(styles).view({n, out, 1, 1});
  return y;
}

StyledConvImpl::StyledConvImpl(std::int64_t in, std::int64_t out, std::int64_t w_dim, std::int64_t resolution,
                               bool upsample_)
    : upsample(upsample_) {
  conv = register_module("conv", ModulatedConv(in, out, 3, w_dim, true));
  noise_strength = register_parameter("noise_strength", at::zeros({}));
  bias = register_parameter("bias", at::zeros({out}));
  noise_const = register_buffer("noise_const", at::randn({1, 1, resolution, resolution}));
}

at::Tensor StyledConvImpl::forward(const at::Tensor& x_in, const at::Tensor& w, NoiseMode noise) {
  at::Tensor x = x_in;
  if (upsample) x = at::upsample_bilinear2d(x, {2 * x.size(2), 2 * x.size(3)}, /*align_corners=*/false);
  at::Tensor y = conv->forward(x, w);
  if (noise == NoiseMode::random)
    y = y + at::randn({y.size(0), 1, y.size(2), y.size(3)}, y.options()) * noise_strength;
  else if (noise == NoiseMode::constant)
    y = y + noise_const * noise_strength;
  return lrelu_gain(y + bias.view({1, -1, 1, 1}));
}

ToRgbImpl::ToRgbImpl(std::int64_t in, std::int64_t w_dim) {
  conv = register_module("conv", ModulatedConv(in, 3, 1, w_dim, false));
  bias = register_parameter("bias", at::zeros({3}));
}

at::Tensor ToRgbImpl::forward(const at::Tensor& x, const at::Tensor& w) {
  return conv->forward(x, w) + bias.view({1, 3, 1, 1});
}

MappingNetworkImpl::MappingNetworkImpl(const StyleGanConfig& c) : config(c) {
  std::int64_t width = config.latent_dim;
  if (config.condition_dim > 0) {
    embed = register_module("embed", EqualLinear(config.condition_dim, config.embed_dim()));
    width += config.embed_dim();
  }
  for (std::int64_t i = 0; i < config.mapping_layers; ++i) {
    layers.push_back(register_module("fc" + std::to_string(i),
                                     EqualLinear(width, config.w_dim, true, 0.0, config.mapping_lr_mul, true)));
    width = config.w_dim;
  }
}

at::Tensor MappingNetworkImpl::forward(const at::Tensor& z, const at::Tensor& c) {
  at::Tensor x = normalize_2nd_moment(z);
  if (config.condition_dim > 0) {
    TORCH_CHECK(c.defined() && c.dim() == 2 && c.size(1) == config.condition_dim && c.size(0) == z.size(0),
                "stylegan mapping: condition must be [N, ", config.condition_dim, "]");
    x = at::cat({x, normalize_2nd_moment(embed->forward(c))}, 1);
  }
  for (auto& l : layers) x = l->forward(x);
  return x;
}

SynthesisNetworkImpl::SynthesisNetworkImpl(const StyleGanConfig& c) : config(c) {
  const std::int64_t c4 = config.channels(4);
  const_input = register_parameter("const_input", at::randn({c4, 4, 4}));
  conv1 = register_module("conv1", StyledConv(c4, c4, config.w_dim, 4, false));
  to_rgb1 = register_module("to_rgb1", ToRgb(c4, config.w_dim));
  std::int64_t in = c4;
  for (std::int64_t res = 8; res <= config.image_size; res *= 2) {
    const std::int64_t out = config.channels(res);
    const std::string r = std::to_string(res);
    convs.push_back(register_module("conv_up" + r, StyledConv(in, out, config.w_dim, res, true)));
    convs.push_back(register_module("conv" + r, StyledConv(out, out, config.w_dim, res, false)));
    to_rgbs.push_back(register_module("to_rgb" + r, ToRgb(out, config.w_dim)));
    in = out;
  }
}

at::Tensor SynthesisNetworkImpl::forward(const at::Tensor& ws, NoiseMode noise) {
  TORCH_CHECK(ws.dim() == 3 && ws.size(1) == config.num_ws() && ws.size(2) == config.w_dim,
              "stylegan synthesis: ws must be [N, ", config.num_ws(), ", ", config.w_dim, "]");
  const std::int64_t n = ws.size(0);
  at::Tensor x = const_input.unsqueeze(0).expand({n, -1, -1, -1});
  x = conv1->forward(x, ws.select(1, 0), noise);
  at::Tensor img = to_rgb1->forward(x, ws.select(1, 1));
  for (std::size_t b = 0; b < to_rgbs.size(); ++b) {
    const auto i = static_cast<std::int64_t>(2 * b);
    x = convs[2 * b]->forward(x, ws.select(1, 1 + i), noise);
    x = convs[2 * b + 1]->forward(x, ws.select(1, 2 + i), noise);
    img = at::upsample_bilinear2d(img, {x.size(2), x.size(3)}, false) + to_rgbs[b]->forward(x, ws.select(1, 3 + i));
  }
  return img;
}

StyleGeneratorImpl::StyleGeneratorImpl(const StyleGanConfig& c) : config(c) {
  mapping = register_module("mapping", MappingNetwork(config));
  synthesis = register_module("synthesis", SynthesisNetwork(config));
}

at::Tensor StyleGeneratorImpl::broadcast(const at::Tensor& w) const {
  return w.unsqueeze(1).repeat({1, config.num_ws(), 1});
}

at::Tensor StyleGeneratorImpl::mix(const at::Tensor& w1, const at::Tensor& w2, std::int64_t crossover) const {
  const at::Tensor layer = at::arange(config.num_ws(), w1.options().dtype(at::kLong)).view({1, -1, 1});
  return at::where(layer < crossover, w1.unsqueeze(1), w2.unsqueeze(1));
}

// ---------------------------------------------------------------- discriminator

at::Tensor blur_downsample(const at::Tensor& x) {
  const at::Tensor f = at::tensor({1.0, 3.0, 3.0, 1.0}, x.options());
  const at::Tensor k = (f.view({4, 1}) * f.view({1, 4}) / 64.0).view({1, 1, 4, 4}).expand({x.size(1), 1, 4, 4});
  return at::conv2d(x, k.contiguous(), {}, 2, 1, 1, x.size(1));
}

at::Tensor minibatch_stddev(const at::Tensor& x, std::int64_t group) {
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  std::int64_t g = std::min(group, n);
  while (n % g != 0) --g;
  at::Tensor y = x.view({g, n / g, c, h, w});
  y = y - y.mean(0);
  y = (y.square().mean(0) + 1e-8).sqrt();  // [n/g, c, h, w]
  y = y.mean({1, 2, 3}).view({n / g, 1, 1, 1}).repeat({g, 1, h, w});
  return at::cat({x, y}, 1);
}

EqualConvImpl::EqualConvImpl(std::int64_t in_, std::int64_t out_, std::int64_t kernel_, bool with_bias,
                             bool activate_, bool downsample_)
    : in(in_), out(out_), kernel(kernel_), activate(activate_), downsample(downsample_) {
  weight = register_parameter("weight", at::randn({out, in, kernel, kernel}));
  if (with_bias) bias = register_parameter("bias", at::zeros({out}));
}

at::Tensor EqualConvImpl::forward(const at::Tensor& x_in) {
  const at::Tensor x = downsample ? blur_downsample(x_in) : x_in;
  const double scale = 1.0 / std::sqrt(static_cast<double>(in * kernel * kernel));
  at::Tensor y = at::conv2d(x, weight * scale, bias, 1, kernel / 2);
  return activate ? lrelu_gain(y) : y;
}

StyleDiscriminatorImpl::StyleDiscriminatorImpl(const StyleGanConfig& c) : config(c) {
  from_rgb = register_module("from_rgb", EqualConv(3, config.channels(config.image_size), 1, true, true, false));
  for (std::int64_t res = config.image_size; res > 4; res /= 2) {
    const std::int64_t in = config.channels(res), out = config.channels(res / 2);
    const std::string r = std::to_string(res);
    block_conv.push_back(register_module("conv" + r, EqualConv(in, in, 3, true, true, false)));
    block_down.push_back(register_module("down" + r, EqualConv(in, out, 3, true, true, true)));
    block_skip.push_back(register_module("skip" + r, EqualConv(in, out, 1, false, false, true)));
  }
  const std::int64_t c4 = config.channels(4);
  final_conv = register_module("final_conv", EqualConv(c4 + 1, c4, 3, true, true, false));
  final_linear = register_module("final_linear", EqualLinear(c4 * 16, c4, true, 0.0, 1.0, true));
  out = register_module("out", EqualLinear(c4, 1));
  if (config.condition_dim > 0)
    projection = register_module("projection", EqualLinear(config.condition_dim, c4, false));
}

at::Tensor StyleDiscriminatorImpl::forward(const at::Tensor& x_in, const at::Tensor& c) {
  at::Tensor x = from_rgb->forward(x_in);
  for (std::size_t b = 0; b < block_conv.size(); ++b) {
    const at::Tensor skip = block_skip[b]->forward(x);
    x = (block_down[b]->forward(block_conv[b]->forward(x)) + skip) * (1.0 / kSqrt2);
  }
  x = final_conv->forward(minibatch_stddev(x, config.mbstd_group));
  const at::Tensor h = final_linear->forward(x.flatten(1));
  at::Tensor logit = out->forward(h).squeeze(1);
  if (config.condition_dim > 0) {
    TORCH_CHECK(c.defined() && c.dim() == 2 && c.size(1) == config.condition_dim,
                "stylegan discriminator: condition must be [N, ", config.condition_dim, "]");
    logit = logit + (projection->forward(c) * h).sum(1) * (1.0 / std::sqrt(static_cast<double>(h.size(1))));
  }
  return logit;
}

// ---------------------------------------------------------------- inference generator

StyleConditionalGenerator::StyleConditionalGenerator(const StyleGanConfig& config, StyleGenerator module)
    : config_(config), module_(module ? std::move(module) : StyleGenerator(config)) {}

StyleConditionalGenerator::~StyleConditionalGenerator() = default;

NamedTensors StyleConditionalGenerator::named_tensors() { return covergen::nn::module_tensors(*module_); }

void StyleConditionalGenerator::to(const c10::Device& device) {
  module_->to(device);
  w_avg_cache_.clear();
}

c10::Device StyleConditionalGenerator::device() const { return module_->synthesis->const_input.device(); }

std::int64_t StyleConditionalGenerator::weights_version() const {
  std::int64_t v = 0;
  for (const auto& p : module_->mapping->parameters()) v += static_cast<std::int64_t>(p._version());
  return v;
}

namespace {
// The fixed latents the mean w is estimated from: the same condition always gets the same centre.
at::Tensor mean_w_latents(const StyleGanConfig& config, const c10::Device& device) {
  at::tracer::impl::NoTracerDispatchMode untraced;  // a constant of an exported graph
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0x5717'1E6A'4Eull);
  return at::randn({config.w_avg_samples, config.latent_dim}, gen).to(device);
}
}  // namespace

at::Tensor StyleConditionalGenerator::mean_w(const at::Tensor& c) {
  if (config_.condition_dim > 0 && at::tracer::impl::is_dispatch_enabled()) {
    // Being traced: the centre must follow c in the graph (the cache is keyed by c's value).
    const at::Tensor z = mean_w_latents(config_, device());
    return module_->mapping->forward(z, c.to(device(), at::kFloat).view({1, -1}).expand({z.size(0), -1})).mean(0);
  }
  std::vector<float> key;
  if (config_.condition_dim > 0) {
    const at::Tensor cc = c.to(at::kCPU, at::kFloat).contiguous();
    key.assign(cc.data_ptr<float>(), cc.data_ptr<float>() + cc.numel());
  }
  const std::int64_t version = weights_version();
  if (version != cache_version_) {
    w_avg_cache_.clear();
    cache_version_ = version;
  }
  auto it = w_avg_cache_.find(key);
  if (it != w_avg_cache_.end()) return it->second;
  at::tracer::impl::NoTracerDispatchMode untraced;  // unconditional: a constant when traced
  const at::Tensor z = mean_w_latents(config_, device());
  at::Tensor cond;
  if (config_.condition_dim > 0) cond = c.to(device(), at::kFloat).view({1, -1}).expand({z.size(0), -1});
  const at::Tensor w = module_->mapping->forward(z, cond).mean(0);
  w_avg_cache_.emplace(std::move(key), w);
  return w;
}

at::Tensor StyleConditionalGenerator::map(const at::Tensor& z, const at::Tensor& c, double psi) {
  at::Tensor w = module_->mapping->forward(z, c);
  if (psi == 1.0) return w;
  std::vector<at::Tensor> centres;
  for (std::int64_t i = 0; i < z.size(0); ++i)
    centres.push_back(mean_w(config_.condition_dim > 0 ? c[i] : at::Tensor()));
  return at::stack(centres).lerp(w, psi);
}

at::Tensor StyleConditionalGenerator::generate(const at::Tensor& z, const at::Tensor& c,
                                               const GenerateOptions& options) {
  return synthesize(map_to_w(z, c, options));
}

at::Tensor StyleConditionalGenerator::map_to_w(const at::Tensor& z, const at::Tensor& c,
                                               const GenerateOptions& options) {
  if (!z.defined() || z.dim() != 2 || z.size(1) != config_.latent_dim)
    throw InputError("stylegan generate: z must be [N, " + std::to_string(config_.latent_dim) + "]");
  if (config_.condition_dim > 0 &&
      (!c.defined() || c.dim() != 2 || c.size(0) != z.size(0) || c.size(1) != config_.condition_dim))
    throw InputError("stylegan generate: c must be [N, " + std::to_string(config_.condition_dim) + "]");
  if (!(options.truncation >= 0.0 && options.truncation <= 1.0))
    throw InputError("stylegan generate: truncation must lie in [0, 1]");
  at::NoGradGuard no_grad;
  const at::Tensor zz = z.to(device(), at::kFloat);
  const at::Tensor cc = config_.condition_dim > 0 ? c.to(device(), at::kFloat) : at::Tensor();
  return map(zz, cc, options.truncation);
}

at::Tensor StyleConditionalGenerator::synthesize(const at::Tensor& w) {
  if (!w.defined() || w.dim() != 2 || w.size(1) != config_.w_dim)
    throw InputError("stylegan synthesize: w must be [N, " + std::to_string(config_.w_dim) + "]");
  at::NoGradGuard no_grad;
  const at::Tensor ww = w.to(device(), at::kFloat);
  return module_->synthesis->forward(module_->broadcast(ww), NoiseMode::constant).clamp(-1.0, 1.0);
}

// ---------------------------------------------------------------- the GAN model

StyleGanModel::StyleGanModel(const std::string& json) {
  config_.update_from_json(json);
  G_ = StyleGenerator(config_);
  D_ = StyleDiscriminator(config_);
  pl_mean_ = at::zeros({});
  gen_ = std::make_unique<StyleConditionalGenerator>(config_, G_);
}

StyleGanModel::~StyleGanModel() = default;

std::unique_ptr<ConditionalGenerator> StyleGanModel::make_generator() const {
  auto g = std::make_unique<StyleConditionalGenerator>(config_, StyleGenerator(config_));
  g->to(device());
  auto src = covergen::nn::module_tensors(*G_);
  auto dst = g->named_tensors();
  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < dst.size(); ++i) dst[i].second.copy_(src.at(i).second);
  return g;
}

std::vector<OptimizerSpec> StyleGanModel::optimizers() {
  // Lazy regularisation (Karras et al. 2020, appendix B): a regulariser run every k
  // steps with its loss scaled by k; Adam's lr and betas corrected by k / (k + 1).
  auto spec = [&](const std::string& name, std::vector<at::Tensor> params, double ratio) {
    return OptimizerSpec{name, std::move(params), config_.lr * ratio, std::pow(config_.beta1, ratio),
                         std::pow(config_.beta2, ratio), 1e-8};
  };
  const double g_ratio =
      config_.pl_weight > 0 ? static_cast<double>(config_.pl_interval) / (config_.pl_interval + 1.0) : 1.0;
  const double d_ratio =
      config_.r1_gamma > 0 ? static_cast<double>(config_.r1_interval) / (config_.r1_interval + 1.0) : 1.0;
  return {spec("G", G_->parameters(), g_ratio), spec("D", D_->parameters(), d_ratio)};
}

std::vector<Phase> StyleGanModel::phases() const {
  std::vector<Phase> p{{"D", "D", 1, 1, true}};
  if (config_.r1_gamma > 0) p.push_back({"D_r1", "D", config_.r1_interval, 1, true});
  p.push_back({"G", "G", 1, 1, false});
  if (config_.pl_weight > 0) p.push_back({"G_pl", "G", config_.pl_interval, 1, false});
  return p;
}

LossStats StyleGanModel::run_phase(std::size_t phase, const PhaseBatch& b, const PhaseContext& ctx) {
  const auto all = phases();
  if (phase >= all.size()) throw InputError("stylegan: no phase " + std::to_string(phase));
  const std::string& name = all[phase].name;
  if (name == "D") return run_d(b, ctx);
  if (name == "D_r1") return run_r1(b);
  if (name == "G") return run_g(b, ctx);
  return run_pl(b, ctx);
}

void StyleGanModel::set_training(bool training) {
  G_->train(training);
  D_->train(training);
}

NamedTensors StyleGanModel::named_tensors() {
  NamedTensors out = covergen::nn::module_tensors(*G_, "G.");
  for (auto& t : covergen::nn::module_tensors(*D_, "D.")) out.push_back(std::move(t));
  out.emplace_back("state.pl_mean", pl_mean_);
  return out;
}

void StyleGanModel::to(const c10::Device& device) {
  G_->to(device);
  D_->to(device);
  pl_mean_ = pl_mean_.to(device);
  gen_->to(device);
}

c10::Device StyleGanModel::device() const { return G_->synthesis->const_input.device(); }

void StyleGanModel::check_batch(const PhaseBatch& b, bool needs_real) const {
  auto fail = [](const std::string& m) { throw InputError("stylegan: " + m); };
  if (!b.z.defined() || b.z.dim() != 2 || b.z.size(1) != config_.latent_dim)
    fail("batch.z must be [B, " + std::to_string(config_.latent_dim) + "]");
  const auto S = config_.image_size;
  if (needs_real && (!b.real.defined() || b.real.dim() != 4 || b.real.size(1) != 3 || b.real.size(2) != S ||
                     b.real.size(3) != S))
    fail("batch.real must be [B, 3, " + std::to_string(S) + ", " + std::to_string(S) + "]");
  if (config_.condition_dim > 0) {
    auto ok = [&](const at::Tensor& c) { return c.defined() && c.dim() == 2 && c.size(1) == config_.condition_dim; };
    if (needs_real && !ok(b.real_cond)) fail("batch.real_cond must be [B, " + std::to_string(config_.condition_dim) + "]");
    if (!ok(b.fake_cond)) fail("batch.fake_cond must be [B, " + std::to_string(config_.condition_dim) + "]");
  }
}

at::Tensor StyleGanModel::training_ws(const at::Tensor& z, const at::Tensor& c, const PhaseContext& ctx) {
  const at::Tensor w1 = G_->mapping->forward(z, c);
  if (config_.style_mixing > 0 && config_.num_ws() > 1 && at::rand(at::IntArrayRef{}).item<double>() < config_.style_mixing) {
    const at::Tensor z2 = ctx.sample_z ? ctx.sample_z(z.size(0)) : at::randn_like(z);
    const std::int64_t crossover = at::randint(1, config_.num_ws(), at::IntArrayRef{}, at::TensorOptions().dtype(at::kLong)).item<std::int64_t>();
    return G_->mix(w1, G_->mapping->forward(z2.to(z.device()), c), crossover);
  }
  return G_->broadcast(w1);
}

LossStats StyleGanModel::run_d(const PhaseBatch& b, const PhaseContext& ctx) {
  check_batch(b, true);
  at::Tensor fake;
  {
    at::NoGradGuard no_grad;
    fake = G_->synthesis->forward(training_ws(b.z, b.fake_cond, ctx), NoiseMode::random);
  }
  const at::Tensor d_fake = D_->forward(fake, b.fake_cond);
  const at::Tensor d_real = D_->forward(b.real, b.real_cond);
  // Non-saturating logistic loss: softplus(D(fake)) + softplus(-D(real)).
  const at::Tensor loss = at::softplus(d_fake).mean() + at::softplus(-d_real).mean();
  loss.backward();
  at::NoGradGuard no_grad;
  return {{"loss", loss.item<double>()}, {"real", d_real.mean().item<double>()}, {"fake", d_fake.mean().item<double>()}};
}

LossStats StyleGanModel::run_r1(const PhaseBatch& b) {
  check_batch(b, true);
  const at::Tensor real = b.real.detach().requires_grad_(true);
  const at::Tensor d_real = D_->forward(real, b.real_cond);
  const at::Tensor grad = torch::autograd::grad({d_real.sum()}, {real}, {}, /*retain_graph=*/true,
                                                /*create_graph=*/true)[0];
  const at::Tensor penalty = grad.square().sum({1, 2, 3}).mean();
  const at::Tensor loss = penalty * (config_.r1_gamma / 2.0 * static_cast<double>(config_.r1_interval));
  loss.backward();
  return {{"r1", penalty.item<double>()}};
}

LossStats StyleGanModel::run_g(const PhaseBatch& b, const PhaseContext& ctx) {
  check_batch(b, false);
  const at::Tensor fake = G_->synthesis->forward(training_ws(b.z, b.fake_cond, ctx), NoiseMode::random);
  at::Tensor loss;
  {
    covergen::nn::FreezeParameters freeze(*D_);
    loss = at::softplus(-D_->forward(fake, b.fake_cond)).mean();
    loss.backward();
  }
  return {{"loss", loss.item<double>()}};
}

LossStats StyleGanModel::run_pl(const PhaseBatch& b, const PhaseContext& ctx) {
  check_batch(b, false);
  const std::int64_t n = std::max<std::int64_t>(1, b.z.size(0) / config_.pl_batch_shrink);
  const at::Tensor z = b.z.narrow(0, 0, n);
  const at::Tensor c = config_.condition_dim > 0 ? b.fake_cond.narrow(0, 0, n) : at::Tensor();
  const at::Tensor ws = training_ws(z, c, ctx);
  const at::Tensor img = G_->synthesis->forward(ws, NoiseMode::random);
  // Path length (Karras et al. 2020): |J_w^T y| for y ~ N(0, I) / sqrt(pixels), pushed
  // towards its running mean.
  const at::Tensor y = at::randn_like(img) / std::sqrt(static_cast<double>(img.size(2) * img.size(3)));
  const at::Tensor grad = torch::autograd::grad({(img * y).sum()}, {ws}, {}, true, true)[0];
  const at::Tensor lengths = grad.square().sum(2).mean(1).sqrt();
  {
    at::NoGradGuard no_grad;
    pl_mean_.lerp_(lengths.mean(), config_.pl_decay);
  }
  const at::Tensor penalty = (lengths - pl_mean_).square().mean();
  const at::Tensor loss = penalty * (config_.pl_weight * static_cast<double>(config_.pl_interval));
  loss.backward();
  return {{"pl", penalty.item<double>()}, {"pl_mean", pl_mean_.item<double>()}};
}

}  // namespace covergen::stylegan
