#include "covergen/nn/gan_model.hpp"

#include <covergen/errors.hpp>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

namespace covergen::nn {

DcganFamilyModel::DcganFamilyModel(const GanConfig& config)
    : config_(config), G_(config), D_(config), gen_(std::make_unique<DcganConditionalGenerator>(config, G_)) {}

DcganFamilyModel::~DcganFamilyModel() = default;

std::unique_ptr<ConditionalGenerator> DcganFamilyModel::make_generator() const {
  auto g = std::make_unique<DcganConditionalGenerator>(config_, nullptr);
  g->to(device());
  auto src = module_tensors(*G_);
  auto dst = g->named_tensors();
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < dst.size(); ++i) dst[i].second.copy_(src.at(i).second);
  g->module()->train(false);
  return g;
}

std::vector<OptimizerSpec> DcganFamilyModel::optimizers() {
  OptimizerSpec g{"G", G_->parameters(), config_.lr_g, config_.beta1, config_.beta2};
  OptimizerSpec d{"D", D_->parameters(), config_.lr_d, config_.beta1, config_.beta2};
  return {g, d};
}

NamedTensors DcganFamilyModel::named_tensors() {
  NamedTensors out = module_tensors(*G_, "G.");
  for (auto& t : module_tensors(*D_, "D.")) out.push_back(std::move(t));
  return out;
}

void DcganFamilyModel::to(const c10::Device& device) {
  G_->to(device);
  D_->to(device);
  gen_->to(device);  // drops the folded cache
}

c10::Device DcganFamilyModel::device() const { return G_->convs.front()->weight.device(); }

void DcganFamilyModel::set_training(bool training) {
  G_->train(training);
  D_->train(training);
}

void DcganFamilyModel::check_batch(const PhaseBatch& b, bool needs_real) const {
  const std::string& who = plugin_name().empty() ? std::string("gan") : plugin_name();
  auto fail = [&](const std::string& m) { throw InputError(who + ": " + m); };
  if (!b.z.defined() || b.z.dim() < 2 || b.z.size(1) != config_.latent_dim)
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

FreezeParameters::FreezeParameters(torch::nn::Module& module) {
  for (auto& p : module.parameters()) {
    saved_.emplace_back(p, p.requires_grad());
    p.requires_grad_(false);
  }
}

FreezeParameters::~FreezeParameters() {
  for (auto& s : saved_) s.first.requires_grad_(s.second);
}

at::Tensor gradient_penalty(const std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>& critic,
                            const at::Tensor& real, const at::Tensor& fake, const at::Tensor& eps) {
  TORCH_CHECK(real.sizes() == fake.sizes() && eps.dim() == 1 && eps.size(0) == real.size(0),
              "gradient_penalty: real, fake [N, ...] and eps [N] expected");
  std::vector<std::int64_t> shape(real.dim(), 1);
  shape[0] = real.size(0);
  const at::Tensor e = eps.view(shape);
  at::Tensor x_hat = (e * real.detach() + (1.0 - e) * fake.detach()).requires_grad_(true);
  const at::Tensor score = critic(x_hat, eps);
  const at::Tensor grad =
      torch::autograd::grad({score.sum()}, {x_hat}, /*grad_outputs=*/{}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  const at::Tensor slope = grad.flatten(1).norm(2, 1);
  return (slope - 1.0).pow(2).mean();
}

}  // namespace covergen::nn
