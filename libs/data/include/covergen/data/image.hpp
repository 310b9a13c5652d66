// Cover images: a cheap header probe (JPEG SOF, PNG IHDR, WebP VP8/VP8L/VP8X) that
// refuses absurd dimensions before any pixel is decoded, and the preprocessing of
// one cover to a square 8-bit RGB image of the training size (OpenCV: JPEG, PNG,
// WebP; grayscale, alpha, CMYK and 16-bit become 8-bit RGB; centre crop; INTER_AREA).
// Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace covergen::data {

enum class ImageFormat { unknown, jpeg, png, webp };
const char* to_string(ImageFormat format);

struct ImageHeader {
  ImageFormat format = ImageFormat::unknown;
  std::uint32_t width = 0, height = 0;
  int channels = 0;        ///< as stored (1 gray, 2 gray+alpha, 3, 4 RGBA or CMYK); 0 unknown
  int bit_depth = 0;       ///< bits per sample; 0 unknown
  bool cmyk = false;       ///< JPEG with 4 components (CMYK / YCCK)
  bool progressive = false;
};

/// Parses the header of `bytes` without decoding. Returns false and sets `error` for an
/// unknown format, a truncated header or a zero dimension.
bool probe_image(std::string_view bytes, ImageHeader& header, std::string& error);

struct ImageLimits {
  std::uint32_t max_side = 16384;              ///< either side larger: refused
  std::uint64_t max_pixels = 100'000'000;      ///< width*height larger: refused
  std::uint32_t min_side = 16;                 ///< the shorter side smaller: refused (a 1x1 is no cover)
};

/// Preprocesses one encoded image into `out` (size*size*3 bytes, planar RGB:
/// R plane, G plane, B plane). Alpha is composited over white; 16-bit is scaled to
/// 8-bit; gray is replicated; CMYK JPEGs are converted by libjpeg/OpenCV. The image
/// is centre-cropped to a square and resized with INTER_AREA (JPEGs are first
/// DCT-downscaled by 1/2, 1/4 or 1/8 while staying >= size, which is both faster
/// and an area filter). Returns false and sets `error` on any problem; never throws
/// for a bad image.
bool preprocess_image(std::string_view bytes, int size, std::uint8_t* out, std::string& error,
                      const ImageLimits& limits = {});

/// Reads a file then preprocess_image(); file errors become `error` too.
bool preprocess_image_file(const std::filesystem::path& path, int size, std::uint8_t* out, std::string& error,
                           const ImageLimits& limits = {});

/// Decodes a whole image to interleaved 8-bit RGB (no crop/resize), for tests and
/// statistics. Same checks as preprocess_image.
bool decode_rgb(std::string_view bytes, std::vector<std::uint8_t>& rgb, int& width, int& height, std::string& error,
                const ImageLimits& limits = {});

/// The training sizes the cache supports: 32, 64, 128, 256 (others are refused by the CLI).
bool is_supported_size(int size);

}  // namespace covergen::data
