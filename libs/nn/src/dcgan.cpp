#include "covergen/nn/dcgan.hpp"

#include <covergen/cpu_kernels.hpp>

#include "covergen/nn/batch_norm_sync.hpp"

#include <covergen/errors.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <set>

namespace covergen::nn {

// ---- config -----------------------------------------------------------------

namespace {

template <class T>
T get_value(const nlohmann::json& j, const std::string& key, const std::string& who) {
  try {
    return j.get<T>();
  } catch (const nlohmann::json::exception&) {
    throw InputError(who + " config: \"" + key + "\" has the wrong type (" + j.dump() + ")");
  }
}

}  // namespace

void GanConfig::update_from_json(const std::string& json, const std::string& who) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json.empty() ? "{}" : json);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(who + " config: not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw InputError(who + " config: expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    auto i64 = [&] { return get_value<std::int64_t>(v, k, who); };
    auto dbl = [&] { return get_value<double>(v, k, who); };
    auto str = [&] { return get_value<std::string>(v, k, who); };
    if (k == "image_size") image_size = i64();
    else if (k == "latent_dim") latent_dim = i64();
    else if (k == "condition_dim") condition_dim = i64();
    else if (k == "condition_embed") condition_embed = i64();
    else if (k == "ngf") ngf = i64();
    else if (k == "ndf") ndf = i64();
    else if (k == "condition") condition = str();
    else if (k == "convt") convt = str();
    else if (k == "d_norm") d_norm = str();
    else if (k == "lr") lr_g = lr_d = dbl();
    else if (k == "lr_g") lr_g = dbl();
    else if (k == "lr_d") lr_d = dbl();
    else if (k == "betas") {
      auto b = get_value<std::vector<double>>(v, k, who);
      if (b.size() != 2) throw InputError(who + " config: \"betas\" takes two numbers");
      beta1 = b[0];
      beta2 = b[1];
    } else if (k == "beta1") beta1 = dbl();
    else if (k == "beta2") beta2 = dbl();
    else if (k == "n_critic") n_critic = i64();
    else if (k == "gp_lambda") gp_lambda = dbl();
    else if (k == "ema_beta") ema_beta = dbl();
    else if (k == "reuse_fake") reuse_fake = get_value<bool>(v, k, who);
    else
      throw InputError(who + " config: unknown key \"" + k +
                       "\" (known: image_size latent_dim condition_dim condition_embed ngf ndf condition convt "
                       "d_norm lr lr_g lr_d betas beta1 beta2 n_critic gp_lambda ema_beta reuse_fake)");
  }
  auto bad = [&](const std::string& what) { throw InputError(who + " config: " + what); };
  if (image_size != 32 && image_size != 64 && image_size != 128) bad("image_size must be 32, 64 or 128");
  if (latent_dim <= 0) bad("latent_dim must be positive");
  if (condition_dim < 0) bad("condition_dim must be >= 0 (0 = unconditional)");
  if (condition_embed <= 0) bad("condition_embed must be positive");
  if (ngf <= 0 || ndf <= 0) bad("ngf and ndf must be positive");
  if (condition != "concat" && condition != "projection") bad("condition must be \"concat\" or \"projection\"");
  convt_mode_from_string(convt);
  if (d_norm != "batch" && d_norm != "layer" && d_norm != "none") bad("d_norm must be \"batch\", \"layer\" or \"none\"");
  if (!(lr_g > 0 && lr_d > 0)) bad("learning rates must be positive");
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) bad("betas must lie in [0, 1)");
  if (n_critic < 1) bad("n_critic must be >= 1");
  if (!(gp_lambda >= 0)) bad("gp_lambda must be >= 0");
  if (!(ema_beta >= 0 && ema_beta < 1)) bad("ema_beta must lie in [0, 1)");
}

std::string GanConfig::to_json() const {
  nlohmann::json j{{"image_size", image_size}, {"latent_dim", latent_dim}, {"condition_dim", condition_dim},
                   {"condition_embed", condition_embed}, {"ngf", ngf}, {"ndf", ndf}, {"condition", condition},
                   {"convt", convt}, {"d_norm", d_norm}, {"lr_g", lr_g}, {"lr_d", lr_d}, {"beta1", beta1},
                   {"beta2", beta2}, {"n_critic", n_critic}, {"gp_lambda", gp_lambda}, {"ema_beta", ema_beta},
                   {"reuse_fake", reuse_fake}};
  return j.dump();
}

