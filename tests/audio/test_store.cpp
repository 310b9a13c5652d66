// The feature store and batch extraction: layout, round trip, crash repair, resume,
// thread-count independence and bad files in a batch.
#include "covergen/audio/batch.hpp"
#include "covergen/audio/summary.hpp"
#include "covergen/errors.hpp"

#include <catch2/catch.hpp>
#include <sndfile.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

namespace fs = std::filesystem;
using namespace covergen::audio;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("covergen-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

fs::path write_clip(const fs::path& p, double seconds, double hz, int sr = 22050) {
  SF_INFO info{};
  info.samplerate = sr;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(p.c_str(), SFM_WRITE, &info);
  REQUIRE(f);
  std::vector<float> y(static_cast<std::size_t>(seconds * sr));
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double beat = std::fmod(i / static_cast<double>(sr), 0.5) < 0.03 ? 0.4 : 0.0;  // 120 BPM clicks
    y[i] = static_cast<float>(0.2 * std::sin(2 * M_PI * hz * i / sr) + beat * std::sin(2 * M_PI * 60 * i / sr));
  }
  sf_writef_float(f, y.data(), static_cast<sf_count_t>(y.size()));
  sf_close(f);
  return p;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<BatchItem> make_items(const fs::path& dir) {
  std::vector<BatchItem> items;
  for (int i = 0; i < 5; ++i) {
    const auto p = write_clip(dir / ("clip" + std::to_string(i) + ".wav"), 4.0 + i, 220.0 * (i + 1));
    items.push_back({"track" + std::to_string(i), p});
  }
  std::ofstream(dir / "junk.mp3") << "not audio";
  items.insert(items.begin() + 2, BatchItem{"junk", dir / "junk.mp3"});
  items.push_back({"missing", dir / "missing.flac"});
  return items;
}

}  // namespace

TEST_CASE("float16 conversion matches the compiler's _Float16", "[audio][store]") {
  std::mt19937 rng(3);
  std::uniform_int_distribution<std::uint32_t> bits;
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    std::uint32_t x = bits(rng);
    float f;
    std::memcpy(&f, &x, 4);
    if (i % 2) f = std::ldexp(static_cast<float>(bits(rng) % 100000) / 1000.0f, static_cast<int>(bits(rng) % 40) - 30);
    if (std::isnan(f)) continue;
    const _Float16 ref = static_cast<_Float16>(f);
    std::uint16_t rb;
    std::memcpy(&rb, &ref, 2);
    REQUIRE(float_to_half(f) == rb);
    REQUIRE(half_to_float(rb) == static_cast<float>(ref));
    ++checked;
  }
  CHECK(checked > 100000);
  CHECK(std::isnan(half_to_float(float_to_half(NAN))));

  // the bulk conversion (F16C) gives float_to_half's bits: every 97th bit pattern, NaNs
  // included, in odd-length arrays so the scalar tail runs too
  std::vector<float> in;
  std::vector<std::uint16_t> bulk;
  for (std::uint64_t x = 0; x <= 0xffffffffull; x += 97 * 4099) {
    const std::uint32_t b = static_cast<std::uint32_t>(x);
    float f;
    std::memcpy(&f, &b, 4);
    in.push_back(f);
  }
  in.push_back(65519.0f);  // rounds down to the largest half
  in.push_back(65520.0f);  // rounds up to Inf
  in.push_back(-0.0f);
  in.push_back(5.96e-8f);  // about the smallest half subnormal
  bulk.resize(in.size());
  floats_to_halves(in.data(), bulk.data(), in.size());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < in.size(); ++i) differ += bulk[i] != float_to_half(in[i]);
  INFO(in.size() << " values");
  CHECK(differ == 0);
}

TEST_CASE("summary vector and frame sequence layout", "[audio][store]") {
  const auto names = frame_feature_names();
  REQUIRE(names.size() == 45);
  CHECK(names.front() == "mfcc_0");
  CHECK(names[20] == "chroma_C");
  CHECK(names.back() == "onset_strength");
  const auto sn = summary_names();
  REQUIRE(sn.size() == 93);
  CHECK(sn[0] == "mfcc_0_mean");
  CHECK(sn[45] == "mfcc_0_std");
  CHECK(sn[90] == "tempo_bpm");
}

