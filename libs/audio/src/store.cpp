#include "covergen/audio/store.hpp"

#include "covergen/atomic_file.hpp"
#include "covergen/audio/summary.hpp"
#include "covergen/errors.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace fs = std::filesystem;
using nlohmann::json;

namespace covergen::audio {

// ---- float16 -------------------------------------------------------------------------
std::uint16_t float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
  if (absx >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: Inf
  if (absx < 0x38800000u) {  // subnormal half (or zero)
    if (absx < 0x33000000u) return static_cast<std::uint16_t>(sign);  // < 2^-25: rounds to 0
    const std::uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
    const int shift = 113 - static_cast<int>(absx >> 23) + 13;  // 126 - e + 13 ... to half subnormal units
    std::uint32_t h = mant >> shift;
    const std::uint32_t rem = mant & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (h & 1u))) ++h;
    return static_cast<std::uint16_t>(sign | h);
  }
  std::uint32_t h = ((absx - 0x38000000u) >> 13);  // rebias exponent 127 -> 15
  const std::uint32_t rem = absx & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return static_cast<std::uint16_t>(sign | h);
}

// float_to_half over an array. With F16C (x86-64 since 2012) eight at a time: vcvtps2ph
// with round-to-nearest-even gives the same bits as float_to_half for every non-NaN value
// (subnormals and overflow to Inf included); blocks holding a NaN keep the scalar code,
// whose NaN has no payload.
#if defined(__x86_64__)
__attribute__((target("avx,f16c"))) void floats_to_halves_f16c(const float* in, std::uint16_t* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(in + i);
    if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0) {
      for (std::size_t k = i; k < i + 8; ++k) out[k] = float_to_half(in[k]);
      continue;
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) out[i] = float_to_half(in[i]);
}
// F16C and AVX with the OS saving the YMM registers (cpuid leaf 1, XCR0).
bool cpu_has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool avx = (c >> 28) & 1u, osxsave = (c >> 27) & 1u, f16c = (c >> 29) & 1u;
  if (!(avx && osxsave && f16c)) return false;
  unsigned lo = 0, hi = 0;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 6u) == 6u;  // XMM and YMM state enabled
}
#endif
void floats_to_halves(const float* in, std::uint16_t* out, std::size_t n) {
#if defined(__x86_64__)
  static const bool f16c = cpu_has_f16c();
  if (f16c) return floats_to_halves_f16c(in, out, n);
#endif
  for (std::size_t i = 0; i < n; ++i) out[i] = float_to_half(in[i]);
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
  if (e == 0) {
    if (m == 0) {
      x = sign;
    } else {  // subnormal: normalise
      int k = -1;
      do {
        ++k;
        m <<= 1;
      } while (!(m & 0x400u));
      x = sign | ((112u - static_cast<std::uint32_t>(k)) << 23) | ((m & 0x3ffu) << 13);
    }
  } else if (e == 31) {
    x = sign | 0x7f800000u | (m << 13);
  } else {
    x = sign | ((e + 112u) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

TrackRecord make_record(const Features& f) {
  TrackRecord r;
  r.summary = summary_vector(f);
  r.frames = frame_sequence(f);
  r.log_mel = f.log_mel;
  r.beats = f.beats;
  r.tempo = f.tempo;
  r.duration_s = static_cast<double>(f.n_samples) / f.sample_rate;
  return r;
}

std::vector<float> TrackView::log_mel_float() const {
  std::vector<float> v(static_cast<std::size_t>(n_mels) * n_frames);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = half_to_float(log_mel[i]);
  return v;
}

// ---- store ---------------------------------------------------------------------------
namespace {

constexpr const char* kFormat = "covergen-features";
constexpr int kVersion = 1;
constexpr std::uint64_t kAlign = 64;

std::uint64_t align_up(std::uint64_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

struct Entry {
  std::string key, source;
  int n_frames = 0, n_features = 0, n_summary = 0, n_mels = 0, n_beats = 0;
  double tempo = 0, duration_s = 0;
  std::uint64_t off_summary = 0, off_frames = 0, off_log_mel = 0, off_beats = 0, end = 0;
};

json entry_json(const Entry& e) {
  return json{{"key", e.key},         {"source", e.source},       {"n_frames", e.n_frames},
              {"n_features", e.n_features}, {"n_summary", e.n_summary}, {"n_mels", e.n_mels},
              {"n_beats", e.n_beats}, {"tempo", e.tempo},         {"duration_s", e.duration_s},
              {"offsets", {{"summary", e.off_summary}, {"frames", e.off_frames}, {"log_mel", e.off_log_mel},
                           {"beats", e.off_beats}, {"end", e.end}}}};
}
Entry entry_from(const json& j) {
  Entry e;
  e.key = j.at("key").get<std::string>();
  e.source = j.value("source", "");
  e.n_frames = j.at("n_frames").get<int>();
  e.n_features = j.at("n_features").get<int>();
  e.n_summary = j.at("n_summary").get<int>();
  e.n_mels = j.at("n_mels").get<int>();
  e.n_beats = j.at("n_beats").get<int>();
  e.tempo = j.at("tempo").get<double>();
  e.duration_s = j.value("duration_s", 0.0);
  const auto& o = j.at("offsets");
  e.off_summary = o.at("summary").get<std::uint64_t>();
  e.off_frames = o.at("frames").get<std::uint64_t>();
  e.off_log_mel = o.at("log_mel").get<std::uint64_t>();
  e.off_beats = o.at("beats").get<std::uint64_t>();
  e.end = o.at("end").get<std::uint64_t>();
  return e;
}

// Whether `count` items of `item` bytes starting at `off` lie inside [0, end),
// without overflow. `off` must also keep the array aligned for its element type.
bool array_fits(std::uint64_t off, std::uint64_t count, std::uint64_t item, std::uint64_t end) {
  return off % item == 0 && off <= end && count <= (end - off) / item;
}

// A record's index entry describes arrays inside its shard (the shard's length is
// checked against the largest `end` when it is opened). Empty when it does.
std::string entry_problem(const Entry& e) {
  if (e.key.empty()) return "a record without a key";
  if (e.n_frames < 0 || e.n_features < 0 || e.n_summary < 0 || e.n_mels < 0 || e.n_beats < 0)
    return "record '" + e.key + "' has a negative size";
  if (e.end == 0) return "record '" + e.key + "' is empty";
  const std::uint64_t frames = std::uint64_t(e.n_frames) * std::uint64_t(e.n_features);
  const std::uint64_t mel = std::uint64_t(e.n_mels) * std::uint64_t(e.n_frames);
  if (!array_fits(e.off_summary, std::uint64_t(e.n_summary), 4, e.end) || !array_fits(e.off_frames, frames, 4, e.end) ||
      !array_fits(e.off_log_mel, mel, 2, e.end) || !array_fits(e.off_beats, std::uint64_t(e.n_beats), 4, e.end))
    return "record '" + e.key + "' has arrays outside its bytes (offsets and sizes disagree)";
  return {};
}

// Shard names come from store.json and become file names: no paths.
bool valid_shard_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  return true;
}

json layout_json(const StoreLayout& l) {
  return json{{"frame_features", l.frame_features}, {"summary", l.summary}, {"n_mels", l.n_mels},
              {"sample_rate", l.sample_rate}, {"hop_length", l.hop_length}};
}

struct Mapping {
  void* addr = nullptr;
  std::size_t len = 0;
  ~Mapping() {
    if (addr && addr != MAP_FAILED) ::munmap(addr, len);
  }
};

struct Shard {
  std::string name;
  fs::path bin, index;
  int fd = -1;                      // writable, opened lazily
  std::uint64_t committed_len = 0;  // end of the last indexed record
  std::uint64_t write_len = 0;      // end of the last appended record
  std::vector<Entry> entries;       // committed
  std::vector<Entry> pending;       // appended, not yet indexed
  std::shared_ptr<Mapping> map;
};

std::string shard_name(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "shard-%06zu", i);
  return buf;
}

json read_json(const fs::path& p) {
  const std::string text = read_file(p);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(p.string(), std::string("corrupt JSON: ") + e.what());
  }
}

void pwrite_all(int fd, const void* data, std::size_t n, std::uint64_t off, const fs::path& p) {
  const char* c = static_cast<const char*>(data);
  while (n) {
    const ssize_t w = ::pwrite(fd, c, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw Error(p.string() + ": write failed: " + std::strerror(errno));
    }
    c += w;
    n -= static_cast<std::size_t>(w);
    off += static_cast<std::uint64_t>(w);
  }
}

}  // namespace

struct FeatureStore::Impl {
  fs::path dir;
  StoreLayout layout;
  std::string config_json;
  std::vector<Shard> shards;
  std::map<std::string, std::pair<std::size_t, std::size_t>> where;  // key -> (shard, entry) committed
  std::map<std::string, int> pending_keys;
  std::vector<std::string> order;
  std::uint64_t shard_limit = std::uint64_t(1) << 30;
  bool writable = false;

  ~Impl() {
    for (auto& s : shards)
      if (s.fd >= 0) ::close(s.fd);
  }

  void write_manifest() const {
    json names = json::array();
    for (const auto& s : shards) names.push_back(s.name);
    json cfg = json::parse(config_json.empty() ? "{}" : config_json, nullptr, false);
    if (cfg.is_discarded()) cfg = json::object();
    const json m{{"format", kFormat}, {"version", kVersion}, {"layout", layout_json(layout)},
                 {"config", cfg},     {"shards", names}};
    write_file_atomic(dir / "store.json", m.dump(1) + "\n");
  }

  void write_index(const Shard& s) const {
    json recs = json::array();
    for (const auto& e : s.entries) recs.push_back(entry_json(e));
    const json j{{"format", kFormat}, {"version", kVersion}, {"shard", s.name}, {"records", recs}};
    write_file_atomic(s.index, j.dump() + "\n");
  }

  void load(bool repair) {
    // A damaged store is bad input: JSON of the wrong shape names the store.
    try {
      load_json(repair);
    } catch (const json::exception& e) {
      throw InputError(dir.string(), std::string("damaged feature store (unexpected JSON content): ") + e.what());
    }
  }

  void load_json(bool repair) {
    const json m = read_json(dir / "store.json");
    if (m.value("format", "") != kFormat)
      throw InputError((dir / "store.json").string(), "not a covergen feature store");
    if (m.value("version", 0) != kVersion)
      throw InputError((dir / "store.json").string(), "unsupported store version " + std::to_string(m.value("version", 0)));
    const auto& l = m.at("layout");
    layout.frame_features = l.at("frame_features").get<std::vector<std::string>>();
    layout.summary = l.at("summary").get<std::vector<std::string>>();
    layout.n_mels = l.at("n_mels").get<int>();
    layout.sample_rate = l.at("sample_rate").get<int>();
    layout.hop_length = l.at("hop_length").get<int>();
    config_json = m.contains("config") ? m["config"].dump() : "{}";
    layout.config_json = config_json;
    for (const auto& n : m.at("shards")) {
      Shard s;
      s.name = n.get<std::string>();
      if (!valid_shard_name(s.name))
        throw InputError((dir / "store.json").string(), "invalid shard name '" + s.name + "'");
      s.bin = dir / (s.name + ".bin");
      s.index = dir / (s.name + ".json");
      if (fs::exists(s.index)) {
        const json j = read_json(s.index);
        for (const auto& r : j.at("records")) {
          s.entries.push_back(entry_from(r));
          const std::string problem = entry_problem(s.entries.back());
          if (!problem.empty()) throw InputError(s.index.string(), "damaged index: " + problem);
        }
      }
      for (const auto& e : s.entries) s.committed_len = std::max(s.committed_len, e.end);
      std::error_code ec;
      const auto size = fs::exists(s.bin, ec) ? fs::file_size(s.bin, ec) : 0;
      if (size < s.committed_len)
        throw InputError(s.bin.string(), "shorter than its index says (" + std::to_string(size) + " < " +
                                             std::to_string(s.committed_len) + " bytes): the store is damaged");
      if (repair && size > s.committed_len) fs::resize_file(s.bin, s.committed_len);  // drop a killed run's tail
      s.write_len = s.committed_len;
      const std::size_t si = shards.size();
      for (std::size_t i = 0; i < s.entries.size(); ++i) {
        where[s.entries[i].key] = {si, i};
        order.push_back(s.entries[i].key);
      }
      shards.push_back(std::move(s));
    }
    if (repair) {  // leftovers of write_file_atomic from a killed process
      for (const auto& de : fs::directory_iterator(dir)) {
        const std::string fn = de.path().filename().string();
        if (fn.find(".json.tmp.") != std::string::npos) {
          std::error_code ec;
          fs::remove(de.path(), ec);
        }
      }
    }
  }

  Shard& shard_for(std::uint64_t bytes) {
    if (shards.empty() || (shards.back().write_len > 0 && shards.back().write_len + bytes > shard_limit)) {
      Shard s;
      s.name = shard_name(shards.size());
      s.bin = dir / (s.name + ".bin");
      s.index = dir / (s.name + ".json");
      shards.push_back(std::move(s));
      write_index(shards.back());  // empty index first, then the manifest names the shard
      write_manifest();
    }
    Shard& s = shards.back();
    if (s.fd < 0) {
      s.fd = ::open(s.bin.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (s.fd < 0) throw Error(s.bin.string() + ": cannot open for writing: " + std::strerror(errno));
    }
    return s;
  }
};

FeatureStore::FeatureStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FeatureStore::FeatureStore(FeatureStore&&) noexcept = default;
FeatureStore& FeatureStore::operator=(FeatureStore&&) noexcept = default;
FeatureStore::~FeatureStore() {
  if (impl_ && impl_->writable) {
    try {
      commit();
    } catch (...) {  // a destructor must not throw; the unindexed tail is repaired on next open
    }
  }
}

FeatureStore FeatureStore::open_or_create(const fs::path& dir, const StoreLayout& layout) {
  auto im = std::make_unique<Impl>();
  im->dir = dir;
  im->writable = true;
  std::error_code ec;
  if (fs::exists(dir / "store.json", ec)) {
    im->load(true);
    const bool same = im->layout.frame_features == layout.frame_features && im->layout.summary == layout.summary &&
                      im->layout.n_mels == layout.n_mels && im->layout.sample_rate == layout.sample_rate &&
                      im->layout.hop_length == layout.hop_length;
    if (!same)
      throw InputError(dir.string(), "existing feature store has a different layout (other features or "
                                     "settings); use a new --out folder");
  } else {
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) throw InputError(dir.string(), "exists and is not a folder");
    // A run killed while creating the store leaves only the manifest's temp file.
    if (fs::is_directory(dir, ec))
      for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().filename().string().rfind("store.json.tmp.", 0) == 0) {
          std::error_code rm;
          fs::remove(it->path(), rm);
        }
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
      throw InputError(dir.string(), "folder is not empty and is not a feature store (no store.json)");
    fs::create_directories(dir, ec);
    if (ec) throw InputError(dir.string(), "cannot create folder: " + ec.message());
    im->layout = layout;
    im->config_json = layout.config_json;
    im->write_manifest();
  }
  return FeatureStore(std::move(im));
}

