// How a track drives a generator, shared by `covergen generate --mapper`, `interpolate`
// and `animate` (docs/latent.md), and by programs linking covergen::latent:
//  - an unconditional generator with a mapper (covergen mapper fit): z = mapper(Φ(track)),
//    Φ the encoder the mapper carries;
//  - a generator conditioned on the sound (train --condition audio:... or ENCODER.cvgn):
//    c = the run's condition of the track (generate::RunCondition, as `covergen
//    generate TRACK` computes it); z comes from the seed.
// Anything else cannot take a track, and says so.
#pragma once

#include <covergen/audio/features.hpp>
#include <covergen/generate/condition.hpp>
#include <covergen/generate/requests.hpp>
#include <covergen/generator.hpp>
#include "covergen/latent/mapper.hpp"

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace covergen {
class PluginRegistry;
}

namespace covergen::latent {

/// A point in the generator's input space; z and/or c may be undefined ("take z from the seed").
struct LatentPoint {
  at::Tensor z;  ///< [L] or undefined
  at::Tensor c;  ///< [C] or undefined
};

class TrackLatents {
 public:
  /// `model` names the generator (for messages); `condition_meta` is the run's
  /// meta["condition"]; `mapper_file` may be empty.
  TrackLatents(const ConditionalGenerator& generator, const std::string& model, const std::string& condition_meta_json,
               const std::string& mapper_file, const PluginRegistry& registry);

  /// Points for whole tracks' features (one per entry).
  std::vector<LatentPoint> points(const std::vector<audio::Features>& features) const;
  /// Loads and analyses audio files; InputError names a file that cannot be decoded.
  static std::vector<audio::Features> analyse(const std::vector<std::filesystem::path>& files);

  bool uses_mapper() const { return mapper_.has_value(); }

 private:
  std::string model_;
  std::optional<MapperFile> mapper_;
  std::optional<generate::RunCondition> condition_;  // without a mapper: the run's condition of a track
};

/// `covergen generate --mapper`: one cover request per audio file, its z chosen by the
/// mapper (`mapper_file`) from the track; `model` and `condition_meta_json` as for
/// TrackLatents. InputError when there are no files or a file cannot be decoded.
std::vector<generate::CoverRequest> mapper_requests(const ConditionalGenerator& generator, const std::string& model,
                                                    const std::string& condition_meta_json, const std::string& mapper_file,
                                                    const std::vector<std::string>& files, const PluginRegistry& registry);

/// `n` latents around `z` [L] for one track's covers: the first is `z` itself, the
/// others sqrt(1 - s^2) z + s eps with s = `variation` in [0, 1] (again N(0, I)); [n, L].
at::Tensor latent_variations(const at::Tensor& z, std::int64_t n, double variation, at::Generator& rng);

/// The frames [begin, end) of `f` as a Features of their own (every per-frame matrix
/// cut; beats shifted; tempo and tuning kept from the whole track), for windowed analysis.
audio::Features slice_features(const audio::Features& f, int begin, int end);

}  // namespace covergen::latent
