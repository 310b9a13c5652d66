// librosa 0.10.2 tempo (feature.rhythm.tempo) and beat tracker (beat.__beat_tracker).
// Precision follows librosa: the onset envelope is float32 and is normalised in
// float32; the numba kernels then run in float64 (frames_per_beat is float64, so
// numpy picks their float64 loops).
#include "covergen/audio/features.hpp"

#include "fft.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace covergen::audio {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<double> periodic_hann(int n) {
  std::vector<double> w(static_cast<std::size_t>(n));
  const double step = (kPi - (-kPi)) / n;
  for (int i = 0; i < n; ++i) w[i] = (0.0 + 0.5) + 0.5 * std::cos(i * step + (-kPi));
  return w;
}

// feature.rhythm.tempo with aggregate=np.mean, prior = log-normal(start_bpm, std 1 octave),
// max_tempo 320, ac_size 8 s.
__attribute__((target_clones("arch=x86-64-v3", "default")))
double estimate_tempo(const std::vector<float>& env, const FeatureConfig& cfg) {
  const int T = static_cast<int>(env.size());
  const double sr = cfg.sample_rate;
  const int hop = cfg.hop_length;
  // time_to_frames(8.0): int(8.0 * sr) // hop
  const int win = static_cast<int>(static_cast<std::int64_t>(8.0 * sr) / hop);
  if (win < 2) return 0.0;
  const int half = win / 2;
  // np.pad(mode='linear_ramp', end_values=0), float32
  std::vector<float> padded(static_cast<std::size_t>(T + 2 * half), 0.0f);
  const double left_edge = env.front(), right_edge = env.back();
  for (int i = 0; i < half; ++i) {
    padded[i] = static_cast<float>(0.0 + i * ((left_edge - 0.0) / half));
    padded[static_cast<std::size_t>(T + 2 * half - 1 - i)] = static_cast<float>(0.0 + i * ((right_edge - 0.0) / half));
  }
  std::copy(env.begin(), env.end(), padded.begin() + half);
  const auto w = periodic_hann(win);

  int nfft = 1;
  while (nfft < 2 * win - 1) nfft <<= 1;
  detail::RealFft fft(nfft);
  detail::FftwBuffer<double> buf(static_cast<std::size_t>(nfft));
  detail::FftwBuffer<fftw_complex> spec(static_cast<std::size_t>(nfft / 2 + 1));
  // tempogram (autocorrelation of each windowed frame, normalised by its maximum, the
  // lag-0 value) and its mean over frames. The inverse FFT is linear, so the mean of the
  // normalised autocorrelations is one inverse FFT of the mean of the normalised power
  // spectra: one forward FFT a frame instead of a forward and an inverse. A frame's lag-0
  // value is its power spectrum's sum over all nfft bins / nfft (Parseval).
  std::vector<double> acc(static_cast<std::size_t>(nfft / 2 + 1), 0.0);
  std::fill(buf.p + win, buf.p + nfft, 0.0);
  for (int t = 0; t < T; ++t) {
    const float* x = padded.data() + t;
    int nonzero = 0;
    for (int i = 0; i < win; ++i) {
      buf[i] = static_cast<double>(x[i]) * w[i];
      nonzero |= buf[i] != 0.0;
    }
    if (!nonzero) continue;  // autocorrelation 0, normalize leaves it 0
    fft.forward(buf.p, spec.p);  // the zero tail stays: an out-of-place r2c keeps its input
    // sum of |X|^2 over all nfft bins (the upper half mirrors the lower), in four
    // independent partial sums
    const int half_n = nfft / 2;
    double f4[4] = {0, 0, 0, 0};
    for (int k = 0; k <= half_n; ++k) {
      const double re = spec[k][0], im = spec[k][1];
      spec[k][0] = re * re + im * im;
    }
    int j = 1;
    for (; j + 4 <= half_n; j += 4)
      for (int l = 0; l < 4; ++l) f4[l] += spec[j + l][0];
    for (; j < half_n; ++j) f4[0] += spec[j][0];
    const double full = spec[0][0] + spec[half_n][0] + 2.0 * ((f4[0] + f4[1]) + (f4[2] + f4[3]));
    // normalize(norm=inf): by the maximum |autocorrelation| = lag 0 = full / nfft;
    // a frame whose maximum is below the smallest normal stays unscaled
    double norm = full / nfft;
    if (norm < std::numeric_limits<double>::min()) norm = 1.0;
    const double scale = 1.0 / (norm * nfft);
    for (int k = 0; k <= half_n; ++k) acc[k] += spec[k][0] * scale;
  }
  for (int k = 0; k <= nfft / 2; ++k) {
    spec[k][0] = acc[k];
    spec[k][1] = 0.0;
  }
  fft.inverse(spec.p, buf.p);
  std::vector<double> tg(buf.p, buf.p + win);
  for (double& v : tg) v /= T;

  // tempo_frequencies; prior; argmax(log1p(1e6 * tg) + logprior)
  int best = -1;
  double best_score = -std::numeric_limits<double>::infinity();
  const double max_tempo = 320.0;
  bool below = false;
  for (int k = 1; k < win; ++k) {
    const double bpm = 60.0 * sr / (hop * static_cast<double>(k));
    below = below || bpm < max_tempo;  // logprior[:argmax(bpms < max_tempo)] = -inf
    if (!below) continue;
    const double z = (std::log2(bpm) - std::log2(cfg.start_bpm)) / 1.0;
    const double score = std::log1p(1e6 * tg[k]) + (-0.5 * z * z);
    if (score > best_score) {
      best_score = score;
      best = k;
    }
  }
  if (best < 0) return 0.0;
  return 60.0 * sr / (hop * static_cast<double>(best));
}

}  // namespace

