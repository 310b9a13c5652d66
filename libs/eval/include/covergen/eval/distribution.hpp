// Distribution metrics between two sets of image features (torch-free, float64):
// Fréchet distance (FID when the features are Inception pool features) and the
// unbiased kernel distance KID (Binkowski et al. 2018, cubic polynomial kernel).
#pragma once

#include <cstdint>
#include <vector>

namespace covergen::eval {

/// Row-major [n, d] features in float64.
struct FeatureMatrix {
  std::int64_t n = 0, d = 0;
  std::vector<double> data;
  const double* row(std::int64_t i) const { return data.data() + i * d; }
  /// The rows `idx` as a new matrix.
  FeatureMatrix rows(const std::vector<std::int64_t>& idx) const;
};

/// Fréchet distance between N(mu1, cov1) and N(mu2, cov2):
///   |mu1 - mu2|^2 + tr(cov1) + tr(cov2) - 2 tr((cov1 cov2)^(1/2)).
/// tr((cov1 cov2)^(1/2)) is computed as the sum of square roots of the eigenvalues of
/// the symmetric form cov1^(1/2) cov2 cov1^(1/2) (Eigen, float64; tiny negative
/// eigenvalues from rounding are clamped to 0). Covariances are row-major [d, d].
double frechet_distance(const std::vector<double>& mu1, const std::vector<double>& cov1,
                        const std::vector<double>& mu2, const std::vector<double>& cov2);

/// Mean and unbiased (n - 1) covariance of the rows; needs n >= 2.
void mean_and_covariance(const FeatureMatrix& x, std::vector<double>& mean, std::vector<double>& cov);

/// FID-style Fréchet distance between the Gaussians fitted to two feature sets.
double fid(const FeatureMatrix& a, const FeatureMatrix& b);

struct KidOptions {
  std::int64_t subsets = 100;        ///< random subsets averaged
  std::int64_t subset_size = 1000;   ///< clamped to min(n_a, n_b)
  std::uint64_t seed = 0;
};

struct KidResult {
  double mean = 0;          ///< KID: mean of the unbiased MMD^2 estimates over the subsets
  double std = 0;           ///< standard deviation of those estimates (the error of one subset-size estimate)
  std::int64_t subset_size = 0, subsets = 0;
};

/// Unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3 between all rows of a and b
/// (the diagonal terms of k(a, a) and k(b, b) excluded). Needs n >= 2 on both sides.
double mmd2_unbiased(const FeatureMatrix& a, const FeatureMatrix& b);

/// KID: mmd2_unbiased over `subsets` random subsets (without replacement) of
/// `subset_size` rows drawn from each side, as in Binkowski et al. and torch-fidelity.
KidResult kid(const FeatureMatrix& a, const FeatureMatrix& b, const KidOptions& options = {});

/// FID and KID per class: generated rows of class c against real rows of class c
/// (conditional distances: a generator that ignores its condition scores worse here
/// even when its overall distribution is right). Classes with fewer than 2 rows on a
/// side get NaN and are left out of the means.
struct ClassDistances {
  std::vector<double> fid, kid, kid_std;
  std::vector<std::int64_t> generated, real;
  double mean_fid = 0, mean_kid = 0;
};
ClassDistances per_class_distances(const FeatureMatrix& generated, const std::vector<int>& generated_labels,
                                   const FeatureMatrix& real, const std::vector<int>& real_labels, int classes,
                                   const KidOptions& options = {});

/// Rows of `x` whose label equals `label`.
FeatureMatrix rows_with_label(const FeatureMatrix& x, const std::vector<int>& labels, int label);

/// Mean Euclidean distance over all pairs of distinct rows (0 for n < 2).
double mean_pairwise_distance(const FeatureMatrix& x);

/// For each row of `queries`, the Euclidean distance to its nearest row of `reference`.
std::vector<double> nearest_distances(const FeatureMatrix& queries, const FeatureMatrix& reference);

}  // namespace covergen::eval
