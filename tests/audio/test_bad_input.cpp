// Bad and unusual input: every case ends in a clear covergen::InputError (exit code 3
// in the CLI) or in finite features - never a crash, a hang or NaN.
#include "covergen/audio/cpu.hpp"
#include "covergen/audio/features.hpp"
#include "covergen/audio/load.hpp"
#include "covergen/errors.hpp"

#include <catch2/catch.hpp>
#include <sndfile.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

namespace fs = std::filesystem;
using namespace covergen::audio;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("covergen-audio-test-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
};

// Writes interleaved float frames with libsndfile.
void write_audio(const fs::path& p, int sr, int channels, const std::vector<float>& interleaved,
                 int format = SF_FORMAT_WAV | SF_FORMAT_PCM_16) {
  SF_INFO info{};
  info.samplerate = sr;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(p.c_str(), SFM_WRITE, &info);
  REQUIRE(f != nullptr);
  if (!interleaved.empty())
    REQUIRE(sf_writef_float(f, interleaved.data(), static_cast<sf_count_t>(interleaved.size() / channels)) ==
            static_cast<sf_count_t>(interleaved.size() / channels));
  sf_close(f);
}

std::vector<float> tone(std::int64_t n, int sr, double hz, double amp = 0.3) {
  std::vector<float> y(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(amp * std::sin(2 * M_PI * hz * i / sr));
  return y;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream o(p, std::ios::binary);
  o << bytes;
}

bool all_finite(const Features& f) {
  auto ok = [](const Matrix& m) {
    for (float v : m.data)
      if (!std::isfinite(v)) return false;
    return true;
  };
  bool r = ok(f.mel) && ok(f.log_mel) && ok(f.mfcc) && ok(f.chroma) && ok(f.spectral_centroid) &&
           ok(f.spectral_bandwidth) && ok(f.spectral_rolloff) && ok(f.spectral_contrast) && ok(f.zero_crossing_rate) &&
           ok(f.rms) && std::isfinite(f.tempo);
  for (float v : f.onset_env) r = r && std::isfinite(v);
  return r;
}

Features features_of(const fs::path& p, LoadOptions o = {}) {
  Audio a = load(p, o);
  FeatureExtractor fx;
  return fx.compute(a.samples);
}

template <typename F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const covergen::InputError& e) {
    CHECK(e.code() == covergen::ExitCode::bad_input);
    return e.what();
  }
  FAIL("expected covergen::InputError");
  return {};
}

const fs::path kMp3 = fs::path(COVERGEN_TEST_DATA_DIR) / "librosa" / "music120_44k.mp3";

}  // namespace

TEST_CASE("missing path, directory, empty file and non-audio give InputError naming the file", "[audio][bad]") {
  TempDir d;
  auto msg = input_error_of([&] { load(d.path / "nope.wav"); });
  CHECK_THAT(msg, Catch::Contains("nope.wav") && Catch::Contains("no such file"));
  msg = input_error_of([&] { load(d.path); });
  CHECK_THAT(msg, Catch::Contains("directory"));
  write_bytes(d.path / "empty.wav", "");
  msg = input_error_of([&] { load(d.path / "empty.wav"); });
  CHECK_THAT(msg, Catch::Contains("empty.wav") && Catch::Contains("empty file"));
  write_bytes(d.path / "notes.mp3", "these are not the samples you are looking for\n");
  msg = input_error_of([&] { load(d.path / "notes.mp3"); });
  CHECK_THAT(msg, Catch::Contains("notes.mp3") && Catch::Contains("not a supported audio file"));
}

TEST_CASE("unreadable file gives InputError", "[audio][bad]") {
  TempDir d;
  const fs::path p = d.path / "locked.wav";
  write_audio(p, 22050, 1, tone(22050, 22050, 440));
  fs::permissions(p, fs::perms::none);
  if (::geteuid() == 0) {
    // root reads anything; a file whose read fails with EIO stands in for it.
    auto msg = input_error_of([&] { load("/proc/self/mem"); });
    CHECK_THAT(msg, Catch::Contains("/proc/self/mem"));
  } else {
    auto msg = input_error_of([&] { load(p); });
    CHECK_THAT(msg, Catch::Contains("locked.wav") && Catch::Contains("cannot open"));
  }
}