std::int64_t GanConfig::blocks() const {
  std::int64_t n = 0;
  for (std::int64_t s = 4; s < image_size; s *= 2) ++n;
  return n;
}

// ---- generator ----------------------------------------------------------------

DcganGeneratorImpl::DcganGeneratorImpl(const GanConfig& config_) : config(config_) { reset(); }

void DcganGeneratorImpl::reset() {
  const std::int64_t L = config.blocks();
  const ConvTMode mode = convt_mode_from_string(config.convt);
  convs.clear();
  norms.clear();
  std::int64_t in_ch = config.latent_dim;
  if (config.condition_dim > 0) {
    embed = register_module("embed", ConditionEmbedding(config.condition_dim, config.condition_embed));
    in_ch += config.condition_embed;
  }
  for (std::int64_t i = 0; i <= L; ++i) {
    const bool last = i == L;
    const std::int64_t out_ch = last ? 3 : config.ngf << (L - 1 - i);
    ConvTranspose2dOptions o;
    o.in_channels = in_ch;
    o.out_channels = out_ch;
    o.kernel_size = 4;
    o.stride = i == 0 ? 1 : 2;
    o.padding = i == 0 ? 0 : 1;
    o.mode = mode;
    convs.push_back(register_module("conv" + std::to_string(i), ConvTranspose2d(o)));
    if (!last) norms.push_back(register_module("bn" + std::to_string(i), torch::nn::BatchNorm2d(out_ch)));
    in_ch = out_ch;
  }
  dcgan_init(*this);
}

at::Tensor DcganGeneratorImpl::input(const at::Tensor& z, const at::Tensor& c) {
  TORCH_CHECK(z.defined() && z.size(0) > 0 && z.numel() == z.size(0) * config.latent_dim, "generator: expected z [N, ",
              config.latent_dim, "], got ", z.defined() ? z.sizes() : c10::IntArrayRef{});
  at::Tensor x = z.reshape({z.size(0), config.latent_dim});
  if (config.condition_dim > 0) {
    TORCH_CHECK(c.defined() && c.dim() == 2 && c.size(0) == z.size(0) && c.size(1) == config.condition_dim,
                "generator: expected c [", z.size(0), ", ", config.condition_dim, "], got ",
                c.defined() ? c.sizes() : c10::IntArrayRef{});
    x = at::cat({x, embed->forward(c.to(x.scalar_type()))}, 1);
  }
  return x.view({x.size(0), x.size(1), 1, 1});
}

at::Tensor DcganGeneratorImpl::forward(const at::Tensor& z, const at::Tensor& c) {
  at::Tensor x = input(z, c);
  for (std::size_t i = 0; i < norms.size(); ++i) x = batch_norm_2d(*norms[i], convs[i]->forward(x)).relu_();
  return at::tanh(convs.back()->forward(x));
}

DcganGeneratorImpl::Folded DcganGeneratorImpl::fold(at::ScalarType dtype) const {
  Folded f;
  f.dtype = dtype;
  for (std::size_t i = 0; i < convs.size(); ++i) {
    // The first layer (z -> 4x4) is one small GEMM: it stays float32 in every mode.
    const at::ScalarType layer_dtype = i == 0 ? at::kFloat : dtype;
    if (i < norms.size()) {
      auto wb = fold_batchnorm(convs[i]->weight, convs[i]->bias, *norms[i], /*transposed=*/true);
      f.weights.push_back(wb.first.to(layer_dtype));
      f.biases.push_back(wb.second.to(layer_dtype));
    } else {
      f.weights.push_back(convs[i]->weight.to(layer_dtype));
      f.biases.push_back(convs[i]->bias.defined() ? convs[i]->bias.to(layer_dtype) : at::Tensor());
    }
  }
  return f;
}

