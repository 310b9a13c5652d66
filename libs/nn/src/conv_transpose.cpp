#include "covergen/nn/conv_transpose.hpp"

#include <covergen/errors.hpp>

#include <ATen/ATen.h>
#include <ATen/TracerMode.h>
#include <ATen/ops/convolution_backward.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/nn/init.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <ostream>

namespace covergen::nn {

ConvTMode convt_mode_from_string(const std::string& name) {
  if (name == "viaconv") return ConvTMode::via_conv;
  if (name == "native") return ConvTMode::native;
  throw InputError("convt: expected \"viaconv\" or \"native\", got \"" + name + "\"");
}

const char* to_string(ConvTMode mode) { return mode == ConvTMode::via_conv ? "viaconv" : "native"; }

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::vector<std::int64_t> to_vec(c10::IntArrayRef a) { return {a.begin(), a.end()}; }

// y = conv_transpose2d(x, w): the input-gradient of conv2d(y_shape, w) at grad_output x.
at::Tensor convt_forward(const at::Tensor& x, const at::Tensor& w, c10::IntArrayRef stride,
                         c10::IntArrayRef padding, c10::IntArrayRef output_padding) {
  std::vector<std::int64_t> out_shape{x.size(0), w.size(1), 0, 0};
  for (int d = 0; d < 2; ++d)
    out_shape[2 + d] = (x.size(2 + d) - 1) * stride[d] - 2 * padding[d] + w.size(2 + d) + output_padding[d];
  // Only the probe's shape, dtype, device and layout are read.
  const at::Tensor probe = at::empty(out_shape, x.options().memory_format(x.suggest_memory_format()));
  return std::get<0>(at::convolution_backward(x, probe, w, c10::nullopt, stride, padding, {1, 1},
                                              /*transposed=*/false, {0, 0}, /*groups=*/1,
                                              {true, false, false}));
}

struct ConvTViaConv : public torch::autograd::Function<ConvTViaConv> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            std::vector<std::int64_t> stride, std::vector<std::int64_t> padding,
                            std::vector<std::int64_t> output_padding) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    return convt_forward(x, w, stride, padding, output_padding);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& w = saved[1];
    const auto stride = ctx->saved_data["stride"].toIntVector();
    const auto padding = ctx->saved_data["padding"].toIntVector();
    const at::Tensor& gy = grads[0];
    at::Tensor gx, gw;
    // Both are differentiable ATen ops, so a create_graph backward records them.
    if (ctx->needs_input_grad(0)) gx = at::conv2d(gy, w, {}, stride, padding);
    if (ctx->needs_input_grad(1))
      gw = std::get<1>(at::convolution_backward(x, gy, w, c10::nullopt, stride, padding, {1, 1}, false, {0, 0}, 1,
                                                {false, true, false}));
    return {gx, gw, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor conv_transpose2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                            c10::IntArrayRef stride, c10::IntArrayRef padding, c10::IntArrayRef output_padding,
                            ConvTMode mode) {
  TORCH_CHECK(x.dim() == 4 && weight.dim() == 4 && x.size(1) == weight.size(0),
              "conv_transpose2d: expected x [N, in, H, W] and weight [in, out, k, k]; got ", x.sizes(), " and ",
              weight.sizes());
  TORCH_CHECK(stride.size() == 2 && padding.size() == 2 && output_padding.size() == 2,
              "conv_transpose2d: stride, padding and output_padding take two values");
  // Under the JIT tracer (covergen export) the native op: convolution_backward's
  // output_mask (std::array<bool, 3>) is an argument type the tracer cannot record.
  if (mode == ConvTMode::native || at::tracer::impl::is_dispatch_enabled())
    return at::conv_transpose2d(x, weight, bias, stride, padding, output_padding);
  at::Tensor y;
  if (at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad())) {
    y = ConvTViaConv::apply(x, weight, to_vec(stride), to_vec(padding), to_vec(output_padding));
  } else {
    y = convt_forward(x, weight, stride, padding, output_padding);
  }
  if (bias.defined()) y = y + bias.view({1, -1, 1, 1});
  return y;
}

ConvTranspose2dImpl::ConvTranspose2dImpl(const ConvTranspose2dOptions& options_) : options(options_) { reset(); }

void ConvTranspose2dImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.in_channels > 0 && o.out_channels > 0 && o.kernel_size > 0 && o.stride > 0 && o.padding >= 0,
              "ConvTranspose2d: bad options");
  weight = register_parameter("weight", at::empty({o.in_channels, o.out_channels, o.kernel_size, o.kernel_size}));
  // torch::nn::ConvTranspose2d's default init: kaiming_uniform(a = sqrt(5)) on the weight.
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (o.bias) {
    // fan_in as torch computes it for a transposed weight: size(1) * k * k.
    const double bound = 1.0 / std::sqrt(static_cast<double>(o.out_channels * o.kernel_size * o.kernel_size));
    bias = register_parameter("bias", at::empty({o.out_channels}).uniform_(-bound, bound));
  }
}

at::Tensor ConvTranspose2dImpl::forward(const at::Tensor& x) { return forward_with(x, weight, bias); }

at::Tensor ConvTranspose2dImpl::forward_with(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const {
  const auto& o = options;
  return conv_transpose2d(x, w, b, {o.stride, o.stride}, {o.padding, o.padding}, {o.output_padding, o.output_padding},
                          o.mode);
}

void ConvTranspose2dImpl::pretty_print(std::ostream& s) const {
  s << "covergen::nn::ConvTranspose2d(" << options.in_channels << ", " << options.out_channels
    << ", kernel_size=" << options.kernel_size << ", stride=" << options.stride << ", padding=" << options.padding
    << ", bias=" << (options.bias ? "true" : "false") << ", mode=" << to_string(options.mode) << ")";
}

}  // namespace covergen::nn
