// Validating a dataset (`covergen dataset check`, docs/datasets.md): the rows the
// spec and CSV reject, plus every cover that does not decode, each with file:line;
// and what is left to train on (usable tracks per split and per genre). Torch-free.
#pragma once

#include <covergen/data/dataset.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace covergen::data {

struct DatasetCheck {
  std::vector<BadRow> bad;                           ///< bad rows and bad covers, by line
  std::size_t usable = 0;                            ///< rows whose cover decodes (all rows with images off)
  std::size_t split_counts[3] = {0, 0, 0};           ///< usable tracks in train, val, test
  std::map<std::string, std::size_t> genre_counts;   ///< usable tracks per genre name
  bool images_checked = false;                       ///< the covers were decoded

  /// `covergen dataset check --json`; `dataset` is the folder or spec as the user named it.
  std::string to_json(const Dataset& ds, const std::string& dataset) const;
  /// The bad rows, one per line, then a summary line.
  std::string to_text(const Dataset& ds) const;
};

/// Checks `ds`; `images` decodes every cover (on `threads` threads, 0 = all cores),
/// calling `on_progress(done)` after each (serialised; may be empty).
DatasetCheck check_dataset(const Dataset& ds, bool images, int threads,
                           const std::function<void(std::size_t done)>& on_progress = {});

}  // namespace covergen::data
