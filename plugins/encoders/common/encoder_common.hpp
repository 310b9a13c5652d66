// Shared helpers of the built-in encoder plugins (header-only, ATen only): config
// parsing, input checks that name the wrong dimension, a documented RNG for data
// order and crops, and per-feature standardisation statistics.
#pragma once

#include <covergen/encoder.hpp>
#include <covergen/errors.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace covergen::encoders {

using nlohmann::json;

inline json parse_config(const std::string& plugin, const std::string& text) {
  try {
    auto j = json::parse(text.empty() ? "{}" : text);
    if (!j.is_object()) throw InputError(plugin + " encoder config: expected a JSON object");
    return j;
  } catch (const json::exception& e) {
    throw InputError(plugin + " encoder config: " + e.what());
  }
}

/// Reads cfg[key] as T, or `fallback`; a value of the wrong type is an InputError naming the key.
template <class T>
T get(const json& cfg, const char* key, T fallback, const std::string& plugin) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw InputError(plugin + " encoder config: '" + key + "' has the wrong type (" + it->dump() + ")");
  }
}

inline std::string shape_string(at::IntArrayRef s) {
  std::string r = "[";
  for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

/// Checks a batch against the encoder's input kind and feature dimension.
/// `min_len` is the shortest sequence accepted (frames/logmel).
inline void check_input(const std::string& plugin, EncoderInput kind, std::int64_t input_dim, const at::Tensor& x,
                        std::int64_t min_len = 1) {
  if (input_dim <= 0) throw InputError(plugin + " encoder: not fitted (no input dimension yet)");
  if (!x.defined()) throw InputError(plugin + " encoder: no input");
  const std::int64_t want_rank = kind == EncoderInput::summary ? 2 : 3;
  const char* layout = kind == EncoderInput::summary ? "[N, F] summary vectors"
                       : kind == EncoderInput::frames ? "[N, T, F] frame sequences"
                                                      : "[N, M, T] log-mel spectrograms";
  if (x.dim() != want_rank)
    throw InputError(plugin + " encoder: expected " + layout + ", got a tensor of shape " + shape_string(x.sizes()));
  const std::int64_t feat = kind == EncoderInput::frames ? x.size(2) : x.size(1);
  if (feat != input_dim)
    throw InputError(plugin + " encoder: wrong feature dimension: the model was fitted on " + std::to_string(input_dim) +
                     (kind == EncoderInput::logmel ? " mel bands" : " features") + ", the input has " +
                     std::to_string(feat) + " (shape " + shape_string(x.sizes()) + ")");
  if (kind != EncoderInput::summary) {
    const std::int64_t len = kind == EncoderInput::frames ? x.size(1) : x.size(2);
    if (len < min_len)
      throw InputError(plugin + " encoder: the input has " + std::to_string(len) + " frames; at least " +
                       std::to_string(min_len) + " are needed");
  }
  if (x.size(0) > 0 && !at::isfinite(x).all().item<bool>())
    throw InputError(plugin + " encoder: the input contains NaN or Inf");
}

/// SplitMix64: the order of training examples and crop positions (platform independent).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) (n > 0; modulo bias < 2^-40 for the sizes used here).
  std::int64_t below(std::int64_t n) { return static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(n)); }
  std::vector<std::int64_t> permutation(std::int64_t n) {
    std::vector<std::int64_t> p(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) p[static_cast<std::size_t>(i)] = i;
    for (std::int64_t i = n - 1; i > 0; --i) std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(below(i + 1))]);
    return p;
  }

 private:
  std::uint64_t s_;
};

/// Per-feature mean and population std over all axes but `feature_axis`; std of a
/// constant feature is 1 (as scikit-learn's StandardScaler).
inline std::pair<at::Tensor, at::Tensor> feature_stats(const at::Tensor& x, std::int64_t feature_axis) {
  auto xd = x.to(at::kDouble).movedim(feature_axis, -1).reshape({-1, x.size(feature_axis)});
  auto mean = xd.mean(0);
  auto stdv = (xd - mean).pow(2).mean(0).sqrt();
  stdv = at::where(stdv > 1e-8, stdv, at::ones_like(stdv));
  return {mean.to(at::kFloat), stdv.to(at::kFloat)};
}

/// Labels usable for classification: defined, one per example, all in [0, classes).
inline bool has_labels(const EncoderData& d) {
  if (!d.labels.defined() || d.labels.numel() != d.size() || d.class_names.size() < 2) return false;
  auto l = d.labels.to(at::kLong);
  return l.min().item<std::int64_t>() >= 0 && l.max().item<std::int64_t>() < static_cast<std::int64_t>(d.class_names.size());
}

inline void require_fitted(const std::string& plugin, bool fitted) {
  if (!fitted) throw InputError(plugin + " encoder: not fitted; run `covergen encoder fit` first");
}

}  // namespace covergen::encoders
