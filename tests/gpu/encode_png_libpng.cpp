// encode_png through libpng's simplified write API: the GPU harness's stand-in for
// libs/image/src/encode_png.cpp (OpenCV), so the engine builds where only LibTorch
// and libpng are installed.
#include <covergen/errors.hpp>
#include <covergen/image.hpp>

#include <ATen/ATen.h>
#include <png.h>

#include <cstdint>
#include <string>

namespace covergen {

std::string encode_png(const at::Tensor& rgb8) {
  const at::Tensor rgb = rgb8.to(at::kCPU).contiguous();
  if (rgb.dim() != 3 || rgb.size(2) != 3 || rgb.scalar_type() != at::kByte)
    throw Error("encode_png: expected uint8 pixels [H, W, 3]");
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(rgb.size(1));
  image.height = static_cast<png_uint_32>(rgb.size(0));
  image.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  const void* pixels = rgb.data_ptr<std::uint8_t>();
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, pixels, 0, nullptr))
    throw Error(std::string("PNG encoding failed: ") + image.message);
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&image, out.data(), &size, 0, pixels, 0, nullptr))
    throw Error(std::string("PNG encoding failed: ") + image.message);
  out.resize(size);
  return out;
}

}  // namespace covergen
