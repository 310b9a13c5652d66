#include "covergen/data/hash.hpp"

#include <covergen/errors.hpp>

#include <cmath>
#include <fstream>
#include <vector>

namespace covergen::data {

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t h) noexcept {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t fnv1a64_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string(), "cannot open for reading");
  std::vector<char> buf(1 << 16);
  std::uint64_t h = 0xcbf29ce484222325ULL;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = in.gcount();
    if (n > 0) h = fnv1a64(std::string_view(buf.data(), static_cast<std::size_t>(n)), h);
  }
  if (in.bad()) throw InputError(path.string(), "read error");
  return h;
}

std::uint64_t Rng::below(std::uint64_t n) noexcept {
  // Lemire, "Fast Random Integer Generation in an Interval" (2019).
  unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t t = (0 - n) % n;
    while (low < t) {
      m = static_cast<unsigned __int128>(next()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

double Rng::normal() noexcept {
  double u1 = uniform();
  const double u2 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace covergen::data
