// FID and KID against known answers: closed-form Fréchet distances between Gaussians,
// FID of large samples from two Gaussians, the unbiased MMD^2 against a brute-force
// sum, KID ~0 on two halves of one set within its standard error.
#include <covergen/errors.hpp>
#include <covergen/eval/distribution.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace covergen::eval;

namespace {

// n samples of N(mean, L L^T) in d dims, L lower-triangular row-major.
FeatureMatrix gaussian(std::int64_t n, const std::vector<double>& mean, const std::vector<double>& L, std::uint64_t seed) {
  const auto d = static_cast<std::int64_t>(mean.size());
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z01;
  FeatureMatrix m;
  m.n = n;
  m.d = d;
  m.data.resize(static_cast<std::size_t>(n * d));
  std::vector<double> z(static_cast<std::size_t>(d));
  for (std::int64_t i = 0; i < n; ++i) {
    for (auto& v : z) v = z01(rng);
    for (std::int64_t r = 0; r < d; ++r) {
      double s = mean[static_cast<std::size_t>(r)];
      for (std::int64_t c = 0; c <= r; ++c) s += L[static_cast<std::size_t>(r * d + c)] * z[static_cast<std::size_t>(c)];
      m.data[static_cast<std::size_t>(i * d + r)] = s;
    }
  }
  return m;
}

}  // namespace

TEST_CASE("Frechet distance of diagonal Gaussians matches the closed form", "[eval][fid]") {
  // |mu1-mu2|^2 + sum (s1 + s2 - 2 sqrt(s1 s2)) = 1 + 4 + (1 + 4 - 4) + (9 + 1 - 6) + (2 + 8 - 8) = 12
  const std::vector<double> m1{0, 0, 0}, m2{1, 2, 0};
  const std::vector<double> c1{1, 0, 0, 0, 9, 0, 0, 0, 2}, c2{4, 0, 0, 0, 1, 0, 0, 0, 8};
  CHECK(frechet_distance(m1, c1, m2, c2) == Approx(12.0).epsilon(1e-12));
  CHECK(frechet_distance(m1, c1, m1, c1) == Approx(0.0).margin(1e-12));
}

TEST_CASE("Frechet distance of non-commuting covariances matches the 2-D closed form", "[eval][fid]") {
  // For 2x2 SPD A, B: tr sqrt(A B) = sqrt(tr(AB) + 2 sqrt(det(AB))).
  const std::vector<double> a{2, 0.8, 0.8, 1}, b{1, -0.3, -0.3, 3}, m{0, 0};
  const double ab00 = 2 * 1 + 0.8 * -0.3, ab11 = 0.8 * -0.3 + 1 * 3;
  const double det = (2 * 1 - 0.64) * (3 - 0.09);
  const double tr_sqrt = std::sqrt(ab00 + ab11 + 2 * std::sqrt(det));
  const double expected = 3 + 4 - 2 * tr_sqrt;
  CHECK(frechet_distance(m, a, m, b) == Approx(expected).epsilon(1e-12));
}

TEST_CASE("FID of samples from two Gaussians approaches their closed-form distance", "[eval][fid]") {
  const std::vector<double> m1{0, 0, 0, 0}, m2{0.5, -0.5, 0, 1};
  const std::vector<double> l1{1, 0, 0, 0, 0.5, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1};   // cov1 = L1 L1^T
  const std::vector<double> l2{1.5, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0.3, 0, 0, 0.5};
  // The closed form from the exact covariances.
  auto cov = [](const std::vector<double>& L) {
    std::vector<double> c(16, 0.0);
    for (int r = 0; r < 4; ++r)
      for (int s = 0; s < 4; ++s)
        for (int k = 0; k < 4; ++k) c[static_cast<std::size_t>(r * 4 + s)] += L[static_cast<std::size_t>(r * 4 + k)] * L[static_cast<std::size_t>(s * 4 + k)];
    return c;
  };
  const double exact = frechet_distance(m1, cov(l1), m2, cov(l2));
  const double sampled = fid(gaussian(200000, m1, l1, 1), gaussian(200000, m2, l2, 2));
  CHECK(exact > 1.0);
  CHECK(sampled == Approx(exact).epsilon(0.02));
  // The same distribution on both sides: close to 0 (only the small-sample bias).
  CHECK(fid(gaussian(20000, m1, l1, 3), gaussian(20000, m1, l1, 4)) < 0.01);
}

