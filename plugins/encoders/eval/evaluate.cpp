#include "covergen/encoders/evaluate.hpp"

#include <covergen/errors.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

namespace covergen::encoders {

namespace {

double sqdist(const float* a, const float* b, std::int64_t d) {
  double s = 0;
  for (std::int64_t j = 0; j < d; ++j) {
    const double t = static_cast<double>(a[j]) - b[j];
    s += t * t;
  }
  return s;
}

std::uint64_t splitmix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

double knn_accuracy(const Points& ref, const std::vector<int>& ref_labels, const Points& q,
                    const std::vector<int>& q_labels, int k) {
  if (ref.d != q.d) throw InputError("k-NN: reference and query dimensions differ");
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

double silhouette(const Points& p, const std::vector<int>& labels) {
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

Points tsne_2d(const Points& x, double perplexity, int iterations, std::uint64_t seed) {
  const std::int64_t n = x.n;
  Points y;
  y.n = n;
  y.d = 2;
  y.data.assign(static_cast<std::size_t>(n * 2), 0.0f);
  if (n < 3) return y;
  perplexity = std::min(perplexity, static_cast<double>(n - 1) / 3.0);
  // Squared distances, then per-point Gaussian bandwidths matching the perplexity.
  std::vector<double> D(static_cast<std::size_t>(n * n)), P(static_cast<std::size_t>(n * n), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j)
      D[static_cast<std::size_t>(i * n + j)] = D[static_cast<std::size_t>(j * n + i)] = sqdist(x.row(i), x.row(j), x.d);
  const double target = std::log(perplexity);
  for (std::int64_t i = 0; i < n; ++i) {
    double beta = 1.0, lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    double* row = &P[static_cast<std::size_t>(i * n)];
    const double* drow = &D[static_cast<std::size_t>(i * n)];
    double dmin = std::numeric_limits<double>::infinity();
    for (std::int64_t j = 0; j < n; ++j)
      if (j != i) dmin = std::min(dmin, drow[j]);
    for (int it = 0; it < 100; ++it) {
      double sum = 0, hsum = 0;
      for (std::int64_t j = 0; j < n; ++j) {
        row[j] = j == i ? 0.0 : std::exp(-(drow[j] - dmin) * beta);
        sum += row[j];
      }
      for (std::int64_t j = 0; j < n; ++j) {
        row[j] /= sum;
        if (j != i && row[j] > 1e-300) hsum -= row[j] * std::log(row[j]);
      }
      const double diff = hsum - target;
      if (std::abs(diff) < 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = std::isinf(hi) ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = std::isinf(lo) ? beta / 2 : (beta + lo) / 2;
      }
    }
  }
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) {
      const double v = std::max((P[static_cast<std::size_t>(i * n + j)] + P[static_cast<std::size_t>(j * n + i)]) /
                                    (2.0 * static_cast<double>(n)),
                                1e-12);
      P[static_cast<std::size_t>(i * n + j)] = P[static_cast<std::size_t>(j * n + i)] = v;
    }
  std::vector<double> Y(static_cast<std::size_t>(n * 2)), G(Y.size()), U(Y.size(), 0.0), gains(Y.size(), 1.0),
      Q(static_cast<std::size_t>(n * n));
  std::uint64_t s = seed ^ 0x75E75E75EULL;
  for (auto& v : Y) {  // N(0, 1e-4) by Box-Muller
    const double u1 = (static_cast<double>(splitmix(s) >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = static_cast<double>(splitmix(s) >> 11) * 0x1.0p-53;
    v = 1e-4 * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  const double lr = std::max(static_cast<double>(n) / 12.0 / 4.0, 50.0);
  for (int it = 0; it < iterations; ++it) {
    const double exag = it < 250 ? 12.0 : 1.0;
    const double momentum = it < 250 ? 0.5 : 0.8;
    double qsum = 0;
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = i + 1; j < n; ++j) {
        const double dx = Y[static_cast<std::size_t>(2 * i)] - Y[static_cast<std::size_t>(2 * j)];
        const double dy = Y[static_cast<std::size_t>(2 * i + 1)] - Y[static_cast<std::size_t>(2 * j + 1)];
        const double q = 1.0 / (1.0 + dx * dx + dy * dy);
        Q[static_cast<std::size_t>(i * n + j)] = Q[static_cast<std::size_t>(j * n + i)] = q;
        qsum += 2 * q;
      }
    std::fill(G.begin(), G.end(), 0.0);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        if (i == j) continue;
        const double q = Q[static_cast<std::size_t>(i * n + j)];
        const double m = (exag * P[static_cast<std::size_t>(i * n + j)] - q / qsum) * q;
        G[static_cast<std::size_t>(2 * i)] += 4 * m * (Y[static_cast<std::size_t>(2 * i)] - Y[static_cast<std::size_t>(2 * j)]);
        G[static_cast<std::size_t>(2 * i + 1)] += 4 * m * (Y[static_cast<std::size_t>(2 * i + 1)] - Y[static_cast<std::size_t>(2 * j + 1)]);
      }
    for (std::size_t k = 0; k < Y.size(); ++k) {
      gains[k] = (G[k] > 0) != (U[k] > 0) ? gains[k] + 0.2 : std::max(gains[k] * 0.8, 0.01);
      U[k] = momentum * U[k] - lr * gains[k] * G[k];
      Y[k] += U[k];
    }
    double mx = 0, my = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      mx += Y[static_cast<std::size_t>(2 * i)];
      my += Y[static_cast<std::size_t>(2 * i + 1)];
    }
    for (std::int64_t i = 0; i < n; ++i) {
      Y[static_cast<std::size_t>(2 * i)] -= mx / static_cast<double>(n);
      Y[static_cast<std::size_t>(2 * i + 1)] -= my / static_cast<double>(n);
    }
  }
  for (std::size_t k = 0; k < Y.size(); ++k) y.data[k] = static_cast<float>(Y[k]);
  return y;
}

Points pca_2d(const Points& x) {
  Points y;
  y.n = x.n;
  y.d = 2;
  y.data.assign(static_cast<std::size_t>(x.n * 2), 0.0f);
  if (x.n < 2 || x.d < 1) return y;
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
      y.data[static_cast<std::size_t>(i * 2) + c] = static_cast<float>(s);
    }
  return y;
}

void draw_map(const std::filesystem::path& png, const Points& xy, const std::vector<int>& labels,
              const std::vector<std::string>& names, const std::string& title, int size) {
  // Tableau-10 colours (BGR), readable on white.
  static const cv::Scalar palette[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44},  {40, 39, 214},  {189, 103, 148},
                                       {75, 86, 140},  {194, 119, 227}, {127, 127, 127}, {34, 189, 188}, {207, 190, 23}};
  const int legend_w = 220, margin = 40, top = 50;
  cv::Mat img(size, size + legend_w, CV_8UC3, cv::Scalar(255, 255, 255));
  float x0 = std::numeric_limits<float>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (std::int64_t i = 0; i < xy.n; ++i) {
    x0 = std::min(x0, xy.row(i)[0]);
    x1 = std::max(x1, xy.row(i)[0]);
    y0 = std::min(y0, xy.row(i)[1]);
    y1 = std::max(y1, xy.row(i)[1]);
  }
  const float span = std::max({x1 - x0, y1 - y0, 1e-6f});
  const int plot = size - margin - top;
  cv::rectangle(img, {margin / 2, top - margin / 2}, {size - margin / 2, size - margin / 2}, cv::Scalar(220, 220, 220), 1);
  auto px = [&](std::int64_t i) {
    const float cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    return cv::Point(static_cast<int>(size / 2.0f + (xy.row(i)[0] - cx) / span * plot),
                     static_cast<int>(top + plot / 2.0f - (xy.row(i)[1] - cy) / span * plot));
  };
  for (std::int64_t i = 0; i < xy.n; ++i) {
    const int l = labels[static_cast<std::size_t>(i)];
    const cv::Scalar c = l < 0 ? cv::Scalar(0, 0, 0) : palette[l % 10];
    cv::circle(img, px(i), 5, c, cv::FILLED, cv::LINE_AA);
    cv::circle(img, px(i), 5, cv::Scalar(60, 60, 60), 1, cv::LINE_AA);
  }
  cv::putText(img, title, {margin / 2, 30}, cv::FONT_HERSHEY_SIMPLEX, 0.7, cv::Scalar(0, 0, 0), 2, cv::LINE_AA);
  int ly = top + 10;
  for (std::size_t l = 0; l < names.size(); ++l, ly += 30) {
    cv::circle(img, {size + 20, ly}, 8, palette[l % 10], cv::FILLED, cv::LINE_AA);
    cv::putText(img, names[l], {size + 36, ly + 6}, cv::FONT_HERSHEY_SIMPLEX, 0.6, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }
  std::error_code ec;
  if (png.has_parent_path()) std::filesystem::create_directories(png.parent_path(), ec);
  bool ok = false;
  try {
    ok = cv::imwrite(png.string(), img);
  } catch (const cv::Exception& e) {
    throw InputError(png.string(), std::string("cannot write the map: ") + e.what());
  }
  if (!ok) throw InputError(png.string(), "cannot write the map PNG");
}

}  // namespace covergen::encoders
