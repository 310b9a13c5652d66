// The training loader: batches of (images in [-1, 1], NCHW float32; condition
// vectors [B, C] float32) read from the preprocessing cache, in a documented,
// resumable, seed-determined order, sharded by rank/world, built by worker threads
// ahead of the consumer, in pinned memory when the target device is CUDA.
#pragma once

#include "covergen/data/dataset.hpp"
#include "covergen/data/image_cache.hpp"

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace covergen::data {

/// The condition vector of every track, row-major [tracks, dim] (dim 0: none). The
/// conditions themselves (genre one-hot, standardised attributes, audio features, Φ
/// of an encoder) are made by libs/generate (generate::training_conditions).
struct Conditions {
  std::vector<float> values;
  std::size_t dim = 0;
  const float* row(std::size_t track) const { return values.data() + track * dim; }
};

/// The table of `per_track` [N, C] (any floating type and device; N = the dataset's
/// tracks), or no conditions when it is undefined. InputError for another shape.
Conditions make_conditions(const Dataset& dataset, const at::Tensor& per_track);

struct LoaderOptions {
  Split split = Split::train;
  std::size_t batch_size = 64;
  std::uint64_t seed = 0;
  bool shuffle = true;       ///< false: file order (evaluation)
  bool drop_last = true;     ///< drop the last partial batch of an epoch
  int rank = 0, world = 1;   ///< data-parallel sharding
  int workers = 2;           ///< batch-building threads (0: build in next())
  int prefetch = 4;          ///< batches built ahead of the consumer
  c10::Device device{c10::kCPU};  ///< CUDA: batches pinned and copied non_blocking
};

struct Batch {
  at::Tensor images;      ///< float32 [B, 3, S, S] in [-1, 1] (RGB)
  at::Tensor conditions;  ///< float32 [B, C] (C may be 0)
  at::Tensor indices;     ///< int64 [B] track indices into Dataset::tracks()
  std::int64_t epoch = 0;
  std::size_t position = 0;  ///< batch number within the epoch; resume with start(epoch, position + 1)
};

/// The order, documented (docs/datasets.md): pool = tracks of the split whose cover
/// is valid, in file order; each epoch the pool is Fisher-Yates shuffled by
/// Rng(derive_seed(seed, epoch)) (j = below(i + 1) for i = n-1 .. 1); the first
/// n - n % world entries are dealt round-robin, rank r taking positions r, r+world, ...;
/// batch b is entries [b*B, (b+1)*B) of that list.
class Loader {
 public:
  /// `dataset` and `cache` must outlive the loader (it reads them, it does not copy them).
  Loader(const Dataset& dataset, const CoverCache& cache, Conditions conditions, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// Begins (or resumes) `epoch` at batch `position`; stops any epoch in progress.
  void start(std::int64_t epoch, std::size_t position = 0);
  /// The next batch of the current epoch; false at its end.
  bool next(Batch& batch);

  std::size_t batches_per_epoch() const;
  std::size_t samples_per_epoch() const;  ///< this rank's samples (before drop_last)
  const std::vector<std::size_t>& pool() const { return pool_; }
  /// This rank's track indices for `epoch`, in order.
  std::vector<std::size_t> epoch_order(std::int64_t epoch) const;
  const Conditions& conditions() const { return conditions_; }
  const LoaderOptions& options() const { return options_; }

 private:
  Batch build(std::size_t b);
  void stop();
  void worker();

  const Dataset& dataset_;
  const CoverCache& cache_;
  Conditions conditions_;
  LoaderOptions options_;
  std::vector<std::size_t> pool_;
  bool pin_ = false;

  std::vector<std::size_t> order_;
  std::int64_t epoch_ = 0;
  std::size_t end_ = 0;  ///< batches in this epoch
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::size_t, Batch> ready_;
  std::size_t next_build_ = 0, next_take_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
  /// CPU batches handed out earlier; one whose tensors nobody else holds any more
  /// is refilled instead of allocating (fresh multi-MB buffers cost page faults that
  /// dominate the copy). Not used for pinned memory, which torch's caching host
  /// allocator recycles safely around asynchronous copies.
  std::vector<Batch> recycle_;
};

}  // namespace covergen::data