TEST_CASE("Unbiased MMD^2 equals the brute-force U-statistic with the cubic kernel", "[eval][kid]") {
  const auto a = gaussian(7, {0, 1, 2}, {1, 0, 0, 0, 1, 0, 0, 0, 1}, 5);
  const auto b = gaussian(5, {1, 0, 2}, {1, 0, 0, 0, 2, 0, 0, 0, 1}, 6);
  auto k = [](const double* x, const double* y) {
    double s = 0;
    for (int i = 0; i < 3; ++i) s += x[i] * y[i];
    return std::pow(s / 3.0 + 1.0, 3);
  };
  double xx = 0, yy = 0, xy = 0;
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 7; ++j)
      if (i != j) xx += k(a.row(i), a.row(j));
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j)
      if (i != j) yy += k(b.row(i), b.row(j));
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 5; ++j) xy += k(a.row(i), b.row(j));
  const double expected = xx / 42.0 + yy / 20.0 - 2.0 * xy / 35.0;
  CHECK(mmd2_unbiased(a, b) == Approx(expected).epsilon(1e-12));
}

TEST_CASE("KID of two halves of one set is zero within its standard error, and large across sets", "[eval][kid]") {
  const std::vector<double> mean(16, 0.0);
  std::vector<double> L(256, 0.0);
  for (int i = 0; i < 16; ++i) L[static_cast<std::size_t>(i * 16 + i)] = 1.0 + 0.1 * i;
  const auto all = gaussian(2000, mean, L, 7);
  std::vector<std::int64_t> first, second;
  for (std::int64_t i = 0; i < all.n; ++i) (i % 2 ? second : first).push_back(i);
  KidOptions o;
  o.subsets = 50;
  o.subset_size = 500;
  const auto same = kid(all.rows(first), all.rows(second), o);
  CHECK(same.subset_size == 500);
  CHECK(same.std > 0);
  CHECK(std::abs(same.mean) < 2.0 * same.std);
  std::vector<double> shifted(16, 0.3);
  const auto other = kid(all.rows(first), gaussian(1000, shifted, L, 8), o);
  CHECK(other.mean > 4.0 * other.std);
  CHECK(other.mean > 20.0 * std::abs(same.mean));
}

TEST_CASE("Per-class distances single out a generator that ignores its labels", "[eval][fid]") {
  // Class c is N(c * 2 e0, I); "conditional" samples follow their labels, "shuffled" ones do not.
  std::vector<double> L(16, 0.0);
  for (int i = 0; i < 4; ++i) L[static_cast<std::size_t>(i * 4 + i)] = 1.0;
  FeatureMatrix real, good, bad;
  std::vector<int> real_l, gen_l;
  for (auto* m : {&real, &good, &bad}) m->d = 4;
  for (int c = 0; c < 3; ++c) {
    auto r = gaussian(300, {2.0 * c, 0, 0, 0}, L, 10 + static_cast<std::uint64_t>(c));
    auto g = gaussian(200, {2.0 * c, 0, 0, 0}, L, 20 + static_cast<std::uint64_t>(c));
    auto s = gaussian(200, {2.0 * ((c + 1) % 3), 0, 0, 0}, L, 30 + static_cast<std::uint64_t>(c));
    real.data.insert(real.data.end(), r.data.begin(), r.data.end());
    good.data.insert(good.data.end(), g.data.begin(), g.data.end());
    bad.data.insert(bad.data.end(), s.data.begin(), s.data.end());
    real_l.insert(real_l.end(), 300, c);
    gen_l.insert(gen_l.end(), 200, c);
  }
  real.n = 900;
  good.n = bad.n = 600;
  KidOptions o;
  o.subsets = 20;
  const auto g = per_class_distances(good, gen_l, real, real_l, 4, o);
  const auto s = per_class_distances(bad, gen_l, real, real_l, 4, o);
  REQUIRE(g.fid.size() == 4);
  CHECK(std::isnan(g.fid[3]));  // no samples of class 3
  CHECK(g.generated[0] == 200);
  CHECK(g.real[0] == 300);
  CHECK(g.mean_fid < 0.2);
  CHECK(s.mean_fid > 3.0);      // |mean shift|^2 is 4 or 16
  CHECK(s.mean_kid > 10 * g.mean_kid);
  // The overall distributions agree: the unconditional FID cannot tell them apart.
  CHECK(std::abs(fid(good, real) - fid(bad, real)) < 0.2);
}

TEST_CASE("Diversity and nearest distances are exact on small sets", "[eval]") {
  FeatureMatrix x{3, 2, {0, 0, 3, 4, 0, 4}};
  CHECK(mean_pairwise_distance(x) == Approx((5.0 + 4.0 + 3.0) / 3.0));
  FeatureMatrix q{2, 2, {0, 1, 3, 3}};
  const auto d = nearest_distances(q, x);
  CHECK(d[0] == Approx(1.0));
  CHECK(d[1] == Approx(1.0));
  FeatureMatrix bad{1, 2, {0, NAN}};
  CHECK_THROWS_AS(nearest_distances(bad, x), covergen::InputError);
  CHECK_THROWS_AS(fid(x.rows({0}), x), covergen::InputError);
}
