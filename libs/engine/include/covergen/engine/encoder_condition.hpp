// Conditions from a fitted music encoder Φ, shared by `covergen generate` and
// `covergen serve` for runs trained with `covergen train --condition ENCODER.cvgn`:
// a decoded track's features -> the encoder's input -> Φ(track) -> standardised with
// the training tracks' mean/std stored in the run's meta. The run keeps its own copy
// of the encoder (meta condition.encoder, relative to the run folder).
#pragma once

#include <covergen/encoder.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace covergen {
class PluginRegistry;
namespace audio {
struct Features;
}
}  // namespace covergen

namespace covergen::engine {

/// One track's encoder input (without the batch axis, float32) from its features.
/// Throws InputError when the features cannot be summarised (e.g. non-finite samples).
at::Tensor encoder_input_from_features(const audio::Features& features, EncoderInput kind);

/// Φ of one track's input (without the batch axis): float64 [encoder.dim()] on the
/// CPU, computed without autograd. Callers serialise calls that share an encoder.
at::Tensor embed_input(const Encoder& encoder, const at::Tensor& input);
/// embed_input(encoder, encoder_input_from_features(features, encoder.input_kind())).
at::Tensor embed_features(const Encoder& encoder, const audio::Features& features);

/// Where a run's encoder lives: `encoder_in_meta` relative to the run folder (`model`
/// itself, or the folder holding the generator/checkpoint file given as --model).
std::filesystem::path run_encoder_path(const std::filesystem::path& model, const std::string& encoder_in_meta);

/// A run's encoder and the statistics its conditions were standardised with.
class RunEncoder {
 public:
  /// Loads run_encoder_path(model, encoder_in_meta) through `registry`; throws
  /// InputError naming the encoder file when its dimension is not mean's/stdv's.
  RunEncoder(const std::filesystem::path& model, const std::string& encoder_in_meta, std::vector<double> mean,
             std::vector<double> stdv, const PluginRegistry& registry);

  const Encoder& encoder() const { return *encoder_; }
  const std::filesystem::path& file() const { return file_; }
  std::int64_t dim() const { return static_cast<std::int64_t>(mean_.size()); }

  /// (raw - mean) / std for raw Φ values [..., dim] (float64), as float32.
  at::Tensor standardise(const at::Tensor& raw) const;

 private:
  std::filesystem::path file_;
  std::shared_ptr<Encoder> encoder_;
  std::vector<double> mean_, stdv_;
};

}  // namespace covergen::engine
