// Conditioning from a fitted encoder: the embeddings of every track are computed
// once and cached per encoder file, keyed by FNV-1a 64 of the encoder file's bytes
// and the dataset's audio fingerprint, so a retrained encoder or a changed dataset
// never reuses stale vectors.
#pragma once

#include "covergen/data/dataset.hpp"

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <functional>

namespace covergen::data {

/// Computes [N, D] float32 CPU embeddings, row i = dataset.tracks()[i].
using EmbeddingFn = std::function<at::Tensor(const Dataset& dataset)>;

/// File <dir>/embeddings-<encoder hash 16 hex>.f32 (little-endian):
///   char[8] "CGEMBED1", u64 encoder hash, u64 audio fingerprint, u64 N, u64 D, N*D float32.
class EmbeddingCache {
 public:
  /// `dir` empty: <dataset>/.covergen-cache.
  explicit EmbeddingCache(std::filesystem::path dir = {}) : dir_(std::move(dir)) {}

  /// The cached table for (encoder file, dataset), or `compute(dataset)` written to
  /// the cache (temp + rename). `computed` reports which happened. Throws InputError
  /// when compute returns the wrong shape.
  at::Tensor get_or_compute(const Dataset& dataset, const std::filesystem::path& encoder_file,
                            const EmbeddingFn& compute, bool* computed = nullptr) const;
  std::filesystem::path path_for(const Dataset& dataset, const std::filesystem::path& encoder_file) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace covergen::data
