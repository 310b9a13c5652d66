// The music -> latent mapper: from an encoder's embedding Φ(track) [D] to an
// unconditional generator's z [L], so that mapped tracks are distributed like the
// generator's prior N(0, I) and near tracks land on near latents (docs/latent.md).
//
// The map, fitted on a set of tracks (all steps monotone or linear, so order is kept
// where it can be):
//  1. PCA whitening: u = (Φ - μ) V_k Λ_k^{-1/2}, k = min(D, L, rank) components.
//  2. When k < L, the L - k missing dimensions are filled with random Fourier features
//     f = √2 cos(W u + b), W ~ N(0, I/σ²), b ~ U[0, 2π), σ the median distance between
//     whitened tracks: a smooth function of u whose distances grow monotonically with
//     ||Δu|| in expectation (||Δf||² ≈ 2 r (1 - exp(-||Δu||²/2σ²))).
//  3. Marginal Gaussianisation: each of the L columns through its empirical CDF on the
//     fitting tracks (piecewise linear, linear tails) and Φ_N^{-1}: N(0, 1) marginals.
//  4. ZCA whitening of the result (C^{-1/2}, the whitening closest to the identity):
//     unit covariance on the fitting tracks.
#pragma once

#include "covergen/encoder.hpp"
#include "covergen/plugin_object.hpp"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace covergen {
class PluginRegistry;
}

namespace covergen::latent {

class LatentMapper {
 public:
  /// Fits on embeddings phi [N, D] (N >= 3) for a latent of size latent_dim.
  static LatentMapper fit(const at::Tensor& phi, std::int64_t latent_dim, std::uint64_t seed = 0);
  /// Rebuilds a fitted mapper from tensors() (names "mapper/..."); InputError(file, ...) when
  /// something is missing or inconsistent.
  static LatentMapper from_tensors(const NamedTensors& tensors, const std::string& file);

  /// phi [N, D] (or [D]) -> z [N, L] (or [L]) float32 on the CPU.
  at::Tensor map(const at::Tensor& phi) const;
  /// The whitened PCA coordinates u (step 1 only), [N, k], for diagnostics.
  at::Tensor whiten(const at::Tensor& phi) const;

  std::int64_t input_dim() const;
  std::int64_t latent_dim() const;
  std::int64_t pca_dim() const;  ///< k
  std::int64_t rff_dim() const;  ///< L - k
  NamedTensors tensors() const;

 private:
  at::Tensor mean_, proj_;             // [D], [D, k]
  at::Tensor rff_w_, rff_b_;           // [r, k], [r]
  at::Tensor knots_, knot_p_, tail_;   // [Q, L] sorted values, [Q] CDF levels, [L] tail scale
  at::Tensor zca_mean_, zca_;          // [L], [L, L]
};

/// A mapper file is a CoverGen model file (model_file.hpp) with header kind "mapper",
/// plugin "latent-mapper" and a config naming the method, the sizes and the embedded
/// encoder's plugin/config; its tensors are the mapper's ("mapper/...") and the
/// encoder's ("encoder/<name>"), so the file alone turns audio into latents.
struct MapperFile {
  LatentMapper mapper;
  std::shared_ptr<Encoder> encoder;
  std::string meta_json = "{}";  ///< fit report: generator, dataset, MMD, rank correlation, ...
};

/// Writes the mapper with a copy of the encoder model file's contents, atomically.
void save_mapper(const std::filesystem::path& path, const LatentMapper& mapper,
                 const std::filesystem::path& encoder_file, const std::string& meta_json);
/// Reads a mapper file; InputError(path, ...) when it is not one or is damaged.
MapperFile load_mapper(const std::filesystem::path& path, const PluginRegistry& registry);

/// Two-sample test: unbiased MMD² with a Gaussian kernel (bandwidth: median pairwise
/// distance of the pooled sample), p-value from `permutations` label permutations.
struct TwoSampleTest {
  double mmd2 = 0.0, p_value = 1.0, bandwidth = 0.0;
  std::int64_t permutations = 0, n_x = 0, n_y = 0;
};
TwoSampleTest mmd_test(const at::Tensor& x, const at::Tensor& y, std::int64_t permutations = 1000,
                       std::uint64_t seed = 0);

/// Spearman rank correlation (average ranks for ties) of two equally long vectors.
double spearman(const at::Tensor& a, const at::Tensor& b);
/// Spearman correlation between the pairwise Euclidean distances of the rows of a and of b
/// (same N; every pair i < j).
double distance_rank_correlation(const at::Tensor& a, const at::Tensor& b);

}  // namespace covergen::latent
