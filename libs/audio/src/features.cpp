// librosa 0.10.2 features from one STFT. Each block says which librosa function
// it reproduces and in which precision librosa computes it (float32 input makes
// most of librosa's intermediates float32; where the last bits decide a discrete
// choice, e.g. rolloff's bin or the tuning histogram, the same precision is used).
#include "covergen/audio/features.hpp"

#include "covergen/errors.hpp"
#include "extremes.hpp"
#include "fft.hpp"
#include "finite.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// AVX2 + FMA clones with contraction of a*b+c into FMAs (GCC's optimize attribute; clang
// contracts within an expression by default and ignores it).
#if defined(__clang__)
#define COVERGEN_FMA_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define COVERGEN_FMA_CLONES __attribute__((target_clones("arch=x86-64-v3", "default"), optimize("fp-contract=fast")))
#endif

namespace covergen::audio {

double StageTimes::total() const {
  double s = 0;
  for (const auto& st : stages) s += st.second;
  return s;
}
void StageTimes::add(const std::string& name, double seconds) {
  for (auto& st : stages) {
    if (st.first == name) {
      st.second += seconds;
      return;
    }
  }
  stages.emplace_back(name, seconds);
}

namespace {

using clock_type = std::chrono::steady_clock;
double since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

constexpr double kPi = 3.14159265358979323846;
constexpr float kTinyF = std::numeric_limits<float>::min();  // np.finfo(float32).tiny

// scipy.signal.get_window('hann', n, fftbins=True): general_cosine on n+1 points,
// last dropped; fac = linspace(-pi, pi, n+1).
std::vector<double> periodic_hann(int n) {
  std::vector<double> w(static_cast<std::size_t>(n));
  const double step = (kPi - (-kPi)) / n;  // linspace(-pi, pi, n + 1)
  for (int i = 0; i < n; ++i) {
    const double fac = i * step + (-kPi);
    w[i] = (0.0 + 0.5) + 0.5 * std::cos(fac);  // zeros + a0*cos(0) + a1*cos(fac)
  }
  return w;
}

// librosa.hz_to_mel / mel_to_hz (Slaney)
double hz_to_mel(double f) {
  const double f_sp = 200.0 / 3;
  double m = f / f_sp;
  const double min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp, logstep = std::log(6.4) / 27.0;
  if (f >= min_log_hz) m = min_log_mel + std::log(f / min_log_hz) / logstep;
  return m;
}
double mel_to_hz(double m) {
  const double f_sp = 200.0 / 3;
  double f = f_sp * m;
  const double min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp, logstep = std::log(6.4) / 27.0;
  if (m >= min_log_mel) f = min_log_hz * std::exp(logstep * (m - min_log_mel));
  return f;
}

// np.fft.rfftfreq(n, 1/sr)
std::vector<double> fft_frequencies(double sr, int n_fft) {
  const double val = 1.0 / (n_fft * (1.0 / sr));
  std::vector<double> f(static_cast<std::size_t>(n_fft / 2 + 1));
  for (std::size_t k = 0; k < f.size(); ++k) f[k] = static_cast<double>(k) * val;
  return f;
}

// np.linspace(start, stop, num) (endpoint=True)
std::vector<double> linspace(double start, double stop, int num) {
  std::vector<double> y(static_cast<std::size_t>(num));
  if (num == 1) {
    y[0] = start;
    return y;
  }
  const double step = (stop - start) / (num - 1);
  for (int i = 0; i < num; ++i) y[i] = i * step + start;
  y[num - 1] = stop;
  return y;
}

// numpy's float remainder (sign of the divisor)
double py_mod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0.0 && ((b < 0) != (m < 0))) m += b;
  return m;
}
float py_modf(float a, float b) {
  float m = std::fmod(a, b);
  if (m != 0.0f && ((b < 0) != (m < 0))) m += b;
  return m;
}

// librosa.filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, htk=False, norm='slaney'), float32
Matrix build_mel_filterbank(double sr, int n_fft, int n_mels) {
  const int n_bins = n_fft / 2 + 1;
  Matrix w(n_mels, n_bins);
  const auto fftfreqs = fft_frequencies(sr, n_fft);
  const auto mels = linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2);
  std::vector<double> mel_f(mels.size());
  for (std::size_t i = 0; i < mels.size(); ++i) mel_f[i] = mel_to_hz(mels[i]);
  for (int i = 0; i < n_mels; ++i) {
    const double fd0 = mel_f[i + 1] - mel_f[i], fd1 = mel_f[i + 2] - mel_f[i + 1];
    const double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
    for (int k = 0; k < n_bins; ++k) {
      const double lower = -(mel_f[i] - fftfreqs[k]) / fd0;
      const double upper = (mel_f[i + 2] - fftfreqs[k]) / fd1;
      const float tri = static_cast<float>(std::max(0.0, std::min(lower, upper)));  // stored float32
      w(i, k) = static_cast<float>(static_cast<double>(tri) * enorm);  // weights *= enorm (float64 op)
    }
  }
  return w;
}

// log10 of n floats (doubles) in place. On x86-64 with AVX2, glibc's libmvec does eight
// (four) at a time (within 2 ulp of the scalar log10f; numpy's own SIMD log10, which
// librosa runs, is no closer to either): ~13x faster than a libm call per value.
#if defined(__x86_64__) && defined(__GLIBC__)
extern "C" __attribute__((target("avx2"))) __m256 _ZGVdN8v_log10f(__m256);
extern "C" __attribute__((target("avx2"))) __m256d _ZGVdN4v_log10(__m256d);
__attribute__((target("avx2"))) void log10_inplace_avx2(float* s, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(s + i, _ZGVdN8v_log10f(_mm256_loadu_ps(s + i)));
  for (; i < n; ++i) s[i] = std::log10(s[i]);
}
__attribute__((target("avx2"))) void log10_inplace_avx2(double* s, std::size_t n) {
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) _mm256_storeu_pd(s + i, _ZGVdN4v_log10(_mm256_loadu_pd(s + i)));
  for (; i < n; ++i) s[i] = std::log10(s[i]);
}
#endif
template <typename T>
void log10_inplace(T* s, std::size_t n) {
#if defined(__x86_64__) && defined(__GLIBC__)
  if (__builtin_cpu_supports("avx2")) return log10_inplace_avx2(s, n);
#endif
  for (std::size_t i = 0; i < n; ++i) s[i] = std::log10(s[i]);
}

// max of n floats (n >= 1) with eight independent running maxima
__attribute__((target_clones("arch=x86-64-v3", "default")))
float max_of(const float* s, std::size_t n) {
  float m[8];
  for (int l = 0; l < 8; ++l) m[l] = s[0];
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) m[l] = s[i + l] > m[l] ? s[i + l] : m[l];
  for (; i < n; ++i) m[0] = s[i] > m[0] ? s[i] : m[0];
  return *std::max_element(m, m + 8);
}

