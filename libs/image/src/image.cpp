// The 8-bit conversion and the grid, in tensor ops only; the PNG encoder is
// encode_png.cpp, so a build without OpenCV (tests/gpu) can supply its own.
#include "covergen/image.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

namespace covergen {

at::Tensor to_rgb8(const at::Tensor& images) {
  if (images.dim() == 3) return to_rgb8(images.unsqueeze(0))[0];
  if (images.dim() != 4 || images.size(1) != 3)
    throw Error("to_rgb8: expected images [N, 3, S, S] or [3, S, S], got " + std::to_string(images.dim()) + "-d");
  return images.detach().to(at::kCPU, at::kFloat).add(1.0).mul(127.5).round().clamp(0, 255).to(at::kByte)
      .permute({0, 2, 3, 1}).contiguous();
}

std::string encode_image_png(const at::Tensor& image) { return encode_png(to_rgb8(image)); }

namespace {

void write_png(const std::filesystem::path& png, const at::Tensor& rgb8) {
  std::string bytes;
  try {
    bytes = encode_png(rgb8);
  } catch (const Error& e) {
    throw Error(png.string() + ": " + e.what());
  }
  write_file_atomic(png, bytes);
}

}  // namespace

void write_image_png(const std::filesystem::path& png, const at::Tensor& image) { write_png(png, to_rgb8(image)); }

void write_image_grid(const std::filesystem::path& png, const at::Tensor& images, std::int64_t per_row) {
  auto u8 = to_rgb8(images);  // [N, S, S, 3]
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

}  // namespace covergen