BeatResult beat_track(const std::vector<float>& env, const FeatureConfig& cfg) {
  BeatResult r;
  const int N = static_cast<int>(env.size());
  bool any = false;
  for (float v : env) any = any || v != 0.0f;
  if (!any || N < 2) return r;  // librosa: (0.0, []) for an all-zero envelope

  r.tempo = estimate_tempo(env, cfg);
  if (!(r.tempo > 0)) return r;

  const double frame_rate = static_cast<double>(cfg.sample_rate) / cfg.hop_length;
  const double fpb = std::nearbyint(frame_rate * 60.0 / r.tempo);

  // __normalize_onsets: float32 std (ddof=1), float32 division
  double mean = 0;
  for (float v : env) mean += v;
  mean /= N;
  double ss = 0;
  for (float v : env) ss += (v - mean) * (v - mean);
  const float norm = static_cast<float>(std::sqrt(ss / (N - 1))) + std::numeric_limits<float>::min();
  std::vector<double> onset(static_cast<std::size_t>(N));
  for (int i = 0; i < N; ++i) onset[i] = static_cast<double>(env[i] / norm);

  // __beat_local_score: same-mode convolution with a Gaussian of +-fpb frames
  // (the loop bound never reaches onset[0], as in librosa)
  const int K = static_cast<int>(2 * fpb + 1);
  std::vector<double> window(static_cast<std::size_t>(K));
  for (int k = 0; k < K; ++k) {
    const double a = (-fpb + k) * 32.0 / fpb;
    window[k] = std::exp(-0.5 * a * a);
  }
  std::vector<double> localscore(static_cast<std::size_t>(N), 0.0);
  for (int i = 0; i < N; ++i) {
    double acc = 0.0;
    for (int k = std::max(0, i + K / 2 - N + 1); k < std::min(i + K / 2, K); ++k) acc += window[k] * onset[i + K / 2 - k];
    localscore[i] = acc;
  }

  // __beat_track_dp
  std::vector<int> backlink(static_cast<std::size_t>(N), -1);
  std::vector<double> cumscore(static_cast<std::size_t>(N), 0.0);
  const double score_thresh = 0.01 * *std::max_element(localscore.begin(), localscore.end());
  bool first_beat = true;
  const double tightness = static_cast<float>(cfg.tightness);
  const double log_fpb = std::log(fpb);
  const int lo_off = static_cast<int>(std::nearbyint(fpb / 2));
  const int hi_off = static_cast<int>(2 * fpb);
  // The transition penalty depends only on the distance i - loc in [lo_off, hi_off]:
  // tabulated once (the same expression, so the same values) instead of a log per candidate.
  std::vector<double> penalty(static_cast<std::size_t>(std::max(hi_off, 0) + 1), 0.0);
  for (int dist = std::max(lo_off, 1); dist <= hi_off; ++dist) {
    const double d = std::log(static_cast<double>(dist)) - log_fpb;
    penalty[static_cast<std::size_t>(dist)] = tightness * d * d;
  }
  for (int i = 0; i < N; ++i) {
    double best_score = -std::numeric_limits<double>::infinity();
    int beat_location = -1;
    for (int loc = i - lo_off; loc > i - hi_off - 1; --loc) {
      if (loc < 0) break;
      double pen;
      if (i - loc >= 1 && i - loc <= hi_off) {
        pen = penalty[static_cast<std::size_t>(i - loc)];
      } else {  // not reached for tempi librosa can return (lo_off >= 1)
        const double d = std::log(static_cast<double>(i - loc)) - log_fpb;
        pen = tightness * d * d;
      }
      const double score = cumscore[loc] - pen;
      if (score > best_score) {
        best_score = score;
        beat_location = loc;
      }
    }
    cumscore[i] = beat_location >= 0 ? localscore[i] + best_score : localscore[i];
    if (first_beat && localscore[i] < score_thresh) {
      backlink[i] = -1;
    } else {
      backlink[i] = beat_location;
      first_beat = false;
    }
  }

  // __last_beat: last local maximum of cumscore above half the median of local maxima
  std::vector<char> lmax(static_cast<std::size_t>(N), 0);
  for (int i = 1; i + 1 < N; ++i) lmax[i] = cumscore[i] > cumscore[i - 1] && cumscore[i] >= cumscore[i + 1];
  if (N >= 2) lmax[N - 1] = cumscore[N - 1] > cumscore[N - 2];
  std::vector<double> maxima;
  for (int i = 0; i < N; ++i)
    if (lmax[i]) maxima.push_back(cumscore[i]);
  int tail = N - 1;
  if (!maxima.empty()) {
    std::sort(maxima.begin(), maxima.end());
    const std::size_t h = maxima.size() / 2;
    const double median = maxima.size() % 2 ? maxima[h] : (maxima[h - 1] + maxima[h]) / 2.0;
    const double threshold = 0.5 * median;
    for (int i = N - 1; i >= 0; --i) {
      if (lmax[i] && cumscore[i] >= threshold) {
        tail = i;
        break;
      }
    }
  }

  // __dp_backtrack
  std::vector<char> beats(static_cast<std::size_t>(N), 0);
  for (int i = tail; i >= 0; i = backlink[i]) beats[i] = 1;

  // __trim_beats: threshold = half the RMS of the Hann-smoothed local score at the beats
  {
    std::vector<double> at;
    for (int i = 0; i < N; ++i)
      if (beats[i]) at.push_back(localscore[i]);
    const double w[5] = {0.0, 0.5, 1.0, 0.5, 0.0};  // np.hanning(5)
    const int nb = static_cast<int>(at.size());
    std::vector<double> full(static_cast<std::size_t>(nb + 4), 0.0);  // np.convolve(at, w), full mode
    for (int i = 0; i < nb; ++i)
      for (int k = 0; k < 5; ++k) full[static_cast<std::size_t>(i + k)] += at[i] * w[k];
    // [len(w)//2 : len(localscore) + len(w)//2]
    const int a = 2, b = std::min(nb + 4, N + 2);
    double sq = 0;
    for (int i = a; i < b; ++i) sq += full[i] * full[i];
    const double threshold = cfg.trim_beats && b > a ? 0.5 * std::sqrt(sq / (b - a)) : 0.0;
    for (int i = 0; i < N && localscore[i] <= threshold; ++i) beats[i] = 0;
    for (int i = N - 1; i >= 0 && localscore[i] <= threshold; --i) beats[i] = 0;
  }
  for (int i = 0; i < N; ++i)
    if (beats[i]) r.beats.push_back(i);
  return r;
}

}  // namespace covergen::audio
