// Training helpers for the LibTorch encoder plugins. Include from a plugin's .cpp
// only (it pulls in <torch/torch.h>).
#pragma once

#include "encoder_common.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace covergen::encoders {

/// Parameters and buffers of `m` under `prefix` ("encoder.0.weight", ...), aliasing the live storage.
inline void append_module_tensors(NamedTensors& out, const std::string& prefix, const torch::nn::Module& m) {
  for (const auto& p : m.named_parameters(true)) out.emplace_back(prefix + p.key(), p.value());
  for (const auto& b : m.named_buffers(true)) out.emplace_back(prefix + b.key(), b.value());
}

/// A deep copy of tensors (to restore the best epoch after early stopping).
inline std::vector<at::Tensor> snapshot(const NamedTensors& t) {
  std::vector<at::Tensor> s;
  s.reserve(t.size());
  for (const auto& [name, v] : t) s.push_back(v.detach().clone());
  return s;
}
inline void restore(const NamedTensors& t, const std::vector<at::Tensor>& s) {
  torch::NoGradGuard ng;
  for (std::size_t i = 0; i < t.size(); ++i) t[i].second.copy_(s[i]);
}

struct EpochResult {
  double train_loss = 0, val_loss = std::numeric_limits<double>::quiet_NaN(), val_accuracy = -1;
};

/// The common loop: runs `epoch(e)` up to `epochs` times, keeps the state with the
/// lowest validation loss (or the last when there is no validation set) and stops
/// after `patience` epochs without improvement. Returns the report.
inline FitReport train_with_early_stopping(std::int64_t epochs, std::int64_t patience, const NamedTensors& state,
                                           const std::function<EpochResult(std::int64_t)>& epoch,
                                           const FitOptions& options) {
  FitReport rep;
  double best = std::numeric_limits<double>::infinity();
  EpochResult best_r;
  std::int64_t best_epoch = 0, since = 0, ran = 0;
  std::vector<at::Tensor> best_state;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t e = 0; e < epochs; ++e) {
    EpochResult r = epoch(e);
    ++ran;
    if (!std::isfinite(r.train_loss))
      throw covergen::Error("training diverged at epoch " + std::to_string(e + 1) + " (loss " + std::to_string(r.train_loss) +
                            "); try a lower learning rate in --config");
    if (options.on_progress) {
      FitProgress p;
      p.epoch = e + 1;
      p.epochs = epochs;
      p.train_loss = r.train_loss;
      p.val_loss = std::isnan(r.val_loss) ? 0.0 : r.val_loss;
      p.val_accuracy = r.val_accuracy;
      options.on_progress(p);
    }
    const double score = std::isnan(r.val_loss) ? r.train_loss : r.val_loss;
    if (score < best) {
      best = score;
      best_r = r;
      best_epoch = e + 1;
      best_state = snapshot(state);
      since = 0;
    } else if (++since >= patience) {
      break;
    }
  }
  if (!best_state.empty()) restore(state, best_state);
  rep.epochs = ran;
  rep.metrics.emplace_back("best_epoch", static_cast<double>(best_epoch));
  rep.metrics.emplace_back("train_loss", best_r.train_loss);
  if (!std::isnan(best_r.val_loss)) rep.metrics.emplace_back("val_loss", best_r.val_loss);
  if (best_r.val_accuracy >= 0) rep.metrics.emplace_back("val_accuracy", best_r.val_accuracy);
  rep.metrics.emplace_back("fit_seconds",
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return rep;
}

/// Index tensor of a batch of a permutation.
inline at::Tensor batch_index(const std::vector<std::int64_t>& perm, std::int64_t start, std::int64_t size) {
  const auto end = std::min<std::int64_t>(start + size, static_cast<std::int64_t>(perm.size()));
  return torch::tensor(std::vector<std::int64_t>(perm.begin() + start, perm.begin() + end), torch::kLong);
}

/// Evaluates `fn` over [0, n) in chunks (inference, no grad) and concatenates.
inline at::Tensor chunked(std::int64_t n, std::int64_t chunk, const std::function<at::Tensor(std::int64_t, std::int64_t)>& fn) {
  std::vector<at::Tensor> parts;
  for (std::int64_t s = 0; s < n; s += chunk) parts.push_back(fn(s, std::min(n, s + chunk)));
  return parts.empty() ? at::Tensor() : torch::cat(parts, 0);
}

/// What the LibTorch encoders share: the standardisation (mean_, scale_ over the input
/// features), the device, the dimensions and fitted flag, and the modules with the
/// prefixes their tensors are saved under. A plugin lists its modules in
/// saved_modules(); saving, loading and moving between devices follow from that.
class TorchEncoder : public Encoder {
 public:
  NamedTensors named_tensors() override {
    NamedTensors t{{"mean", mean_}, {"scale", scale_}};
    for (const auto& [prefix, m] : saved_modules()) append_module_tensors(t, prefix, *m);
    return t;
  }
  void to(const c10::Device& d) override {
    device_ = d;
    mean_ = mean_.to(d);
    scale_ = scale_.to(d);
    for (const auto& [prefix, m] : saved_modules()) m->to(d);
  }
  c10::Device device() const override { return device_; }
  EncoderInput input_kind() const override { return input_kind_; }
  std::int64_t input_dim() const override { return input_dim_; }
  std::int64_t dim() const override { return dim_; }
  bool fitted() const override { return fitted_; }

 protected:
  TorchEncoder(std::string name, EncoderInput kind) : name_(std::move(name)), input_kind_(kind) {}

  /// The built modules (none before the model is built) and the prefix of their
  /// saved tensors, in saving order.
  virtual std::vector<std::pair<std::string, torch::nn::Module*>> saved_modules() = 0;

  void train_mode(bool on) {
    for (const auto& [prefix, m] : saved_modules()) m->train(on);
  }
  /// The parameters of every saved module, for the optimiser.
  std::vector<torch::Tensor> trainable_parameters() {
    std::vector<torch::Tensor> params;
    for (const auto& [prefix, m] : saved_modules())
      for (auto& p : m->parameters()) params.push_back(p);
    return params;
  }
  /// fit()'s first check: at least 2 training inputs of rank `rank`, all finite.
  /// `what` names them in the error ("[N, F] summary vectors").
  void check_training_inputs(const at::Tensor& x, std::int64_t rank, const std::string& what) const {
    if (!x.defined() || x.dim() != rank || x.size(0) < 2)
      throw InputError(name_ + " encoder: expected at least 2 " + what + " to fit on");
    if (!at::isfinite(x).all().item<bool>()) throw InputError(name_ + " encoder: the training data contains NaN or Inf");
  }
  /// The identity standardisation over `features` values (the state of an unfitted model).
  void reset_standardisation(std::int64_t features) {
    const auto n = std::max<std::int64_t>(features, 0);
    mean_ = torch::zeros({n}, torch::TensorOptions().device(device_));
    scale_ = torch::ones({n}, torch::TensorOptions().device(device_));
  }
  /// mean_ and scale_ from the training inputs' statistics (features along `feature_axis`).
  void fit_standardisation(const at::Tensor& x, std::int64_t feature_axis) {
    auto [m, s] = feature_stats(x, feature_axis);
    mean_.copy_(m);
    scale_.copy_(s);
  }

  std::string name_;
  EncoderInput input_kind_;
  std::int64_t input_dim_ = 0, dim_ = 0;
  bool fitted_ = false;
  c10::Device device_{c10::kCPU};
  at::Tensor mean_, scale_;
};

}  // namespace covergen::encoders
