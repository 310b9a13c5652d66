#include "covergen/eval/maps.hpp"

#include "covergen/errors.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace covergen::eval {
namespace {

cv::Mat to_bgr(const std::uint8_t* rgb, int size) {
  const std::size_t plane = static_cast<std::size_t>(size) * static_cast<std::size_t>(size);
  cv::Mat m(size, size, CV_8UC3);
  for (int y = 0; y < size; ++y) {
    auto* row = m.ptr<cv::Vec3b>(y);
    for (int x = 0; x < size; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * static_cast<std::size_t>(size) + static_cast<std::size_t>(x);
      row[x] = cv::Vec3b(rgb[2 * plane + i], rgb[plane + i], rgb[i]);
    }
  }
  return m;
}

std::string encode(const cv::Mat& img) {
  std::vector<uchar> buf;
  if (!cv::imencode(".png", img, buf)) throw Error("PNG encoding failed");
  return std::string(buf.begin(), buf.end());
}

// A distinct colour per label (BGR), from a fixed qualitative palette.
cv::Scalar label_colour(int label) {
  static const int palette[][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
                                   {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  if (label < 0) return {190, 190, 190};
  const auto& c = palette[label % 10];
  const double dim = label >= 10 ? 0.6 : 1.0;
  return {c[2] * dim, c[1] * dim, c[0] * dim};
}

// The layout scaled into [0, 1]^2 (aspect kept).
std::vector<double> normalise(const std::vector<double>& xy) {
  const std::size_t n = xy.size() / 2;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (std::size_t i = 0; i < n; ++i) {
    x0 = std::min(x0, xy[2 * i]);
    x1 = std::max(x1, xy[2 * i]);
    y0 = std::min(y0, xy[2 * i + 1]);
    y1 = std::max(y1, xy[2 * i + 1]);
  }
  const double span = std::max({x1 - x0, y1 - y0, 1e-12});
  std::vector<double> out(xy.size());
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = (xy[2 * i] - x0 + (span - (x1 - x0)) / 2) / span;
    out[2 * i + 1] = (xy[2 * i + 1] - y0 + (span - (y1 - y0)) / 2) / span;
  }
  return out;
}

}  // namespace

std::string mosaic_png(const std::vector<double>& xy, const std::vector<const std::uint8_t*>& images, int image_size,
                       int cells, int thumb, const std::vector<bool>& highlight) {
  const std::size_t n = images.size();
  if (xy.size() != 2 * n) throw InputError("mosaic: one 2-D position per image is needed");
  if (cells < 1 || thumb < 4) throw InputError("mosaic: bad grid size");
  const auto p = normalise(xy);
  cv::Mat canvas(cells * thumb, cells * thumb, CV_8UC3, cv::Scalar(24, 24, 24));
  std::vector<char> used(static_cast<std::size_t>(cells) * static_cast<std::size_t>(cells), 0);
  std::size_t free_cells = used.size();
  for (std::size_t i = 0; i < n && free_cells > 0; ++i) {
    const double fx = p[2 * i] * (cells - 1), fy = p[2 * i + 1] * (cells - 1);
    int best = -1;
    double best_d = INFINITY;
    for (int radius = 0; radius < cells && best < 0; ++radius) {
      const int cx = static_cast<int>(std::lround(fx)), cy = static_cast<int>(std::lround(fy));
      for (int y = std::max(0, cy - radius); y <= std::min(cells - 1, cy + radius); ++y)
        for (int x = std::max(0, cx - radius); x <= std::min(cells - 1, cx + radius); ++x) {
          if (used[static_cast<std::size_t>(y * cells + x)]) continue;
          const double d = (x - fx) * (x - fx) + (y - fy) * (y - fy);
          if (d < best_d) {
            best_d = d;
            best = y * cells + x;
          }
        }
    }
    if (best < 0) break;
    used[static_cast<std::size_t>(best)] = 1;
    --free_cells;
    cv::Mat t;
    cv::resize(to_bgr(images[i], image_size), t, cv::Size(thumb, thumb), 0, 0,
               thumb < image_size ? cv::INTER_AREA : cv::INTER_NEAREST);
    if (!highlight.empty() && highlight[i]) cv::rectangle(t, cv::Point(0, 0), cv::Point(thumb - 1, thumb - 1), cv::Scalar(40, 40, 240), 2);
    t.copyTo(canvas(cv::Rect((best % cells) * thumb, (best / cells) * thumb, thumb, thumb)));
  }
  return encode(canvas);
}

std::string scatter_png(const std::vector<double>& xy, const std::vector<int>& labels,
                        const std::vector<std::string>& names, const std::string& title, int size) {
  const std::size_t n = labels.size();
  if (xy.size() != 2 * n) throw InputError("scatter: one 2-D position per label is needed");
  const int legend = 170, top = 36, margin = 16;
  cv::Mat img(size + top, size + legend, CV_8UC3, cv::Scalar(255, 255, 255));
  const auto p = normalise(xy);
  const double inner = size - 2 * margin;
  for (std::size_t i = 0; i < n; ++i)
    cv::circle(img, cv::Point(margin + static_cast<int>(p[2 * i] * inner), top + margin + static_cast<int>(p[2 * i + 1] * inner)),
               n > 5000 ? 1 : 3, label_colour(labels[i]), cv::FILLED, cv::LINE_AA);
  cv::putText(img, title, {margin, 24}, cv::FONT_HERSHEY_SIMPLEX, 0.6, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  for (std::size_t l = 0; l < names.size(); ++l) {
    const int y = top + 20 + static_cast<int>(l) * 22;
    cv::circle(img, {size + 12, y - 5}, 6, label_colour(static_cast<int>(l)), cv::FILLED, cv::LINE_AA);
    cv::putText(img, names[l], {size + 24, y}, cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }
  return encode(img);
}

std::string grid_png(const std::vector<const std::uint8_t*>& images, int image_size, int per_row, int scale) {
  if (images.empty() || per_row < 1 || scale < 1) throw InputError("grid: no images");
  const int cell = image_size * scale, gap = 2;
  const int cols = std::min<int>(per_row, static_cast<int>(images.size()));
  const int rows = static_cast<int>((images.size() + static_cast<std::size_t>(per_row) - 1) / static_cast<std::size_t>(per_row));
  cv::Mat canvas(rows * (cell + gap) - gap, cols * (cell + gap) - gap, CV_8UC3, cv::Scalar(255, 255, 255));
  for (std::size_t i = 0; i < images.size(); ++i) {
    cv::Mat t;
    cv::resize(to_bgr(images[i], image_size), t, cv::Size(cell, cell), 0, 0, cv::INTER_NEAREST);
    const int r = static_cast<int>(i) / per_row, c = static_cast<int>(i) % per_row;
    t.copyTo(canvas(cv::Rect(c * (cell + gap), r * (cell + gap), cell, cell)));
  }
  return encode(canvas);
}

}  // namespace covergen::eval
