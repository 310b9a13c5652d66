// Pixel statistics on images with known answers, Spearman against hand-computed
// values, k-means on separable clusters and cluster purity.
#include <covergen/errors.hpp>
#include <covergen/eval/image_stats.hpp>
#include <covergen/eval/maps.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace covergen::eval;

namespace {
std::vector<std::uint8_t> flat(int size, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  const std::size_t plane = static_cast<std::size_t>(size * size);
  std::vector<std::uint8_t> img(3 * plane);
  std::fill(img.begin(), img.begin() + static_cast<std::ptrdiff_t>(plane), r);
  std::fill(img.begin() + static_cast<std::ptrdiff_t>(plane), img.begin() + static_cast<std::ptrdiff_t>(2 * plane), g);
  std::fill(img.begin() + static_cast<std::ptrdiff_t>(2 * plane), img.end(), b);
  return img;
}
// Paints an axis-aligned square of colour (r, g, b) into a planar image.
void square(std::vector<std::uint8_t>& img, int size, int x0, int y0, int w, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  const std::size_t plane = static_cast<std::size_t>(size * size);
  for (int y = y0; y < y0 + w; ++y)
    for (int x = x0; x < x0 + w; ++x) {
      const std::size_t i = static_cast<std::size_t>(y * size + x);
      img[i] = r;
      img[plane + i] = g;
      img[2 * plane + i] = b;
    }
}
}  // namespace

TEST_CASE("Lightness and saturation of flat colours are the HSL values", "[eval][stats]") {
  // Pure red: L = 0.5, S = 1. Mid grey: S = 0. (204, 102, 102): L = 0.6, S = 0.5.
  auto red = image_stats(flat(16, 255, 0, 0).data(), 16);
  CHECK(red.lightness == Approx(0.5));
  CHECK(red.saturation == Approx(1.0));
  CHECK(red.edge_density == 0.0);
  CHECK(red.regions == 1.0);
  auto grey = image_stats(flat(16, 128, 128, 128).data(), 16);
  CHECK(grey.saturation == 0.0);
  CHECK(grey.lightness == Approx(128.0 / 255.0));
  auto pink = image_stats(flat(16, 204, 102, 102).data(), 16);
  CHECK(pink.lightness == Approx(0.6));
  CHECK(pink.saturation == Approx(0.5));
}

TEST_CASE("Regions and edges grow with the number of shapes drawn", "[eval][stats]") {
  auto img = flat(32, 20, 20, 20);
  double last_regions = 1, last_edges = 0;
  for (int k = 0; k < 4; ++k) {
    square(img, 32, 2 + 8 * k, 4 + 6 * k, 5, 230, 200, 40);
    const auto s = image_stats(img.data(), 32);
    CHECK(s.regions == Approx(2.0 + k));
    CHECK(s.edge_density > last_edges);
    last_regions = s.regions;
    last_edges = s.edge_density;
  }
  CHECK(last_regions == 5.0);
}

TEST_CASE("Spearman rank correlation with and without ties", "[eval][stats]") {
  CHECK(spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 100}) == Approx(1.0));
  CHECK(spearman({1, 2, 3, 4, 5}, {5, 4, 3, 2, 1}) == Approx(-1.0));
  // scipy.stats.spearmanr([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) = 0.8
  CHECK(spearman({1, 2, 3, 4, 5}, {2, 1, 4, 3, 5}) == Approx(0.8));
  // with ties: spearmanr([1, 2, 2, 3], [1, 3, 2, 4]) = 0.9486832980505138
  CHECK(spearman({1, 2, 2, 3}, {1, 3, 2, 4}) == Approx(0.9486832980505138));
  CHECK(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
  CHECK_THROWS_AS(spearman({1, 2}, {1}), covergen::InputError);
}

TEST_CASE("Colour layout of a flat image is its L*a*b* colour in every cell", "[eval][stats]") {
  // sRGB (255, 0, 0) = L* 53.24, a* 80.09, b* 67.20 (D65).
  const auto f = colour_layout(flat(16, 255, 0, 0).data(), 16);
  REQUIRE(f.size() == 48);
  for (int c = 0; c < 16; ++c) {
    CHECK(f[static_cast<std::size_t>(3 * c)] == Approx(53.24).margin(0.05));
    CHECK(f[static_cast<std::size_t>(3 * c + 1)] == Approx(80.09).margin(0.1));
    CHECK(f[static_cast<std::size_t>(3 * c + 2)] == Approx(67.20).margin(0.1));
  }
}

TEST_CASE("k-means recovers separated clusters and purity counts majorities", "[eval][clusters]") {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> z(0, 0.3f);
  std::vector<float> pts;
  std::vector<int> truth;
  for (int i = 0; i < 300; ++i) {
    const int c = i % 3;
    pts.push_back(10.0f * c + z(rng));
    pts.push_back(-5.0f * c + z(rng));
    truth.push_back(c);
  }
  const auto km = kmeans(pts, 2, 3, 1);
  const auto p = cluster_purity(km.assignment, truth, 3);
  CHECK(p.overall == 1.0);
  for (auto s : p.size) CHECK(s == 100);
  // Labels unrelated to the clusters: purity near the largest label share.
  std::vector<int> mixed(300);
  for (int i = 0; i < 300; ++i) mixed[static_cast<std::size_t>(i)] = (i / 3) % 2;
  CHECK(cluster_purity(km.assignment, mixed, 3).overall == Approx(0.5).margin(0.02));
  CHECK_THROWS_AS(kmeans(pts, 2, 0), covergen::InputError);
}

TEST_CASE("Base64 matches RFC 4648 test vectors", "[eval][report]") {
  CHECK(base64("") == "");
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64("foobar") == "Zm9vYmFy");
}

TEST_CASE("Report pictures are PNG files of the promised size", "[eval][report]") {
  auto a = flat(8, 255, 0, 0), b = flat(8, 0, 0, 255);
  const std::string png = grid_png({a.data(), b.data(), a.data()}, 8, 2, 2);
  REQUIRE(png.size() > 24);
  CHECK(png.substr(1, 3) == "PNG");
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned char>(png[at]) << 24) | (static_cast<unsigned char>(png[at + 1]) << 16) |
           (static_cast<unsigned char>(png[at + 2]) << 8) | static_cast<unsigned char>(png[at + 3]);
  };
  CHECK(be32(16) == 2 * 16 + 2);  // width: two 16-px cells and a gap
  CHECK(be32(20) == 2 * 16 + 2);  // height: two rows
  const std::string mosaic = mosaic_png({0, 0, 1, 1}, {a.data(), b.data()}, 8, 5, 10);
  CHECK(mosaic.substr(1, 3) == "PNG");
  CHECK_THROWS_AS(mosaic_png({0, 0}, {a.data(), b.data()}, 8, 5, 10), covergen::InputError);
}
