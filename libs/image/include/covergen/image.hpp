// Generated images as pixels and PNG files. Every writer of generated covers (the
// training sample grids, `covergen generate`, evaluation, serve, interpolation
// videos, finishing) goes through the one 8-bit conversion here, so a cover is the
// same bytes whichever path wrote it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace covergen {

/// Images [N, 3, S, S] (or one image [3, S, S]) in [-1, 1] -> 8-bit RGB, channels
/// last, [N, S, S, 3] (or [S, S, 3]) uint8 on the CPU: round((x + 1) * 127.5)
/// clamped to 0..255.
at::Tensor to_rgb8(const at::Tensor& images);

/// PNG file bytes of 8-bit RGB pixels [H, W, 3] (as to_rgb8 gives them).
std::string encode_png(const at::Tensor& rgb8);
/// PNG file bytes of one image [3, S, S] in [-1, 1].
std::string encode_image_png(const at::Tensor& image);

/// Writes one image [3, S, S] in [-1, 1] as PNG, atomically (temp file + rename).
void write_image_png(const std::filesystem::path& png, const at::Tensor& image);
/// Writes images [N, 3, S, S] in [-1, 1] as one grid PNG (`per_row` per row, 2 px
/// white gaps), atomically.
void write_image_grid(const std::filesystem::path& png, const at::Tensor& images, std::int64_t per_row);

}  // namespace covergen
