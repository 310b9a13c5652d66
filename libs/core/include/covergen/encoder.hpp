// Encoder Φ: a music track to a conditioning vector.
#pragma once

#include "covergen/plugin_object.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace covergen {

/// What an encoder consumes, all produced by the audio front end (docs/audio-features.md).
enum class EncoderInput {
  summary,  ///< per-track summary vector            [N, F]
  frames,   ///< frame-feature sequence              [N, T, F]
  logmel,   ///< log-mel spectrogram (dB)            [N, M, T]
};
const char* to_string(EncoderInput input);
/// Throws InputError for an unknown name.
EncoderInput encoder_input_from_string(const std::string& name);

/// A labelled (or unlabelled) set of encoder inputs.
struct EncoderData {
  at::Tensor inputs;                     ///< float32, shape per EncoderInput, first dim N
  at::Tensor labels;                     ///< int64 [N] class index, or undefined when unlabelled
  std::vector<std::string> class_names;  ///< names of the label classes (may be empty)
  std::int64_t size() const { return inputs.defined() ? inputs.size(0) : 0; }
};

struct FitProgress {
  std::int64_t epoch = 0, epochs = 0;
  double train_loss = 0.0, val_loss = 0.0, val_accuracy = -1.0;
};

struct FitOptions {
  std::int64_t dim = 0;   ///< requested embedding size; 0 = the plugin's default
  std::uint64_t seed = 0;
  c10::Device device{c10::kCPU};
  std::function<void(const FitProgress&)> on_progress;  ///< may be empty
};

/// Metrics from fitting, e.g. {"val_loss", 0.12}, {"val_accuracy", 0.97}.
struct FitReport {
  std::vector<std::pair<std::string, double>> metrics;
  std::int64_t epochs = 0;
};

class Encoder : public PluginObject {
 public:
  ~Encoder() override;

  virtual EncoderInput input_kind() const = 0;
  /// Size of one input's feature axis (F, or M for log-mel); 0 before fitting.
  virtual std::int64_t input_dim() const = 0;
  /// Embedding size; 0 before fitting.
  virtual std::int64_t dim() const = 0;
  virtual bool fitted() const = 0;

  /// Fits on `train`; `val` (may be empty) drives early stopping and metrics.
  virtual FitReport fit(const EncoderData& train, const EncoderData& val, const FitOptions& options) = 0;

  /// Encodes a batch: inputs [N, ...] -> float32 [N, dim()] on the encoder's device.
  /// Throws InputError when the input's shape does not match input_kind()/input_dim().
  virtual at::Tensor encode_batch(const at::Tensor& inputs) const = 0;

  /// Class logits [N, classes] for encoders trained as classifiers; undefined otherwise.
  virtual at::Tensor classify_batch(const at::Tensor& inputs) const;

  /// One track: input without the batch axis -> [dim()].
  at::Tensor encode(const at::Tensor& input) const;
};

}  // namespace covergen