at::Tensor DcganGeneratorImpl::forward_folded(const at::Tensor& z, const at::Tensor& c, const Folded& f,
                                              bool channels_last) {
  TORCH_CHECK(f.weights.size() == convs.size(), "forward_folded: folded weights do not match the generator");
  at::Tensor x = input(z, c);
  for (std::size_t i = 0; i < convs.size(); ++i) {
    x = x.to(f.weights[i].scalar_type());
    if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    const bool last = i + 1 == convs.size();
    const auto& o = convs[i]->options;
    // bias + ReLU in one pass (at::_add_relu_) where the kernel exists (float32)
    if (i == 0 && x.size(2) == 1 && x.size(3) == 1 && o.stride == 1 && o.padding == 0 && o.output_padding == 0 &&
        x.scalar_type() == at::kFloat) {
      // 1x1 input: the transposed conv is one GEMM, [N, in] x [in, out * k * k]
      const at::Tensor& w = f.weights[i];
      x = at::mm(x.flatten(1), w.reshape({w.size(0), -1})).view({x.size(0), w.size(1), w.size(2), w.size(3)});
    } else {
      x = conv_transpose2d(x, f.weights[i], {}, {o.stride, o.stride}, {o.padding, o.padding},
                           {o.output_padding, o.output_padding}, o.mode);
    }
    const at::Tensor& b = f.biases[i];
    if (!last) {
      if (b.defined() && x.scalar_type() == at::kFloat) {
        at::_add_relu_(x, b.view({1, -1, 1, 1}));
      } else {
        if (b.defined()) x.add_(b.view({1, -1, 1, 1}));
        x.relu_();
      }
    } else {
      if (b.defined()) x.add_(b.view({1, -1, 1, 1}));
      x = x.to(at::kFloat).contiguous();
      x.tanh_();
    }
  }
  return x;
}

// ---- discriminator --------------------------------------------------------------

DcganDiscriminatorImpl::DcganDiscriminatorImpl(const GanConfig& config_) : config(config_) { reset(); }

torch::nn::AnyModule DcganDiscriminatorImpl::make_norm(std::int64_t channels, std::int64_t spatial,
                                                       const std::string& name) {
  if (config.d_norm == "batch") return torch::nn::AnyModule(register_module(name, torch::nn::BatchNorm2d(channels)));
  if (config.d_norm == "layer")
    // Per sample over (C, H, W) with a per-element affine, as the peer's critic.
    return torch::nn::AnyModule(
        register_module(name, torch::nn::LayerNorm(torch::nn::LayerNormOptions({channels, spatial, spatial}))));
  return {};
}

void DcganDiscriminatorImpl::reset() {
  const std::int64_t L = config.blocks();
  convs.clear();
  norms.clear();
  std::int64_t in_ch = 3, spatial = config.image_size;
  for (std::int64_t i = 0; i < L; ++i) {
    const std::int64_t out_ch = config.ndf << i;
    spatial /= 2;
    convs.push_back(register_module("conv" + std::to_string(i),
                                    torch::nn::Conv2d(torch::nn::Conv2dOptions(in_ch, out_ch, 4).stride(2).padding(1).bias(false))));
    if (i > 0) norms.push_back(make_norm(out_ch, spatial, "norm" + std::to_string(i)));
    in_ch = out_ch;
  }
  if (config.condition_dim > 0) {
    if (config.condition == "concat") {
      embed = register_module("embed", ConditionEmbedding(config.condition_dim, config.condition_embed));
      joint = register_module(
          "joint", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_ch + config.condition_embed, in_ch, 1).bias(false)));
      joint_norm = make_norm(in_ch, 4, "joint_norm");
    } else {
      projection = register_module("projection", ProjectionHead(config.condition_dim, in_ch));
    }
  }
  head = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_ch, 1, 4).bias(false)));
  dcgan_init(*this);
}

namespace {
// BatchNorm goes through batch_norm_2d (synchronised under data parallelism).
at::Tensor apply_norm(torch::nn::AnyModule& norm, const at::Tensor& h) {
  if (batch_norm_is_synchronised())
    if (auto bn = std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(norm.ptr())) return batch_norm_2d(*bn, h);
  return norm.forward(h);
}
}  // namespace

