// Evaluating embeddings (torch-free): k-NN genre accuracy, silhouette, a 2-D layout
// (exact t-SNE or PCA) and the map PNG coloured by genre (OpenCV). Used by
// `covergen encoder eval` (docs/encoders.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace covergen::encoders {

/// Row-major [n, d] float points.
struct Points {
  std::int64_t n = 0, d = 0;
  std::vector<float> data;
  const float* row(std::int64_t i) const { return data.data() + i * d; }
};

/// Accuracy of k-NN (Euclidean) majority vote: each query takes the labels of its k
/// nearest reference points; ties between labels go to the one with the smaller sum
/// of distances. Labels < 0 are ignored (queries and references).
double knn_accuracy(const Points& reference, const std::vector<int>& reference_labels, const Points& queries,
                    const std::vector<int>& query_labels, int k = 5);

/// Mean silhouette coefficient (Euclidean), as sklearn.metrics.silhouette_score:
/// s(i) = (b - a) / max(a, b), 0 for points alone in their cluster. Needs >= 2 labels.
double silhouette(const Points& points, const std::vector<int>& labels);

/// Exact t-SNE to 2-D (van der Maaten 2008; perplexity calibration by bisection,
/// early exaggeration 12 for 250 iterations, momentum 0.5 -> 0.8, gains, learning
/// rate max(n / 12 / 4, 50)), seeded. O(n^2) per iteration: meant for <= a few thousand.
Points tsne_2d(const Points& points, double perplexity = 30.0, int iterations = 1000, std::uint64_t seed = 0);

/// The first two principal components (centred, not scaled), sign-fixed.
Points pca_2d(const Points& points);

/// Draws the 2-D points as dots coloured by label with a legend (label names) and a
/// title; writes a PNG. Throws InputError when the file cannot be written.
void draw_map(const std::filesystem::path& png, const Points& xy, const std::vector<int>& labels,
              const std::vector<std::string>& label_names, const std::string& title, int size = 900);

}  // namespace covergen::encoders
