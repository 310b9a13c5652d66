// Adam, written over plain tensors so that its whole state is named tensors that
// go into a checkpoint and come back bit for bit (torch::optim's archive format
// would tie checkpoints to LibTorch's serialisation). Same update as
// torch.optim.Adam (amsgrad=False, no weight decay).
#pragma once

#include "covergen/gan.hpp"
#include "covergen/plugin_object.hpp"

#include <string>
#include <vector>

namespace covergen::engine {

class Adam {
 public:
  explicit Adam(OptimizerSpec spec);
  const std::string& name() const noexcept { return spec_.name; }
  const std::vector<at::Tensor>& params() const noexcept { return spec_.params; }
  void zero_grad();
  void step();
  /// exp_avg / exp_avg_sq per parameter and the step count, for checkpoints.
  NamedTensors state();

 private:
  OptimizerSpec spec_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  at::Tensor steps_;  // int64 scalar, a tensor so it checkpoints with the rest
};

}  // namespace covergen::engine
