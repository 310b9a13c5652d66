#include "covergen/engine/adam.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

namespace covergen::engine {

Adam::Adam(OptimizerSpec spec) : spec_(std::move(spec)) {
  at::NoGradGuard no_grad;
  for (const auto& p : spec_.params) {
    exp_avg_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
  }
  steps_ = at::zeros({}, at::kLong);
}

void Adam::zero_grad() {
  for (auto& p : spec_.params) {
    auto& g = p.mutable_grad();
    if (g.defined()) g.zero_();
  }
}

void Adam::step() {
  at::NoGradGuard no_grad;
  steps_.add_(1);
  const double t = static_cast<double>(steps_.item<std::int64_t>());
  const double bc1 = 1.0 - std::pow(spec_.beta1, t);
  const double bc2 = 1.0 - std::pow(spec_.beta2, t);
  const double step_size = spec_.lr / bc1;
  const double bc2_sqrt = std::sqrt(bc2);
  for (std::size_t i = 0; i < spec_.params.size(); ++i) {
    auto& p = spec_.params[i];
    const auto& g = p.grad();
    if (!g.defined()) continue;
    exp_avg_[i].mul_(spec_.beta1).add_(g, 1.0 - spec_.beta1);
    exp_avg_sq_[i].mul_(spec_.beta2).addcmul_(g, g, 1.0 - spec_.beta2);
    auto denom = (exp_avg_sq_[i].sqrt() / bc2_sqrt).add_(spec_.eps);
    p.addcdiv_(exp_avg_[i], denom, -step_size);
  }
}

NamedTensors Adam::state() {
  NamedTensors out;
  out.emplace_back("steps", steps_);
  for (std::size_t i = 0; i < exp_avg_.size(); ++i) {
    out.emplace_back("m" + std::to_string(i), exp_avg_[i]);
    out.emplace_back("v" + std::to_string(i), exp_avg_sq_[i]);
  }
  return out;
}

}  // namespace covergen::engine
