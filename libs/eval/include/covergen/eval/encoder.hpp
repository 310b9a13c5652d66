// The evaluation of a fitted encoder Φ (`covergen encoder eval`, docs/encoders.md) on
// a dataset's test split, through its audio feature store: k-NN genre accuracy
// against the training split, silhouette, a classifier's genre accuracy, encoding
// time per track, and optionally a 2-D map PNG (Barnes-Hut t-SNE or PCA of the
// embeddings standardised per axis, coloured by genre).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace covergen {
class PluginRegistry;
}

namespace covergen::eval {

struct EncoderEvaluationOptions {
  std::string model, data_dir;
  std::string features;              ///< feature store; empty: <dataset>/.covergen-cache/features
  std::string map;                   ///< map PNG to write; empty: none
  std::string map_method = "tsne";   ///< tsne or pca
  std::string device = "auto";
  int threads = 0;                   ///< feature extraction threads (0 = all cores)
  int k = 5;                         ///< neighbours for the k-NN accuracy
  std::uint64_t seed = 0;            ///< t-SNE seed
  bool progress = false;             ///< feature extraction progress line on a terminal
};

/// The metrics as one JSON object (schema_version 1; keys as docs/encoders.md lists).
/// InputError for bad options or a test split without features.
nlohmann::json evaluate_encoder(const EncoderEvaluationOptions& options, const PluginRegistry& registry,
                                const std::function<void(const std::string&)>& log = {});

}  // namespace covergen::eval
