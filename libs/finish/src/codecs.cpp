// PNG (libpng) and JPEG (libjpeg) writers that say what the pixels are: sRGB and
// 300 dpi. OpenCV's writers can tag neither, nor turn JPEG chroma subsampling off.
#include "internal.hpp"

#include "covergen/errors.hpp"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <jpeglib.h>
#include <png.h>

namespace covergen::finish::detail {
namespace {

constexpr unsigned kDpi = 300;

// --- PNG -------------------------------------------------------------------------

struct PngSink {
  std::string* out;
  char error[200];
};

void png_write_to_string(png_structp png, png_bytep data, png_size_t length) {
  auto* sink = static_cast<PngSink*>(png_get_io_ptr(png));
  sink->out->append(reinterpret_cast<const char*>(data), length);
}
void png_flush_noop(png_structp) {}
void png_on_error(png_structp png, png_const_charp message) {
  auto* sink = static_cast<PngSink*>(png_get_error_ptr(png));
  std::snprintf(sink->error, sizeof sink->error, "%s", message);
  png_longjmp(png, 1);
}
void png_on_warning(png_structp, png_const_charp) {}

// Only plain data lives across setjmp; returns false with sink->error set on failure.
bool png_encode(const Image& im, PngSink* sink) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, sink, png_on_error, png_on_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info ? &info : nullptr);
    return false;
  }
  png_set_write_fn(png, sink, png_write_to_string, png_flush_noop);
  png_set_compression_level(png, 3);  // level 6: ~5x the time for 8% smaller grainy covers
  png_set_IHDR(png, info, static_cast<png_uint_32>(im.width), static_cast<png_uint_32>(im.height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_sRGB_gAMA_and_cHRM(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
  const png_uint_32 ppm = static_cast<png_uint_32>(kDpi / 0.0254 + 0.5);
  png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
  png_write_info(png, info);
  for (int y = 0; y < im.height; ++y) png_write_row(png, const_cast<png_bytep>(im.pixel(0, y)));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return true;
}

// --- JPEG ------------------------------------------------------------------------

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

bool jpeg_encode(const Image& im, int quality, unsigned char** buffer, unsigned long* size, JpegError* err) {
  jpeg_compress_struct cinfo;
  cinfo.err = jpeg_std_error(&err->mgr);
  err->mgr.error_exit = jpeg_on_error;
  if (setjmp(err->jump)) {
    jpeg_destroy_compress(&cinfo);
    return false;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, buffer, size);
  cinfo.image_width = static_cast<JDIMENSION>(im.width);
  cinfo.image_height = static_cast<JDIMENSION>(im.height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  // 4:4:4: no chroma subsampling, so thin coloured type keeps clean edges.
  for (int c = 0; c < cinfo.num_components; ++c) {
    cinfo.comp_info[c].h_samp_factor = 1;
    cinfo.comp_info[c].v_samp_factor = 1;
  }
  cinfo.optimize_coding = TRUE;
  cinfo.write_JFIF_header = TRUE;  // JFIF: YCbCr of sRGB values
  cinfo.density_unit = 1;          // dots per inch
  cinfo.X_density = kDpi;
  cinfo.Y_density = kDpi;
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(im.pixel(0, static_cast<int>(cinfo.next_scanline)));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return true;
}

}  // namespace

std::string encode_png(const Image& im) {
  std::string out;
  PngSink sink{&out, {0}};
  if (!png_encode(im, &sink)) throw Error(std::string("finish: the PNG encoder failed: ") + sink.error);
  return out;
}

std::string encode_jpeg(const Image& im, int quality) {
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  JpegError err{};
  const bool ok = jpeg_encode(im, quality, &buffer, &size, &err);
  std::string out;
  if (ok) out.assign(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  if (!ok) throw Error(std::string("finish: the JPEG encoder failed: ") + err.message);
  return out;
}

}  // namespace covergen::finish::detail
