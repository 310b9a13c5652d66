// The run's condition: how a generator is conditioned and how to compute that
// condition c for a genre, a set of attribute values, an audio track or dataset
// tracks. Training writes it into the run's meta ("condition"); `covergen
// generate`, evaluate, interpolate, animate, serve and the downstream examples read
// it back through RunCondition, so a track gives the same c on every path.
//
// Modes (meta "mode"):
//   none        unconditional (c empty)
//   genre       one-hot over "names"
//   attributes  dataset attribute values "names", standardised with "mean"/"std"
//   audio       entries "names" of the audio summary vector (docs/audio-features.md),
//               measured from the sound, standardised with "mean"/"std"
//   encoder     Φ(track) of the run's copy of a fitted music encoder ("encoder",
//               relative to the run folder), standardised with "mean"/"std"
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
namespace data {
class Dataset;
}
}  // namespace covergen

namespace covergen::generate {

/// One track's condition and what was measured on the way.
struct TrackCondition {
  at::Tensor condition;  ///< [C] float32, standardised: what the generator takes
  at::Tensor values;     ///< [C] float64, the raw summary values (mode audio) or Φ(track) (mode encoder)
};

class RunCondition {
 public:
  /// Reads a run's meta["condition"] (`condition_json`); `model` is the run folder or
  /// generator file it came from (the encoder's path is relative to it, and messages
  /// name it); `condition_dim` is the generator's (a meta without "mode" means
  /// "none" when it is 0). Mode encoder loads the run's encoder through `registry`.
  /// Throws InputError when the meta is inconsistent with itself or the generator.
  RunCondition(const std::filesystem::path& model, const std::string& condition_json, std::int64_t condition_dim,
               const PluginRegistry& registry);
  ~RunCondition();
  RunCondition(const RunCondition&);
  RunCondition& operator=(const RunCondition&);

  /// "none", "genre", "attributes", "audio", "encoder" (or what an unknown meta says).
  const std::string& mode() const;
  /// Whether conditions come from audio tracks (modes audio and encoder).
  bool takes_audio() const;
  /// Genre names (genre), attribute names (attributes), summary names (audio); else empty.
  const std::vector<std::string>& names() const;
  /// Mode encoder: the run's encoder (nullptr otherwise).
  const Encoder* encoder() const;
  /// The meta object as JSON text (what training wrote).
  const std::string& meta_json() const;

  /// One-hot rows [N, C] for genre names; InputError listing the model's genres for an unknown one.
  at::Tensor for_genres(const std::vector<std::string>& genres) const;
  /// [C] from "name=value,name=value", standardised with the training statistics;
  /// unnamed attributes take the training mean (0). InputError for unknown names or values.
  at::Tensor for_attributes(const std::string& spec) const;
  /// [N, C] for audio files (modes audio and encoder): decoded and analysed in
  /// parallel (`threads`, 0 = all cores), encoded one at a time. InputError names a
  /// file that cannot be decoded.
  at::Tensor for_tracks(const std::vector<std::filesystem::path>& files, int threads) const;
  /// One analysed track (modes audio and encoder); InputError when its values are not
  /// finite. Thread-safe.
  TrackCondition for_features(const audio::Features& features) const;
  /// [N, C] for dataset tracks `rows` in every conditional mode: genre and attribute
  /// columns from the dataset, audio and encoder conditions from the tracks' audio
  /// exactly as for_tracks computes them.
  at::Tensor for_dataset(const data::Dataset& dataset, const std::vector<std::size_t>& rows, int threads) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// ---- Training: the conditions of a dataset's tracks and the meta that rebuilds them.

struct TrainingConditions {
  at::Tensor per_track;      ///< [N, C] float32 over the dataset's tracks; undefined for mode none
  std::string meta_json;     ///< the run's meta["condition"] (RunCondition reads it)
  at::Tensor grid;           ///< [R, C] fixed rows for the training sample grid
  std::vector<bool> usable;  ///< tracks that have a condition (empty: all)
};

/// Conditions for `--condition spec`: "none", "genre", "attributes:NAME[,NAME...]" or
/// "audio:FEATURE[,FEATURE...]", standardised with the training rows' (`train`)
/// statistics. InputError for an unknown spec, attribute or feature.
TrainingConditions training_conditions(const std::string& spec, const data::Dataset& dataset,
                                       const std::vector<std::size_t>& train, int threads);

/// Conditions Φ(track) of a fitted encoder: `raw` [N, D] float64 embeddings of the
/// dataset's tracks (`have[i]` false where a track could not be encoded),
/// standardised with the training rows' statistics. `encoder_source` is recorded;
/// the run keeps its copy as "encoder.cvgn". InputError when no training track was encoded.
TrainingConditions encoder_training_conditions(const Encoder& encoder, const std::filesystem::path& encoder_source,
                                               const at::Tensor& raw, const std::vector<bool>& have,
                                               const data::Dataset& dataset, const std::vector<std::size_t>& train);

// ---- From audio to encoder inputs and summaries (shared with encoder fit/eval, mapper).

/// Whether a --condition value names an encoder model file (ends in .cvgn or is a file).
bool is_encoder_condition(const std::string& spec);

/// The part of a file to analyse, in seconds (a dataset's excerpt columns, written by
/// `covergen dataset import`); offset < 0 means the whole file.
struct AudioWindow {
  double offset_s = -1.0;
  double duration_s = -1.0;
};

/// The windows of dataset tracks `idx` (all tracks when `idx` is empty).
std::vector<AudioWindow> dataset_windows(const data::Dataset& dataset, const std::vector<std::size_t>& idx = {});

/// The raw (unstandardised) summary values `names` of each file, [N, K] float64,
/// analysed in parallel. InputError names a file that cannot be decoded. `windows`
/// (empty, or one per file) limits each file to its excerpt.
at::Tensor audio_summary_values(const std::vector<std::filesystem::path>& files, const std::vector<std::string>& names,
                                int threads, const std::vector<AudioWindow>& windows = {});

/// One track's encoder input (without the batch axis, float32) from its features.
/// Throws InputError when the features cannot be summarised (e.g. non-finite samples).
at::Tensor encoder_input_from_features(const audio::Features& features, EncoderInput kind);

/// Φ of one input (without the batch axis): float64 [dim] on the CPU, without autograd.
at::Tensor embed_input(const Encoder& encoder, const at::Tensor& input);

/// Φ of audio files, [N, D] float64: decoded and analysed in parallel, encoded one at
/// a time. InputError names a file that cannot be decoded.
at::Tensor track_embeddings(const Encoder& encoder, const std::vector<std::filesystem::path>& files, int threads);

}  // namespace covergen::generate
