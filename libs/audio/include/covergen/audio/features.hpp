// librosa 0.10.2-identical frame features from ONE shared STFT.
//
// Configure once, compute many: a FeatureExtractor builds its window, mel and
// DCT matrices and FFTW plans in the constructor and reuses them for every
// signal. One extractor per thread (compute() is not re-entrant); constructing
// extractors concurrently is safe (FFTW planning is serialised internally).
//
// Every default below is librosa's (see docs/audio-features.md and
// ../shared/design/librosa-compat.md). Arrays follow librosa's layout:
// [feature, frame], row-major, T = 1 + n / hop frames.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace covergen::audio {

/// A row-major float matrix (numpy C order).
struct Matrix {
  int rows = 0;
  int cols = 0;
  std::vector<float> data;

  Matrix() = default;
  Matrix(int r, int c, float fill = 0.0f)
      : rows(r), cols(c), data(static_cast<std::size_t>(r) * static_cast<std::size_t>(c), fill) {}
  float& operator()(int r, int c) { return data[static_cast<std::size_t>(r) * cols + c]; }
  float operator()(int r, int c) const { return data[static_cast<std::size_t>(r) * cols + c]; }
  const float* row(int r) const { return data.data() + static_cast<std::size_t>(r) * cols; }
  float* row(int r) { return data.data() + static_cast<std::size_t>(r) * cols; }
};

struct FeatureConfig {
  int sample_rate = 22050;
  int n_fft = 2048;       ///< also win_length and the ZCR/RMS frame length
  int hop_length = 512;
  int n_mels = 128;       ///< Slaney mel scale, slaney norm, fmin 0, fmax sr/2
  int n_mfcc = 20;        ///< DCT-II, ortho
  int n_chroma = 12;
  double top_db = 80.0;   ///< power_to_db clipping, over the whole clip
  double rolloff = 0.85;
  double contrast_fmin = 200.0;
  int contrast_bands = 6;
  double contrast_quantile = 0.02;
  double start_bpm = 120.0;
  double tightness = 100.0;
  bool trim_beats = true;
  /// Keep the power spectrogram for the chroma pass only up to this many frames
  /// (default ~6.3 min at 22.05 kHz, 67 MB); longer signals recompute the STFT
  /// frame by frame for chroma, so memory stays bounded for long files.
  std::int64_t max_cached_frames = 1 << 14;
};

/// Wall time of each stage of one compute() call, in seconds.
struct StageTimes {
  std::vector<std::pair<std::string, double>> stages;
  double total() const;
  void add(const std::string& name, double seconds);
};

struct Features {
  int n_frames = 0;
  int sample_rate = 22050;
  int hop_length = 512;
  std::int64_t n_samples = 0;
  Matrix mel;                 ///< [n_mels, T] power mel spectrogram (librosa.feature.melspectrogram)
  Matrix log_mel;             ///< [n_mels, T] power_to_db(mel, ref=max, top_db=80): the CNN input, in [-80, 0]
  Matrix mfcc;                ///< [n_mfcc, T]
  Matrix chroma;              ///< [12, T] chroma_stft (C first), max-normalised per frame
  Matrix spectral_centroid;   ///< [1, T] Hz
  Matrix spectral_bandwidth;  ///< [1, T] Hz
  Matrix spectral_rolloff;    ///< [1, T] Hz
  Matrix spectral_contrast;   ///< [n_bands+1, T] dB
  Matrix zero_crossing_rate;  ///< [1, T]
  Matrix rms;                 ///< [1, T]
  std::vector<float> onset_env;  ///< [T] onset_strength (mean over mel bands)
  double tuning = 0.0;        ///< estimate_tuning on the power STFT, in fractions of a bin
  double tempo = 0.0;         ///< BPM (0 when the onset envelope is all zero)
  std::vector<int> beats;     ///< beat frames (librosa.beat.beat_track, units='frames')
  StageTimes times;
};

class FeatureExtractor {
 public:
  explicit FeatureExtractor(FeatureConfig config = {});
  ~FeatureExtractor();
  FeatureExtractor(FeatureExtractor&&) noexcept;
  FeatureExtractor& operator=(FeatureExtractor&&) noexcept;
  FeatureExtractor(const FeatureExtractor&) = delete;
  FeatureExtractor& operator=(const FeatureExtractor&) = delete;

  /// All features of a mono signal at config().sample_rate. Throws InputError
  /// on an empty or non-finite signal, or when a feature comes out non-finite
  /// (an amplitude so large that float32 power overflows).
  Features compute(const float* y, std::size_t n);
  Features compute(const std::vector<float>& y) { return compute(y.data(), y.size()); }

  const FeatureConfig& config() const;

  /// The filterbanks, as librosa builds them (float32), for tests and docs.
  const Matrix& mel_filterbank() const;                 ///< [n_mels, 1 + n_fft/2]
  static Matrix chroma_filterbank(const FeatureConfig& config, double tuning);  ///< [12, 1 + n_fft/2]

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// librosa.estimate_tuning's histogram step (pitch_tuning) on given frequencies.
double pitch_tuning(const std::vector<float>& frequencies, double resolution = 0.01, int bins_per_octave = 12);

/// Tempo (BPM) and beat frames from an onset envelope, as librosa.beat.beat_track
/// (librosa 0.10: tempo from the autocorrelation tempogram with a log-normal
/// prior, then the dynamic-programming tracker and its trimming).
struct BeatResult {
  double tempo = 0.0;
  std::vector<int> beats;
};
BeatResult beat_track(const std::vector<float>& onset_envelope, const FeatureConfig& config);

}  // namespace covergen::audio
