#include "covergen/eval/embeddings.hpp"

#include <covergen/errors.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

namespace covergen::eval {

namespace {

// A view of row-major [n, d] points.
struct Rows {
  const float* data;
  std::int64_t n, d;
  Rows(const std::vector<float>& v, std::int64_t dim, std::size_t rows, const char* what)
      : data(v.data()), n(static_cast<std::int64_t>(rows)), d(dim) {
    if (dim < 1 || v.size() != rows * static_cast<std::size_t>(dim))
      throw InputError(std::string(what) + ": " + std::to_string(v.size()) + " values are not " + std::to_string(rows) +
                       " rows of " + std::to_string(dim));
  }
  const float* row(std::int64_t i) const { return data + i * d; }
};

double sqdist(const float* a, const float* b, std::int64_t d) {
  double s = 0;
  for (std::int64_t j = 0; j < d; ++j) {
    const double t = static_cast<double>(a[j]) - b[j];
    s += t * t;
  }
  return s;
}

}  // namespace

double knn_accuracy(const std::vector<float>& reference, const std::vector<int>& ref_labels,
                    const std::vector<float>& queries, const std::vector<int>& q_labels, std::int64_t d, int k) {
  const Rows ref(reference, d, ref_labels.size(), "k-NN reference"), q(queries, d, q_labels.size(), "k-NN queries");
  std::int64_t correct = 0, total = 0;
  std::vector<std::pair<double, int>> nb;
  for (std::int64_t i = 0; i < q.n; ++i) {
    if (q_labels[static_cast<std::size_t>(i)] < 0) continue;
    nb.clear();
    for (std::int64_t r = 0; r < ref.n; ++r)
      if (ref_labels[static_cast<std::size_t>(r)] >= 0) nb.emplace_back(sqdist(q.row(i), ref.row(r), q.d), ref_labels[static_cast<std::size_t>(r)]);
    if (nb.empty()) continue;
    const auto kk = std::min<std::size_t>(static_cast<std::size_t>(k), nb.size());
    std::partial_sort(nb.begin(), nb.begin() + static_cast<std::ptrdiff_t>(kk), nb.end());
    std::map<int, std::pair<int, double>> votes;  // label -> (count, distance sum)
    for (std::size_t j = 0; j < kk; ++j) {
      auto& v = votes[nb[j].second];
      ++v.first;
      v.second += std::sqrt(nb[j].first);
    }
    int best = -1, best_count = -1;
    double best_dist = std::numeric_limits<double>::infinity();
    for (const auto& [label, v] : votes)
      if (v.first > best_count || (v.first == best_count && v.second < best_dist)) {
        best = label;
        best_count = v.first;
        best_dist = v.second;
      }
    correct += best == q_labels[static_cast<std::size_t>(i)];
    ++total;
  }
  return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0;
}

double silhouette(const std::vector<float>& points, std::int64_t d, const std::vector<int>& labels) {
  const Rows p(points, d, labels.size(), "silhouette");
  std::map<int, std::int64_t> sizes;
  for (std::int64_t i = 0; i < p.n; ++i)
    if (labels[static_cast<std::size_t>(i)] >= 0) ++sizes[labels[static_cast<std::size_t>(i)]];
  if (sizes.size() < 2) return 0.0;
  double sum = 0;
  std::int64_t count = 0;
  std::map<int, double> dist;
  for (std::int64_t i = 0; i < p.n; ++i) {
    const int li = labels[static_cast<std::size_t>(i)];
    if (li < 0) continue;
    dist.clear();
    for (std::int64_t j = 0; j < p.n; ++j) {
      const int lj = labels[static_cast<std::size_t>(j)];
      if (j == i || lj < 0) continue;
      dist[lj] += std::sqrt(sqdist(p.row(i), p.row(j), p.d));
    }
    ++count;
    if (sizes[li] <= 1) continue;  // s = 0
    const double a = dist[li] / static_cast<double>(sizes[li] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (const auto& [l, s] : sizes)
      if (l != li) b = std::min(b, dist[l] / static_cast<double>(s));
    const double m = std::max(a, b);
    sum += m > 0 ? (b - a) / m : 0.0;
  }
  return count ? sum / static_cast<double>(count) : 0.0;
}

std::vector<double> pca_2d(const std::vector<float>& points, std::int64_t dim) {
  if (dim < 1 || points.size() % static_cast<std::size_t>(dim) != 0) throw InputError("PCA: the points are not rows of the given size");
  const Rows x(points, dim, points.size() / static_cast<std::size_t>(dim), "PCA");
  std::vector<double> y(static_cast<std::size_t>(x.n * 2), 0.0);
  if (x.n < 2) return y;
  std::vector<double> mean(static_cast<std::size_t>(x.d), 0.0);
  for (std::int64_t i = 0; i < x.n; ++i)
    for (std::int64_t j = 0; j < x.d; ++j) mean[static_cast<std::size_t>(j)] += x.row(i)[j];
  for (auto& m : mean) m /= static_cast<double>(x.n);
  const auto d = static_cast<std::size_t>(x.d);
  std::vector<double> C(d * d, 0.0);
  for (std::int64_t i = 0; i < x.n; ++i)
    for (std::size_t a = 0; a < d; ++a) {
      const double va = x.row(i)[a] - mean[a];
      for (std::size_t b = 0; b < d; ++b) C[a * d + b] += va * (x.row(i)[b] - mean[b]);
    }
  // Two leading eigenvectors by power iteration with deflation (fixed start: deterministic).
  std::vector<std::vector<double>> comps;
  for (int c = 0; c < 2 && c < static_cast<int>(d); ++c) {
    std::vector<double> v(d), w(d);
    for (std::size_t a = 0; a < d; ++a) v[a] = 1.0 + 0.01 * static_cast<double>(a);
    double lambda = 0;
    for (int it = 0; it < 500; ++it) {
      for (std::size_t a = 0; a < d; ++a) {
        double s = 0;
        for (std::size_t b = 0; b < d; ++b) s += C[a * d + b] * v[b];
        w[a] = s;
      }
      for (const auto& u : comps) {
        double dot = 0;
        for (std::size_t a = 0; a < d; ++a) dot += w[a] * u[a];
        for (std::size_t a = 0; a < d; ++a) w[a] -= dot * u[a];
      }
      double norm = 0;
      for (double t : w) norm += t * t;
      norm = std::sqrt(norm);
      if (norm < 1e-300) break;
      for (std::size_t a = 0; a < d; ++a) v[a] = w[a] / norm;
      lambda = norm;
    }
    (void)lambda;
    std::size_t arg = 0;
    for (std::size_t a = 1; a < d; ++a)
      if (std::abs(v[a]) > std::abs(v[arg])) arg = a;
    if (v[arg] < 0)
      for (auto& t : v) t = -t;
    comps.push_back(v);
  }
  for (std::int64_t i = 0; i < x.n; ++i)
    for (std::size_t c = 0; c < comps.size(); ++c) {
      double s = 0;
      for (std::size_t a = 0; a < d; ++a) s += (x.row(i)[a] - mean[a]) * comps[c][a];
      y[static_cast<std::size_t>(i * 2) + c] = s;
    }
  return y;
}

}  // namespace covergen::eval
