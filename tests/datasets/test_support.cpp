#include "test_support.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <fstream>
#ifdef COVERGEN_TEST_HAVE_LIBJPEG
#include <jpeglib.h>
#endif
#include <random>
#include <sstream>
#include <stdexcept>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace covergen::test {

TempDir::TempDir(const std::string& tag) {
  static int counter = 0;
  path_ = fs::temp_directory_path() /
          ("covergen-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string make_image(int w, int h, const std::string& ext, int channels, bool depth16, std::uint32_t seed) {
  cv::Mat img(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<unsigned char>((x * 255) / std::max(1, w - 1)),
                                          static_cast<unsigned char>((y * 255) / std::max(1, h - 1)),
                                          static_cast<unsigned char>((seed * 37) % 256));
  cv::circle(img, {w / 2, h / 2}, std::max(1, std::min(w, h) / 4), cv::Scalar(20, 200, 240), -1);
  cv::Mat out = img;
  if (channels == 1) cv::cvtColor(img, out, cv::COLOR_BGR2GRAY);
  if (channels == 4) {
    cv::cvtColor(img, out, cv::COLOR_BGR2BGRA);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) out.at<cv::Vec4b>(y, x)[3] = static_cast<unsigned char>(x < w / 2 ? 0 : 255);
  }
  if (depth16) out.convertTo(out, CV_16U, 257.0);
  std::vector<unsigned char> buf;
  std::vector<int> params;
  if (ext == ".jpg") params = {cv::IMWRITE_JPEG_QUALITY, 90};
  if (!cv::imencode(ext, out, buf, params)) throw std::runtime_error("imencode failed for " + ext);
  return std::string(buf.begin(), buf.end());
}

std::string make_cmyk_jpeg(int w, int h) {
#ifndef COVERGEN_TEST_HAVE_LIBJPEG
  (void)w;
  (void)h;
  return {};
#else
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr jerr{};
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* mem = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &mem, &size);
  cinfo.image_width = static_cast<JDIMENSION>(w);
  cinfo.image_height = static_cast<JDIMENSION>(h);
  cinfo.input_components = 4;
  cinfo.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&cinfo);
  jpeg_set_colorspace(&cinfo, JCS_CMYK);
  cinfo.write_Adobe_marker = TRUE;
  jpeg_set_quality(&cinfo, 90, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<unsigned char> row(static_cast<std::size_t>(w) * 4);
  while (cinfo.next_scanline < cinfo.image_height) {
    for (int x = 0; x < w; ++x) {
      // Inverted CMYK (Adobe): 255 = no ink. Left half pure cyan ink, right half none.
      unsigned char* p = &row[static_cast<std::size_t>(x) * 4];
      p[0] = x < w / 2 ? 0 : 255;
      p[1] = 255;
      p[2] = 255;
      p[3] = 255;
    }
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&cinfo, &r, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<char*>(mem), size);
  std::free(mem);
  return out;
#endif
}

}  // namespace covergen::test
