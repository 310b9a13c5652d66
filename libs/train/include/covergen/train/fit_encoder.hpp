// Fitting an encoder plugin Φ on a dataset's audio features (`covergen encoder fit`,
// docs/encoders.md): the feature store (an existing one, or the dataset's own,
// extracted for the tracks it lacks), the train/validation inputs, the plugin's fit,
// and the model file with its provenance in the meta. Logs and the progress line go
// to stderr / `log`; nothing is printed to stdout.
#pragma once

#include <covergen/plugin_registry.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace covergen::train {

struct FitEncoderOptions {
  std::string plugin;                 ///< encoder plugin name or path
  std::filesystem::path data_dir;     ///< dataset folder (or its dataset.json)
  std::filesystem::path out;          ///< model file to write
  std::filesystem::path features;     ///< feature store; empty: <dataset>/.covergen-cache/features
  std::string device = "auto";
  std::string config = "{}";          ///< extra JSON config for the plugin (an object)
  std::int64_t dim = 0;               ///< 0: the plugin's default
  std::int64_t epochs = 0;            ///< 0: the plugin's default
  std::uint64_t seed = 0;
  int threads = 0;                    ///< feature extraction threads (0 = all cores)
  bool progress = false;              ///< progress line on stderr (on a terminal), else a log line every 10 epochs
  PluginSearchOptions plugins;
  std::function<void(const std::string&)> log;  ///< may be empty
};

struct FitEncoderResult {
  std::string plugin, input;          ///< plugin name; EncoderInput as text
  std::int64_t dim = 0, input_dim = 0, epochs = 0;
  double fit_seconds = 0;
  std::vector<std::pair<std::string, double>> metrics;
  std::size_t train_tracks = 0, val_tracks = 0;
  std::filesystem::path model;        ///< the file written (FitEncoderOptions::out)
  std::string to_json() const;        ///< `covergen encoder fit --json`
  std::string summary() const;        ///< one line: plugin, dim, time, epochs, metrics
};

/// Fits and saves the encoder. InputError for a bad config or fewer than 2 training
/// tracks with features.
FitEncoderResult fit_encoder(const FitEncoderOptions& options);

}  // namespace covergen::train
