#include "covergen/audio/summary.hpp"

#include <cmath>

namespace covergen::audio {

std::vector<std::string> frame_feature_names(const FeatureConfig& c) {
  static const char* kPitch[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
  std::vector<std::string> n;
  for (int i = 0; i < c.n_mfcc; ++i) n.push_back("mfcc_" + std::to_string(i));
  for (int i = 0; i < 12; ++i) n.push_back(std::string("chroma_") + kPitch[i]);
  n.push_back("spectral_centroid");
  n.push_back("spectral_bandwidth");
  n.push_back("spectral_rolloff");
  for (int i = 0; i <= c.contrast_bands; ++i) n.push_back("spectral_contrast_" + std::to_string(i));
  n.push_back("zero_crossing_rate");
  n.push_back("rms");
  n.push_back("onset_strength");
  return n;
}

Matrix frame_sequence(const Features& f) {
  const int T = f.n_frames;
  const int F = f.mfcc.rows + f.chroma.rows + 3 + f.spectral_contrast.rows + 3;
  Matrix out(T, F);
  for (int t = 0; t < T; ++t) {
    float* r = out.row(t);
    int j = 0;
    for (int i = 0; i < f.mfcc.rows; ++i) r[j++] = f.mfcc(i, t);
    for (int i = 0; i < f.chroma.rows; ++i) r[j++] = f.chroma(i, t);
    r[j++] = f.spectral_centroid(0, t);
    r[j++] = f.spectral_bandwidth(0, t);
    r[j++] = f.spectral_rolloff(0, t);
    for (int i = 0; i < f.spectral_contrast.rows; ++i) r[j++] = f.spectral_contrast(i, t);
    r[j++] = f.zero_crossing_rate(0, t);
    r[j++] = f.rms(0, t);
    r[j++] = f.onset_env[static_cast<std::size_t>(t)];
  }
  return out;
}

std::vector<std::string> summary_names(const FeatureConfig& c) {
  const auto frame = frame_feature_names(c);
  std::vector<std::string> n;
  for (const auto& s : frame) n.push_back(s + "_mean");
  for (const auto& s : frame) n.push_back(s + "_std");
  n.push_back("tempo_bpm");
  n.push_back("beat_rate_hz");
  n.push_back("beat_interval_std_s");
  return n;
}

std::vector<float> summary_vector(const Features& f) {
  const Matrix seq = frame_sequence(f);
  const int T = seq.rows, F = seq.cols;
  std::vector<double> mean(static_cast<std::size_t>(F), 0.0), var(static_cast<std::size_t>(F), 0.0);
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < F; ++j) mean[j] += seq(t, j);
  for (double& m : mean) m /= std::max(T, 1);
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < F; ++j) {
      const double d = seq(t, j) - mean[j];
      var[j] += d * d;
    }
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(2 * F + 3));
  for (double m : mean) out.push_back(static_cast<float>(m));
  for (double v : var) out.push_back(static_cast<float>(std::sqrt(v / std::max(T, 1))));
  const double seconds = static_cast<double>(f.n_samples) / f.sample_rate;
  out.push_back(static_cast<float>(f.tempo));
  out.push_back(static_cast<float>(seconds > 0 ? f.beats.size() / seconds : 0.0));
  double isd = 0;
  if (f.beats.size() >= 3) {
    std::vector<double> iv;
    for (std::size_t i = 1; i < f.beats.size(); ++i)
      iv.push_back(static_cast<double>(f.beats[i] - f.beats[i - 1]) * f.hop_length / f.sample_rate);
    double m = 0;
    for (double v : iv) m += v;
    m /= iv.size();
    for (double v : iv) isd += (v - m) * (v - m);
    isd = std::sqrt(isd / iv.size());
  }
  out.push_back(static_cast<float>(isd));
  return out;
}

}  // namespace covergen::audio
