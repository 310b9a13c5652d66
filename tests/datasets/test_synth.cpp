// The synthetic dataset: byte-identical for a seed whatever the thread count, and
// a real music -> cover link (nearest-centroid classifiers on simple audio and cover
// statistics recover the genre well above chance).
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <covergen/data/dataset.hpp>
#include <covergen/data/image.hpp>
#include <covergen/data/synth.hpp>

#include <sndfile.h>

#include <cmath>
#include <complex>
#include <map>

using namespace covergen::data;
using covergen::test::read_bytes;
using covergen::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> all_files(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out[fs::relative(e.path(), root).string()] = read_bytes(e.path());
  return out;
}

SynthOptions small(const fs::path& out, int threads) {
  SynthOptions o;
  o.out = out;
  o.genres = 3;
  o.per_genre = 2;
  o.seed = 11;
  o.cover_size = 64;
  o.seconds = 2.0;
  o.threads = threads;
  return o;
}

void fft(std::vector<std::complex<double>>& a) {
  const std::size_t n = a.size();
  for (std::size_t i = 1, j = 0; i < n; ++i) {
    std::size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (std::size_t len = 2; len <= n; len <<= 1) {
    const double ang = -2 * M_PI / static_cast<double>(len);
    const std::complex<double> wl(std::cos(ang), std::sin(ang));
    for (std::size_t i = 0; i < n; i += len) {
      std::complex<double> w(1);
      for (std::size_t k = 0; k < len / 2; ++k, w *= wl) {
        auto u = a[i + k], v = a[i + k + len / 2] * w;
        a[i + k] = u + v;
        a[i + k + len / 2] = u - v;
      }
    }
  }
}

/// Simple audio statistics of a decoded mp3: spectral centroid and its spread, RMS
/// (dB), zero-crossing rate, onset rate and the dominant onset period.
std::vector<double> audio_features(const fs::path& mp3) {
  SF_INFO info{};
  SNDFILE* f = sf_open(mp3.c_str(), SFM_READ, &info);
  REQUIRE(f != nullptr);
  std::vector<float> x(static_cast<std::size_t>(info.frames * info.channels));
  sf_readf_float(f, x.data(), info.frames);
  sf_close(f);
  std::vector<double> mono(static_cast<std::size_t>(info.frames));
  for (std::size_t i = 0; i < mono.size(); ++i) mono[i] = 0.5 * (x[2 * i] + x[2 * i + 1]);
  const std::size_t n = 1024, hop = 512;
  std::vector<double> centroid, energy;
  double zc = 0;
  for (std::size_t i = 1; i < mono.size(); ++i) zc += (mono[i] >= 0) != (mono[i - 1] >= 0);
  for (std::size_t s = 0; s + n <= mono.size(); s += hop) {
    std::vector<std::complex<double>> a(n);
    for (std::size_t k = 0; k < n; ++k) a[k] = mono[s + k] * (0.5 - 0.5 * std::cos(2 * M_PI * k / n));
    fft(a);
    double num = 0, den = 1e-12, e = 0;
    for (std::size_t k = 1; k < n / 2; ++k) {
      const double m = std::abs(a[k]);
      num += m * k;
      den += m;
      e += m * m;
    }
    centroid.push_back(num / den * info.samplerate / n);
    energy.push_back(std::log(e + 1e-9));
  }
  double cm = 0, cs = 0, em = 0;
  for (double c : centroid) cm += c;
  cm /= centroid.size();
  for (double c : centroid) cs += (c - cm) * (c - cm);
  cs = std::sqrt(cs / centroid.size());
  for (double e : energy) em += e;
  em /= energy.size();
  // Onsets: positive energy flux; rate and the autocorrelation period in 60..200 BPM.
  std::vector<double> flux(energy.size(), 0.0);
  double onsets = 0;
  for (std::size_t i = 1; i < energy.size(); ++i) {
    flux[i] = std::max(0.0, energy[i] - energy[i - 1]);
    onsets += flux[i] > 1.0;
  }
  const double hop_s = static_cast<double>(hop) / info.samplerate;
  double best = 0, best_bpm = 0;
  for (double bpm = 60; bpm <= 200; bpm += 1) {
    const double lag = 60.0 / bpm / hop_s;
    double acc = 0;
    for (std::size_t i = 0; i + static_cast<std::size_t>(lag) + 1 < flux.size(); ++i) {
      const double fl = lag - std::floor(lag);
      const std::size_t j = i + static_cast<std::size_t>(lag);
      acc += flux[i] * (flux[j] * (1 - fl) + flux[j + 1] * fl);
    }
    if (acc > best) { best = acc; best_bpm = bpm; }
  }
  return {cm, cs, em, zc / mono.size() * 1000, onsets / (mono.size() / static_cast<double>(info.samplerate)), best_bpm};
}

/// Simple cover statistics: mean and std of R, G, B, hue vector, saturation, lightness, edges.
std::vector<double> cover_features(const fs::path& jpg) {
  std::vector<std::uint8_t> rgb;
  int w = 0, h = 0;
  std::string err;
  REQUIRE(decode_rgb(read_bytes(jpg), rgb, w, h, err));
  double sum[3] = {0, 0, 0}, sq[3] = {0, 0, 0}, hx = 0, hy = 0, sat = 0, light = 0, edges = 0;
  const std::size_t n = static_cast<std::size_t>(w) * h;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = rgb[3 * i] / 255.0, g = rgb[3 * i + 1] / 255.0, b = rgb[3 * i + 2] / 255.0;
    const double v[3] = {r, g, b};
    for (int c = 0; c < 3; ++c) { sum[c] += v[c]; sq[c] += v[c] * v[c]; }
    const double mx = std::max({r, g, b}), mn = std::min({r, g, b});
    const double l = (mx + mn) / 2, d = mx - mn;
    light += l;
    const double s = d < 1e-9 ? 0 : d / (1 - std::abs(2 * l - 1) + 1e-9);
    sat += s;
    if (d > 1e-9) {
      double hue = mx == r ? std::fmod((g - b) / d, 6.0) : mx == g ? (b - r) / d + 2 : (r - g) / d + 4;
      hue *= M_PI / 3;
      hx += s * std::cos(hue);
      hy += s * std::sin(hue);
    }
    if (i % static_cast<std::size_t>(w) + 1 < static_cast<std::size_t>(w))
      edges += std::abs(int(rgb[3 * i]) - int(rgb[3 * i + 3])) + std::abs(int(rgb[3 * i + 1]) - int(rgb[3 * i + 4]));
  }
  std::vector<double> f;
  for (int c = 0; c < 3; ++c) {
    const double m = sum[c] / n;
    f.push_back(m);
    f.push_back(std::sqrt(std::max(0.0, sq[c] / n - m * m)));
  }
  for (double v : {hx / n, hy / n, sat / n, light / n, edges / n / 255.0}) f.push_back(v);
  return f;
}

