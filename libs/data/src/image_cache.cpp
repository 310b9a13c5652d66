#include "covergen/data/image_cache.hpp"

#include <covergen/parallel.hpp>

#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>

#include <opencv2/core/utility.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <mutex>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace covergen::data {

namespace {

constexpr char kMagic[8] = {'C', 'G', 'C', 'O', 'V', 'E', 'R', '1'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeader = 64;

struct Header {
  char magic[8];
  std::uint32_t version, size;
  std::uint64_t count, fingerprint, data_offset, valid_count, problems_offset, problems_length;
};
static_assert(sizeof(Header) == kHeader, "cache header must be 64 bytes");

std::size_t align_up(std::size_t v, std::size_t a) { return (v + a - 1) / a * a; }

std::string errno_text() { return std::strerror(errno); }

/// The (OpenCV) thread count is process-wide; our workers already fill the cores.
class OpenCvSingleThread {
 public:
  OpenCvSingleThread() : prev_(cv::getNumThreads()) { cv::setNumThreads(1); }
  ~OpenCvSingleThread() { cv::setNumThreads(prev_); }
 private:
  int prev_;
};

}  // namespace

CoverCache::CoverCache(CoverCache&& o) noexcept { *this = std::move(o); }

CoverCache& CoverCache::operator=(CoverCache&& o) noexcept {
  if (this != &o) {
    close();
    file_ = std::move(o.file_);
    base_ = o.base_; length_ = o.length_; size_ = o.size_; count_ = o.count_; valid_count_ = o.valid_count_;
    valid_ = o.valid_; data_ = o.data_; problems_ = std::move(o.problems_); built_ = o.built_;
    build_seconds_ = o.build_seconds_;
    o.base_ = nullptr; o.length_ = 0; o.valid_ = nullptr; o.data_ = nullptr;
  }
  return *this;
}

CoverCache::~CoverCache() { close(); }

void CoverCache::close() {
  if (base_) ::munmap(base_, length_);
  base_ = nullptr;
  length_ = 0;
}

fs::path CoverCache::path_for(const Dataset& dataset, const CacheOptions& options) {
  const fs::path dir = options.cache_dir.empty() ? dataset.spec().root / ".covergen-cache" : options.cache_dir;
  return dir / ("covers-" + std::to_string(options.size) + ".u8");
}

bool CoverCache::try_open(const fs::path& file, std::uint64_t fingerprint, std::size_t count, int size, CoverCache& out) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) < kHeader) { ::close(fd); return false; }
  const auto length = static_cast<std::size_t>(st.st_size);
  void* base = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (base == MAP_FAILED) return false;
  Header h;
  std::memcpy(&h, base, sizeof h);
  const std::size_t img = 3u * static_cast<std::size_t>(size) * static_cast<std::size_t>(size);
  const bool ok = std::memcmp(h.magic, kMagic, 8) == 0 && h.version == kVersion && h.size == static_cast<std::uint32_t>(size) &&
                  h.count == count && h.fingerprint == fingerprint && h.data_offset >= kHeader + count &&
                  h.data_offset + count * img <= length && h.problems_offset + h.problems_length <= length;
  if (!ok) { ::munmap(base, length); return false; }
  out.close();
  out.file_ = file;
  out.base_ = base;
  out.length_ = length;
  out.size_ = size;
  out.count_ = count;
  out.valid_count_ = h.valid_count;
  out.valid_ = static_cast<const std::uint8_t*>(base) + kHeader;
  out.data_ = static_cast<const std::uint8_t*>(base) + h.data_offset;
  out.problems_.clear();
  const std::string text(static_cast<const char*>(base) + h.problems_offset, h.problems_length);
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? text.size() : eol + 1;
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    out.problems_.emplace_back(std::stoull(line.substr(0, tab)), line.substr(tab + 1));
  }
  ::madvise(base, length, MADV_WILLNEED);
  return true;
}