TEST_CASE("batch extraction: bad files skipped, store independent of thread count, resumable",
          "[audio][store]") {
  TempDir d;
  const auto items = make_items(d.path);
  BatchOptions o;
  o.threads = 1;
  const StoreLayout layout = store_layout(o);
  BatchReport r1;
  {
    FeatureStore s = FeatureStore::open_or_create(d.path / "s1", layout);
    r1 = extract_batch(items, s, o);
  }
  CHECK(r1.extracted == 5);
  REQUIRE(r1.failures.size() == 2);
  CHECK(r1.failures[0].key == "junk");
  CHECK_THAT(r1.failures[0].error, Catch::Contains("junk.mp3"));
  CHECK(r1.failures[1].key == "missing");
  CHECK_THAT(r1.failures[1].error, Catch::Contains("no such file"));

  o.threads = 2;
  {
    FeatureStore s = FeatureStore::open_or_create(d.path / "s2", layout);
    auto r2 = extract_batch(items, s, o);
    CHECK(r2.extracted == 5);
  }
  CHECK(slurp(d.path / "s1" / "shard-000000.bin") == slurp(d.path / "s2" / "shard-000000.bin"));
  CHECK(slurp(d.path / "s1" / "shard-000000.json") == slurp(d.path / "s2" / "shard-000000.json"));
  CHECK_THAT(slurp(d.path / "s1" / "failures.json"), Catch::Contains("junk.mp3"));

  // values read back equal a direct computation
  FeatureStore s = FeatureStore::open(d.path / "s1");
  CHECK(s.size() == 5);
  const TrackView v = s.read("track3");
  Audio a = load(items[4].path);
  FeatureExtractor fx;
  const Features f = fx.compute(a.samples);
  const auto sum = summary_vector(f);
  const Matrix seq = frame_sequence(f);
  REQUIRE(v.n_frames == f.n_frames);
  REQUIRE(v.n_summary == static_cast<int>(sum.size()));
  CHECK(std::equal(sum.begin(), sum.end(), v.summary));
  CHECK(std::equal(seq.data.begin(), seq.data.end(), v.frames));
  const auto lm = v.log_mel_float();
  for (std::size_t i = 0; i < lm.size(); i += 7) CHECK(lm[i] == Approx(f.log_mel.data[i]).margin(0.05));
  CHECK(v.tempo == f.tempo);
  CHECK(std::vector<int>(v.beats, v.beats + v.n_beats) == f.beats);
  CHECK(reinterpret_cast<std::uintptr_t>(v.frames) % 64 == 0);  // mmap-aligned arrays

  // resume: nothing left to do but the failures
  {
    FeatureStore again = FeatureStore::open_or_create(d.path / "s1", layout);
    auto r3 = extract_batch(items, again, o);
    CHECK(r3.skipped == 5);
    CHECK(r3.extracted == 0);
    CHECK(r3.failures.size() == 2);
  }
}

TEST_CASE("a killed run leaves no corrupt record and resumes", "[audio][store]") {
  TempDir d;
  auto items = make_items(d.path);
  items.erase(items.begin() + 2);  // no junk
  items.pop_back();                // no missing
  BatchOptions o;
  const StoreLayout layout = store_layout(o);
  {
    FeatureStore s = FeatureStore::open_or_create(d.path / "st", layout);
    std::vector<BatchItem> first(items.begin(), items.begin() + 2);
    extract_batch(first, s, o);
  }
  const auto committed = fs::file_size(d.path / "st" / "shard-000000.bin");
  {
    // what a kill -9 in the middle of append() leaves: bytes past the index, a temp index
    std::ofstream bin(d.path / "st" / "shard-000000.bin", std::ios::binary | std::ios::app);
    bin << std::string(12345, 'x');
    std::ofstream(d.path / "st" / "shard-000000.json.tmp.999") << "{";
  }
  {
    FeatureStore s = FeatureStore::open_or_create(d.path / "st", layout);
    CHECK(fs::file_size(d.path / "st" / "shard-000000.bin") == committed);
    CHECK(!fs::exists(d.path / "st" / "shard-000000.json.tmp.999"));
    CHECK(s.size() == 2);
    auto r = extract_batch(items, s, o);
    CHECK(r.skipped == 2);
    CHECK(r.extracted == 3);
  }
  FeatureStore s = FeatureStore::open(d.path / "st");
  CHECK(s.keys() == std::vector<std::string>{"track0", "track1", "track2", "track3", "track4"});
  // a store in a different layout is refused
  StoreLayout other = layout;
  other.n_mels = 64;
  CHECK_THROWS_AS(FeatureStore::open_or_create(d.path / "st", other), covergen::InputError);
}

TEST_CASE("shards roll over at the size limit and stay readable", "[audio][store]") {
  TempDir d;
  auto items = make_items(d.path);
  BatchOptions o;
  FeatureStore s = FeatureStore::open_or_create(d.path / "st", store_layout(o));
  s.set_shard_limit(100000);
  extract_batch(items, s, o);
  CHECK(fs::exists(d.path / "st" / "shard-000001.bin"));
  FeatureStore r = FeatureStore::open(d.path / "st");
  CHECK(r.size() == 5);
  for (const auto& k : r.keys()) CHECK(r.read(k).n_frames > 100);
}
