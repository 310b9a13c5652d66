// Cover images: the header probe (JPEG SOF / PNG IHDR / WebP) and the whole
// preprocessing (OpenCV decode, alpha/CMYK/16-bit handling, crop, resize).
// Contract: false + a message for a bad image; never a crash or an exception.
// The pixel limits are tightened (4096 px a side, 4 Mpx) so one input stays fast;
// the probe itself runs with the defaults.
#include <covergen/data/image.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace covergen::data;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ImageHeader h;
  std::string error;
  const bool probed = probe_image(bytes, h, error);
  if (probed && (h.width == 0 || h.height == 0)) std::abort();
  if (!probed && error.empty()) std::abort();

  ImageLimits limits;
  limits.max_side = 4096;
  limits.max_pixels = 4u << 20;
  std::vector<std::uint8_t> out(3 * 32 * 32);
  error.clear();
  if (!preprocess_image(bytes, 32, out.data(), error, limits) && error.empty()) std::abort();
  return 0;
}