void CoverCache::build(const Dataset& dataset, const CacheOptions& options, const fs::path& file) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) throw Error(file.parent_path().string() + ": cannot create the cache folder: " + ec.message());
  const std::size_t n = dataset.size();
  const std::size_t img = 3u * static_cast<std::size_t>(options.size) * static_cast<std::size_t>(options.size);
  const std::size_t data_offset = align_up(kHeader + n, 4096);
  const std::size_t data_end = data_offset + n * img;
  const fs::path tmp = temp_path_for(file);
  const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(tmp.string() + ": cannot create the cache file: " + errno_text());
  auto fail = [&](const std::string& what) {
    const std::string why = errno_text();
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(file.string() + ": " + what + ": " + why);
  };
  if (::ftruncate(fd, static_cast<off_t>(data_end)) != 0) fail("cannot size the cache file (disk full?)");
  void* base = data_end ? ::mmap(nullptr, data_end, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : nullptr;
  if (base == MAP_FAILED) fail("cannot map the cache file");
  auto* bytes = static_cast<std::uint8_t*>(base);

  std::vector<std::string> errors(n);
  std::atomic<std::size_t> done{0};
  std::mutex progress_mutex;
  try {
    OpenCvSingleThread single;
    parallel_for(n, options.threads, [&](std::size_t i) {
      std::uint8_t* out = bytes + data_offset + i * img;
      std::string error;
      const bool ok = preprocess_image_file(dataset.tracks()[i].cover, options.size, out, error, options.limits);
      bytes[kHeader + i] = ok ? 1 : 0;
      if (!ok) {
        std::memset(out, 0, img);
        errors[i] = error.empty() ? "cannot decode" : error;
      }
      const std::size_t d = ++done;
      if (options.on_progress) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        options.on_progress(d, n);
      }
    });
  } catch (...) {
    if (base) ::munmap(base, data_end);
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  std::string problems;
  std::size_t valid = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (errors[i].empty()) { ++valid; continue; }
    std::string e = errors[i];
    for (char& c : e)
      if (c == '\n' || c == '\t') c = ' ';
    problems += std::to_string(i) + "\t" + e + "\n";
  }
  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kVersion;
  h.size = static_cast<std::uint32_t>(options.size);
  h.count = n;
  h.fingerprint = dataset.cover_fingerprint();
  h.data_offset = data_offset;
  h.valid_count = valid;
  h.problems_offset = data_end;
  h.problems_length = problems.size();
  if (base) {
    std::memcpy(base, &h, sizeof h);
    if (::msync(base, data_end, MS_SYNC) != 0) fail("cannot flush the cache file");
    ::munmap(base, data_end);
  } else if (::pwrite(fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h)) {
    fail("cannot write the cache header");
  }
  if (!problems.empty() &&
      ::pwrite(fd, problems.data(), problems.size(), static_cast<off_t>(data_end)) != static_cast<ssize_t>(problems.size()))
    fail("cannot write the cache file (disk full?)");
  if (::fsync(fd) != 0) fail("cannot flush the cache file");
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw Error(file.string() + ": cannot rename the cache file into place: " + why);
  }
  const int dfd = ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) { ::fsync(dfd); ::close(dfd); }
}

CoverCache CoverCache::open_or_build(const Dataset& dataset, const CacheOptions& options) {
  if (!is_supported_size(options.size))
    throw InputError("image size " + std::to_string(options.size) + " is not supported (32, 64, 128 or 256)");
  const fs::path file = path_for(dataset, options);
  const std::uint64_t fp = dataset.cover_fingerprint();
  CoverCache cache;
  if (!options.force_rebuild && try_open(file, fp, dataset.size(), options.size, cache)) return cache;
  const auto t0 = std::chrono::steady_clock::now();
  build(dataset, options, file);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!try_open(file, fp, dataset.size(), options.size, cache))
    throw Error(file.string() + ": the cache file just written cannot be read back");
  cache.built_ = true;
  cache.build_seconds_ = secs;
  return cache;
}

std::vector<BadRow> CoverCache::bad_images(const Dataset& dataset) const {
  std::vector<BadRow> out;
  for (const auto& [index, problem] : problems_) {
    if (index >= dataset.size()) continue;
    const Track& t = dataset.tracks()[index];
    out.push_back({dataset.csv_path(), t.line, t.id, "cover " + t.cover.string() + ": " + problem});
  }
  return out;
}

}  // namespace covergen::data
