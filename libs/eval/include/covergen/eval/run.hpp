// The whole evaluation of a trained run (docs/evaluation.md), what `covergen
// evaluate` prints and `covergen report` draws: conditioning fidelity and confusion,
// FID/KID overall and per genre (with the real-test and shuffled-condition
// references), diversity, memorisation, attribute-statistic rank correlations,
// k-means colour clusters; with pictures, also the t-SNE maps and sample grids.
// Covers come from the run's own conditions of the test tracks (libs/generate), in
// every condition mode, encoder-conditioned runs included.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace covergen {
class PluginRegistry;
}

namespace covergen::eval {

struct EvaluationOptions {
  std::string run, data_dir, device = "auto";
  std::string features;              ///< TorchScript feature network; empty: the built-in judge features
  std::string music = "auto";        ///< music map input: audio, attributes, none, auto
  std::int64_t per_track = 4, classifier_epochs = 30, kid_subsets = 100;
  std::uint64_t seed = 0;
  int threads = 0;
  std::int64_t map_points = 5000;    ///< at most this many covers in the t-SNE mosaic
};

struct EvaluationPictures {
  std::string cover_mosaic_png;      ///< t-SNE of cover features as thumbnails (generated framed red)
  std::string music_map_png;         ///< t-SNE of music descriptors coloured by genre (may be empty)
  std::string music_description;
  std::vector<std::pair<std::string, std::string>> genre_grids;  ///< (genre, PNG) generated covers
  std::vector<std::pair<std::string, std::string>> real_grids;   ///< (genre, PNG) real test covers
};

/// Runs the evaluation of `options.run` (plugins through `registry`); `pictures`
/// non-null also draws the maps (t-SNE) and grids; `log` (may be empty) gets progress
/// lines. Throws InputError for unusable runs or datasets.
nlohmann::json evaluate_run(const EvaluationOptions& options, const PluginRegistry& registry,
                            EvaluationPictures* pictures, const std::function<void(const std::string&)>& log = {});

/// One self-contained HTML page (images as base64 data URIs, loss curves from
/// RUN/log.jsonl as inline SVG) of evaluate_run's metrics and pictures.
std::string report_html(const nlohmann::json& metrics, const EvaluationPictures& pictures, const std::string& run);

}  // namespace covergen::eval
