// Helpers for comparing features with librosa's reference outputs in
// tests/data/librosa/<clip>/ (written by ../shared/bench/librosa_reference.py).
#pragma once

#include "covergen/audio/features.hpp"
#include "covergen/npy.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace covergen::audio::testing {

inline std::filesystem::path data_dir() { return std::filesystem::path(COVERGEN_TEST_DATA_DIR) / "librosa"; }
inline std::filesystem::path clip_dir(const std::string& clip) { return data_dir() / clip; }

struct Ref {
  std::vector<std::int64_t> shape;
  std::vector<double> v;
};
inline Ref load_ref(const std::string& clip, const std::string& name) {
  auto a = npy::load(clip_dir(clip) / (name + ".npy"));
  return {a.shape, a.as_double()};
}

/// Largest |a-b| / max(|b|, floor): relative error with an absolute floor for values near 0.
inline double max_rel_err(const std::vector<float>& a, const std::vector<double>& b, double floor) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(std::abs(b[i]), floor));
  return worst;
}
inline double max_abs_err(const std::vector<float>& a, const std::vector<double>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

/// Mel relative error in the power domain over bins within `db` of the clip maximum.
inline double mel_rel_err(const std::vector<float>& a, const std::vector<double>& b, double db = 60.0) {
  const double mx = *std::max_element(b.begin(), b.end());
  const double floor = mx * std::pow(10.0, -db / 10.0);
  double worst = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    if (b[i] >= floor) worst = std::max(worst, std::abs(a[i] - b[i]) / b[i]);
  return worst;
}

}  // namespace covergen::audio::testing
