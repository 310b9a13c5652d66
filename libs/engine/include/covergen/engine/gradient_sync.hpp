// What the training engine needs from a data-parallel group of processes (ranks):
// equal starting weights, gradients averaged over ranks before every optimiser step,
// and small reductions. The c10d implementation lives in libs/distributed, so no
// torch distributed header reaches the engine's users.
//
// The engine's contract with a sharded BatchSource: TrainOptions::batch_size is the
// global batch B; each rank asks its source for B / world examples, and global
// position i of a step's batch belongs to rank i % world (rank r holds positions
// r, r + world, ...), as data::Loader deals them. The engine draws every per-sample
// random number (latents, fake conditions, ctx.sample_uniform) for the global batch
// on every rank and keeps rows r, r + world, ..., so N ranks see exactly the numbers
// and pairings one process with batch B sees.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace covergen::engine {

class GradientSync {
 public:
  virtual ~GradientSync();
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  /// Overwrites every rank's tensors with rank 0's, in place (same list, shapes and
  /// dtypes on every rank).
  virtual void broadcast(const std::vector<at::Tensor>& tensors) = 0;
  /// Replaces each gradient by its mean over the ranks, in place (bucketed).
  virtual void average_gradients(const std::vector<at::Tensor>& grads) = 0;
  /// Replaces the tensor by its sum over the ranks, in place (one collective).
  virtual void sum(at::Tensor& tensor) = 0;
};

/// Rank 0's string on every rank (two broadcasts: length, bytes).
std::string broadcast_string(GradientSync& sync, const std::string& text);

}  // namespace covergen::engine
