#include "covergen/data/image.hpp"

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>

namespace covergen::data {

const char* to_string(ImageFormat format) {
  switch (format) {
    case ImageFormat::jpeg: return "JPEG";
    case ImageFormat::png: return "PNG";
    case ImageFormat::webp: return "WebP";
    case ImageFormat::unknown: break;
  }
  return "unknown";
}

bool is_supported_size(int size) { return size == 32 || size == 64 || size == 128 || size == 256; }

namespace {

std::uint32_t be16(const unsigned char* p) { return (std::uint32_t(p[0]) << 8) | p[1]; }
std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
std::uint32_t le16(const unsigned char* p) { return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8); }
std::uint32_t le24(const unsigned char* p) { return le16(p) | (std::uint32_t(p[2]) << 16); }
std::uint32_t le32(const unsigned char* p) { return le24(p) | (std::uint32_t(p[3]) << 24); }

bool probe_jpeg(const unsigned char* d, std::size_t n, ImageHeader& h, std::string& error) {
  std::size_t i = 2;
  while (true) {
    // Find the next marker (skipping fill bytes).
    if (i >= n) { error = "truncated JPEG header (no frame header before the end)"; return false; }
    if (d[i] != 0xFF) { error = "corrupt JPEG header (expected a marker at byte " + std::to_string(i) + ")"; return false; }
    while (i < n && d[i] == 0xFF) ++i;
    if (i >= n) { error = "truncated JPEG header"; return false; }
    const unsigned char m = d[i++];
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length
    if (m == 0xD9 || m == 0xDA) { error = "corrupt JPEG: no frame header (SOF) before the image data"; return false; }
    if (i + 2 > n) { error = "truncated JPEG header"; return false; }
    const std::uint32_t len = be16(d + i);
    if (len < 2) { error = "corrupt JPEG header (segment length " + std::to_string(len) + ")"; return false; }
    const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
    if (sof) {
      if (len < 8 || i + 8 > n) { error = "truncated JPEG frame header"; return false; }
      h.format = ImageFormat::jpeg;
      h.bit_depth = d[i + 2];
      h.height = be16(d + i + 3);
      h.width = be16(d + i + 5);
      h.channels = d[i + 7];
      h.cmyk = h.channels == 4;
      h.progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE;
      if (h.channels != 1 && h.channels != 3 && h.channels != 4) {
        error = "unsupported JPEG with " + std::to_string(h.channels) + " components";
        return false;
      }
      return true;
    }
    i += len;
  }
}

bool probe_png(const unsigned char* d, std::size_t n, ImageHeader& h, std::string& error) {
  if (n < 8 + 8 + 13) { error = "truncated PNG header"; return false; }
  if (std::memcmp(d + 12, "IHDR", 4) != 0 || be32(d + 8) != 13) { error = "corrupt PNG: first chunk is not IHDR"; return false; }
  h.format = ImageFormat::png;
  h.width = be32(d + 16);
  h.height = be32(d + 20);
  h.bit_depth = d[24];
  switch (d[25]) {
    case 0: h.channels = 1; break;
    case 2: h.channels = 3; break;
    case 3: h.channels = 3; break;  // palette (tRNS may add alpha)
    case 4: h.channels = 2; break;
    case 6: h.channels = 4; break;
    default: error = "corrupt PNG: colour type " + std::to_string(d[25]); return false;
  }
  return true;
}

bool probe_webp(const unsigned char* d, std::size_t n, ImageHeader& h, std::string& error) {
  if (n < 30) { error = "truncated WebP header"; return false; }
  h.format = ImageFormat::webp;
  h.bit_depth = 8;
  const unsigned char* c = d + 12;
  if (std::memcmp(c, "VP8 ", 4) == 0) {
    const unsigned char* f = c + 8;
    if (f[3] != 0x9D || f[4] != 0x01 || f[5] != 0x2A) { error = "corrupt WebP (VP8) frame header"; return false; }
    h.width = le16(f + 6) & 0x3FFF;
    h.height = le16(f + 8) & 0x3FFF;
    h.channels = 3;
    return true;
  }
  if (std::memcmp(c, "VP8L", 4) == 0) {
    const unsigned char* f = c + 8;
    if (f[0] != 0x2F) { error = "corrupt WebP (VP8L) header"; return false; }
    const std::uint32_t bits = le32(f + 1);
    h.width = (bits & 0x3FFF) + 1;
    h.height = ((bits >> 14) & 0x3FFF) + 1;
    h.channels = (bits >> 28) & 1 ? 4 : 3;
    return true;
  }
  if (std::memcmp(c, "VP8X", 4) == 0) {
    const unsigned char* f = c + 8;
    h.channels = (f[0] & 0x10) ? 4 : 3;
    h.width = le24(f + 4) + 1;
    h.height = le24(f + 7) + 1;
    return true;
  }
  error = "corrupt WebP: unknown chunk '" + std::string(reinterpret_cast<const char*>(c), 4) + "'";
  return false;
}

/// True when the JPEG's entropy-coded data reaches an end-of-image marker (a
/// truncated file decodes "successfully" in libjpeg, padded with grey).
bool jpeg_has_eoi(const unsigned char* d, std::size_t n) {
  std::size_t i = 2;
  // Walk the segments to the first SOS, then scan markers.
  while (i + 2 <= n) {
    if (d[i] != 0xFF) return false;
    while (i < n && d[i] == 0xFF) ++i;
    if (i >= n) return false;
    const unsigned char m = d[i++];
    if (m == 0xD9) return true;
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;
    if (i + 2 > n) return false;
    const std::size_t len = be16(d + i);
    i += len;
    if (m == 0xDA) {
      // Entropy-coded data: skip to the next marker that is not a stuffed 0 or RST.
      while (true) {
        const void* p = i < n ? std::memchr(d + i, 0xFF, n - i) : nullptr;
        if (!p) return false;
        i = static_cast<std::size_t>(static_cast<const unsigned char*>(p) - d);
        std::size_t j = i + 1;
        while (j < n && d[j] == 0xFF) ++j;
        if (j >= n) return false;
        if (d[j] == 0x00 || (d[j] >= 0xD0 && d[j] <= 0xD7)) { i = j + 1; continue; }
        i = j - 1;  // at the 0xFF of a real marker
        break;
      }
    }
  }
  return false;
}

// A backstop behind probe_image(): OpenCV reads OPENCV_IO_MAX_IMAGE_PIXELS once, on its
// first decode. Set when the library loads (single-threaded; setenv is not thread-safe),
// unless the user set it.
const bool opencv_pixel_limit_set = [] { return ::setenv("OPENCV_IO_MAX_IMAGE_PIXELS", "100000000", 0) == 0; }();

bool check_header(std::string_view bytes, const ImageLimits& limits, ImageHeader& h, std::string& error) {
  if (bytes.empty()) { error = "empty file (0 bytes)"; return false; }
  if (!probe_image(bytes, h, error)) return false;
  if (h.width > limits.max_side || h.height > limits.max_side ||
      std::uint64_t(h.width) * h.height > limits.max_pixels) {
    error = std::string(to_string(h.format)) + " of " + std::to_string(h.width) + "x" + std::to_string(h.height) +
            " refused before decoding (limits: " + std::to_string(limits.max_side) + " px a side, " +
            std::to_string(limits.max_pixels) + " pixels)";
    return false;
  }
  if (std::min(h.width, h.height) < limits.min_side) {
    error = std::to_string(h.width) + "x" + std::to_string(h.height) + " image is too small to be a cover (minimum " +
            std::to_string(limits.min_side) + " px a side)";
    return false;
  }
  if (h.format == ImageFormat::jpeg &&
      !jpeg_has_eoi(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size())) {
    error = "truncated JPEG (no end-of-image marker)";
    return false;
  }
  return true;
}

/// Decodes to an 8-bit RGB Mat. `target` > 0 lets a JPEG be DCT-downscaled while its
/// shorter side stays >= target.
bool decode_to_rgb(std::string_view bytes, int target, cv::Mat& rgb, std::string& error, const ImageLimits& limits) {
  ImageHeader h;
  if (!check_header(bytes, limits, h, error)) return false;
  (void)opencv_pixel_limit_set;
  try {
    cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
    cv::Mat img;
    if (h.format == ImageFormat::jpeg) {
      int flag = cv::IMREAD_COLOR;
      const std::uint32_t side = std::min(h.width, h.height);
      if (target > 0) {
        for (int r : {8, 4, 2}) {
          if ((side + r - 1) / r >= static_cast<std::uint32_t>(target)) {
            flag = r == 8 ? cv::IMREAD_REDUCED_COLOR_8 : r == 4 ? cv::IMREAD_REDUCED_COLOR_4 : cv::IMREAD_REDUCED_COLOR_2;
            break;
          }
        }
      }
      img = cv::imdecode(buf, flag);
      if (img.empty()) { error = "cannot decode JPEG (corrupt)"; return false; }
      cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
      return true;
    }
    img = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
    if (img.empty()) { error = std::string("cannot decode ") + to_string(h.format) + " (corrupt or truncated)"; return false; }
    if (img.depth() == CV_16U) {
      cv::Mat t;
      img.convertTo(t, CV_8U, 1.0 / 257.0);
      img = t;
    } else if (img.depth() == CV_32F) {
      cv::Mat t;
      img.convertTo(t, CV_8U, 255.0);
      img = t;
    } else if (img.depth() != CV_8U) {
      error = "unsupported sample type in " + std::string(to_string(h.format));
      return false;
    }
    switch (img.channels()) {
      case 1: cv::cvtColor(img, rgb, cv::COLOR_GRAY2RGB); break;
      case 3: cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB); break;
      case 2:
      case 4: {
        // Composite over white: c' = a*c + (1-a)*255.
        std::vector<cv::Mat> ch;
        cv::split(img, ch);
        cv::Mat alpha = ch.back();
        ch.pop_back();
        if (ch.size() == 1) ch = {ch[0], ch[0], ch[0]};
        cv::Mat a;
        alpha.convertTo(a, CV_32F, 1.0 / 255.0);
        cv::Mat inv = 1.0 - a;
        std::vector<cv::Mat> out(3);
        for (int c = 0; c < 3; ++c) {
          cv::Mat f;
          ch[static_cast<std::size_t>(c)].convertTo(f, CV_32F);
          f = f.mul(a) + inv * 255.0;
          f.convertTo(out[static_cast<std::size_t>(2 - c)], CV_8U);  // BGR -> RGB
        }
        cv::merge(out, rgb);
        break;
      }
      default: error = "unsupported channel count " + std::to_string(img.channels()); return false;
    }
    return true;
  } catch (const cv::Exception& e) {
    error = std::string("cannot decode ") + to_string(h.format) + ": " + e.what();
    return false;
  } catch (const std::exception& e) {
    error = std::string("cannot decode ") + to_string(h.format) + ": " + e.what();
    return false;
  }
}

}  // namespace

