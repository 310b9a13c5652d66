// Embedding scores (k-NN accuracy, silhouette) and the 2-D layouts (PCA, t-SNE) that
// `covergen encoder eval` draws, on two well separated clusters.
#include <covergen/errors.hpp>
#include <covergen/eval/embeddings.hpp>
#include <covergen/eval/maps.hpp>
#include <covergen/eval/tsne.hpp>

#include <catch2/catch.hpp>

#include <utility>

using namespace covergen::eval;

namespace {
std::vector<float> as_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }
}  // namespace

TEST_CASE("k-NN, silhouette and the 2-D layouts", "[eval][embeddings]") {
  std::vector<float> p;
  std::vector<int> labels;
  for (int i = 0; i < 40; ++i) {
    const int c = i % 2;
    labels.push_back(c);
    for (int j = 0; j < 3; ++j) p.push_back(static_cast<float>(c * 10 + (i * 7 + j * 3) % 5 * 0.1));
  }
  CHECK(knn_accuracy(p, labels, p, labels, 3, 5) == 1.0);
  CHECK(silhouette(p, 3, labels) > 0.9);
  std::vector<int> shuffled = labels;
  for (int i = 0; i < 40; i += 4) std::swap(shuffled[static_cast<std::size_t>(i)], shuffled[static_cast<std::size_t>(i + 1)]);
  CHECK(silhouette(p, 3, shuffled) < 0.5);
  // A query labelled -1 is not scored; one label only: silhouette 0.
  CHECK(knn_accuracy(p, labels, {p.begin(), p.begin() + 3}, {-1}, 3, 5) == 0.0);
  CHECK(silhouette(p, 3, std::vector<int>(40, 1)) == 0.0);
  CHECK_THROWS_AS(silhouette(p, 4, labels), covergen::InputError);

  TsneOptions o;
  o.perplexity = 10.0;
  o.iterations = 300;
  const auto t = tsne_barnes_hut(p, 40, 3, o).xy;
  REQUIRE(t.size() == 80);
  // The two clusters stay apart in the layout.
  CHECK(knn_accuracy(as_float(t), labels, as_float(t), labels, 2, 3) == 1.0);
  const auto q = pca_2d(p, 3);
  REQUIRE(q.size() == 80);
  CHECK(silhouette(as_float(q), 2, labels) > 0.9);
  const auto png = scatter_png(t, labels, {"zero", "one"}, "test", 900);
  CHECK(png.size() > 1000);
  CHECK(png.compare(1, 3, "PNG") == 0);
}