/// Leave-one-out nearest-centroid accuracy on standardised features.
double nearest_centroid_accuracy(std::vector<std::vector<double>> x, const std::vector<int>& y, int classes) {
  const std::size_t d = x[0].size(), n = x.size();
  for (std::size_t j = 0; j < d; ++j) {
    double m = 0, s = 0;
    for (auto& r : x) m += r[j];
    m /= n;
    for (auto& r : x) s += (r[j] - m) * (r[j] - m);
    s = std::sqrt(s / n) + 1e-12;
    for (auto& r : x) r[j] = (r[j] - m) / s;
  }
  std::size_t correct = 0;
  for (std::size_t held = 0; held < n; ++held) {
    std::vector<std::vector<double>> c(static_cast<std::size_t>(classes), std::vector<double>(d, 0.0));
    std::vector<int> count(static_cast<std::size_t>(classes), 0);
    for (std::size_t i = 0; i < n; ++i) {
      if (i == held) continue;
      for (std::size_t j = 0; j < d; ++j) c[static_cast<std::size_t>(y[i])][j] += x[i][j];
      ++count[static_cast<std::size_t>(y[i])];
    }
    int best = -1;
    double best_d = 1e300;
    for (int k = 0; k < classes; ++k) {
      double dist = 0;
      for (std::size_t j = 0; j < d; ++j) {
        const double v = c[static_cast<std::size_t>(k)][j] / std::max(1, count[static_cast<std::size_t>(k)]) - x[held][j];
        dist += v * v;
      }
      if (dist < best_d) { best_d = dist; best = k; }
    }
    correct += best == y[held];
  }
  return static_cast<double>(correct) / n;
}

}  // namespace

TEST_CASE("synth: the same seed gives byte-identical files whatever the thread count") {
  TempDir a("synth-a"), b("synth-b"), c("synth-c"), d("synth-d");
  synthesize(small(a.path(), 1));
  synthesize(small(b.path(), 3));
  const auto fa = all_files(a.path()), fb = all_files(b.path());
  REQUIRE(fa.size() == 3 * 2 * 2 + 3);  // mp3 + jpg per track, tracks.csv, dataset.json, synth.json
  CHECK(fa == fb);
  // Another seed changes every track.
  auto o = small(c.path(), 2);
  o.seed = 12;
  synthesize(o);
  const auto fc = all_files(c.path());
  CHECK(fa.at("audio/ambient-00000.mp3") != fc.at("audio/ambient-00000.mp3"));
  CHECK(fa.at("covers/rock-00001.jpg") != fc.at("covers/rock-00001.jpg"));
  // A track does not depend on how many tracks are made.
  auto p = small(d.path(), 2);
  p.per_genre = 1;
  synthesize(p);
  const auto fd = all_files(d.path());
  CHECK(fd.at("audio/techno-00000.mp3") == fa.at("audio/techno-00000.mp3"));
  CHECK(fd.at("covers/techno-00000.jpg") == fa.at("covers/techno-00000.jpg"));
}

