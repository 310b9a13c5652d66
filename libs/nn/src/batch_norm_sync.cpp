#include "covergen/nn/batch_norm_sync.hpp"

#include <torch/autograd.h>
#include <torch/nn/modules/batchnorm.h>
#include <ATen/core/grad_mode.h>

#include <memory>
#include <mutex>

namespace covergen::nn {

namespace {

std::mutex g_mu;
std::shared_ptr<const AllReduceSum> g_sum;

std::shared_ptr<const AllReduceSum> current() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_sum;
}

// y = sum over ranks of x. Every rank's loss depends on y, so the gradient of the
// global loss with respect to this rank's x is the sum over ranks of their dL/dy:
// backward is the same all-reduce (and is itself differentiable).
struct AllReduceSumFn : torch::autograd::Function<AllReduceSumFn> {
  static at::Tensor forward(torch::autograd::AutogradContext*, const at::Tensor& x) {
    at::Tensor y = x.clone();
    auto sum = current();
    TORCH_CHECK(sum, "synchronised BatchNorm: the all-reduce was removed during a forward pass");
    (*sum)(y);
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*,
                                                 torch::autograd::variable_list grad) {
    return {AllReduceSumFn::apply(grad[0])};
  }
};

}  // namespace

void set_batch_norm_all_reduce(AllReduceSum sum) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_sum = sum ? std::make_shared<const AllReduceSum>(std::move(sum)) : nullptr;
}

bool batch_norm_is_synchronised() { return current() != nullptr; }

at::Tensor batch_norm_2d(torch::nn::BatchNorm2dImpl& bn, const at::Tensor& x) {
  if (!bn.is_training() || !current()) return bn.forward(x);
  TORCH_CHECK(x.dim() == 4, "batch_norm_2d: expected [N, C, H, W], got ", x.sizes());
  const auto& opt = bn.options;
  const std::int64_t c = x.size(1);
  // Per-channel sum, sum of squares and count of this rank, summed over ranks in one
  // collective. float64 keeps E[x^2] - E[x]^2 free of cancellation.
  const at::Tensor s1 = x.sum({0, 2, 3}, false, at::kDouble);
  const at::Tensor s2 = (x * x).sum({0, 2, 3}, false, at::kDouble);
  const at::Tensor n_local = at::full({1}, static_cast<double>(x.numel() / c), x.options().dtype(at::kDouble));
  const at::Tensor global = AllReduceSumFn::apply(at::cat({s1, s2, n_local}));
  const at::Tensor n = global.narrow(0, 2 * c, 1);
  const at::Tensor mean = global.narrow(0, 0, c) / n;
  const at::Tensor var = (global.narrow(0, c, c) / n - mean * mean).clamp_min(0.0);  // biased, for normalising
  const at::Tensor inv_std = (var + opt.eps()).rsqrt();
  at::Tensor scale = inv_std, shift = -mean * inv_std;
  if (opt.affine()) {
    const at::Tensor w = bn.weight.to(at::kDouble), b = bn.bias.to(at::kDouble);
    scale = scale * w;
    shift = shift * w + b;
  }
  at::Tensor y = x * scale.to(x.scalar_type()).view({1, c, 1, 1}) + shift.to(x.scalar_type()).view({1, c, 1, 1});
  if (opt.track_running_stats()) {
    at::NoGradGuard no_grad;
    bn.num_batches_tracked.add_(1);
    const double count = n.item<double>();
    const double momentum = opt.momentum().has_value() ? *opt.momentum()
                                                       : 1.0 / static_cast<double>(bn.num_batches_tracked.item<std::int64_t>());
    const at::Tensor unbiased = var.detach() * (count / std::max(1.0, count - 1.0));
    bn.running_mean.mul_(1.0 - momentum).add_(mean.detach().to(bn.running_mean.scalar_type()), momentum);
    bn.running_var.mul_(1.0 - momentum).add_(unbiased.to(bn.running_var.scalar_type()), momentum);
  }
  return y;
}

}  // namespace covergen::nn