bool probe_image(std::string_view bytes, ImageHeader& h, std::string& error) {
  h = {};
  const auto* d = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  bool ok;
  if (n == 0) { error = "empty file (0 bytes)"; return false; }
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) {
    ok = probe_jpeg(d, n, h, error);
  } else if (n >= 8 && std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) {
    ok = probe_png(d, n, h, error);
  } else if (n >= 12 && std::memcmp(d, "RIFF", 4) == 0 && std::memcmp(d + 8, "WEBP", 4) == 0) {
    ok = probe_webp(d, n, h, error);
  } else {
    error = "not a JPEG, PNG or WebP image (unrecognised signature)";
    return false;
  }
  if (ok && (h.width == 0 || h.height == 0)) {
    error = std::string(to_string(h.format)) + " header has a zero dimension";
    return false;
  }
  return ok;
}

bool preprocess_image(std::string_view bytes, int size, std::uint8_t* out, std::string& error,
                      const ImageLimits& limits) {
  cv::Mat rgb;
  if (!decode_to_rgb(bytes, size, rgb, error, limits)) return false;
  try {
    const int side = std::min(rgb.cols, rgb.rows);
    cv::Mat square = rgb(cv::Rect((rgb.cols - side) / 2, (rgb.rows - side) / 2, side, side));
    cv::Mat resized;
    if (side == size) resized = square;
    else cv::resize(square, resized, cv::Size(size, size), 0, 0, side > size ? cv::INTER_AREA : cv::INTER_CUBIC);
    const std::size_t plane = static_cast<std::size_t>(size) * static_cast<std::size_t>(size);
    cv::Mat planes[3] = {cv::Mat(size, size, CV_8U, out), cv::Mat(size, size, CV_8U, out + plane),
                         cv::Mat(size, size, CV_8U, out + 2 * plane)};
    cv::split(resized, planes);
    return true;
  } catch (const cv::Exception& e) {
    error = std::string("cannot resize: ") + e.what();
    return false;
  }
}

