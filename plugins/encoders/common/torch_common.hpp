// Training helpers for the LibTorch encoder plugins. Include from a plugin's .cpp
// only (it pulls in <torch/torch.h>).
#pragma once

#include "encoder_common.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
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

}  // namespace covergen::encoders
