// Covers of the synthetic dataset: a genre palette, shape family and texture; the
// track's tempo sets the number of shapes, brightness the lightness, energy the
// saturation and valence a hue shift. Drawn with OpenCV, encoded as JPEG.
#include "covergen/data/hash.hpp"
#include "covergen/data/synth.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace covergen::data {

namespace {

/// HSL (h degrees, s, l in [0, 1]) to OpenCV BGR.
cv::Scalar hsl(double h, double s, double l) {
  s = std::clamp(s, 0.0, 1.0);
  l = std::clamp(l, 0.0, 1.0);
  h = std::fmod(std::fmod(h, 360.0) + 360.0, 360.0);
  const double c = (1 - std::abs(2 * l - 1)) * s;
  const double x = c * (1 - std::abs(std::fmod(h / 60.0, 2.0) - 1));
  const double m = l - c / 2;
  double r = 0, g = 0, b = 0;
  if (h < 60) { r = c; g = x; } else if (h < 120) { r = x; g = c; } else if (h < 180) { g = c; b = x; }
  else if (h < 240) { g = x; b = c; } else if (h < 300) { r = x; b = c; } else { r = c; b = x; }
  return cv::Scalar((b + m) * 255, (g + m) * 255, (r + m) * 255);
}

/// Per-pixel deterministic noise in [-1, 1] (no shared state).
inline double pixel_noise(std::uint64_t seed, std::uint64_t i) {
  return static_cast<double>(mix64(seed ^ (i * 0x9e3779b97f4a7c15ULL)) >> 11) * 0x1.0p-52 - 1.0;
}

}  // namespace

