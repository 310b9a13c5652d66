#include "covergen/eval/distribution.hpp"

#include "covergen/errors.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

namespace covergen::eval {
namespace {

using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Eigen::Map<const RowMat> as_eigen(const FeatureMatrix& x) { return Eigen::Map<const RowMat>(x.data.data(), x.n, x.d); }

void check(const FeatureMatrix& x, const char* what) {
  if (x.n < 0 || x.d <= 0 || static_cast<std::int64_t>(x.data.size()) != x.n * x.d)
    throw InputError(std::string(what) + ": feature matrix shape does not match its data");
  for (double v : x.data)
    if (!std::isfinite(v)) throw InputError(std::string(what) + ": features contain NaN or Inf");
}

}  // namespace

FeatureMatrix FeatureMatrix::rows(const std::vector<std::int64_t>& idx) const {
  FeatureMatrix out;
  out.n = static_cast<std::int64_t>(idx.size());
  out.d = d;
  out.data.resize(static_cast<std::size_t>(out.n * d));
  for (std::size_t i = 0; i < idx.size(); ++i) std::copy(row(idx[i]), row(idx[i]) + d, out.data.begin() + static_cast<std::ptrdiff_t>(i) * d);
  return out;
}

double frechet_distance(const std::vector<double>& mu1, const std::vector<double>& cov1,
                        const std::vector<double>& mu2, const std::vector<double>& cov2) {
  const auto d = static_cast<Eigen::Index>(mu1.size());
  if (mu2.size() != mu1.size() || cov1.size() != mu1.size() * mu1.size() || cov2.size() != cov1.size())
    throw InputError("frechet_distance: means and covariances disagree in dimension");
  Eigen::Map<const Eigen::VectorXd> m1(mu1.data(), d), m2(mu2.data(), d);
  Eigen::Map<const RowMat> s1(cov1.data(), d, d), s2(cov2.data(), d, d);
  // Symmetrise against rounding; then sqrt(S1) from its eigendecomposition.
  const Eigen::MatrixXd a = 0.5 * (s1 + s1.transpose()), b = 0.5 * (s2 + s2.transpose());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> ea(a);
  const Eigen::VectorXd la = ea.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  const Eigen::MatrixXd sqrt_a = ea.eigenvectors() * la.asDiagonal() * ea.eigenvectors().transpose();
  Eigen::MatrixXd m = sqrt_a * b * sqrt_a;
  m = 0.5 * (m + m.transpose());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> em(m, Eigen::EigenvaluesOnly);
  const double tr_sqrt = em.eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();
  const double value = (m1 - m2).squaredNorm() + a.trace() + b.trace() - 2.0 * tr_sqrt;
  return std::max(0.0, value);
}

void mean_and_covariance(const FeatureMatrix& x, std::vector<double>& mean, std::vector<double>& cov) {
  check(x, "mean_and_covariance");
  if (x.n < 2) throw InputError("FID needs at least 2 feature vectors per set, got " + std::to_string(x.n));
  auto m = as_eigen(x);
  const Eigen::RowVectorXd mu = m.colwise().mean();
  const RowMat centred = m.rowwise() - mu;
  const RowMat c = (centred.transpose() * centred) / static_cast<double>(x.n - 1);
  mean.assign(mu.data(), mu.data() + x.d);
  cov.assign(c.data(), c.data() + x.d * x.d);
}

double fid(const FeatureMatrix& a, const FeatureMatrix& b) {
  if (a.d != b.d) throw InputError("FID: the two feature sets differ in dimension");
  std::vector<double> m1, c1, m2, c2;
  mean_and_covariance(a, m1, c1);
  mean_and_covariance(b, m2, c2);
  return frechet_distance(m1, c1, m2, c2);
}

double mmd2_unbiased(const FeatureMatrix& a, const FeatureMatrix& b) {
  check(a, "KID");
  check(b, "KID");
  if (a.d != b.d) throw InputError("KID: the two feature sets differ in dimension");
  if (a.n < 2 || b.n < 2) throw InputError("KID needs at least 2 feature vectors per set");
  auto x = as_eigen(a);
  auto y = as_eigen(b);
  const double inv_d = 1.0 / static_cast<double>(a.d);
  auto kernel = [&](const Eigen::MatrixXd& dot) {
    return ((dot.array() * inv_d + 1.0).cube()).matrix().eval();
  };
  const Eigen::MatrixXd kxx = kernel(x * x.transpose()), kyy = kernel(y * y.transpose()), kxy = kernel(x * y.transpose());
  const double m = static_cast<double>(a.n), n = static_cast<double>(b.n);
  const double sxx = (kxx.sum() - kxx.trace()) / (m * (m - 1));
  const double syy = (kyy.sum() - kyy.trace()) / (n * (n - 1));
  const double sxy = kxy.sum() / (m * n);
  return sxx + syy - 2.0 * sxy;
}

KidResult kid(const FeatureMatrix& a, const FeatureMatrix& b, const KidOptions& o) {
  if (o.subsets < 1) throw InputError("KID: need at least one subset");
  KidResult r;
  r.subset_size = std::min({o.subset_size, a.n, b.n});
  r.subsets = o.subsets;
  if (r.subset_size < 2) throw InputError("KID needs at least 2 feature vectors per set");
  std::mt19937_64 rng(o.seed);
  std::vector<std::int64_t> ia(static_cast<std::size_t>(a.n)), ib(static_cast<std::size_t>(b.n));
  std::vector<double> values;
  for (std::int64_t s = 0; s < o.subsets; ++s) {
    std::iota(ia.begin(), ia.end(), 0);
    std::iota(ib.begin(), ib.end(), 0);
    std::shuffle(ia.begin(), ia.end(), rng);
    std::shuffle(ib.begin(), ib.end(), rng);
    const std::vector<std::int64_t> sa(ia.begin(), ia.begin() + r.subset_size), sb(ib.begin(), ib.begin() + r.subset_size);
    values.push_back(mmd2_unbiased(a.rows(sa), b.rows(sb)));
  }
  r.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  double ss = 0;
  for (double v : values) ss += (v - r.mean) * (v - r.mean);
  r.std = values.size() > 1 ? std::sqrt(ss / static_cast<double>(values.size() - 1)) : 0.0;
  return r;
}

FeatureMatrix rows_with_label(const FeatureMatrix& x, const std::vector<int>& labels, int label) {
  if (static_cast<std::int64_t>(labels.size()) != x.n) throw InputError("one label per feature row is needed");
  std::vector<std::int64_t> idx;
  for (std::int64_t i = 0; i < x.n; ++i)
    if (labels[static_cast<std::size_t>(i)] == label) idx.push_back(i);
  return x.rows(idx);
}

ClassDistances per_class_distances(const FeatureMatrix& generated, const std::vector<int>& generated_labels,
                                   const FeatureMatrix& real, const std::vector<int>& real_labels, int classes,
                                   const KidOptions& options) {
  ClassDistances r;
  double sf = 0, sk = 0;
  int counted = 0;
  for (int c = 0; c < classes; ++c) {
    const auto g = rows_with_label(generated, generated_labels, c), x = rows_with_label(real, real_labels, c);
    r.generated.push_back(g.n);
    r.real.push_back(x.n);
    if (g.n < 2 || x.n < 2) {
      r.fid.push_back(NAN);
      r.kid.push_back(NAN);
      r.kid_std.push_back(NAN);
      continue;
    }
    KidOptions o = options;
    o.seed = options.seed + static_cast<std::uint64_t>(c);
    const auto k = kid(g, x, o);
    r.fid.push_back(fid(g, x));
    r.kid.push_back(k.mean);
    r.kid_std.push_back(k.std);
    sf += r.fid.back();
    sk += k.mean;
    ++counted;
  }
  r.mean_fid = counted ? sf / counted : NAN;
  r.mean_kid = counted ? sk / counted : NAN;
  return r;
}

double mean_pairwise_distance(const FeatureMatrix& x) {
  check(x, "diversity");
  if (x.n < 2) return 0.0;
  double sum = 0;
  for (std::int64_t i = 0; i < x.n; ++i)
    for (std::int64_t j = i + 1; j < x.n; ++j) {
      double s = 0;
      for (std::int64_t k = 0; k < x.d; ++k) {
        const double t = x.row(i)[k] - x.row(j)[k];
        s += t * t;
      }
      sum += std::sqrt(s);
    }
  return sum / (0.5 * static_cast<double>(x.n) * static_cast<double>(x.n - 1));
}

std::vector<double> nearest_distances(const FeatureMatrix& queries, const FeatureMatrix& reference) {
  check(queries, "nearest distance");
  check(reference, "nearest distance");
  if (queries.d != reference.d) throw InputError("nearest distance: feature sets differ in dimension");
  if (reference.n == 0) throw InputError("nearest distance: the reference set is empty");
  auto q = as_eigen(queries);
  auto r = as_eigen(reference);
  const Eigen::VectorXd qn = q.rowwise().squaredNorm(), rn = r.rowwise().squaredNorm();
  std::vector<double> out(static_cast<std::size_t>(queries.n));
  for (std::int64_t s = 0; s < queries.n; s += 512) {
    const std::int64_t b = std::min<std::int64_t>(512, queries.n - s);
    const Eigen::MatrixXd dot = q.middleRows(s, b) * r.transpose();
    for (std::int64_t i = 0; i < b; ++i) {
      double best = INFINITY;
      for (std::int64_t j = 0; j < reference.n; ++j) best = std::min(best, qn[s + i] + rn[j] - 2.0 * dot(i, j));
      out[static_cast<std::size_t>(s + i)] = std::sqrt(std::max(0.0, best));
    }
  }
  return out;
}

}  // namespace covergen::eval
