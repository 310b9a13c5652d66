// Barnes-Hut t-SNE (van der Maaten 2014) to 2-D for tens of thousands of points,
// and the trustworthiness score used to check a layout (torch-free).
//
// Defaults follow scikit-learn 1.2's TSNE: perplexity 30, 1000 iterations, early
// exaggeration 12 for the first 250, momentum 0.5 then 0.8, per-coordinate gains
// (min 0.01), learning rate max(n / 12 / 4, 50), PCA initialisation scaled to a
// standard deviation of 1e-4, theta 0.5. Neighbours: the exact 3*perplexity nearest
// by blocked float32 dot products, O(n^2 d) but GEMM-fast; the gradient: exact
// attractive terms over the sparse P and repulsion through a quadtree, O(n log n)
// per iteration, split over `threads`.
#pragma once

#include <cstdint>
#include <vector>

namespace covergen::eval {

struct TsneOptions {
  double perplexity = 30.0;
  int iterations = 1000;
  double theta = 0.5;                ///< Barnes-Hut opening angle (0 would be exact and slow)
  double early_exaggeration = 12.0;
  int exaggeration_iterations = 250;
  double learning_rate = 0.0;        ///< 0: max(n / early_exaggeration / 4, 50)
  std::uint64_t seed = 0;            ///< only breaks PCA sign ties; the layout is deterministic
  int threads = 0;                   ///< 0: hardware concurrency
};

struct TsneResult {
  std::vector<double> xy;            ///< row-major [n, 2]
  double kl_divergence = 0;          ///< KL(P || Q) at the end (Barnes-Hut estimate)
  double seconds_neighbours = 0, seconds_optimise = 0;
};

/// `points`: row-major [n, d] float32. Needs n >= 4. Throws InputError on NaN/Inf.
TsneResult tsne_barnes_hut(const std::vector<float>& points, std::int64_t n, std::int64_t d,
                           const TsneOptions& options = {});

/// Trustworthiness of an embedding (Venna and Kaski; as sklearn.manifold.trustworthiness,
/// Euclidean): 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in the k nearest of i in the
/// embedding} max(0, rank_i(j) - k), rank in the original space (1 = nearest). O(n^2 log n).
double trustworthiness(const std::vector<float>& points, std::int64_t d, const std::vector<double>& embedding,
                       std::int64_t embedding_dim, int k = 10);

}  // namespace covergen::eval