FeatureStore FeatureStore::open(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / "store.json", ec)) throw InputError(dir.string(), "not a feature store (no store.json)");
  auto im = std::make_unique<Impl>();
  im->dir = dir;
  im->load(false);
  return FeatureStore(std::move(im));
}

const StoreLayout& FeatureStore::layout() const { return impl_->layout; }
const fs::path& FeatureStore::dir() const { return impl_->dir; }
bool FeatureStore::contains(const std::string& key) const {
  return impl_->where.count(key) || impl_->pending_keys.count(key);
}
std::size_t FeatureStore::size() const { return impl_->where.size(); }
std::vector<std::string> FeatureStore::keys() const { return impl_->order; }
void FeatureStore::set_shard_limit(std::uint64_t bytes) { impl_->shard_limit = std::max<std::uint64_t>(bytes, 4096); }

void FeatureStore::append(const std::string& key, const std::string& source, const TrackRecord& r) {
  Impl& im = *impl_;
  if (!im.writable) throw Error(im.dir.string() + ": store opened read-only");
  if (contains(key)) throw Error(im.dir.string() + ": duplicate key '" + key + "'");
  const int T = r.frames.rows;
  if (r.log_mel.cols != T || r.log_mel.rows != im.layout.n_mels ||
      r.frames.cols != static_cast<int>(im.layout.frame_features.size()) ||
      r.summary.size() != im.layout.summary.size())
    throw Error("feature store: record for '" + key + "' does not match the store layout");
  Entry e;
  e.key = key;
  e.source = source;
  e.n_frames = T;
  e.n_features = r.frames.cols;
  e.n_summary = static_cast<int>(r.summary.size());
  e.n_mels = r.log_mel.rows;
  e.n_beats = static_cast<int>(r.beats.size());
  e.tempo = r.tempo;
  e.duration_s = r.duration_s;
  const std::uint64_t b_sum = 4ull * r.summary.size(), b_fr = 4ull * r.frames.data.size(),
                      b_lm = 2ull * r.log_mel.data.size(), b_bt = 4ull * r.beats.size();
  const std::uint64_t total = align_up(b_sum) + align_up(b_fr) + align_up(b_lm) + align_up(b_bt);
  Shard& s = im.shard_for(total);
  std::string buf(static_cast<std::size_t>(total), '\0');
  std::uint64_t off = 0;
  e.off_summary = s.write_len + off;
  std::memcpy(&buf[off], r.summary.data(), b_sum);
  off += align_up(b_sum);
  e.off_frames = s.write_len + off;
  std::memcpy(&buf[off], r.frames.data.data(), b_fr);
  off += align_up(b_fr);
  e.off_log_mel = s.write_len + off;
  {
    std::vector<std::uint16_t> halves(r.log_mel.data.size());
    floats_to_halves(r.log_mel.data.data(), halves.data(), halves.size());
    std::memcpy(&buf[off], halves.data(), b_lm);
  }
  off += align_up(b_lm);
  e.off_beats = s.write_len + off;
  for (std::size_t i = 0; i < r.beats.size(); ++i) {
    const std::int32_t b = r.beats[i];
    std::memcpy(&buf[off + 4 * i], &b, 4);
  }
  off += align_up(b_bt);
  e.end = s.write_len + off;
  pwrite_all(s.fd, buf.data(), buf.size(), s.write_len, s.bin);
  s.write_len = e.end;
  s.pending.push_back(std::move(e));
  im.pending_keys[key] = 1;
}