at::Tensor DcganDiscriminatorImpl::forward(const at::Tensor& x, const at::Tensor& c) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) == config.image_size && x.size(3) == config.image_size,
              "discriminator: expected images [N, 3, ", config.image_size, ", ", config.image_size, "], got ", x.sizes());
  at::Tensor h = convs[0]->forward(x);
  at::leaky_relu_(h, 0.2);
  for (std::size_t i = 1; i < convs.size(); ++i) {
    h = convs[i]->forward(h);
    if (!norms[i - 1].is_empty()) h = apply_norm(norms[i - 1], h);
    at::leaky_relu_(h, 0.2);
  }
  at::Tensor cc;
  if (config.condition_dim > 0) {
    TORCH_CHECK(c.defined() && c.dim() == 2 && c.size(0) == x.size(0) && c.size(1) == config.condition_dim,
                "discriminator: expected c [", x.size(0), ", ", config.condition_dim, "]");
    cc = c.to(h.scalar_type());
  }
  if (config.condition_dim > 0 && config.condition == "concat") {
    h = joint->forward(at::cat({h, embed->spatial(cc, h.size(2))}, 1));
    if (!joint_norm.is_empty()) h = apply_norm(joint_norm, h);
    at::leaky_relu_(h, 0.2);
  }
  at::Tensor out = head->forward(h).view({x.size(0)});
  if (config.condition_dim > 0 && config.condition == "projection") out = out + projection->forward(h, cc);
  return out;
}

// ---- the generator object -------------------------------------------------------

NamedTensors module_tensors(const torch::nn::Module& module, const std::string& prefix) {
  NamedTensors out;
  for (const auto& p : module.named_parameters(true)) out.emplace_back(prefix + p.key(), p.value());
  for (const auto& b : module.named_buffers(true)) out.emplace_back(prefix + b.key(), b.value());
  return out;
}

DcganConditionalGenerator::DcganConditionalGenerator(const GanConfig& config, DcganGenerator module)
    : config_(config), module_(module ? std::move(module) : DcganGenerator(config)) {}

DcganConditionalGenerator::~DcganConditionalGenerator() = default;

std::string DcganConditionalGenerator::config_json() const { return config_.to_json(); }

NamedTensors DcganConditionalGenerator::named_tensors() { return module_tensors(*module_); }

void DcganConditionalGenerator::to(const c10::Device& device) {
  module_->to(device);
  folded_key_.clear();
}

c10::Device DcganConditionalGenerator::device() const { return module_->convs.front()->weight.device(); }

std::vector<std::int64_t> DcganConditionalGenerator::state_key() const {
  std::vector<std::int64_t> key;
  for (const auto& t : module_tensors(*module_)) {
    key.push_back(static_cast<std::int64_t>(t.second._version()));
    key.push_back(reinterpret_cast<std::int64_t>(t.second.data_ptr()));
  }
  return key;
}

at::Tensor DcganConditionalGenerator::generate(const at::Tensor& z, const at::Tensor& c, const GenerateOptions& options) {
  if (!(options.truncation >= 0.0 && options.truncation <= 1.0))
    throw InputError("generate: truncation must lie in [0, 1]");
  torch::NoGradGuard no_grad;
  const auto dev = device();
  at::Tensor zz = z.to(dev, at::kFloat);
  if (options.truncation != 1.0) zz = zz * options.truncation;  // no W space: scale z
  at::Tensor cc = config_.condition_dim > 0 && c.defined() ? c.to(dev, at::kFloat) : at::Tensor();
  at::Tensor out;
  {
    c10::InferenceMode guard;
    const bool use_bf16 = bf16 || options.precision == GenerateOptions::Precision::bfloat16;
    // Without bf16 instructions oneDNN emulates bf16 (8.7x slower than float32 on
    // an AVX2 EPYC): refuse rather than run the slow path the user did not ask for.
    if (use_bf16 && dev.is_cpu()) require_native_bf16("bfloat16 precision");
    if (fold_batchnorm) {
      auto key = state_key();
      key.push_back(use_bf16);
      if (key != folded_key_) {
        folded_ = module_->fold(use_bf16 ? at::kBFloat16 : at::kFloat);
        folded_key_ = std::move(key);
      }
      out = module_->forward_folded(zz, cc, folded_, channels_last);
    } else {
      const bool was_training = module_->is_training();
      module_->eval();
      try {
        out = module_->forward(zz, cc);
      } catch (...) {
        module_->train(was_training);
        throw;
      }
      module_->train(was_training);
    }
  }
  // An inference tensor cannot enter autograd later; hand back a normal one (one copy).
  if (!return_inference_tensor) out = out.clone();
  return out;
}

}  // namespace covergen::nn
