// The per-size preprocessing cache: every cover of a dataset decoded, centre-cropped
// and resized once into one uint8 file that is memory-mapped afterwards, so an epoch
// never decodes a JPEG again. Torch-free.
//
// File <cache_dir>/covers-<S>.u8 (little-endian), written to a temp file and renamed:
//   0  char[8] "CGCOVER1"      8  u32 version (1)       12 u32 size S
//   16 u64 count N             24 u64 dataset cover fingerprint
//   32 u64 data offset         40 u64 valid count
//   48 u64 problems offset     56 u64 problems length
//   64 u8 valid[N]             (1 = decoded, 0 = bad image, zeros in the data)
//   data offset (4096-aligned): N images of 3*S*S bytes, planar RGB (R, G, B planes)
//   problems: UTF-8 lines "index\tproblem\n" for the bad images
#pragma once

#include "covergen/data/dataset.hpp"
#include "covergen/data/image.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace covergen::data {

struct CacheOptions {
  int size = 64;                       ///< 32, 64, 128 or 256
  int threads = 0;                     ///< 0 = hardware concurrency
  std::filesystem::path cache_dir;     ///< empty: <dataset>/.covergen-cache
  ImageLimits limits;
  bool force_rebuild = false;
  /// Called from the building threads (serialised) with (done, total).
  std::function<void(std::size_t, std::size_t)> on_progress;
};

class CoverCache {
 public:
  CoverCache() = default;
  CoverCache(CoverCache&& other) noexcept;
  CoverCache& operator=(CoverCache&& other) noexcept;
  CoverCache(const CoverCache&) = delete;
  CoverCache& operator=(const CoverCache&) = delete;
  ~CoverCache();

  /// Opens the cache of `dataset` at options.size, (re)building it when it is
  /// missing, stale (the dataset's covers changed) or unreadable.
  static CoverCache open_or_build(const Dataset& dataset, const CacheOptions& options = {});
  /// Where the cache file of `dataset` at `size` lives.
  static std::filesystem::path path_for(const Dataset& dataset, const CacheOptions& options);

  bool is_open() const { return base_ != nullptr; }
  int size() const { return size_; }
  std::size_t count() const { return count_; }
  std::size_t valid_count() const { return valid_count_; }
  std::size_t image_bytes() const { return 3u * static_cast<std::size_t>(size_) * static_cast<std::size_t>(size_); }
  bool valid(std::size_t index) const { return valid_[index] != 0; }
  /// Planar RGB uint8 [3, S, S] of track `index` (zeros when !valid(index)).
  const std::uint8_t* image(std::size_t index) const { return data_ + index * image_bytes(); }
  const std::filesystem::path& file() const { return file_; }
  bool was_built() const { return built_; }   ///< true when this call (re)built the file
  double build_seconds() const { return build_seconds_; }
  /// The bad covers, as bad rows (CSV file and line of the track).
  std::vector<BadRow> bad_images(const Dataset& dataset) const;
  /// `covergen dataset cache --json` (bad covers included) and its one-line summary.
  std::string to_json(const Dataset& dataset) const;
  std::string to_text(const Dataset& dataset) const;
  /// (index, problem) of the bad covers.
  const std::vector<std::pair<std::size_t, std::string>>& problems() const { return problems_; }

 private:
  static bool try_open(const std::filesystem::path& file, std::uint64_t fingerprint, std::size_t count, int size,
                       CoverCache& out);
  static void build(const Dataset& dataset, const CacheOptions& options, const std::filesystem::path& file);
  void close();

  std::filesystem::path file_;
  void* base_ = nullptr;
  std::size_t length_ = 0;
  int size_ = 0;
  std::size_t count_ = 0, valid_count_ = 0;
  const std::uint8_t* valid_ = nullptr;
  const std::uint8_t* data_ = nullptr;
  std::vector<std::pair<std::size_t, std::string>> problems_;
  bool built_ = false;
  double build_seconds_ = 0;
};

}  // namespace covergen::data
