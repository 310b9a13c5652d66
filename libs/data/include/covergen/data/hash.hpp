// Small, documented, platform-independent hashing and random numbers. Everything
// that must be reproducible (the train/val/test split, the epoch order, the
// synthetic dataset) uses these, never std::hash or the std:: distributions, whose
// results differ between standard libraries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

namespace covergen::data {

/// FNV-1a 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3) of `bytes`.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t h = 0xcbf29ce484222325ULL) noexcept;
/// FNV-1a 64 of a whole file's bytes (streamed). Throws InputError when unreadable.
std::uint64_t fnv1a64_file(const std::filesystem::path& path);

/// SplitMix64 finaliser: a bijective 64-bit mix.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
/// Combines a seed with a stream index (e.g. (seed, track) or (seed, epoch)).
constexpr std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) noexcept {
  return mix64(mix64(seed + 0x9e3779b97f4a7c15ULL) ^ (stream * 0xd1b54a32d192ed03ULL + 0x2545f4914f6cdd1dULL));
}

/// SplitMix64 generator with exactly specified derived distributions.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n) (Lemire's multiply-shift with rejection; n > 0).
  std::uint64_t below(std::uint64_t n) noexcept;
  /// Uniform integer in [lo, hi] inclusive.
  std::int64_t range(std::int64_t lo, std::int64_t hi) noexcept {
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  /// Standard normal (Box-Muller, one value per call).
  double normal() noexcept;
  bool chance(double p) noexcept { return uniform() < p; }

 private:
  std::uint64_t state_;
};

}  // namespace covergen::data
