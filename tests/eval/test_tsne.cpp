// Barnes-Hut t-SNE against a stored scikit-learn reference
// (tests/eval/make_tsne_reference.py -> tests/data/eval/): our trustworthiness of
// sklearn's layout equals sklearn's value, and our layout of the same points is as
// trustworthy as sklearn's (k = 10, within 0.02).
#include <covergen/errors.hpp>
#include <covergen/eval/tsne.hpp>
#include <covergen/npy.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <random>

using namespace covergen::eval;

namespace {
const std::string dir = std::string(COVERGEN_TEST_DATA_DIR) + "/eval/";
nlohmann::json reference() {
  std::ifstream f(dir + "tsne_reference.json");
  return nlohmann::json::parse(f);
}
std::vector<float> first_rows(const std::vector<float>& x, std::int64_t d, std::int64_t n) {
  return {x.begin(), x.begin() + n * d};
}
}  // namespace

TEST_CASE("Trustworthiness of scikit-learn's layout equals scikit-learn's value", "[eval][tsne]") {
  const auto points = covergen::npy::load(dir + "tsne_points.npy");
  const auto xy = covergen::npy::load(dir + "tsne_sklearn_xy.npy");
  REQUIRE(points.shape == std::vector<std::int64_t>{5000, 10});
  REQUIRE(xy.shape == std::vector<std::int64_t>{5000, 2});
  const double t = trustworthiness(points.as_float(), 10, xy.as_double(), 2, 10);
  CHECK(t == Approx(reference().at("trustworthiness_5000").get<double>()).margin(1e-6));
}

TEST_CASE("Barnes-Hut t-SNE is as trustworthy as scikit-learn's on the same 2,000 points", "[eval][tsne]") {
  const auto points = covergen::npy::load(dir + "tsne_points.npy");
  const auto x = first_rows(points.as_float(), 10, 2000);
  TsneOptions o;
  o.threads = 2;
  const auto r = tsne_barnes_hut(x, 2000, 10, o);
  REQUIRE(r.xy.size() == 4000);
  for (double v : r.xy) REQUIRE(std::isfinite(v));
  const double ours = trustworthiness(x, 10, r.xy, 2, 10);
  const double sklearn = reference().at("trustworthiness_2000").get<double>();
  INFO("ours " << ours << " sklearn " << sklearn << " KL " << r.kl_divergence);
  CHECK(std::abs(ours - sklearn) <= 0.02);
  CHECK(r.kl_divergence > 0);
  CHECK(r.kl_divergence < 3);
  // The same input gives the same layout (deterministic).
  o.iterations = 50;
  CHECK(tsne_barnes_hut(x, 2000, 10, o).xy == tsne_barnes_hut(x, 2000, 10, o).xy);
}

TEST_CASE("Trustworthiness separates a faithful layout from a random one", "[eval][tsne]") {
  // Points on a line in 5-D: the line coordinate as the layout is perfect (1.0).
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(0, 100);
  std::vector<float> x;
  std::vector<double> good, random;
  for (int i = 0; i < 400; ++i) {
    const double t = u(rng);
    for (int c = 0; c < 5; ++c) x.push_back(static_cast<float>(t * (c + 1)));
    good.insert(good.end(), {t, 0.0});
    random.insert(random.end(), {u(rng), u(rng)});
  }
  CHECK(trustworthiness(x, 5, good, 2, 10) == Approx(1.0));
  CHECK(trustworthiness(x, 5, random, 2, 10) < 0.7);
  CHECK_THROWS_AS(trustworthiness(x, 5, good, 2, 300), covergen::InputError);
  CHECK_THROWS_AS(tsne_barnes_hut({1, 2, 3}, 3, 1), covergen::InputError);
}

// The 50,000-point timing (docs/evaluation.md): a reported experiment, not a timed test.
// Run: build-eval/tests/eval/test_eval_metrics "[.tsne50k]"
TEST_CASE("t-SNE of 50,000 points (experiment)", "[.tsne50k]") {
  const auto points = covergen::npy::load(dir + "tsne_points.npy").as_float();
  std::mt19937_64 rng(5);
  std::normal_distribution<float> z(0, 0.2f);
  std::vector<float> x;
  for (int rep = 0; rep < 10; ++rep)
    for (float v : points) x.push_back(v + z(rng));  // ten jittered copies of the 5,000
  TsneOptions o;
  o.threads = 2;
  const auto r = tsne_barnes_hut(x, 50000, 10, o);
  std::printf("t-SNE 50000 points x 10 dims: neighbours %.1f s, optimisation %.1f s, KL %.3f\n", r.seconds_neighbours,
              r.seconds_optimise, r.kl_divergence);
  CHECK(r.xy.size() == 100000);
}

// The 5,000-point comparison with scikit-learn (docs/evaluation.md), a reported experiment:
// build-eval/bin/test_eval_metrics "[.tsne5000]"
TEST_CASE("t-SNE of the 5,000 reference points against scikit-learn (experiment)", "[.tsne5000]") {
  const auto x = covergen::npy::load(dir + "tsne_points.npy").as_float();
  TsneOptions o;
  o.threads = 2;
  const auto r = tsne_barnes_hut(x, 5000, 10, o);
  const double ours = trustworthiness(x, 10, r.xy, 2, 10);
  const double sklearn = reference().at("trustworthiness_5000").get<double>();
  std::printf("t-SNE 5000 points: trustworthiness(k=10) ours %.4f, scikit-learn %.4f; %.1f s + %.1f s\n", ours, sklearn,
              r.seconds_neighbours, r.seconds_optimise);
  CHECK(std::abs(ours - sklearn) <= 0.02);
}
