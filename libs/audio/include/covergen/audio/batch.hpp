// Batch extraction into a FeatureStore: N worker threads, each with its own
// FeatureExtractor (configure once, compute many); results are committed in input
// order, so the store's bytes do not depend on the thread count. Finished keys are
// skipped (resume); a bad file is recorded as a failure and never stops the batch.
#pragma once

#include "covergen/audio/features.hpp"
#include "covergen/audio/load.hpp"
#include "covergen/audio/store.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace covergen::audio {

struct BatchItem {
  std::string key;              ///< unique id in the store (track id or path)
  std::filesystem::path path;   ///< the audio file
  /// This item's excerpt (a dataset's excerpt_start/excerpt_seconds columns), seconds;
  /// offset_s < 0: BatchOptions::load.decode's offset and duration apply.
  double offset_s = -1.0, duration_s = -1.0;
};

struct BatchFailure {
  std::string key;
  std::filesystem::path path;
  std::string error;
};

struct BatchOptions {
  int threads = 1;
  LoadOptions load{};
  FeatureConfig features{};
  double commit_interval_s = 2.0;  ///< fsync + index rewrite at most this often
  /// Inputs that failed before extraction (e.g. a dataset row whose audio is missing):
  /// reported first, and written to the store's failures.json with the others.
  std::vector<BatchFailure> input_failures;
};

struct BatchProgress {
  std::size_t done = 0, total = 0, failed = 0, skipped = 0;
  double audio_seconds = 0;  ///< audio extracted so far
};

struct BatchReport {
  std::size_t total = 0;      ///< items given
  std::size_t skipped = 0;    ///< already in the store (resumed)
  std::size_t extracted = 0;  ///< newly written
  std::vector<BatchFailure> failures;
  double wall_seconds = 0;
  double audio_seconds = 0;   ///< duration of the audio extracted in this run
  int threads = 0;            ///< BatchOptions::threads
  std::filesystem::path store;

  std::string to_json() const;  ///< `covergen features --out STORE --json`
  std::string to_text() const;  ///< a summary line, then one line per failure
};

/// The store layout produced by these options (names of frame features and summary).
StoreLayout store_layout(const BatchOptions& options);

/// Runs the batch. `progress` (optional) is called from the calling thread.
/// The audio files under `folder`, recursively, by extension (.wav .flac .ogg .oga
/// .opus .mp3 .aif .aiff .au .w64 .caf, any case), sorted; each keyed by its path.
std::vector<BatchItem> audio_files_under(const std::filesystem::path& folder);

BatchReport extract_batch(const std::vector<BatchItem>& items, FeatureStore& store, const BatchOptions& options,
                          const std::function<void(const BatchProgress&)>& progress = nullptr);

}  // namespace covergen::audio