std::string render_cover_jpeg(const TrackParams& tp, int size, int quality) {
  const GenreStyle& g = genre_styles()[static_cast<std::size_t>(tp.genre)];
  Rng rng(derive_seed(tp.seed, 2));  // cover stream of this track
  const double S = size;

  // Colours: lightness from brightness, saturation from energy, hue shift from valence.
  const double light = 0.18 + 0.64 * tp.brightness;
  const double sat = 0.08 + 0.88 * tp.energy;
  const double shift = (tp.valence - 0.5) * 40.0;
  auto colour = [&](int i, double dl) {
    return hsl(g.hues[i] + shift + rng.uniform(-8, 8), sat * rng.uniform(0.85, 1.0),
               light * rng.uniform(0.9, 1.1) + dl);
  };

  // Background: a gradient between the first two palette colours.
  cv::Mat img(size, size, CV_8UC3);
  const cv::Scalar c0 = hsl(g.hues[0] + shift, sat * 0.75, light * 0.8);
  const cv::Scalar c1 = hsl(g.hues[1] + shift, sat * 0.75, std::min(1.0, light * 1.05));
  const double angle = rng.uniform(0, 6.283185307179586);
  const double ca = std::cos(angle), sa = std::sin(angle);
  for (int y = 0; y < size; ++y) {
    auto* row = img.ptr<cv::Vec3b>(y);
    for (int x = 0; x < size; ++x) {
      const double t = std::clamp(0.5 + ((x - S / 2) * ca + (y - S / 2) * sa) / S, 0.0, 1.0);
      for (int c = 0; c < 3; ++c) row[x][c] = cv::saturate_cast<uchar>(c0[c] * (1 - t) + c1[c] * t);
    }
  }

  // Shapes: count from tempo, family from genre.
  const int n = tp.shape_count;
  const double scale = S * (0.55 / std::sqrt(static_cast<double>(n) + 1.0));
  const int aa = cv::LINE_AA;
  auto pt = [&](double margin) {
    return cv::Point2d(rng.uniform(-margin, S + margin), rng.uniform(-margin, S + margin));
  };
  auto ipt = [](cv::Point2d p) { return cv::Point(static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y))); };
  const int grid = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  for (int i = 0; i < n; ++i) {
    const cv::Scalar col = colour(static_cast<int>(rng.below(3)), rng.uniform(-0.12, 0.12));
    switch (g.shapes) {
      case ShapeFamily::soft_circles:
        cv::circle(img, ipt(pt(0.1 * S)), static_cast<int>(scale * rng.uniform(0.5, 1.3)), col, cv::FILLED, aa);
        break;
      case ShapeFamily::squares_grid: {
        const int cell = static_cast<int>(S / grid);
        const int gx = i % grid, gy = i / grid;
        const int pad = static_cast<int>(cell * rng.uniform(0.08, 0.25));
        cv::rectangle(img, cv::Point(gx * cell + pad, gy * cell + pad),
                      cv::Point((gx + 1) * cell - pad, (gy + 1) * cell - pad), col, cv::FILLED, aa);
        break;
      }
      case ShapeFamily::triangles: {
        const cv::Point2d c = pt(0.0);
        const double r = scale * rng.uniform(0.6, 1.4), a = rng.uniform(0, 6.283185307179586);
        cv::Point p[3];
        for (int k = 0; k < 3; ++k)
          p[k] = ipt(c + cv::Point2d(r * std::cos(a + k * 2.0944 + rng.uniform(-0.3, 0.3)),
                                     r * std::sin(a + k * 2.0944 + rng.uniform(-0.3, 0.3))));
        cv::fillConvexPoly(img, p, 3, col, aa);
        break;
      }
      case ShapeFamily::strokes: {
        const cv::Point2d a = pt(0.05 * S);
        const double len = scale * rng.uniform(1.0, 2.5), ang = rng.uniform(-0.6, 0.6) + (rng.chance(0.5) ? 0 : 1.5708);
        cv::line(img, ipt(a), ipt(a + cv::Point2d(len * std::cos(ang), len * std::sin(ang))), col,
                 std::max(1, static_cast<int>(S * rng.uniform(0.008, 0.025))), aa);
        break;
      }
      case ShapeFamily::rings:
        cv::circle(img, ipt(pt(0.0)), static_cast<int>(scale * rng.uniform(0.4, 1.2)), col,
                   std::max(1, static_cast<int>(S * rng.uniform(0.01, 0.03))), aa);
        break;
      case ShapeFamily::leaves: {
        const double r = scale * rng.uniform(0.5, 1.2);
        cv::ellipse(img, ipt(pt(0.0)), cv::Size(static_cast<int>(r), static_cast<int>(r * 0.35)),
                    rng.uniform(0, 180), 0, 360, col, cv::FILLED, aa);
        break;
      }
      case ShapeFamily::stars: {
        const cv::Point2d c = pt(0.0);
        const double r = scale * rng.uniform(0.5, 1.2), a = rng.uniform(0, 6.283185307179586);
        std::vector<cv::Point> p;
        for (int k = 0; k < 10; ++k) {
          const double rr = k % 2 ? r * 0.4 : r;
          p.push_back(ipt(c + cv::Point2d(rr * std::cos(a + k * 0.6283), rr * std::sin(a + k * 0.6283))));
        }
        cv::fillPoly(img, std::vector<std::vector<cv::Point>>{p}, col, aa);
        break;
      }
      case ShapeFamily::blobs: {
        const cv::Point2d c = pt(0.0);
        const double r = scale * rng.uniform(0.6, 1.3);
        std::vector<cv::Point> p;
        double wob[4];
        for (double& w : wob) w = rng.uniform(-0.25, 0.25);
        for (int k = 0; k < 24; ++k) {
          const double a = k * 0.2618;
          const double rr = r * (1 + wob[0] * std::sin(2 * a) + wob[1] * std::cos(3 * a) + wob[2] * std::sin(a + wob[3]));
          p.push_back(ipt(c + cv::Point2d(rr * std::cos(a), rr * std::sin(a))));
        }
        cv::fillPoly(img, std::vector<std::vector<cv::Point>>{p}, col, aa);
        break;
      }
    }
  }
  if (g.shapes == ShapeFamily::soft_circles) cv::GaussianBlur(img, img, cv::Size(0, 0), S / 90.0);

  // Texture.
  const std::uint64_t tseed = derive_seed(tp.seed, 3);
  switch (g.texture) {
    case Texture::grain:
    case Texture::noise:
    case Texture::paper: {
      const double amp = g.texture == Texture::grain ? 10 : g.texture == Texture::noise ? 22 : 6;
      const int block = g.texture == Texture::noise ? std::max(1, size / 80) : 1;
      for (int y = 0; y < size; ++y) {
        auto* row = img.ptr<cv::Vec3b>(y);
        for (int x = 0; x < size; ++x) {
          const std::uint64_t cell = static_cast<std::uint64_t>(y / block) * 65536u + static_cast<std::uint64_t>(x / block);
          double d = amp * pixel_noise(tseed, cell);
          if (g.texture == Texture::paper) d += 10 * std::sin(y * 0.05 + 3 * std::sin(x * 0.013)) ;
          for (int c = 0; c < 3; ++c) row[x][c] = cv::saturate_cast<uchar>(row[x][c] + d);
        }
      }
      break;
    }
    case Texture::scanlines:
      for (int y = 0; y < size; y += 4) {
        auto* row = img.ptr<cv::Vec3b>(y);
        for (int x = 0; x < size; ++x)
          for (int c = 0; c < 3; ++c) row[x][c] = static_cast<uchar>(row[x][c] * 0.6);
      }
      break;
    case Texture::halftone: {
      const int step = std::max(4, size / 48);
      const cv::Scalar dot = hsl(g.hues[2] + shift, sat, light * 0.45);
      for (int y = step / 2; y < size; y += step)
        for (int x = (y / step % 2) * step / 2; x < size; x += step) cv::circle(img, {x, y}, std::max(1, step / 4), dot, cv::FILLED, aa);
      break;
    }
    case Texture::fibres:
    case Texture::scratches: {
      Rng t(tseed);
      const int lines = g.texture == Texture::fibres ? 160 : 40;
      for (int i = 0; i < lines; ++i) {
        const cv::Point2d a(t.uniform(0, S), t.uniform(0, S));
        const double len = g.texture == Texture::fibres ? t.uniform(0.02, 0.08) * S : t.uniform(0.2, 0.7) * S;
        const double ang = t.uniform(0, 3.14159);
        const double v = t.chance(0.5) ? 235 : 30;
        cv::line(img, ipt(a), ipt(a + cv::Point2d(len * std::cos(ang), len * std::sin(ang))), cv::Scalar(v, v, v),
                 1, aa);
      }
      break;
    }
    case Texture::smooth: {
      cv::Mat blurred;
      cv::GaussianBlur(img, blurred, cv::Size(0, 0), S / 200.0);
      img = blurred;
      break;
    }
  }

  std::vector<uchar> buf;
  if (!cv::imencode(".jpg", img, buf, {cv::IMWRITE_JPEG_QUALITY, quality}))
    throw std::runtime_error("JPEG encoding failed");
  return std::string(buf.begin(), buf.end());
}

}  // namespace covergen::data
