// The whole evaluation of a trained run, shared by `covergen evaluate` and
// `covergen report` (defined in cmd_evaluate.cpp; docs/evaluation.md): conditioning
// fidelity and confusion, FID/KID overall and per genre (with the real-test and
// shuffled-condition references), diversity, memorisation, attribute-statistic rank
// correlations, k-means colour clusters; with `pictures`, also the t-SNE maps and
// sample grids as PNG bytes.
#pragma once

#include "cli.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace covergen::cli {

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

/// Runs the evaluation; `pictures` non-null also draws the maps (t-SNE) and grids.
nlohmann::json evaluate_run(const EvaluationOptions& options, const CommonOptions& common, EvaluationPictures* pictures);

/// Adds the evaluation's options to a subcommand.
void add_evaluation_options(CLI::App& cmd, EvaluationOptions& options);

}  // namespace covergen::cli
