// encode_png through OpenCV's PNG codec (libpng underneath).
#include "covergen/image.hpp"

#include <covergen/errors.hpp>

#include <ATen/ATen.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdint>
#include <vector>

namespace covergen {

std::string encode_png(const at::Tensor& rgb8) {
  const at::Tensor rgb_hwc = rgb8.contiguous();
  const int h = static_cast<int>(rgb_hwc.size(0)), w = static_cast<int>(rgb_hwc.size(1));
  cv::Mat rgb(h, w, CV_8UC3, rgb_hwc.data_ptr<std::uint8_t>());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<std::uint8_t> buf;
  if (!cv::imencode(".png", bgr, buf)) throw Error("PNG encoding failed");
  return std::string(reinterpret_cast<const char*>(buf.data()), buf.size());
}

}  // namespace covergen
