#include "covergen/atomic_file.hpp"
#include "covergen/engine/trainer.hpp"
#include "covergen/errors.hpp"

#include <ATen/ATen.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace covergen::engine {
namespace {

// [N, 3, S, S] in [-1, 1] -> uint8 [N, S, S, 3] (RGB) on the CPU.
at::Tensor to_uint8_nhwc(const at::Tensor& images) {
  return images.detach().to(at::kCPU, at::kFloat).add(1.0).mul(127.5).round().clamp(0, 255).to(at::kByte)
      .permute({0, 2, 3, 1}).contiguous();
}

std::string encode_png(const at::Tensor& rgb_hwc) {
  const int h = static_cast<int>(rgb_hwc.size(0)), w = static_cast<int>(rgb_hwc.size(1));
  cv::Mat rgb(h, w, CV_8UC3, rgb_hwc.data_ptr<std::uint8_t>());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<std::uint8_t> buf;
  if (!cv::imencode(".png", bgr, buf)) throw Error("PNG encoding failed");
  return std::string(reinterpret_cast<const char*>(buf.data()), buf.size());
}

void write_png(const std::filesystem::path& png, const at::Tensor& rgb_hwc) {
  std::string bytes;
  try {
    bytes = encode_png(rgb_hwc);
  } catch (const Error& e) {
    throw Error(png.string() + ": " + e.what());
  }
  write_file_atomic(png, bytes);
}

}  // namespace

void write_image_png(const std::filesystem::path& png, const at::Tensor& image) {
  write_png(png, to_uint8_nhwc(image.unsqueeze(0))[0]);
}

std::string encode_image_png(const at::Tensor& image) { return encode_png(to_uint8_nhwc(image.unsqueeze(0))[0]); }

at::Tensor generate_covers(ConditionalGenerator& generator, const at::Tensor& condition, std::int64_t n,
                           at::Generator& rng, double truncation, c10::Device device) {
  GenerateOptions options;
  options.truncation = truncation;
  return generate_covers(generator, condition, n, rng, options, device);
}

at::Tensor generate_covers(ConditionalGenerator& generator, const at::Tensor& condition, std::int64_t n,
                           at::Generator& rng, const GenerateOptions& options, c10::Device device) {
  auto z = at::randn({n, generator.latent_dim()}, rng).to(device);
  at::Tensor c;
  if (condition.defined()) c = condition.to(at::kFloat).unsqueeze(0).expand({n, -1}).contiguous().to(device);
  return generator.generate(z, c, options);
}

void write_image_grid(const std::filesystem::path& png, const at::Tensor& images, std::int64_t per_row) {
  auto u8 = to_uint8_nhwc(images);  // [N, S, S, 3]
  const std::int64_t n = u8.size(0), s = u8.size(1), pad = 2;
  per_row = std::max<std::int64_t>(1, std::min(per_row, n));
  const std::int64_t rows = (n + per_row - 1) / per_row;
  auto grid = at::full({rows * (s + pad) + pad, per_row * (s + pad) + pad, 3}, 255, at::kByte);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t r = i / per_row, c = i % per_row;
    grid.narrow(0, pad + r * (s + pad), s).narrow(1, pad + c * (s + pad), s).copy_(u8[i]);
  }
  write_png(png, grid);
}

}  // namespace covergen::engine