void FeatureStore::commit() {
  Impl& im = *impl_;
  for (std::size_t si = 0; si < im.shards.size(); ++si) {
    Shard& s = im.shards[si];
    if (s.pending.empty()) continue;
    if (::fdatasync(s.fd) != 0) throw Error(s.bin.string() + ": fsync failed: " + std::strerror(errno));
    std::vector<Entry> all = s.entries;
    all.insert(all.end(), s.pending.begin(), s.pending.end());
    std::swap(all, s.entries);
    try {
      im.write_index(s);  // the commit point: records exist once indexed
    } catch (...) {
      std::swap(all, s.entries);
      throw;
    }
    for (std::size_t i = s.entries.size() - s.pending.size(); i < s.entries.size(); ++i) {
      im.where[s.entries[i].key] = {si, i};
      im.order.push_back(s.entries[i].key);
      im.pending_keys.erase(s.entries[i].key);
    }
    s.pending.clear();
    s.committed_len = s.write_len;
  }
}

void FeatureStore::write_failures(const std::vector<std::pair<std::string, std::string>>& key_and_error,
                                  const std::vector<std::string>& sources) {
  json arr = json::array();
  for (std::size_t i = 0; i < key_and_error.size(); ++i)
    arr.push_back({{"key", key_and_error[i].first},
                   {"source", i < sources.size() ? sources[i] : std::string()},
                   {"error", key_and_error[i].second}});
  write_file_atomic(impl_->dir / "failures.json", json{{"failures", arr}}.dump(1) + "\n");
}

