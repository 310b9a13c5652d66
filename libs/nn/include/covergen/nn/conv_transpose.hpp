// A transposed convolution computed as the input-gradient of a convolution.
//
// Debian's torch 1.13 runs ConvTranspose2d on CPU through a slow im2col + GEMM path,
// while Conv2d (and its backward) goes through oneDNN. A transposed convolution with
// weight W [in, out, k, k] *is* the gradient wrt the input of conv2d with the same W
// (read as [out_conv = in, in_conv = out, k, k]), so:
//   forward      y  = convolution_backward(grad_output = x, input shape of y, W)[input]
//   grad wrt x   gx = conv2d(gy, W)                     (a plain forward convolution)
//   grad wrt W   gW = convolution_backward(grad_output = x, input = gy, W)[weight]
// Identical results (to float rounding) and ~10x faster on that build. Every op used
// in the backward is itself differentiable, so double backward (create_graph) works.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/ArrayRef.h>

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>

namespace covergen::nn {

/// How a transposed convolution is computed.
enum class ConvTMode {
  via_conv,  ///< input-gradient of conv2d (oneDNN on CPU); the default
  native,    ///< at::conv_transpose2d
};
/// "viaconv" / "native"; throws covergen::InputError for anything else.
ConvTMode convt_mode_from_string(const std::string& name);
const char* to_string(ConvTMode mode);

/// The transposed convolution of x [N, in, H, W] with weight [in, out, kh, kw]
/// (groups 1, dilation 1), as at::conv_transpose2d computes it. `bias` may be undefined.
at::Tensor conv_transpose2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                            c10::IntArrayRef stride, c10::IntArrayRef padding,
                            c10::IntArrayRef output_padding = {0, 0},
                            ConvTMode mode = ConvTMode::via_conv);

/// A drop-in for torch::nn::ConvTranspose2d (same parameter names and layout:
/// "weight" [in, out, k, k], optional "bias" [out]) whose forward is selectable.
struct ConvTranspose2dOptions {
  std::int64_t in_channels = 0, out_channels = 0, kernel_size = 4, stride = 1, padding = 0,
               output_padding = 0;
  bool bias = false;
  ConvTMode mode = ConvTMode::via_conv;
};

class ConvTranspose2dImpl : public torch::nn::Cloneable<ConvTranspose2dImpl> {
 public:
  explicit ConvTranspose2dImpl(const ConvTranspose2dOptions& options);
  void reset() override;
  at::Tensor forward(const at::Tensor& x);
  /// The same layer with explicit weights (e.g. BatchNorm-folded ones).
  at::Tensor forward_with(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) const;
  void pretty_print(std::ostream& stream) const override;

  ConvTranspose2dOptions options;
  at::Tensor weight, bias;
};
TORCH_MODULE(ConvTranspose2d);

}  // namespace covergen::nn
