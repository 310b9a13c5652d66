// The dataset as the engine's BatchSource: batches from the data loader (prefetching
// worker threads over the memory-mapped cover cache, reshuffled per epoch by seed,
// sharded by rank), with the run's per-track conditions. What `covergen train` and
// the downstream examples train on.
#pragma once

#include "covergen/engine/batch_source.hpp"

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace covergen::data {
class CoverCache;
class Dataset;
}  // namespace covergen::data

namespace covergen::engine {

class LoaderBatches : public BatchSource {
 public:
  /// `per_track` [N, C] float32 over the dataset's tracks (undefined: unconditional);
  /// `train` the track indices to read; `batch` the global batch, of which this rank
  /// (of `world`) reads batch / world per step. Throws InputError when the tracks
  /// make less than one batch.
  LoaderBatches(const data::Dataset& dataset, const data::CoverCache& cache, const at::Tensor& per_track,
                std::vector<std::size_t> train, std::int64_t batch, std::uint64_t seed, c10::Device device,
                int rank = 0, int world = 1);
  ~LoaderBatches() override;

  Batch next(std::int64_t n) override;
  /// Conditions of tracks drawn uniformly from `train` by a seeded RNG (resumable).
  at::Tensor sample_conditions(std::int64_t n) override;
  /// The loader's (epoch, next batch) and the number of condition draws.
  std::string state() const override;
  void restore(const std::string& text) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace covergen::engine