// librosa.power_to_db(S, ref, amin=1e-10, top_db) on float32 data, whole-array max
void power_to_db_inplace(float* s, std::size_t n, float ref_db, double top_db) {
  if (n == 0) return;
  const float amin = 1e-10f;
  for (std::size_t i = 0; i < n; ++i) s[i] = std::max(amin, s[i]);
  log10_inplace(s, n);
  for (std::size_t i = 0; i < n; ++i) s[i] = 10.0f * s[i] - ref_db;
  if (top_db >= 0) {
    const float floor_db = max_of(s, n) - static_cast<float>(top_db);
    for (std::size_t i = 0; i < n; ++i) s[i] = std::max(s[i], floor_db);
  }
}

}  // namespace

// GCC vector extensions: AVX in the x86-64-v3 / avx2 clones, SSE pairs otherwise.
typedef float v4f __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));
typedef float v8f __attribute__((vector_size(32)));
typedef std::int32_t v8i __attribute__((vector_size(32)));

// One mel band's dot product w[first, last) . p for four power frames, in float64 with
// four partial sums each (librosa's float32 sgemm is less exact than either order).
__attribute__((target_clones("arch=x86-64-v3", "default")))
void mel_band4(const float* w, const float* const* p, int first, int last, double* out) {
  v4d a[4] = {};
  int k = first;
  for (; k + 4 <= last; k += 4) {
    v4f wf;
    std::memcpy(&wf, w + k, sizeof(wf));
    const v4d wd = __builtin_convertvector(wf, v4d);
    for (int f = 0; f < 4; ++f) {
      v4f pf;
      std::memcpy(&pf, p[f] + k, sizeof(pf));
      a[f] += wd * __builtin_convertvector(pf, v4d);
    }
  }
  for (int f = 0; f < 4; ++f) {
    double s = (a[f][0] + a[f][1]) + (a[f][2] + a[f][3]);
    for (int j = k; j < last; ++j) s += static_cast<double>(w[j]) * p[f][j];
    out[f] = s;
  }
}

// f = window * x in float64 (the STFT frame before its FFT)
__attribute__((target_clones("arch=x86-64-v3", "default")))
void apply_window(const double* window, const float* x, double* f, int n) {
  for (int k = 0; k < n; ++k) f[k] = window[k] * static_cast<double>(x[k]);
}

// Four sequential float32 cumulative sums (np.cumsum) side by side: each is one long
// dependency chain of additions; interleaved, the others fill each one's latency.
void cumsum4(const float* const* x, float* const* c, int n) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (int k = 0; k < n; ++k) {
    s0 += x[0][k];
    s1 += x[1][k];
    s2 += x[2][k];
    s3 += x[3][k];
    c[0][k] = s0;
    c[1][k] = s1;
    c[2][k] = s2;
    c[3][k] = s3;
  }
}

// Centroid and (p=2) bandwidth of one magnitude frame (librosa.feature.spectral_*). The
// float64 sums run in sixteen independent partial sums (four 4-wide vectors): numpy's
// pairwise order is a third order; all agree to the last bits of a float64.
__attribute__((target_clones("arch=x86-64-v3", "default")))
void centroid_bandwidth(const float* mg, const double* freqs, int nb, float* sn, double* cen_out, double* bw_out) {
  // (no helper returns a vector by value: its ABI differs between the two clones)
  v4f f;
  v4d d, acc[4] = {};
  const int nv = nb / 16 * 16;  // bins in whole groups of 16
  for (int k = 0; k < nv; k += 16)
    for (int j = 0; j < 4; ++j) {
      std::memcpy(&f, mg + k + 4 * j, sizeof(f));
      acc[j] += __builtin_convertvector(f, v4d);
    }
  v4d s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  double L = (s[0] + s[1]) + (s[2] + s[3]);
  for (int k = nv; k < nb; ++k) L += mg[k];
  if (L < std::numeric_limits<float>::min()) L = 1.0;  // normalize(): tiny norms stay unscaled
  // S / sum(S) in float64, stored float32; times the reciprocal (the same float32 value
  // unless the quotient falls within one float64 ulp of a float32 rounding boundary)
  const double inv_L = 1.0 / L;
  for (int k = 0; k < nb; ++k) sn[k] = static_cast<float>(mg[k] * inv_L);
  for (auto& v : acc) v = v4d{};
  for (int k = 0; k < nv; k += 16)
    for (int j = 0; j < 4; ++j) {
      std::memcpy(&f, sn + k + 4 * j, sizeof(f));
      std::memcpy(&d, freqs + k + 4 * j, sizeof(d));
      acc[j] += d * __builtin_convertvector(f, v4d);
    }
  s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  double cen = (s[0] + s[1]) + (s[2] + s[3]);
  for (int k = nv; k < nb; ++k) cen += freqs[k] * sn[k];
  for (auto& v : acc) v = v4d{};
  const v4d cv = {cen, cen, cen, cen};
  for (int k = 0; k < nv; k += 16)
    for (int j = 0; j < 4; ++j) {
      std::memcpy(&f, sn + k + 4 * j, sizeof(f));
      std::memcpy(&d, freqs + k + 4 * j, sizeof(d));
      const v4d dv = cv - d;
      acc[j] += __builtin_convertvector(f, v4d) * (dv * dv);
    }
  s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  double bw = (s[0] + s[1]) + (s[2] + s[3]);
  for (int k = nv; k < nb; ++k) {
    const double dk = cen - freqs[k];
    bw += sn[k] * (dk * dk);
  }
  *cen_out = cen;
  *bw_out = bw;
}

// Sum of squares in double with four interleaved partial sums (vectorisable).
__attribute__((target_clones("avx2", "default")))
double sum_squares(const float* x, std::int64_t n) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const double x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
    a0 += x0 * x0;
    a1 += x1 * x1;
    a2 += x2 * x2;
    a3 += x3 * x3;
  }
  for (; i < n; ++i) a0 += static_cast<double>(x[i]) * x[i];
  return (a0 + a1) + (a2 + a3);
}

// (by reference: a 32-byte vector passed by value has a different ABI with and without
// AVX, and these are called from both clones)
inline void load8(v8f& v, const float* p) { std::memcpy(&v, p, sizeof(v)); }
inline bool any8(const v8i& m) {
  std::uint64_t w[4];
  std::memcpy(w, &m, sizeof(w));
  return (w[0] | w[1] | w[2] | w[3]) != 0;
}

// c[0..m) sorted ascending into out[0..m) (m <= 48) without a comparison sort or a
// data-dependent branch: each value's rank (how many values come before it, ties broken
// by position) is counted, eight ranks at once, and the value is stored at its rank.
inline void sort_by_rank(const float* c, int m, float* out) {
  for (int i0 = 0; i0 < m; i0 += 8) {
    const int cnt = std::min(8, m - i0);
    v8f v;
    v8i idx;
    for (int l = 0; l < 8; ++l) {
      v[l] = c[i0 + std::min(l, cnt - 1)];
      idx[l] = i0 + l;
    }
    v8i r = {};
    for (int j = 0; j < m; ++j) {
      const v8f cv = {c[j], c[j], c[j], c[j], c[j], c[j], c[j], c[j]};
      const v8i jv = {j, j, j, j, j, j, j, j};
      r -= (cv < v) | ((cv == v) & (jv < idx));  // c[j] comes first; true lanes are -1
    }
    for (int l = 0; l < cnt; ++l) out[r[l]] = v[l];
  }
}

