#include "covergen/eval/tsne.hpp"

#include "covergen/errors.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <mutex>
#include <thread>

namespace covergen::eval {
namespace {

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Clock = std::chrono::steady_clock;

int resolve_threads(int threads) {
  if (threads > 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

// Runs fn(begin, end, thread) over [0, n) split in `threads` contiguous chunks.
void parallel_chunks(std::int64_t n, int threads, const std::function<void(std::int64_t, std::int64_t, int)>& fn) {
  threads = static_cast<int>(std::min<std::int64_t>(threads, std::max<std::int64_t>(1, n / 64)));
  if (threads <= 1) {
    fn(0, n, 0);
    return;
  }
  std::vector<std::thread> pool;
  std::exception_ptr error;
  std::mutex m;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        fn(n * t / threads, n * (t + 1) / threads, t);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (!error) error = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

// The k nearest neighbours (squared Euclidean distances, self excluded) of every row.
void nearest_neighbours(const std::vector<float>& points, std::int64_t n, std::int64_t d, int k, int threads,
                        std::vector<std::int64_t>& idx, std::vector<double>& dist2) {
  Eigen::Map<const RowMatF> x(points.data(), n, d);
  const Eigen::VectorXf norms = x.rowwise().squaredNorm();
  idx.assign(static_cast<std::size_t>(n * k), 0);
  dist2.assign(static_cast<std::size_t>(n * k), 0.0);
  constexpr std::int64_t block = 256;
  const std::int64_t blocks = (n + block - 1) / block;
  parallel_chunks(blocks, threads, [&](std::int64_t b0, std::int64_t b1, int) {
    Eigen::MatrixXf dot;
    std::vector<std::pair<float, std::int64_t>> row(static_cast<std::size_t>(n));
    for (std::int64_t b = b0; b < b1; ++b) {
      const std::int64_t s = b * block, rows = std::min(block, n - s);
      dot.noalias() = x.middleRows(s, rows) * x.transpose();
      for (std::int64_t i = 0; i < rows; ++i) {
        const std::int64_t gi = s + i;
        for (std::int64_t j = 0; j < n; ++j)
          row[static_cast<std::size_t>(j)] = {std::max(0.0f, norms[gi] + norms[j] - 2.0f * dot(i, j)), j};
        row[static_cast<std::size_t>(gi)].first = std::numeric_limits<float>::infinity();
        std::nth_element(row.begin(), row.begin() + k, row.end());
        std::sort(row.begin(), row.begin() + k);
        for (int t = 0; t < k; ++t) {
          idx[static_cast<std::size_t>(gi * k + t)] = row[static_cast<std::size_t>(t)].second;
          dist2[static_cast<std::size_t>(gi * k + t)] = row[static_cast<std::size_t>(t)].first;
        }
      }
    }
  });
}

// Conditional probabilities p_{j|i} over the k neighbours with entropy log(perplexity)
// (bisection on the precision beta, as sklearn's _binary_search_perplexity).
void conditional_p(const std::vector<double>& dist2, std::int64_t n, int k, double perplexity, std::vector<double>& p) {
  p.assign(dist2.size(), 0.0);
  const double target = std::log(perplexity);
  for (std::int64_t i = 0; i < n; ++i) {
    const double* dd = dist2.data() + i * k;
    double* pi = p.data() + i * k;
    double beta = 1.0, lo = -INFINITY, hi = INFINITY;
    for (int step = 0; step < 100; ++step) {
      double sum = 0;
      for (int j = 0; j < k; ++j) sum += (pi[j] = std::exp(-dd[j] * beta));
      if (sum == 0) sum = 1e-8;
      double sum_dp = 0;
      for (int j = 0; j < k; ++j) {
        pi[j] /= sum;
        sum_dp += dd[j] * pi[j];
      }
      const double entropy = std::log(sum) + beta * sum_dp;
      const double diff = entropy - target;
      if (std::abs(diff) <= 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = hi == INFINITY ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo == -INFINITY ? beta / 2 : (beta + lo) / 2;
      }
    }
  }
}

// Symmetric sparse P = (P + P^T) / sum, in CSR form.
struct SparseP {
  std::vector<std::int64_t> row_start, col;
  std::vector<double> val;
};

SparseP symmetrise(const std::vector<std::int64_t>& idx, const std::vector<double>& p, std::int64_t n, int k) {
  std::vector<std::vector<std::pair<std::int64_t, double>>> rows(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    for (int t = 0; t < k; ++t) {
      const std::int64_t j = idx[static_cast<std::size_t>(i * k + t)];
      const double v = p[static_cast<std::size_t>(i * k + t)];
      rows[static_cast<std::size_t>(i)].push_back({j, v});
      rows[static_cast<std::size_t>(j)].push_back({i, v});
    }
  SparseP s;
  s.row_start.push_back(0);
  double total = 0;
  for (auto& r : rows) {
    std::sort(r.begin(), r.end());
    for (std::size_t a = 0; a < r.size();) {
      std::size_t b = a;
      double v = 0;
      while (b < r.size() && r[b].first == r[a].first) v += r[b++].second;
      s.col.push_back(r[a].first);
      s.val.push_back(v);
      total += v;
      a = b;
    }
    s.row_start.push_back(static_cast<std::int64_t>(s.col.size()));
  }
  total = std::max(total, std::numeric_limits<double>::min());
  for (double& v : s.val) v /= total;
  return s;
}

// A point-region quadtree over the 2-D layout with each cell's mass and centre of mass.
class QuadTree {
 public:
  void build(const std::vector<double>& y, std::int64_t n) {
    nodes_.clear();
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (std::int64_t i = 0; i < n; ++i) {
      x0 = std::min(x0, y[2 * i]);
      x1 = std::max(x1, y[2 * i]);
      y0 = std::min(y0, y[2 * i + 1]);
      y1 = std::max(y1, y[2 * i + 1]);
    }
    const double hw = std::max(x1 - x0, y1 - y0) / 2 * (1 + 1e-6) + 1e-12;
    nodes_.push_back(Node{(x0 + x1) / 2, (y0 + y1) / 2, hw});
    for (std::int64_t i = 0; i < n; ++i) insert(i, y[2 * i], y[2 * i + 1]);
  }

  // Repulsive term of point i: accumulates sum_j q_ij^2 (y_i - y_j) into f and
  // sum_j q_ij into the return value (unnormalised q = 1 / (1 + |y_i - y_j|^2)).
  double repulse(std::int64_t i, double px, double py, double theta2, double f[2], std::vector<std::int32_t>& stack) const {
    double sum_q = 0;
    stack.clear();
    stack.push_back(0);
    while (!stack.empty()) {
      const Node& nd = nodes_[static_cast<std::size_t>(stack.back())];
      stack.pop_back();
      if (nd.count == 0) continue;
      const double cx = nd.mx / nd.count, cy = nd.my / nd.count;
      const double dx = px - cx, dy = py - cy, d2 = dx * dx + dy * dy;
      const double width = 2 * nd.hw;
      if (nd.child < 0 || width * width < theta2 * d2) {
        double mass = nd.count;
        if (nd.child < 0 && nd.point == i) mass -= 1;  // itself (duplicates at one position stay)
        if (mass <= 0) continue;
        const double q = 1.0 / (1.0 + d2);
        sum_q += mass * q;
        const double qq = mass * q * q;
        f[0] += qq * dx;
        f[1] += qq * dy;
      } else {
        for (int c = 0; c < 4; ++c) stack.push_back(nd.child + c);
      }
    }
    return sum_q;
  }

 private:
  struct Node {
    double cx, cy, hw;
    double mx = 0, my = 0;
    std::int64_t count = 0;
    std::int32_t child = -1;
    std::int64_t point = -1;
    double px = 0, py = 0;  // the leaf's point position
  };

  void insert(std::int64_t i, double x, double y) {
    std::size_t cur = 0;
    for (int depth = 0;; ++depth) {
      Node& nd = nodes_[cur];
      if (nd.child < 0) {
        if (nd.count == 0) {
          nd.point = i;
          nd.px = x;
          nd.py = y;
          nd.count = 1;
          nd.mx = x;
          nd.my = y;
          return;
        }
        if (depth > 48 || (nd.px == x && nd.py == y)) {  // duplicates: one leaf, several points
          nd.count += 1;
          nd.mx += x;
          nd.my += y;
          return;
        }
        split(cur);
      }
      Node& parent = nodes_[cur];
      parent.count += 1;
      parent.mx += x;
      parent.my += y;
      cur = static_cast<std::size_t>(parent.child + quadrant(parent, x, y));
    }
  }

  static int quadrant(const Node& nd, double x, double y) { return (x >= nd.cx ? 1 : 0) + (y >= nd.cy ? 2 : 0); }

  // Turns leaf `cur` (holding one position, maybe several points) into four children.
  void split(std::size_t cur) {
    const auto first = static_cast<std::int32_t>(nodes_.size());
    const Node old = nodes_[cur];
    const double h = old.hw / 2;
    for (int c = 0; c < 4; ++c)
      nodes_.push_back(Node{old.cx + ((c & 1) ? h : -h), old.cy + ((c & 2) ? h : -h), h});
    Node& nd = nodes_[cur];
    nd.child = first;
    nd.point = -1;
    Node& ch = nodes_[static_cast<std::size_t>(first + quadrant(old, old.px, old.py))];
    ch.point = old.point;
    ch.px = old.px;
    ch.py = old.py;
    ch.count = old.count;
    ch.mx = old.mx;
    ch.my = old.my;
  }

  std::vector<Node> nodes_;
};

// PCA initialisation: the first two principal components, scaled so that the first
// has standard deviation 1e-4 (sklearn's init="pca").
std::vector<double> pca_init(const std::vector<float>& points, std::int64_t n, std::int64_t d) {
  Eigen::Map<const RowMatF> xf(points.data(), n, d);
  const Eigen::MatrixXd x = xf.cast<double>();
  const Eigen::RowVectorXd mu = x.colwise().mean();
  const Eigen::MatrixXd c = x.rowwise() - mu;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(c.transpose() * c);
  std::vector<double> y(static_cast<std::size_t>(2 * n));
  const Eigen::Index dd = es.eigenvalues().size();
  for (int comp = 0; comp < 2; ++comp) {
    const Eigen::Index col = std::max<Eigen::Index>(0, dd - 1 - comp);
    Eigen::VectorXd v = es.eigenvectors().col(col);
    // Deterministic sign: the largest-magnitude loading positive.
    Eigen::Index arg;
    v.cwiseAbs().maxCoeff(&arg);
    if (v[arg] < 0) v = -v;
    const Eigen::VectorXd proj = c * v;
    for (std::int64_t i = 0; i < n; ++i) y[static_cast<std::size_t>(2 * i + comp)] = proj[i];
  }
  double mean = 0, ss = 0;
  for (std::int64_t i = 0; i < n; ++i) mean += y[static_cast<std::size_t>(2 * i)];
  mean /= static_cast<double>(n);
  for (std::int64_t i = 0; i < n; ++i) ss += std::pow(y[static_cast<std::size_t>(2 * i)] - mean, 2);
  const double sd = std::sqrt(ss / static_cast<double>(n));
  const double scale = sd > 0 ? 1e-4 / sd : 1.0;
  for (double& v : y) v *= scale;
  return y;
}

}  // namespace

TsneResult tsne_barnes_hut(const std::vector<float>& points, std::int64_t n, std::int64_t d, const TsneOptions& o) {
  if (n < 4 || d < 1 || static_cast<std::int64_t>(points.size()) != n * d)
    throw InputError("t-SNE needs at least 4 points and a row-major [n, d] array, got n=" + std::to_string(n));
  for (float v : points)
    if (!std::isfinite(v)) throw InputError("t-SNE: the points contain NaN or Inf");
  if (!(o.perplexity > 0) || o.iterations < 1 || !(o.theta >= 0))
    throw InputError("t-SNE: perplexity must be > 0, iterations >= 1, theta >= 0");
  const int threads = resolve_threads(o.threads);
  TsneResult r;
  const auto t0 = Clock::now();
  const double perplexity = std::min(o.perplexity, static_cast<double>(n - 1) / 3.0);
  const int k = static_cast<int>(std::min<std::int64_t>(n - 1, static_cast<std::int64_t>(3.0 * perplexity + 1)));
  std::vector<std::int64_t> idx;
  std::vector<double> dist2, pc;
  nearest_neighbours(points, n, d, k, threads, idx, dist2);
  conditional_p(dist2, n, k, perplexity, pc);
  const SparseP P = symmetrise(idx, pc, n, k);
  const auto t1 = Clock::now();
  r.seconds_neighbours = std::chrono::duration<double>(t1 - t0).count();

  std::vector<double> y = pca_init(points, n, d);
  std::vector<double> update(y.size(), 0.0), gains(y.size(), 1.0), grad(y.size());
  std::vector<double> repulsive(y.size());
  const double lr = o.learning_rate > 0 ? o.learning_rate
                                        : std::max(static_cast<double>(n) / o.early_exaggeration / 4.0, 50.0);
  const double theta2 = o.theta * o.theta;
  QuadTree tree;
  std::vector<double> sum_q_part(static_cast<std::size_t>(threads));
  for (int it = 0; it < o.iterations; ++it) {
    const bool early = it < o.exaggeration_iterations;
    const double exaggeration = early ? o.early_exaggeration : 1.0;
    const double momentum = early ? 0.5 : 0.8;
    tree.build(y, n);
    std::fill(sum_q_part.begin(), sum_q_part.end(), 0.0);
    parallel_chunks(n, threads, [&](std::int64_t b, std::int64_t e, int t) {
      std::vector<std::int32_t> stack;
      stack.reserve(256);
      double sq = 0;
      for (std::int64_t i = b; i < e; ++i) {
        double f[2] = {0, 0};
        sq += tree.repulse(i, y[static_cast<std::size_t>(2 * i)], y[static_cast<std::size_t>(2 * i + 1)], theta2, f, stack);
        repulsive[static_cast<std::size_t>(2 * i)] = f[0];
        repulsive[static_cast<std::size_t>(2 * i + 1)] = f[1];
      }
      sum_q_part[static_cast<std::size_t>(t)] = sq;
    });
    const double sum_q = std::max(std::accumulate(sum_q_part.begin(), sum_q_part.end(), 0.0), 1e-300);
    parallel_chunks(n, threads, [&](std::int64_t b, std::int64_t e, int) {
      for (std::int64_t i = b; i < e; ++i) {
        const double yi0 = y[static_cast<std::size_t>(2 * i)], yi1 = y[static_cast<std::size_t>(2 * i + 1)];
        double a0 = 0, a1 = 0;
        for (std::int64_t s = P.row_start[static_cast<std::size_t>(i)]; s < P.row_start[static_cast<std::size_t>(i + 1)]; ++s) {
          const std::int64_t j = P.col[static_cast<std::size_t>(s)];
          const double dx = yi0 - y[static_cast<std::size_t>(2 * j)], dy = yi1 - y[static_cast<std::size_t>(2 * j + 1)];
          const double w = exaggeration * P.val[static_cast<std::size_t>(s)] / (1.0 + dx * dx + dy * dy);
          a0 += w * dx;
          a1 += w * dy;
        }
        for (int c = 0; c < 2; ++c) {
          const std::size_t at = static_cast<std::size_t>(2 * i + c);
          const double g = 4.0 * ((c == 0 ? a0 : a1) - repulsive[at] / sum_q);
          // Gains: grow where the gradient changed sign against the last update.
          gains[at] = (update[at] * g < 0) ? gains[at] + 0.2 : std::max(gains[at] * 0.8, 0.01);
          update[at] = momentum * update[at] - lr * gains[at] * g;
          grad[at] = g;
        }
      }
    });
    for (std::size_t a = 0; a < y.size(); ++a) y[a] += update[a];
  }
  // KL(P || Q) with the final layout (Q's normaliser from the tree).
  tree.build(y, n);
  double sum_q = 0;
  {
    std::vector<std::int32_t> stack;
    for (std::int64_t i = 0; i < n; ++i) {
      double f[2] = {0, 0};
      sum_q += tree.repulse(i, y[static_cast<std::size_t>(2 * i)], y[static_cast<std::size_t>(2 * i + 1)], theta2, f, stack);
    }
  }
  double kl = 0;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t s = P.row_start[static_cast<std::size_t>(i)]; s < P.row_start[static_cast<std::size_t>(i + 1)]; ++s) {
      const std::int64_t j = P.col[static_cast<std::size_t>(s)];
      const double pij = P.val[static_cast<std::size_t>(s)];
      const double dx = y[static_cast<std::size_t>(2 * i)] - y[static_cast<std::size_t>(2 * j)];
      const double dy = y[static_cast<std::size_t>(2 * i + 1)] - y[static_cast<std::size_t>(2 * j + 1)];
      const double q = 1.0 / (1.0 + dx * dx + dy * dy) / sum_q;
      if (pij > 0) kl += pij * std::log(std::max(pij, 1e-300) / std::max(q, 1e-300));
    }
  r.kl_divergence = kl;
  r.xy = std::move(y);
  r.seconds_optimise = std::chrono::duration<double>(Clock::now() - t1).count();
  return r;
}

double trustworthiness(const std::vector<float>& points, std::int64_t d, const std::vector<double>& embedding,
                       std::int64_t embedding_dim, int k) {
  if (d < 1 || embedding_dim < 1 || points.size() % static_cast<std::size_t>(d) != 0)
    throw InputError("trustworthiness: bad point dimensions");
  const auto n = static_cast<std::int64_t>(points.size()) / d;
  if (static_cast<std::int64_t>(embedding.size()) != n * embedding_dim)
    throw InputError("trustworthiness: the embedding has a different number of points");
  if (k < 1 || k >= n / 2) throw InputError("trustworthiness: k must be in [1, n/2)");
  double total = 0;
  std::mutex m;
  parallel_chunks(n, resolve_threads(0), [&](std::int64_t b, std::int64_t e, int) {
    std::vector<std::pair<double, std::int64_t>> dist(static_cast<std::size_t>(n));
    std::vector<std::int64_t> rank(static_cast<std::size_t>(n));
    double part = 0;
    for (std::int64_t i = b; i < e; ++i) {
      // Ranks in the original space (double precision distances; self last).
      for (std::int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (std::int64_t c = 0; c < d; ++c) {
          const double t = static_cast<double>(points[static_cast<std::size_t>(i * d + c)]) - points[static_cast<std::size_t>(j * d + c)];
          s += t * t;
        }
        dist[static_cast<std::size_t>(j)] = {j == i ? INFINITY : s, j};
      }
      std::sort(dist.begin(), dist.end());
      for (std::int64_t r = 0; r < n; ++r) rank[static_cast<std::size_t>(dist[static_cast<std::size_t>(r)].second)] = r + 1;
      // k nearest in the embedding.
      for (std::int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (std::int64_t c = 0; c < embedding_dim; ++c) {
          const double t = embedding[static_cast<std::size_t>(i * embedding_dim + c)] - embedding[static_cast<std::size_t>(j * embedding_dim + c)];
          s += t * t;
        }
        dist[static_cast<std::size_t>(j)] = {j == i ? INFINITY : s, j};
      }
      std::partial_sort(dist.begin(), dist.begin() + k, dist.end());
      for (int t = 0; t < k; ++t) part += std::max<std::int64_t>(0, rank[static_cast<std::size_t>(dist[static_cast<std::size_t>(t)].second)] - k);
    }
    std::lock_guard<std::mutex> lock(m);
    total += part;
  });
  const double nd = static_cast<double>(n), kd = k;
  return 1.0 - total * 2.0 / (nd * kd * (2.0 * nd - 3.0 * kd - 1.0));
}

}  // namespace covergen::eval