TEST_CASE("special files are refused instead of blocking", "[audio][bad]") {
  TempDir d;
  const fs::path fifo = d.path / "pipe.wav";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto msg = input_error_of([&] { load(fifo); });
  CHECK_THAT(msg, Catch::Contains("not a regular file"));
}

TEST_CASE("zero-length audio gives InputError", "[audio][bad]") {
  TempDir d;
  write_audio(d.path / "zero.wav", 22050, 1, {});
  auto msg = input_error_of([&] { load(d.path / "zero.wav"); });
  CHECK_THAT(msg, Catch::Contains("zero.wav") && Catch::Contains("no audio"));
  FeatureExtractor fx;
  input_error_of([&] { fx.compute(nullptr, 0); });
}

TEST_CASE("truncated mp3: decodes what is there or fails clearly", "[audio][bad]") {
  TempDir d;
  std::ifstream in(kMp3, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (std::size_t cut : {std::size_t(200), all.size() / 3}) {
    const fs::path p = d.path / ("cut" + std::to_string(cut) + ".mp3");
    write_bytes(p, all.substr(0, cut));
    try {
      Features f = features_of(p);
      CHECK(all_finite(f));
      CHECK(f.n_frames < 1292);
    } catch (const covergen::InputError& e) {
      CHECK_THAT(std::string(e.what()), Catch::Contains(p.filename().string()));
    }
  }
}

TEST_CASE("a single sample gives finite features", "[audio][bad]") {
  TempDir d;
  write_audio(d.path / "one.wav", 22050, 1, {0.5f});
  Features f = features_of(d.path / "one.wav");
  CHECK(f.n_frames == 1);
  CHECK(all_finite(f));
  CHECK(f.tempo == 0.0);
  CHECK(f.beats.empty());
  write_audio(d.path / "one8k.wav", 8000, 1, {0.5f});
  Audio a = load(d.path / "one8k.wav");
  CHECK(a.samples.size() == 3);  // ceil(1 * 22050 / 8000)
}

TEST_CASE("silence gives finite features (no NaN)", "[audio][bad]") {
  TempDir d;
  write_audio(d.path / "silence.wav", 22050, 1, std::vector<float>(22050 * 3, 0.0f));
  Features f = features_of(d.path / "silence.wav");
  CHECK(all_finite(f));
  CHECK(f.tempo == 0.0);
  CHECK(f.beats.empty());
  CHECK(f.tuning == 0.0);
  for (float v : f.chroma.data) CHECK(v == 0.0f);
  for (float v : f.log_mel.data) CHECK(v == 0.0f);
}

TEST_CASE("NaN/Inf samples in a float wav: rejected, or zeroed on request", "[audio][bad]") {
  TempDir d;
  auto y = tone(22050, 22050, 440);
  y[100] = std::numeric_limits<float>::quiet_NaN();
  y[200] = std::numeric_limits<float>::infinity();
  const fs::path p = d.path / "nan.wav";
  write_audio(p, 22050, 1, y, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  auto msg = input_error_of([&] { load(p); });
  CHECK_THAT(msg, Catch::Contains("nan.wav") && Catch::Contains("NaN"));
  LoadOptions o;
  o.decode.nonfinite = NonFinitePolicy::zero;
  Audio a = load(p, o);
  CHECK(a.source.nonfinite_samples == 2);
  FeatureExtractor fx;
  CHECK(all_finite(fx.compute(a.samples)));
  // samples so large that float32 power overflows: a clear error, not Inf features
  std::vector<float> huge(22050, 1e30f);
  for (std::size_t i = 0; i < huge.size(); i += 2) huge[i] = -1e30f;
  input_error_of([&] { fx.compute(huge); });
}

TEST_CASE("8 channels are averaged before resampling", "[audio][bad]") {
  TempDir d;
  const int sr = 44100, ch = 8;
  const std::int64_t n = sr;
  std::vector<float> inter(static_cast<std::size_t>(n * ch));
  for (std::int64_t i = 0; i < n; ++i)
    for (int c = 0; c < ch; ++c) inter[i * ch + c] = static_cast<float>(0.1 * std::sin(2 * M_PI * (200 + 50 * c) * i / sr));
  write_audio(d.path / "eight.wav", sr, ch, inter, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  LoadOptions native;
  native.sample_rate = 0;
  Audio a = load(d.path / "eight.wav", native);
  REQUIRE(a.source.channels == 8);
  REQUIRE(a.samples.size() == static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; i += 997) {
    float s = 0;
    for (int c = 0; c < ch; ++c) s += inter[i * ch + c];
    CHECK(a.samples[i] == s / 8.0f);
  }
  Features f = features_of(d.path / "eight.wav");
  CHECK(all_finite(f));
  CHECK(f.n_samples == 22050);
}

TEST_CASE("8 kHz and 192 kHz inputs resample to 22050 with librosa's length", "[audio][bad]") {
  TempDir d;
  for (int sr : {8000, 192000}) {
    const std::int64_t n = sr * 2 + 7;
    write_audio(d.path / "r.wav", sr, 1, tone(n, sr, 1000));
    Audio a = load(d.path / "r.wav");
    CHECK(a.sample_rate == 22050);
    CHECK(static_cast<std::int64_t>(a.samples.size()) == resampled_length(n, sr, 22050));
    FeatureExtractor fx;
    Features f = fx.compute(a.samples);
    CHECK(all_finite(f));
    // a 1 kHz tone: the centroid of a middle frame sits near 1 kHz
    CHECK(f.spectral_centroid(0, f.n_frames / 2) == Approx(1000).epsilon(0.05));
  }
}

TEST_CASE("offset and duration select librosa's samples", "[audio]") {
  AudioDecoder full;
  const auto y = full.decode_mono(kMp3);
  DecodeOptions o;
  o.offset_s = 1.0;
  o.duration_s = 2.0;
  AudioInfo info;
  const auto part = AudioDecoder(o).decode_mono(kMp3, &info);
  REQUIRE(part.size() == 88200);
  CHECK(std::equal(part.begin(), part.end(), y.begin() + 44100));
  o.offset_s = 100.0;
  input_error_of([&] { AudioDecoder(o).decode_mono(kMp3); });
}

TEST_CASE("chroma pass without the spectrogram cache gives identical results", "[audio]") {
  const auto y = load(kMp3).samples;
  FeatureConfig c;
  FeatureExtractor cached(c);
  c.max_cached_frames = 0;
  FeatureExtractor recomputed(c);
  const Features a = cached.compute(y), b = recomputed.compute(y);
  CHECK(a.chroma.data == b.chroma.data);
  CHECK(a.mel.data == b.mel.data);
  CHECK(a.beats == b.beats);
}

TEST_CASE("a 20-minute file is processed in bounded memory", "[audio][bad][slow]") {
  TempDir d;
  const int sr = 8000;
  const std::int64_t n = std::int64_t(sr) * 60 * 20;
  {
    // written in blocks: the test itself must not hold the file either
    SF_INFO info{};
    info.samplerate = sr;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE* f = sf_open((d.path / "long.wav").c_str(), SFM_WRITE, &info);
    REQUIRE(f);
    std::mt19937 rng(1);
    std::normal_distribution<float> noise(0.0f, 0.05f);
    std::vector<float> block(sr);
    for (std::int64_t s = 0; s < n; s += sr) {
      for (int i = 0; i < sr; ++i) {
        const std::int64_t k = s + i;
        block[i] = ((k / (sr / 2)) % 2 == 0 && (k % (sr / 2)) < 400 ? 0.5f : 0.0f) + noise(rng);
      }
      sf_writef_float(f, block.data(), sr);
    }
    sf_close(f);
  }
  Features f = features_of(d.path / "long.wav");
  CHECK(f.n_samples == resampled_length(n, sr, 22050));
  CHECK(all_finite(f));
  CHECK(f.tempo > 0);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double peak_mb = ru.ru_maxrss / 1024.0;
  INFO("peak RSS " << peak_mb << " MB");
  // The 22.05 kHz signal alone is 106 MB and the mel-sized outputs ~26 MB each; a full
  // float32 power spectrogram would add 212 MB.
  CHECK(peak_mb < 300);
}

namespace {
// libsndfile's samples for a stereo file: every frame through sf_readf_float, then
// librosa's to_mono (np.mean over the channel axis of float32: (l + r) / 2 in float32).
std::vector<float> libsndfile_mean(const fs::path& p) {
  SF_INFO info{};
  SNDFILE* f = sf_open(p.c_str(), SFM_READ, &info);
  REQUIRE(f != nullptr);
  REQUIRE(info.channels == 2);
  std::vector<float> ref, buf(4096 * 2);
  for (sf_count_t got; (got = sf_readf_float(f, buf.data(), 4096)) > 0;)
    for (sf_count_t i = 0; i < got; ++i) ref.push_back((buf[2 * i] + buf[2 * i + 1]) / 2.0f);
  sf_close(f);
  return ref;
}
}  // namespace

TEST_CASE("mp3 through libmpg123 directly equals libsndfile's decode bit for bit", "[audio]") {
  const std::vector<float> ref = libsndfile_mean(kMp3);  // libsndfile's reference
  REQUIRE(ref.size() == 1323000);  // gapless: 30 s at 44.1 kHz, encoder delay and padding removed

  AudioInfo ai;
  DecodeOptions small;
  small.block_frames = 1000;  // blocks that do not line up with MPEG frames (1152 samples)
  small.mp3_mono_mix = false;  // both channels decoded, then averaged: libsndfile's samples
  const std::vector<float> y = AudioDecoder(small).decode_mono(kMp3, &ai);
  CHECK_FALSE(ai.mp3_mono_mixed);
  CHECK(ai.format == "MPEG-1/2");
  CHECK(ai.sample_rate == 44100);
  CHECK(ai.decoded_frames == static_cast<std::int64_t>(ref.size()));
  REQUIRE(y.size() == ref.size());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < y.size(); ++i) differ += y[i] != ref[i];
  CHECK(differ == 0);

  DecodeOptions part;
  part.offset_s = 1.5;
  part.duration_s = 2.0;
  part.mp3_mono_mix = false;
  const std::vector<float> yp = AudioDecoder(part).decode_mono(kMp3);
  REQUIRE(yp.size() == 88200);
  CHECK(std::equal(yp.begin(), yp.end(), ref.begin() + 66150));

  // The default is this exact path, whatever the block size.
  AudioInfo di;
  const std::vector<float> yd = AudioDecoder().decode_mono(kMp3, &di);
  CHECK_FALSE(DecodeOptions{}.mp3_mono_mix);
  CHECK_FALSE(di.mp3_mono_mixed);
  CHECK(di.mp3_decoder == cpu_report().mp3_decoder);  // libmpg123's own choice (COVERGEN_CPU_ISA unset)
  CHECK(yd == ref);

  // The speed option mixes inside libmpg123 (this LAME file's channels share their block
  // types in every granule): the same mean to float rounding, not bit for bit.
  AudioInfo mi;
  DecodeOptions mix;
  mix.mp3_mono_mix = true;
  const std::vector<float> ym = AudioDecoder(mix).decode_mono(kMp3, &mi);
  CHECK(mi.mp3_mono_mixed);
  REQUIRE(ym.size() == ref.size());
  double max_diff = 0, max_ref = 0;
  std::size_t n_differ = 0;
  for (std::size_t i = 0; i < ym.size(); ++i) {
    max_diff = std::max(max_diff, static_cast<double>(std::abs(ym[i] - ref[i])));
    max_ref = std::max(max_ref, static_cast<double>(std::abs(ref[i])));
    n_differ += ym[i] != ref[i];
  }
  INFO("max |mixed - mean| " << max_diff << " (peak " << max_ref << "), " << n_differ << " samples differ");
  CHECK(max_diff < 4e-6);
  CHECK(max_ref > 0.1);
  DecodeOptions part_mixed = part;
  part_mixed.mp3_mono_mix = true;
  const std::vector<float> ypm = AudioDecoder(part_mixed).decode_mono(kMp3);
  REQUIRE(ypm.size() == 88200);
  CHECK(std::equal(ypm.begin(), ypm.end(), ym.begin() + 66150));
}


TEST_CASE("fresh LAME joint-stereo mp3s: the default decode is libsndfile's mean bit for bit", "[audio]") {
  if (std::system("lame --version >/dev/null 2>&1") != 0) FAIL("lame is not installed (.ci/install-deps installs it)");
  TempDir tmp;
  // 3 s of two different, low-passed-by-construction channels (harmonics below 4 kHz), so
  // joint stereo has something to do and the 6.4-11 kHz band is codec residue only.
  const int sr = 44100;
  const std::int64_t n = 3 * sr;
  std::vector<float> st(static_cast<std::size_t>(2 * n));
  for (std::int64_t i = 0; i < n; ++i) {
    double l = 0, r = 0;
    for (int h = 1; 110.0 * h < 4000.0; ++h) {
      l += std::sin(2 * M_PI * 110.0 * h * i / sr) / h;
      r += std::sin(2 * M_PI * 164.8 * h * i / sr + 0.5) / (h * (h % 2 ? 1.0 : 1.5));
    }
    const double env = std::exp(-static_cast<double>(i % (sr / 2)) / sr * 8.0);  // note onsets: block switching
    st[static_cast<std::size_t>(2 * i)] = static_cast<float>(0.25 * l * env);
    st[static_cast<std::size_t>(2 * i + 1)] = static_cast<float>(0.2 * std::tanh(r) * env);
  }
  write_audio(tmp.path / "in.wav", sr, 2, st);
  struct Case {
    const char* name;
    const char* args;
  };
  // LAME forces equal block types in both channels (its -d switch is obsolete in 3.100),
  // so the mono-mix walk accepts every LAME stereo file: the option is taken on them.
  for (const Case c : {Case{"joint stereo 192k", "-m j -b 192"}, Case{"stereo 128k", "-m s -b 128"}}) {
    INFO(c.name);
    const fs::path mp3 = tmp.path / "out.mp3";
    const std::string cmd =
        std::string("lame --quiet ") + c.args + " '" + (tmp.path / "in.wav").string() + "' '" + mp3.string() + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
    const auto ref = libsndfile_mean(mp3);
    AudioInfo info;
    const auto y = AudioDecoder().decode_mono(mp3, &info);
    CHECK_FALSE(info.mp3_mono_mixed);
    REQUIRE(y.size() == ref.size());
    CHECK(y == ref);
    DecodeOptions mix;
    mix.mp3_mono_mix = true;
    AudioInfo mi;
    const auto ym = AudioDecoder(mix).decode_mono(mp3, &mi);
    REQUIRE(ym.size() == ref.size());
    double worst = 0;
    for (std::size_t i = 0; i < ym.size(); ++i) worst = std::max(worst, static_cast<double>(std::abs(ym[i] - ref[i])));
    std::cout << c.name << ": mono mix " << (mi.mp3_mono_mixed ? "taken" : "not taken") << ", max |mixed - mean| "
              << worst << "\n";
    CHECK(mi.mp3_mono_mixed);
    CHECK(worst < 1e-5);
  }
}