// Batcher's odd-even merge sort for 16 values: 63 comparators (checked over all 2^16 0-1
// inputs), branch-free min/max with the values in registers once unrolled.
constexpr unsigned char kSort16[63][2] = {
    {0, 1},   {2, 3},   {0, 2},   {1, 3},   {1, 2},   {4, 5},   {6, 7},   {4, 6},   {5, 7},  {5, 6},  {0, 4},
    {2, 6},   {2, 4},   {1, 5},   {3, 7},   {3, 5},   {1, 2},   {3, 4},   {5, 6},   {8, 9},  {10, 11}, {8, 10},
    {9, 11},  {9, 10},  {12, 13}, {14, 15}, {12, 14}, {13, 15}, {13, 14}, {8, 12},  {10, 14}, {10, 12}, {9, 13},
    {11, 15}, {11, 13}, {9, 10},  {11, 12}, {13, 14}, {0, 8},   {4, 12},  {4, 8},   {2, 10}, {6, 14}, {6, 10},
    {2, 4},   {6, 8},   {10, 12}, {1, 9},   {5, 13},  {5, 9},   {3, 11},  {7, 15},  {7, 11}, {3, 5},  {7, 9},
    {11, 13}, {1, 2},   {3, 4},   {5, 6},   {7, 8},   {9, 10},  {11, 12}, {13, 14}};
inline void sort16(float* v) {
#pragma GCC unroll 63
  for (int i = 0; i < 63; ++i) {
    const float a = v[kSort16[i][0]], b = v[kSort16[i][1]];
    v[kSort16[i][0]] = a < b ? a : b;
    v[kSort16[i][1]] = a < b ? b : a;
  }
}

// The q smallest values of x[0..n) into low[0..q) and the q largest into high[0..q),
// both ascending (q <= n); what np.sort(band)[:q] and [-q:] give. The multiset of the q
// extremes is unique, so any exact selection gives librosa's sums.
//
// One pass keeps the running min and max of 16 strided lanes (lane l sees x[l],
// x[l+16], ...). At least q lanes have a maximum >= hi_t, the q-th largest lane maximum,
// so the q largest values are all >= hi_t (likewise <= lo_t for the smallest); a second
// pass collects those few candidates, ranked as above. Small bands are ranked whole;
// many candidates (flat spectra, silence) or q > 16 fall back to a partial sort.
namespace detail {
__attribute__((target_clones("avx2", "default")))
void select_extremes(const float* x, int n, int q, float* low, float* high, std::vector<float>& work) {
  constexpr int L = 16, kRankMax = 48;
  if (q == 1) {  // the narrow bands at the defaults
    float lo = x[0], hi = x[0];
    for (int k = 1; k < n; ++k) {
      lo = x[k] < lo ? x[k] : lo;
      hi = x[k] > hi ? x[k] : hi;
    }
    low[0] = lo;
    high[0] = hi;
    return;
  }
  float sorted[kRankMax + 8];
  if (n <= kRankMax) {
    sort_by_rank(x, n, sorted);
    std::copy(sorted, sorted + q, low);
    std::copy(sorted + n - q, sorted + n, high);
    return;
  }
  auto sorted_fallback = [&](bool largest) {
    work.assign(x, x + n);
    if (largest) {
      std::nth_element(work.begin(), work.begin() + (n - q), work.end());
      std::sort(work.begin() + (n - q), work.end());
      std::copy(work.end() - q, work.end(), high);
    } else {
      std::nth_element(work.begin(), work.begin() + (q - 1), work.end());
      std::sort(work.begin(), work.begin() + q);
      std::copy(work.begin(), work.begin() + q, low);
    }
  };
  if (q > L) {
    sorted_fallback(false);
    sorted_fallback(true);
    return;
  }
  v8f mn0, mn1;
  load8(mn0, x);
  load8(mn1, x + 8);
  v8f mx0 = mn0, mx1 = mn1;
  int i = L;
  for (; i + L <= n; i += L) {
    v8f a, b;
    load8(a, x + i);
    load8(b, x + i + 8);
    mn0 = a < mn0 ? a : mn0;
    mn1 = b < mn1 ? b : mn1;
    mx0 = a > mx0 ? a : mx0;
    mx1 = b > mx1 ? b : mx1;
  }
  float mn[L], mx[L];
  std::memcpy(mn, &mn0, sizeof(mn0));
  std::memcpy(mn + 8, &mn1, sizeof(mn1));
  std::memcpy(mx, &mx0, sizeof(mx0));
  std::memcpy(mx + 8, &mx1, sizeof(mx1));
  for (int l = 0; i + l < n; ++l) {
    mn[l] = std::min(mn[l], x[i + l]);
    mx[l] = std::max(mx[l], x[i + l]);
  }
  sort16(mn);
  sort16(mx);
  const float lo_t = mn[q - 1], hi_t = mx[L - q];
  float cand[kRankMax + 8];
  // the values <= lo_t (>= hi_t): whole blocks of 8 are skipped by one test, the others
  // compressed without a branch per value
  auto gather = [&](bool largest) {
    const float t = largest ? hi_t : lo_t;
    const v8f tv = {t, t, t, t, t, t, t, t};
    int m = 0;
    int k = 0;
    for (; k + 8 <= n; k += 8) {
      v8f a;
      load8(a, x + k);
      const v8i hit = largest ? a >= tv : a <= tv;
      if (!any8(hit)) continue;
      if (m > kRankMax - 8) return -1;  // too many: sort instead
      for (int j = 0; j < 8; ++j) {
        cand[m] = a[j];
        m += largest ? a[j] >= t : a[j] <= t;
      }
    }
    for (; k < n; ++k) {
      if (m > kRankMax - 1) return -1;
      cand[m] = x[k];
      m += largest ? x[k] >= t : x[k] <= t;
    }
    return m;
  };
  int m = gather(false);
  if (m < 0) {
    sorted_fallback(false);
  } else {
    sort_by_rank(cand, m, sorted);
    std::copy(sorted, sorted + q, low);
  }
  m = gather(true);
  if (m < 0) {
    sorted_fallback(true);
  } else {
    sort_by_rank(cand, m, sorted);
    std::copy(sorted + m - q, sorted + m, high);
  }
}

}  // namespace detail

// --------------------------------------------------------------------------------------
struct FeatureExtractor::Impl {
  FeatureConfig cfg;
  int n_fft = 0, hop = 0, n_bins = 0;
  std::vector<double> window;
  std::vector<double> freqs;
  Matrix mel_fb;
  std::vector<std::pair<int, int>> mel_span;  // nonzero [first, last) bins per mel band
  std::vector<double> dct;                    // [n_mfcc, n_mels]
  struct Band {
    int first = 0, last = 0;  // rows [first, last) of the band's sub_band
    int idx = 1;              // number of rows averaged for peak / valley
  };
  std::vector<Band> bands;
  int pip_lo = 0, pip_hi = -1;  // piptrack bins with fmin <= f < fmax
  detail::RealFft fft;
  detail::FftwBuffer<double> frame;
  detail::FftwBuffer<fftw_complex> spec;
  std::vector<float> mag, pw, scratch;
  std::vector<float> select_work;  // spectral contrast's candidates
  std::vector<std::uint8_t> zcr_signs;  // per padded sample, reused across clips
  std::vector<float> power_cache;  // [T, n_bins] power spectrogram for the chroma pass

