// Fitting the music -> latent mapper for an unconditional generator (`covergen mapper
// fit`, docs/latent.md): Φ(track) from the encoder over the dataset's feature store,
// fitted on the train split, checked on the held-out split (test, else val) with an
// MMD two-sample test against N(0, I) and the Spearman correlation of pairwise
// distances in Φ-space and latent space; saved with that report in its meta.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace covergen {
class PluginRegistry;
}

namespace covergen::latent {

struct MapperFitOptions {
  std::string encoder, generator, data_dir, out;
  std::string features;              ///< feature store; empty: <dataset>/.covergen-cache/features
  std::uint64_t seed = 0;            ///< random features, test samples
  std::int64_t permutations = 1000;  ///< for the MMD p-value, in [0, 100000]
  int threads = 0;                   ///< feature extraction threads (0 = all cores)
  bool progress = false;             ///< feature extraction progress line on a terminal
};

/// Fits and saves the mapper to `out`; returns the meta written with it (JSON: the
/// generator, encoder, dataset, splits, "evaluation" per split, "fit_seconds").
/// InputError for a conditional generator or fewer than 3 training tracks with features.
std::string fit_mapper(const MapperFitOptions& options, const PluginRegistry& registry,
                       const std::function<void(const std::string&)>& log = {});

}  // namespace covergen::latent
