// Scores of an embedding (torch-free), for `covergen encoder eval` (evaluate_encoder)
// and anything else that embeds labelled points. Points are row-major [n, d] float32
// in one std::vector<float>, as tsne_barnes_hut and trustworthiness (tsne.hpp) take
// them; 2-D layouts are row-major [n, 2] double, as they return and scatter_png draws.
#pragma once

#include <cstdint>
#include <vector>

namespace covergen::eval {

/// Accuracy of k-NN (Euclidean) majority vote: each query takes the labels of its k
/// nearest reference points; ties between labels go to the one with the smaller sum
/// of distances. Labels < 0 are ignored (queries and references).
double knn_accuracy(const std::vector<float>& reference, const std::vector<int>& reference_labels,
                    const std::vector<float>& queries, const std::vector<int>& query_labels, std::int64_t d, int k = 5);

/// Mean silhouette coefficient (Euclidean), as sklearn.metrics.silhouette_score:
/// s(i) = (b - a) / max(a, b), 0 for points alone in their cluster; 0 with < 2 labels.
double silhouette(const std::vector<float>& points, std::int64_t d, const std::vector<int>& labels);

/// The first two principal components (centred, not scaled), sign-fixed: [n, 2].
std::vector<double> pca_2d(const std::vector<float>& points, std::int64_t d);

}  // namespace covergen::eval