  explicit Impl(const FeatureConfig& c)
      : cfg(c), n_fft(c.n_fft), hop(c.hop_length), n_bins(c.n_fft / 2 + 1), fft(c.n_fft),
        frame(static_cast<std::size_t>(c.n_fft)), spec(static_cast<std::size_t>(c.n_fft / 2 + 1)) {
    if (cfg.sample_rate <= 0 || n_fft < 16 || n_fft % 2 || hop <= 0 || cfg.n_mels <= 0 || cfg.n_mfcc <= 0 ||
        cfg.n_mfcc > cfg.n_mels || cfg.n_chroma != 12 || cfg.contrast_bands < 1 ||
        !(cfg.contrast_quantile > 0 && cfg.contrast_quantile < 1) || !(cfg.rolloff > 0 && cfg.rolloff < 1))
      throw InputError("FeatureConfig: invalid parameters");
    window = periodic_hann(n_fft);
    freqs = fft_frequencies(cfg.sample_rate, n_fft);
    mel_fb = build_mel_filterbank(cfg.sample_rate, n_fft, cfg.n_mels);
    for (int m = 0; m < cfg.n_mels; ++m) {
      int a = 0, b = 0;
      for (int k = 0; k < n_bins; ++k)
        if (mel_fb(m, k) != 0.0f) { a = k; break; }
      for (int k = n_bins - 1; k >= 0; --k)
        if (mel_fb(m, k) != 0.0f) { b = k + 1; break; }
      mel_span.emplace_back(a, std::max(a, b));
    }
    // scipy.fftpack.dct(type=2, norm='ortho') as a matrix
    const int N = cfg.n_mels;
    dct.resize(static_cast<std::size_t>(cfg.n_mfcc) * N);
    for (int k = 0; k < cfg.n_mfcc; ++k) {
      const double scale = k == 0 ? std::sqrt(1.0 / N) : std::sqrt(2.0 / N);
      for (int i = 0; i < N; ++i) dct[static_cast<std::size_t>(k) * N + i] = scale * std::cos(kPi * k * (2 * i + 1) / (2.0 * N));
    }
    // spectral_contrast bands (librosa's quirks: one extra bin below each band but the
    // first, the last band runs to Nyquist, the others drop their top row).
    const int nb = cfg.contrast_bands;
    std::vector<double> octa(static_cast<std::size_t>(nb + 2), 0.0);
    for (int i = 1; i < nb + 2; ++i) octa[i] = cfg.contrast_fmin * std::pow(2.0, i - 1);
    for (int i = 0; i < nb + 1; ++i)
      if (octa[i] >= 0.5 * cfg.sample_rate) throw InputError("FeatureConfig: contrast band exceeds Nyquist");
    for (int k = 0; k <= nb; ++k) {
      int first = -1, last = -1;
      for (int b = 0; b < n_bins; ++b) {
        if (freqs[b] >= octa[k] && freqs[b] <= octa[k + 1]) {
          if (first < 0) first = b;
          last = b;
        }
      }
      if (first < 0) throw InputError("FeatureConfig: empty spectral contrast band");
      if (k > 0) first = std::max(0, first - 1);
      if (k == nb) last = n_bins - 1;
      const int count = last - first + 1;
      Band band;
      band.first = first;
      band.last = k < nb ? last : last + 1;  // drop the top row except in the last band
      band.idx = std::max(1, static_cast<int>(std::nearbyint(cfg.contrast_quantile * count)));
      bands.push_back(band);
    }
    // piptrack(fmin=150, fmax=4000) bins
    const double fmin = 150.0, fmax = std::min(4000.0, cfg.sample_rate / 2.0);
    pip_lo = n_bins;
    for (int b = 0; b < n_bins; ++b) {
      if (fmin <= freqs[b] && freqs[b] < fmax) {
        pip_lo = std::min(pip_lo, b);
        pip_hi = b;
      }
    }
    pip_lo = std::max(pip_lo, 1);
    pip_hi = std::min(pip_hi, n_bins - 2);
    mag.resize(4 * static_cast<std::size_t>(n_bins));  // pass A works on four frames at a time
    pw.resize(4 * static_cast<std::size_t>(n_bins));  // pass A's |X|^2 when there is no cache
    scratch.resize(4 * static_cast<std::size_t>(n_bins));
    select_work.reserve(2 * static_cast<std::size_t>(n_bins));
  }

  // STFT frame t (center=True, zero padding): fills mag (|X| float32) and pw (|X|**2 float32)
  // as librosa does: rfft in float64 of float32 samples times the float64 window, stored
  // complex64, np.abs (hypot) in float32, then squared in float32.
  void stft_frame(const float* y, std::int64_t n, std::int64_t t, float* power_out = nullptr, float* mag_out = nullptr) {
    const std::int64_t start = t * hop - n_fft / 2;
    double* f = frame.p;
    if (start >= 0 && start + n_fft <= n) {
      apply_window(window.data(), y + start, f, n_fft);
    } else {
      for (int k = 0; k < n_fft; ++k) {
        const std::int64_t j = start + k;
        f[k] = (j >= 0 && j < n) ? window[k] * static_cast<double>(y[j]) : 0.0;
      }
    }
    fft.forward(frame.p, spec.p);
    magnitudes(spec.p, mag_out ? mag_out : mag.data(), power_out ? power_out : pw.data(), n_bins);
  }

  __attribute__((target_clones("avx2", "default")))
  static void magnitudes(const fftw_complex* X, float* mg, float* p, int nb) {
    for (int k = 0; k < nb; ++k) {
      const double re = static_cast<float>(X[k][0]);
      const double im = static_cast<float>(X[k][1]);
      // hypotf: correctly rounded sqrt(re^2 + im^2) of the complex64 value
      const float m = static_cast<float>(std::sqrt(re * re + im * im));
      mg[k] = m;
      p[k] = m * m;
    }
  }

