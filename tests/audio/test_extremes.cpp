// Spectral contrast's selection of the q smallest / largest magnitudes of a band, against
// a sort, on the shapes that take each of its paths: narrow bands, bands ranked whole,
// lane bounds with few candidates, and flat or tied bands that fall back to a sort.
#include "../../libs/audio/src/extremes.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using covergen::audio::detail::select_extremes;

namespace {

void check(const std::vector<float>& x, int q) {
  std::vector<float> s = x, low(static_cast<std::size_t>(q)), high(static_cast<std::size_t>(q)), work;
  std::sort(s.begin(), s.end());
  const int n = static_cast<int>(x.size());
  select_extremes(x.data(), n, q, low.data(), high.data(), work);
  INFO("n " << n << " q " << q);
  CHECK(std::equal(low.begin(), low.end(), s.begin()));
  CHECK(std::equal(high.begin(), high.end(), s.end() - q));
}

}  // namespace

TEST_CASE("contrast extremes equal a sort's ends", "[audio][contrast]") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const int sizes[] = {1, 2, 7, 16, 19, 31, 32, 38, 47, 48, 49, 64, 75, 149, 298, 432, 1025};
  const int qs[] = {1, 2, 3, 6, 9, 16, 17, 30};
  for (int n : sizes) {
    for (int q : qs) {
      if (q > n) continue;
      for (int rep = 0; rep < 20; ++rep) {
        std::vector<float> x(static_cast<std::size_t>(n));
        switch (rep % 5) {
          case 0:  // uniform
            for (auto& v : x) v = u(rng);
            break;
          case 1:  // a falling spectrum with noise and peaks
            for (int k = 0; k < n; ++k) x[k] = std::exp(-0.01f * k) * (0.5f + u(rng)) + (u(rng) < 0.02f ? 5.0f : 0.0f);
            break;
          case 2:  // few distinct values: ties everywhere
            for (auto& v : x) v = static_cast<float>(static_cast<int>(u(rng) * 4));
            break;
          case 3:  // flat (silence): every value a candidate, the sort fallback
            std::fill(x.begin(), x.end(), rep == 3 ? 0.0f : 0.25f);
            break;
          default:  // rising, so the extremes sit at the other ends
            for (int k = 0; k < n; ++k) x[k] = static_cast<float>(k) + 0.5f * u(rng);
        }
        check(x, q);
      }
    }
  }
}
