// Timing the audio front end on one clip (`covergen bench features`,
// docs/performance.md):
//  - single thread: decode, resample and every feature stage, median of `runs` runs
//    after one warm-up (the process start-up and FFTW planning are excluded), wall and
//    thread CPU time (robust against other processes on a busy machine);
//  - batch: `copies` copies of the clip through extract_batch (store writes included)
//    with 1 thread and with `threads` threads, in tracks per second, the two
//    alternating for `batch_rounds` rounds (medians), so a slow moment of a shared
//    machine does not land on one side only.
#pragma once

#include <covergen/audio/decoder.hpp>

#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace covergen::audio {

struct FeatureBenchOptions {
  std::filesystem::path clip;
  int runs = 5;
  int threads = 0;        ///< batch threads; 0: all cores
  int copies = 0;         ///< 0: max(32, 16 x threads)
  int batch_rounds = 3;
  bool batch = true;      ///< false: only the single-thread figures
  bool mp3_mono_mix = false;  ///< DecodeOptions::mp3_mono_mix (speed option, not librosa's samples)
};

struct FeatureBench {
  double audio_seconds = 0;
  AudioInfo source;                                         ///< the clip as decoded
  std::vector<std::pair<std::string, double>> stages_median_s;  ///< decode, resample, then feature stages in order
  std::size_t runs = 0;
  double median_total_s = 0, min_total_s = 0, median_cpu_s = 0;
  // Batch figures (when FeatureBenchOptions::batch).
  int copies = 0, threads = 0;
  std::vector<double> rates_1_thread, rates_n_threads;     ///< tracks/s per round
  double rate_1_thread = 0, rate_n_threads = 0, wall_1_thread = 0, wall_n_threads = 0;  ///< medians
  FeatureBenchOptions options;                              ///< what was run

  /// `covergen bench features --json`, with the machine (cpu_report()).
  std::string to_json() const;
  /// The table `covergen bench features` prints, machine line first.
  std::string to_text() const;
};

/// Runs the benchmark (batch stores in a temporary folder, removed). InputError when
/// the clip cannot be decoded.
FeatureBench bench_features(const FeatureBenchOptions& options);

}  // namespace covergen::audio