  // chroma = filterbank . |X|^2 for F frames at once. The [12 x n_bins] filterbank is
  // transposed to [n_bins x 16] so each bin is two 8-float vectors; products are summed in
  // float32 (as librosa's sgemm does) over blocks of 128 bins, the block sums in float64.
  template <int F>
  __attribute__((always_inline)) static inline void accumulate_chroma(const float* wt16, const float* const* p, int nb,
                                                                      double (*acc)[16]) {
    for (int f = 0; f < F; ++f)
      for (int c = 0; c < 16; ++c) acc[f][c] = 0.0;
    for (int k0 = 0; k0 < nb; k0 += 128) {
      const int k1 = std::min(nb, k0 + 128);
      v8f lo[F], hi[F];
      for (int f = 0; f < F; ++f) lo[f] = hi[f] = v8f{};
      for (int k = k0; k < k1; ++k) {
        v8f w0, w1;
        load8(w0, wt16 + static_cast<std::size_t>(k) * 16);
        load8(w1, wt16 + static_cast<std::size_t>(k) * 16 + 8);
        for (int f = 0; f < F; ++f) {
          const float pk = p[f][k];
          const v8f v = {pk, pk, pk, pk, pk, pk, pk, pk};
          lo[f] += w0 * v;
          hi[f] += w1 * v;
        }
      }
      for (int f = 0; f < F; ++f)
        for (int c = 0; c < 8; ++c) {
          acc[f][c] += lo[f][c];
          acc[f][c + 8] += hi[f][c];
        }
    }
  }
  // The F = 4 and F = 1 instances, cloned for AVX2 + FMA (GCC contracts the products into
  // FMAs there: fp-contract=fast). Multiversioned functions cannot be templates (clang).
  COVERGEN_FMA_CLONES static void accumulate_chroma4(const float* wt16, const float* const* p, int nb, double (*acc)[16]) {
    accumulate_chroma<4>(wt16, p, nb, acc);
  }
  COVERGEN_FMA_CLONES static void accumulate_chroma1(const float* wt16, const float* const* p, int nb, double (*acc)[16]) {
    accumulate_chroma<1>(wt16, p, nb, acc);
  }

  // compute()'s body: declared here with its clones so that the first declaration carries
  // them (clang requires it).
  __attribute__((target_clones("arch=x86-64-v3", "default"))) Features run(const float* y, std::size_t n_samples);
};

FeatureExtractor::FeatureExtractor(FeatureConfig config) : impl_(std::make_unique<Impl>(config)) {}
FeatureExtractor::~FeatureExtractor() = default;
FeatureExtractor::FeatureExtractor(FeatureExtractor&&) noexcept = default;
FeatureExtractor& FeatureExtractor::operator=(FeatureExtractor&&) noexcept = default;
const FeatureConfig& FeatureExtractor::config() const { return impl_->cfg; }
const Matrix& FeatureExtractor::mel_filterbank() const { return impl_->mel_fb; }

// librosa.filters.chroma(sr, n_fft, tuning, n_chroma=12, ctroct=5, octwidth=2, norm=2, base_c=True)
Matrix FeatureExtractor::chroma_filterbank(const FeatureConfig& config, double tuning) {
  const int n_chroma = 12, n_fft = config.n_fft;
  const double sr = config.sample_rate;
  const double A440 = 440.0 * std::pow(2.0, tuning / n_chroma);
  std::vector<double> frqbins(static_cast<std::size_t>(n_fft));
  const double fstep = sr / n_fft;  // linspace(0, sr, n_fft, endpoint=False)
  for (int i = 1; i < n_fft; ++i) frqbins[i] = n_chroma * std::log2((i * fstep) / (A440 / 16));
  frqbins[0] = frqbins[1] - 1.5 * n_chroma;
  std::vector<double> binwidth(static_cast<std::size_t>(n_fft));
  for (int i = 0; i + 1 < n_fft; ++i) binwidth[i] = std::max(frqbins[i + 1] - frqbins[i], 1.0);
  binwidth[n_fft - 1] = 1.0;
  const double n_chroma2 = std::nearbyint(n_chroma / 2.0);
  std::vector<double> wts(static_cast<std::size_t>(n_chroma) * n_fft);
  for (int c = 0; c < n_chroma; ++c) {
    for (int i = 0; i < n_fft; ++i) {
      double D = frqbins[i] - c;
      D = py_mod(D + n_chroma2 + 10 * n_chroma, n_chroma) - n_chroma2;
      const double z = 2 * D / binwidth[i];
      wts[static_cast<std::size_t>(c) * n_fft + i] = std::exp(-0.5 * z * z);
    }
  }
  // normalize(norm=2, axis=0): per frequency column over chroma
  for (int i = 0; i < n_fft; ++i) {
    double s = 0;
    for (int c = 0; c < n_chroma; ++c) s += wts[static_cast<std::size_t>(c) * n_fft + i] * wts[static_cast<std::size_t>(c) * n_fft + i];
    double len = std::sqrt(s);
    if (len < std::numeric_limits<double>::min()) len = 1.0;
    for (int c = 0; c < n_chroma; ++c) wts[static_cast<std::size_t>(c) * n_fft + i] /= len;
  }
  for (int i = 0; i < n_fft; ++i) {
    const double z = (frqbins[i] / n_chroma - 5.0) / 2.0;  // ctroct 5, octwidth 2
    const double g = std::exp(-0.5 * z * z);
    for (int c = 0; c < n_chroma; ++c) wts[static_cast<std::size_t>(c) * n_fft + i] *= g;
  }
  const int n_bins = n_fft / 2 + 1;
  Matrix out(n_chroma, n_bins);
  for (int c = 0; c < n_chroma; ++c) {
    const int src = (c + 3) % n_chroma;  // np.roll(wts, -3, axis=0): base C
    for (int i = 0; i < n_bins; ++i) out(c, i) = static_cast<float>(wts[static_cast<std::size_t>(src) * n_fft + i]);
  }
  return out;
}

// librosa.core.pitch.pitch_tuning
double pitch_tuning(const std::vector<float>& frequencies, double resolution, int bins_per_octave) {
  const int nbins_edges = static_cast<int>(std::ceil(1.0 / resolution)) + 1;
  const auto edges = linspace(-0.5, 0.5, nbins_edges);
  const int n_hist = nbins_edges - 1;
  std::vector<std::int64_t> counts(static_cast<std::size_t>(n_hist), 0);
  bool any = false;
  for (float f : frequencies) {
    if (!(f > 0)) continue;
    any = true;
    // float32 all the way, as numpy does for a float32 array
    const float octs = std::log2(f / static_cast<float>(440.0 / 16));
    float r = py_modf(static_cast<float>(bins_per_octave) * octs, 1.0f);
    if (r >= 0.5f) r -= 1.0f;
    const double x = r;
    if (!(x >= edges.front() && x <= edges.back())) continue;
    int i = static_cast<int>((x - edges.front()) * (n_hist / (edges.back() - edges.front())));
    if (i == n_hist) --i;
    if (x < edges[i]) --i;
    if (i + 1 < n_hist + 1 && x >= edges[i + 1] && i != n_hist - 1) ++i;
    counts[static_cast<std::size_t>(i)]++;
  }
  if (!any) return 0.0;
  const auto best = std::max_element(counts.begin(), counts.end()) - counts.begin();
  return edges[static_cast<std::size_t>(best)];
}

Features FeatureExtractor::compute(const float* y, std::size_t n_samples) { return impl_->run(y, n_samples); }