TrackView FeatureStore::read(const std::string& key) const {
  Impl& im = *impl_;
  auto it = im.where.find(key);
  if (it == im.where.end()) throw InputError(im.dir.string(), "no record for '" + key + "'");
  Shard& s = im.shards[it->second.first];
  const Entry& e = s.entries[it->second.second];
  if (!s.map || s.map->len < e.end) {
    const int fd = ::open(s.bin.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw InputError(s.bin.string(), std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    ::fstat(fd, &st);
    auto m = std::make_shared<Mapping>();
    m->len = static_cast<std::size_t>(st.st_size);
    if (m->len < e.end) {
      ::close(fd);
      throw InputError(s.bin.string(), "truncated: the store is damaged");
    }
    m->addr = ::mmap(nullptr, m->len, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (m->addr == MAP_FAILED) throw Error(s.bin.string() + ": mmap failed: " + std::strerror(errno));
    s.map = m;
  }
  const char* base = static_cast<const char*>(s.map->addr);
  TrackView v;
  v.key = e.key;
  v.source = e.source;
  v.n_frames = e.n_frames;
  v.n_features = e.n_features;
  v.n_summary = e.n_summary;
  v.n_mels = e.n_mels;
  v.n_beats = e.n_beats;
  v.tempo = e.tempo;
  v.duration_s = e.duration_s;
  v.summary = reinterpret_cast<const float*>(base + e.off_summary);
  v.frames = reinterpret_cast<const float*>(base + e.off_frames);
  v.log_mel = reinterpret_cast<const std::uint16_t*>(base + e.off_log_mel);
  v.beats = reinterpret_cast<const std::int32_t*>(base + e.off_beats);
  v.keepalive = s.map;
  return v;
}

}  // namespace covergen::audio
