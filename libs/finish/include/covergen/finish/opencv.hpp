// Header-only bridge from OpenCV to covergen::finish for apps that hold a cv::Mat.
// Include it only where OpenCV is already used (the library itself does not need it).
#pragma once

#include <covergen/errors.hpp>
#include <covergen/finish/finish.hpp>

#include <opencv2/core.hpp>

namespace covergen::finish {

/// An 8-bit BGR (OpenCV's order), BGRA or grey cv::Mat as an RGB Image.
inline Image from_mat(const cv::Mat& m) {
  if (m.empty() || m.depth() != CV_8U) throw InputError("finish: expected a non-empty 8-bit cv::Mat");
  if (m.channels() == 3) return Image::from_buffer(m.data, m.cols, m.rows, m.step, /*bgr=*/true);
  Image out(m.cols, m.rows);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) {
      const std::uint8_t* p = m.ptr<std::uint8_t>(y) + static_cast<std::size_t>(x) * m.channels();
      std::uint8_t* q = out.pixel(x, y);
      if (m.channels() == 1) q[0] = q[1] = q[2] = p[0];
      else if (m.channels() == 4) { q[0] = p[2]; q[1] = p[1]; q[2] = p[0]; }
      else throw InputError("finish: a cv::Mat with " + std::to_string(m.channels()) + " channels is not an image");
    }
  return out;
}

/// An RGB Image as an 8-bit BGR cv::Mat (a copy).
inline cv::Mat to_mat(const Image& im) {
  cv::Mat m(im.height, im.width, CV_8UC3);
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      const std::uint8_t* p = im.pixel(x, y);
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(p[2], p[1], p[0]);
    }
  return m;
}

}  // namespace covergen::finish