// Cloned for x86-64-v3 (AVX2): the loops inlined here vectorise 4 doubles / 8 floats wide
// instead of SSE2's 2 / 4 (no reassociation, so both clones compute the same values).
__attribute__((target_clones("arch=x86-64-v3", "default")))
Features FeatureExtractor::Impl::run(const float* y, std::size_t n_samples) {
  Impl& im = *this;
  const FeatureConfig& cfg = im.cfg;
  if (n_samples == 0) throw InputError("features: empty signal (0 samples)");
  if (!detail::all_finite(y, n_samples))
    for (std::size_t i = 0; i < n_samples; ++i)
      if (!std::isfinite(y[i])) throw InputError("features: signal has NaN/Inf at sample " + std::to_string(i));

  const auto t_all = clock_type::now();
  const std::int64_t n = static_cast<std::int64_t>(n_samples);
  const int T = static_cast<int>(1 + n / cfg.hop_length);
  const int nb = im.n_bins;
  Features F;
  F.n_frames = T;
  F.sample_rate = cfg.sample_rate;
  F.hop_length = cfg.hop_length;
  F.n_samples = n;
  F.mel = Matrix(cfg.n_mels, T);
  F.spectral_centroid = Matrix(1, T);
  F.spectral_bandwidth = Matrix(1, T);
  F.spectral_rolloff = Matrix(1, T);
  const int nbands = static_cast<int>(im.bands.size());
  std::vector<double> peak(static_cast<std::size_t>(nbands) * T), valley(static_cast<std::size_t>(nbands) * T);
  std::vector<float> pip_pitch, pip_mag;
  pip_pitch.reserve(static_cast<std::size_t>(T) * 16);
  pip_mag.reserve(static_cast<std::size_t>(T) * 16);
  const bool cache = T <= cfg.max_cached_frames;
  // Reused across compute() calls (no page faults or zero-filling per clip); bounded by
  // max_cached_frames.
  std::vector<float>& power_cache = im.power_cache;
  if (cache && power_cache.size() < static_cast<std::size_t>(T) * nb) power_cache.resize(static_cast<std::size_t>(T) * nb);

  double t_stft = 0, t_mel = 0, t_spec = 0, t_pip = 0;
  // ---- pass A: STFT frames four at a time -------------------------------------------
  // Four frames at a time so that the four rolloff cumsums (each one long float32
  // dependency chain) run interleaved and each mel weight is converted once for four
  // frames; every other step is per frame. A short last group repeats its last frame.
  constexpr int kGroup = 4;
  float* pw_grp[kGroup];
  const float* mg_grp[kGroup];
  for (int t0 = 0; t0 < T; t0 += kGroup) {
    const int nf = std::min(kGroup, T - t0);
    auto c0 = clock_type::now();
    for (int f = 0; f < nf; ++f) {
      const int t = t0 + f;
      // |X|^2 goes straight into the chroma pass's cache when there is one
      pw_grp[f] = cache ? power_cache.data() + static_cast<std::size_t>(t) * nb : im.pw.data() + static_cast<std::size_t>(f) * nb;
      float* mg = im.mag.data() + static_cast<std::size_t>(f) * nb;
      im.stft_frame(y, n, t, pw_grp[f], mg);
      mg_grp[f] = mg;
    }
    for (int f = nf; f < kGroup; ++f) {
      pw_grp[f] = pw_grp[nf - 1];
      mg_grp[f] = mg_grp[nf - 1];
    }
    auto c1 = clock_type::now();
    t_stft += std::chrono::duration<double>(c1 - c0).count();

    // melspectrogram: mel_basis (float32) . |X|^2, the group's frames per band
    for (int m = 0; m < cfg.n_mels; ++m) {
      double acc[kGroup];
      mel_band4(im.mel_fb.row(m), pw_grp, im.mel_span[m].first, im.mel_span[m].second, acc);
      for (int f = 0; f < nf; ++f) F.mel(m, t0 + f) = static_cast<float>(acc[f]);
    }
    auto c2 = clock_type::now();
    t_mel += std::chrono::duration<double>(c2 - c1).count();

    // spectral_rolloff: np.cumsum in float32 (sequential, as numpy), threshold
    // roll_percent * total in float32, first bin whose cumulative sum reaches it
    {
      float* cum[kGroup];
      for (int f = 0; f < kGroup; ++f) cum[f] = im.scratch.data() + static_cast<std::size_t>(f) * nb;
      cumsum4(mg_grp, cum, nb);
      for (int f = 0; f < nf; ++f) {
        const float thr = static_cast<float>(cfg.rolloff) * cum[f][nb - 1];
        const int kk = static_cast<int>(std::lower_bound(cum[f], cum[f] + nb, thr) - cum[f]);  // cum is non-decreasing
        F.spectral_rolloff(0, t0 + f) = static_cast<float>(im.freqs[std::min(kk, nb - 1)]);
      }
    }
    for (int f = 0; f < nf; ++f) {
      const int t = t0 + f;
      const float* mg = mg_grp[f];
      // spectral_centroid / bandwidth on magnitude, normalize(norm=1): S / sum(S) stored
      // float32; sums in float64 (numpy's are pairwise; the order only moves the last bits)
      double cen = 0, bw = 0;
      centroid_bandwidth(mg, im.freqs.data(), nb, im.scratch.data(), &cen, &bw);
      F.spectral_centroid(0, t) = static_cast<float>(cen);
      F.spectral_bandwidth(0, t) = static_cast<float>(std::sqrt(bw));
      // spectral_contrast: mean of the idx lowest / highest magnitudes of each band (float32)
      for (int b = 0; b < nbands; ++b) {
        const auto& band = im.bands[b];
        const int cnt = band.last - band.first;
        const int q = std::min(band.idx, cnt);
        // q is small (<= 9 at the defaults): select the q lowest / highest instead of
        // sorting the band (what np.sort + slice gives).
        float* low = im.scratch.data();
        float* high = low + q;
        detail::select_extremes(mg + band.first, cnt, q, low, high, im.select_work);
        float lo = 0, hi = 0;
        for (int i = 0; i < q; ++i) lo += low[i];   // ascending, as numpy sums sortedr[:idx]
        for (int i = 0; i < q; ++i) hi += high[i];  // ascending, as numpy sums sortedr[-idx:]
        valley[static_cast<std::size_t>(b) * T + t] = lo / static_cast<float>(q);
        peak[static_cast<std::size_t>(b) * T + t] = hi / static_cast<float>(q);
      }
    }
    auto c3 = clock_type::now();
    t_spec += std::chrono::duration<double>(c3 - c2).count();

    // piptrack(S=power): local maxima of S*(S > 0.1*max) in [150, 4000) Hz
    for (int f = 0; f < nf; ++f) {
      const float* pw = pw_grp[f];
      const float mx = std::max(0.0f, max_of(pw, static_cast<std::size_t>(nb)));
      const float ref = 0.1f * mx;
      auto masked = [&](int k) { return pw[k] > ref ? pw[k] : 0.0f; };
      for (int k = im.pip_lo; k <= im.pip_hi; ++k) {
        const float x = masked(k);
        if (!(x > masked(k - 1) && x >= masked(k + 1))) continue;
        // _parabolic_interpolation (numba: float32 sums, float64 arithmetic)
        const double a = static_cast<double>(static_cast<float>(pw[k + 1] + pw[k - 1])) - 2.0 * pw[k];
        const double bq = static_cast<double>(static_cast<float>(pw[k + 1] - pw[k - 1])) / 2.0;
        const float shift = std::abs(bq) >= std::abs(a) ? 0.0f : static_cast<float>(-bq / a);
        const float avg = (pw[k + 1] - pw[k - 1]) / 2.0f;  // np.gradient, float32
        const float dskew = 0.5f * avg * shift;
        pip_pitch.push_back(static_cast<float>((k + static_cast<double>(shift)) * cfg.sample_rate / im.n_fft));
        pip_mag.push_back(pw[k] + dskew);
      }
    }
    t_pip += since(c3);
  }
  F.times.add("stft", t_stft);
  F.times.add("mel", t_mel);
  F.times.add("centroid/bandwidth/rolloff/contrast", t_spec);

  // ---- estimate_tuning: median magnitude gate, then the 0.01-resolution histogram ----
  auto c0 = clock_type::now();
  {
    float threshold = 0.0f;
    if (!pip_mag.empty()) {
      std::vector<float> m = pip_mag;
      const std::size_t h = m.size() / 2;
      std::nth_element(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(h), m.end());
      if (m.size() % 2) {
        threshold = m[h];
      } else {
        const float upper = m[h];
        const float lower = *std::max_element(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(h));
        threshold = (lower + upper) / 2.0f;
      }
    }
    std::vector<float> sel;
    sel.reserve(pip_pitch.size());
    for (std::size_t i = 0; i < pip_pitch.size(); ++i)
      if (pip_mag[i] >= threshold && pip_pitch[i] > 0) sel.push_back(pip_pitch[i]);
    F.tuning = pitch_tuning(sel, 0.01, cfg.n_chroma);
  }
  F.times.add("tuning", t_pip + since(c0));

  // ---- chroma_stft: filterbank for the estimated tuning . |X|^2, then inf-norm ---------
  c0 = clock_type::now();
  {
    const Matrix fb = chroma_filterbank(cfg, F.tuning);
    std::vector<float> wt16(static_cast<std::size_t>(nb) * 16, 0.0f);
    for (int c = 0; c < 12; ++c)
      for (int k = 0; k < nb; ++k) wt16[static_cast<std::size_t>(k) * 16 + c] = fb(c, k);
    F.chroma = Matrix(12, T);
    auto store = [&](int t, const double* acc) {
      float raw[12];
      for (int c = 0; c < 12; ++c) raw[c] = static_cast<float>(acc[c]);
      double len = 0;
      for (float v : raw) len = std::max(len, static_cast<double>(std::abs(v)));
      if (len < kTinyF) len = 1.0;
      for (int c = 0; c < 12; ++c) F.chroma(c, t) = static_cast<float>(raw[c] / len);
    };
    constexpr int kF = 4;
    double acc[kF][16];
    const float* rows[kF];
    int t = 0;
    if (cache) {
      for (; t + kF <= T; t += kF) {
        for (int f = 0; f < kF; ++f) rows[f] = power_cache.data() + static_cast<std::size_t>(t + f) * nb;
        Impl::accumulate_chroma4(wt16.data(), rows, nb, acc);
        for (int f = 0; f < kF; ++f) store(t + f, acc[f]);
      }
    }
    for (; t < T; ++t) {
      if (cache) {
        rows[0] = power_cache.data() + static_cast<std::size_t>(t) * nb;
      } else {
        im.stft_frame(y, n, t);
        rows[0] = im.pw.data();
      }
      Impl::accumulate_chroma1(wt16.data(), rows, nb, acc);
      store(t, acc[0]);
    }
  }
  F.times.add("chroma", since(c0));

  // ---- contrast in dB: power_to_db over the whole peak / valley arrays (float64) ------
  c0 = clock_type::now();
  {
    auto to_db = [&](std::vector<double>& v) {
      for (double& x : v) x = std::max(1e-10, x);
      log10_inplace(v.data(), v.size());
      double mx = -std::numeric_limits<double>::infinity();
      for (double& x : v) {
        x = 10.0 * x;
        mx = std::max(mx, x);
      }
      for (double& x : v) x = std::max(x, mx - cfg.top_db);
    };
    to_db(peak);
    to_db(valley);
    F.spectral_contrast = Matrix(nbands, T);
    for (std::size_t i = 0; i < peak.size(); ++i) F.spectral_contrast.data[i] = static_cast<float>(peak[i] - valley[i]);
  }
  F.times.add("centroid/bandwidth/rolloff/contrast", since(c0));

  // ---- power_to_db(mel), MFCC, log-mel for the CNN -----------------------------------
  c0 = clock_type::now();
  Matrix mel_db = F.mel;
  power_to_db_inplace(mel_db.data.data(), mel_db.data.size(), 0.0f, cfg.top_db);
  {
    F.mfcc = Matrix(cfg.n_mfcc, T);
    const int N = cfg.n_mels;
    // DCT-II (ortho) over the mel axis in float64, 64 frames at a time so that each dB
    // value is read once (not once per coefficient); same sums in the same order.
    constexpr int kTB = 64;
    const int K = cfg.n_mfcc;
    std::vector<double> acc(static_cast<std::size_t>(K) * kTB);
    for (int t0 = 0; t0 < T; t0 += kTB) {
      const int tn = std::min(kTB, T - t0);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int m = 0; m < N; ++m) {
        const float* row = mel_db.row(m) + t0;
        for (int k = 0; k < K; ++k) {
          const double c = im.dct[static_cast<std::size_t>(k) * N + m];
          double* a = acc.data() + static_cast<std::size_t>(k) * kTB;
          for (int t = 0; t < tn; ++t) a[t] += c * row[t];
        }
      }
      for (int k = 0; k < K; ++k)
        for (int t = 0; t < tn; ++t) F.mfcc(k, t0 + t) = static_cast<float>(acc[static_cast<std::size_t>(k) * kTB + t]);
    }
    // power_to_db(mel, ref=np.max, top_db), derived from the ref=1 dB values: where those
    // are unclipped this is librosa's value exactly; clipped bins land on the floor.
    const float ref = std::max(0.0f, max_of(F.mel.data.data(), F.mel.data.size()));
    const float ref_db = 10.0f * std::log10(std::max(1e-10f, ref));
    F.log_mel = Matrix(cfg.n_mels, T);
    for (std::size_t i = 0; i < mel_db.data.size(); ++i) F.log_mel.data[i] = mel_db.data[i] - ref_db;
    const float floor_db = max_of(F.log_mel.data.data(), F.log_mel.data.size()) - static_cast<float>(cfg.top_db);
    for (float& v : F.log_mel.data) v = std::max(v, floor_db);
  }
  F.times.add("db/mfcc", since(c0));

  // ---- onset_strength (mean over bands) and the median envelope beat_track uses -------
  c0 = clock_type::now();
  std::vector<float> onset_median(static_cast<std::size_t>(T), 0.0f);
  {
    F.onset_env.assign(static_cast<std::size_t>(T), 0.0f);
    const int lag = 1, pad = lag + cfg.n_fft / (2 * cfg.hop_length);
    std::vector<float> col(static_cast<std::size_t>(cfg.n_mels));
    for (int t = pad; t < T; ++t) {
      const int j = t - pad;  // difference column j: S[:, j+1] - S[:, j]
      if (j + lag >= T) break;
      // differences are >= 0 and often exactly 0: only the positive ones are kept, and the
      // median's order statistics below the zero count are 0 (the same values as a full
      // selection over all bands)
      float s = 0;
      int npos = 0;
      for (int m = 0; m < cfg.n_mels; ++m) {
        const float d = std::max(0.0f, mel_db(m, j + lag) - mel_db(m, j));
        s += d;
        col[npos] = d;
        npos += d > 0.0f;
      }
      F.onset_env[t] = s / static_cast<float>(cfg.n_mels);
      const int zeros = cfg.n_mels - npos;
      const int h = cfg.n_mels / 2;
      float upper = 0.0f;  // order statistic h
      if (h >= zeros) {
        std::nth_element(col.begin(), col.begin() + (h - zeros), col.begin() + npos);
        upper = col[h - zeros];
      }
      if (cfg.n_mels % 2) {
        onset_median[t] = upper;
      } else {
        float lower = 0.0f;  // order statistic h - 1
        if (h - 1 >= zeros) lower = *std::max_element(col.begin(), col.begin() + (h - zeros));
        onset_median[t] = (lower + upper) / 2.0f;
      }
    }
  }
  F.times.add("onset", since(c0));

  // ---- zero_crossing_rate (edge padding) and rms (zero padding), time domain ----------
  c0 = clock_type::now();
  {
    F.zero_crossing_rate = Matrix(1, T);
    F.rms = Matrix(1, T);
    const int L = cfg.n_fft, half = L / 2;
    // ZCR: padded = y edge-extended by L/2 on each side; frame t covers padded[s, s+L) with
    // s = t*hop and counts crossings at positions s+1 .. s+L-1 (librosa's pad=False).
    // Signs are computed once per padded sample; counts are summed per hop block.
    // RMS: zero padding; sums of squares per hop block in float64, then per frame.
    const int hop = cfg.hop_length;
    const std::int64_t P = n + 2 * half;
    auto padded = [&](std::int64_t j) -> float {
      std::int64_t i = j - half;
      i = std::min<std::int64_t>(std::max<std::int64_t>(i, 0), n - 1);
      return y[i];
    };
    auto sb = [](float x) { return (x >= -1e-10f && x <= 1e-10f) ? false : std::signbit(x); };
    const bool fast = L % hop == 0;
    if (fast) {
      const std::int64_t nblocks = P / hop + 2;
      std::vector<std::int32_t> zc(static_cast<std::size_t>(nblocks), 0);  // crossings at j in (b*hop, (b+1)*hop]
      std::vector<double> sq(static_cast<std::size_t>(nblocks), 0.0);        // sum y^2 over padded [b*hop, (b+1)*hop)
      // sign bit of every padded sample once (sb(x) is x < -1e-10 for finite x), then the
      // crossings of block b at j in [b*hop + 1, (b+1)*hop] as sums of s[j] != s[j-1]
      std::vector<std::uint8_t>& sgn = im.zcr_signs;
      sgn.resize(static_cast<std::size_t>(P));
      std::fill(sgn.begin(), sgn.begin() + half, static_cast<std::uint8_t>(sb(y[0])));
      for (std::int64_t i = 0; i < n; ++i) sgn[static_cast<std::size_t>(half + i)] = y[i] < -1e-10f;
      std::fill(sgn.begin() + half + n, sgn.end(), static_cast<std::uint8_t>(sb(y[n - 1])));
      for (std::int64_t b = 0, j = 1; j < P; ++b) {
        const std::int64_t jend = std::min<std::int64_t>(P, (b + 1) * hop + 1);
        std::int32_t count = 0;
        for (; j < jend; ++j) count += sgn[static_cast<std::size_t>(j)] != sgn[static_cast<std::size_t>(j - 1)];
        zc[static_cast<std::size_t>(b)] = count;
      }
      for (std::int64_t b = 0; b * hop < P; ++b) {
        const std::int64_t a0 = std::max<std::int64_t>(0, b * hop - half), a1 = std::min<std::int64_t>(n, (b + 1) * hop - half);
        if (a1 > a0) sq[static_cast<std::size_t>(b)] = sum_squares(y + a0, a1 - a0);
      }
      const int per = L / hop;
      for (int t = 0; t < T; ++t) {
        const std::int64_t s0 = static_cast<std::int64_t>(t) * hop;
        // blocks t .. t+per-1 cover positions s0+1 .. s0+L; drop position s0+L
        std::int64_t cnt = 0;
        double acc = 0;
        for (int b = 0; b < per; ++b) {
          cnt += zc[static_cast<std::size_t>(t + b)];
          acc += sq[static_cast<std::size_t>(t + b)];
        }
        if (s0 + L < P) cnt -= sb(padded(s0 + L)) != sb(padded(s0 + L - 1));
        F.zero_crossing_rate(0, t) = static_cast<float>(static_cast<double>(cnt) / L);
        F.rms(0, t) = static_cast<float>(std::sqrt(acc / L));
      }
    } else {
      for (int t = 0; t < T; ++t) {
        const std::int64_t s0 = static_cast<std::int64_t>(t) * hop;
        int cnt = 0;
        bool prev = sb(padded(s0));
        for (int i = 1; i < L; ++i) {
          const bool cur = sb(padded(s0 + i));
          cnt += cur != prev;
          prev = cur;
        }
        F.zero_crossing_rate(0, t) = static_cast<float>(static_cast<double>(cnt) / L);
        const std::int64_t a = std::max<std::int64_t>(0, s0 - half), b = std::min<std::int64_t>(n, s0 - half + L);
        F.rms(0, t) = static_cast<float>(std::sqrt(b > a ? sum_squares(y + a, b - a) / L : 0.0));
      }
    }
  }
  F.times.add("zcr/rms", since(c0));

  // ---- tempo and beats ----------------------------------------------------------------
  c0 = clock_type::now();
  {
    BeatResult br = beat_track(onset_median, cfg);
    F.tempo = br.tempo;
    F.beats = std::move(br.beats);
  }
  F.times.add("tempo/beats", since(c0));

  // A float32 overflow (absurd amplitudes) would surface here as Inf/NaN.
  auto finite = [](const Matrix& m) {
    for (float v : m.data)
      if (!std::isfinite(v)) return false;
    return true;
  };
  bool ok = finite(F.mel) && finite(F.log_mel) && finite(F.mfcc) && finite(F.chroma) && finite(F.spectral_centroid) &&
            finite(F.spectral_bandwidth) && finite(F.spectral_rolloff) && finite(F.spectral_contrast) &&
            finite(F.zero_crossing_rate) && finite(F.rms) && std::isfinite(F.tempo);
  for (float v : F.onset_env) ok = ok && std::isfinite(v);
  if (!ok) throw InputError("features: non-finite values (sample amplitudes too large for float32 power?)");
  (void)t_all;
  return F;
}

}  // namespace covergen::audio