bool preprocess_image_file(const std::filesystem::path& path, int size, std::uint8_t* out, std::string& error,
                           const ImageLimits& limits) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) { error = "cannot open"; return false; }
  const auto len = static_cast<std::size_t>(in.tellg());
  // Never read more than a plausible cover: a 16384^2 PNG could be huge, but
  // probe_image() only needs the header; 256 MiB bounds a pathological file.
  if (len > (256u << 20)) { error = "file is larger than 256 MiB"; return false; }
  std::string bytes(len, '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(len));
  if (!in) { error = "read error"; return false; }
  return preprocess_image(bytes, size, out, error, limits);
}

bool decode_rgb(std::string_view bytes, std::vector<std::uint8_t>& rgb, int& width, int& height, std::string& error,
                const ImageLimits& limits) {
  cv::Mat m;
  if (!decode_to_rgb(bytes, 0, m, error, limits)) return false;
  width = m.cols;
  height = m.rows;
  rgb.assign(m.data, m.data + m.total() * 3);
  if (!m.isContinuous()) {
    rgb.clear();
    for (int y = 0; y < m.rows; ++y) rgb.insert(rgb.end(), m.ptr<std::uint8_t>(y), m.ptr<std::uint8_t>(y) + m.cols * 3);
  }
  return true;
}

}  // namespace covergen::data