TEST_CASE("synth: writes a valid dataset whose attributes are the generator's values") {
  TempDir dir("synth-ds");
  synthesize(small(dir.path(), 2));
  auto ds = Dataset::open(dir.path());
  CHECK(ds.bad_rows().empty());
  REQUIRE(ds.size() == 6);
  CHECK(ds.genres() == std::vector<std::string>{"ambient", "rock", "techno"});
  const auto names = ds.attribute_names();
  CHECK(std::find(names.begin(), names.end(), "tempo") != names.end());
  const auto& t = ds.tracks()[1];  // techno-00000
  CHECK(t.id == "techno-00000");
  const auto truth = sample_track(11, 1, 0);
  CHECK(t.attributes[ds.attribute_index("tempo")] == Approx(truth.tempo));
  CHECK(t.attributes[ds.attribute_index("energy")] == Approx(truth.energy));
  CHECK(t.attributes[ds.attribute_index("brightness")] == Approx(truth.brightness));
  CHECK(t.attributes[ds.attribute_index("shapes")] == truth.shape_count);
  // 2 s stereo 44.1 kHz mp3 that libsndfile reads back.
  SF_INFO info{};
  SNDFILE* f = sf_open(t.audio.c_str(), SFM_READ, &info);
  REQUIRE(f != nullptr);
  sf_close(f);
  CHECK(info.channels == 2);
  CHECK(info.samplerate == 44100);
  CHECK(info.frames == Approx(88200).margin(1200));
  ImageHeader h;
  std::string err;
  REQUIRE(probe_image(read_bytes(t.cover), h, err));
  CHECK(h.width == 64);
  CHECK(h.format == ImageFormat::jpeg);
}

TEST_CASE("synth: within a genre, tempo drives the shape count, and the attributes vary") {
  std::map<int, std::vector<TrackParams>> by_genre;
  for (int g = 0; g < 8; ++g)
    for (int i = 0; i < 50; ++i) by_genre[g].push_back(sample_track(5, g, i));
  for (auto& [g, tracks] : by_genre) {
    const auto& style = genre_styles()[static_cast<std::size_t>(g)];
    double tmin = 1e9, tmax = -1e9, emin = 1e9, emax = -1e9;
    for (const auto& t : tracks) {
      CHECK(t.tempo >= style.tempo_lo - 0.05);
      CHECK(t.tempo <= style.tempo_hi + 0.05);
      tmin = std::min(tmin, t.tempo);
      tmax = std::max(tmax, t.tempo);
      emin = std::min(emin, t.energy);
      emax = std::max(emax, t.energy);
    }
    CHECK(tmax - tmin > 0.5 * (style.tempo_hi - style.tempo_lo));
    CHECK(emax - emin > 0.5 * (style.energy_hi - style.energy_lo));
    auto sorted = tracks;
    std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.tempo < b.tempo; });
    CHECK(sorted.front().shape_count <= sorted.back().shape_count);
    CHECK(sorted.back().shape_count - sorted.front().shape_count >= 10);
  }
}

TEST_CASE("synth: the link is real: audio and cover statistics each recover the genre") {
  TempDir dir("synth-link");
  SynthOptions o;
  o.out = dir.path();
  o.genres = 8;
  o.per_genre = 5;
  o.seed = 3;
  o.cover_size = 96;
  o.seconds = 4.0;
  o.threads = 2;
  synthesize(o);
  auto ds = Dataset::open(dir.path());
  REQUIRE(ds.size() == 40);
  std::vector<std::vector<double>> xa, xc;
  std::vector<int> y;
  for (const auto& t : ds.tracks()) {
    xa.push_back(audio_features(t.audio));
    xc.push_back(cover_features(t.cover));
    y.push_back(t.genre);
  }
  const double audio_acc = nearest_centroid_accuracy(xa, y, 8);
  const double cover_acc = nearest_centroid_accuracy(xc, y, 8);
  WARN("leave-one-out nearest-centroid genre accuracy (chance 0.125): audio " << audio_acc << ", cover " << cover_acc);
  CHECK(audio_acc >= 0.5);
  CHECK(cover_acc >= 0.6);
}
