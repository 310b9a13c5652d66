// Synchronised BatchNorm for data-parallel training. With a sum all-reduce
// installed (libs/distributed installs one when it joins a group of more than one
// process), BatchNorm2d layers of the DCGAN family compute their training-mode mean
// and variance over the global batch of all ranks instead of each rank's share, and
// the gradients flow back through the same all-reduce. N ranks with global batch B
// then compute what one process with batch B computes, and the running statistics
// stay equal on every rank. Without one, the layers are torch's own BatchNorm2d.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

namespace torch::nn {
class BatchNorm2dImpl;
}

namespace covergen::nn {

/// Sums a tensor over all ranks in place (a blocking all-reduce).
using AllReduceSum = std::function<void(at::Tensor&)>;

/// Process-wide: installs `sum` (empty: removes it). Data parallelism is per process.
void set_batch_norm_all_reduce(AllReduceSum sum);
bool batch_norm_is_synchronised();

/// `bn` applied to x [N, C, H, W]: torch's BatchNorm2d when evaluating or when no
/// all-reduce is installed; otherwise synchronised (statistics accumulated in float64,
/// running statistics updated with the global count, as torch's SyncBatchNorm does).
at::Tensor batch_norm_2d(torch::nn::BatchNorm2dImpl& bn, const at::Tensor& x);

}  // namespace covergen::nn
