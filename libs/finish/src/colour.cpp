// Colour: images, WCAG luminance, palettes, filters and resampling.
#include "internal.hpp"

#include "covergen/errors.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>

namespace covergen::finish {

std::string to_hex(Rgb c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c.r, c.g, c.b);
  return buf;
}

namespace {

double linear_channel(std::uint8_t v) {
  const double s = v / 255.0;
  return s <= 0.04045 ? s / 12.92 : std::pow((s + 0.055) / 1.055, 2.4);
}

std::string lower(std::string_view s) {
  std::string o(s);
  std::transform(o.begin(), o.end(), o.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return o;
}

std::string trim(std::string_view s) {
  std::size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (ch == sep) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += ch;
    }
  }
  out.push_back(trim(cur));
  return out;
}

bool parse_hex(const std::string& s, Rgb& out) {
  std::string h = s;
  if (!h.empty() && h[0] == '#') h = h.substr(1);
  if (h.size() == 3) h = {h[0], h[0], h[1], h[1], h[2], h[2]};
  if (h.size() != 6 || !std::all_of(h.begin(), h.end(), [](unsigned char c) { return std::isxdigit(c); })) return false;
  const unsigned long v = std::stoul(h, nullptr, 16);
  out = {static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>((v >> 8) & 0xff),
         static_cast<std::uint8_t>(v & 0xff)};
  return true;
}

// Built-in palettes, dark to light-ish; five colours each.
const std::map<std::string, std::vector<const char*>>& builtin_palettes() {
  static const std::map<std::string, std::vector<const char*>> p{
      {"ember", {"#1a0a0a", "#5c1414", "#b8321e", "#f08a24", "#ffe2a8"}},
      {"neon", {"#0b0320", "#3a0ca3", "#7209b7", "#f72585", "#4cc9f0"}},
      {"dusk", {"#14111f", "#3d2c5c", "#8c4a6b", "#d98c5f", "#f4d8a8"}},
      {"ocean", {"#04131f", "#0b3954", "#087e8b", "#7ec4cf", "#e0f4f5"}},
      {"forest", {"#121a0e", "#2f4a22", "#6b8e3a", "#c2b97f", "#f1ead2"}},
      {"ash", {"#0a0a0a", "#2b2b2e", "#5a5a60", "#a3a3a8", "#e8e8ea"}},
      {"candy", {"#2b1040", "#ff4f9a", "#ff9ecb", "#ffd166", "#fff4e0"}},
      {"gold", {"#120d05", "#3b2a10", "#8a6420", "#d9a93a", "#fbe9b7"}},
      {"ivory", {"#2a2622", "#6e6258", "#b0a391", "#e2d8c6", "#fbf7ef"}},
  };
  return p;
}

}  // namespace

double relative_luminance(Rgb c) {
  return 0.2126 * linear_channel(c.r) + 0.7152 * linear_channel(c.g) + 0.0722 * linear_channel(c.b);
}

double contrast_ratio(Rgb a, Rgb b) {
  const double la = relative_luminance(a), lb = relative_luminance(b);
  return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

Image::Image(int w, int h) : width(w), height(h), rgb(static_cast<std::size_t>(w) * h * 3, 0) {}

Image Image::from_buffer(const std::uint8_t* data, int w, int h, std::size_t stride, bool bgr) {
  if (!data || w <= 0 || h <= 0 || stride < static_cast<std::size_t>(w) * 3)
    throw InputError("finish: an image buffer needs data, a positive size and a stride of at least 3 * width");
  Image im(w, h);
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* row = data + static_cast<std::size_t>(y) * stride;
    std::uint8_t* dst = im.pixel(0, y);
    if (!bgr) {
      std::copy(row, row + static_cast<std::size_t>(w) * 3, dst);
    } else {
      for (int x = 0; x < w; ++x) {
        dst[3 * x] = row[3 * x + 2];
        dst[3 * x + 1] = row[3 * x + 1];
        dst[3 * x + 2] = row[3 * x];
      }
    }
  }
  return im;
}

Image read_image(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError(path.string(), "no such image file");
  cv::Mat m;
  try {
    m = cv::imread(path.string(), cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw InputError(path.string(), std::string("cannot decode the image (") + e.what() + ")");
  }
  if (m.empty())
    throw InputError(path.string(), "cannot decode the image; give a PNG, JPEG, WebP, TIFF or BMP file");
  return Image::from_buffer(m.data, m.cols, m.rows, m.step, /*bgr=*/true);
}

std::vector<std::string> palette_names() {
  std::vector<std::string> n;
  for (const auto& [k, v] : builtin_palettes()) n.push_back(k);
  return n;
}

Palette parse_palette(std::string_view spec_in) {
  const std::string spec = lower(trim(spec_in));
  auto it = builtin_palettes().find(spec);
  if (it != builtin_palettes().end()) {
    Palette p;
    for (const char* h : it->second) {
      Rgb c;
      parse_hex(h, c);
      p.push_back(c);
    }
    return p;
  }
  std::string names;
  for (const auto& n : palette_names()) names += (names.empty() ? "" : ", ") + n;
  Palette p;
  for (const auto& item : split(spec, ',')) {
    Rgb c;
    if (!parse_hex(item, c))
      throw InputError("--palette " + std::string(spec_in) + ": '" + item +
                       "' is neither a palette name (" + names + ") nor a colour like #1a2b3c");
    p.push_back(c);
  }
  if (p.size() < 2)
    throw InputError("--palette " + std::string(spec_in) + ": give a palette name (" + names +
                     ") or at least two colours, e.g. #101030,#f0c040");
  return p;
}

Palette palette_for_condition(std::string_view label_in) {
  static const std::vector<std::pair<const char*, const char*>> by_genre{
      {"rock", "ember"},   {"punk", "ember"},   {"techno", "neon"},   {"electro", "neon"}, {"house", "neon"},
      {"edm", "neon"},     {"jazz", "dusk"},    {"blues", "dusk"},    {"soul", "dusk"},    {"ambient", "ocean"},
      {"chill", "ocean"},  {"folk", "forest"},  {"country", "forest"}, {"acoustic", "forest"}, {"metal", "ash"},
      {"pop", "candy"},    {"disco", "candy"},  {"hiphop", "gold"},   {"hip-hop", "gold"}, {"rap", "gold"},
      {"funk", "gold"},    {"classical", "ivory"}, {"orchestral", "ivory"}};
  const std::string label = lower(label_in);
  for (const auto& [genre, palette] : by_genre)
    if (label.find(genre) != std::string::npos) return parse_palette(palette);
  // Any other label (a track, an attribute set): a fixed pick by FNV-1a hash.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : label) h = (h ^ c) * 1099511628211ull;
  const auto names = palette_names();
  return parse_palette(names[h % names.size()]);
}

Palette palette_option(std::string_view spec, std::string_view condition) {
  if (spec.empty()) return {};
  if (spec != "auto") return parse_palette(spec);
  if (condition.empty())
    throw InputError("--palette auto: this cover has no music condition; name a palette or give colours");
  return palette_for_condition(condition);
}

std::vector<Filter> parse_filters(std::string_view spec) {
  std::vector<Filter> out;
  if (trim(spec).empty()) return out;
  for (const auto& item : split(spec, ',')) {
    const auto parts = split(item, ':');
    const std::string name = lower(parts[0]);
    Filter f;
    if (name == "duotone") {
      f.kind = FilterKind::duotone;
      f.amount = 1.0;
    } else if (name == "grain") {
      f.kind = FilterKind::grain;
      f.amount = 0.15;
    } else if (name == "vignette") {
      f.kind = FilterKind::vignette;
      f.amount = 0.35;
    } else {
      throw InputError("--filter " + std::string(spec) + ": unknown filter '" + parts[0] +
                       "' (use duotone[:AMOUNT][:#shadow:#highlight], grain[:AMOUNT], vignette[:AMOUNT])");
    }
    std::vector<Rgb> colours;
    for (std::size_t i = 1; i < parts.size(); ++i) {
      Rgb c;
      if (!parts[i].empty() && parts[i][0] == '#' && parse_hex(parts[i], c)) {
        colours.push_back(c);
        continue;
      }
      double v = 0;
      std::size_t used = 0;
      try {
        v = std::stod(parts[i], &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != parts[i].size() || !(v >= 0.0 && v <= 1.0))
        throw InputError("--filter " + std::string(spec) + ": '" + parts[i] +
                         "' is not an amount in [0, 1] or a colour like #1a2b3c");
      f.amount = v;
    }
    if (!colours.empty()) {
      if (f.kind != FilterKind::duotone || colours.size() != 2)
        throw InputError("--filter " + std::string(spec) + ": only duotone takes colours, exactly two (#shadow:#highlight)");
      f.shadow = colours[0];
      f.highlight = colours[1];
    }
    out.push_back(f);
  }
  return out;
}

namespace detail {
namespace {

double luma01(const std::uint8_t* p) { return (0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]) / 255.0; }

std::uint8_t clamp_u8(double v) { return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0l, 255l)); }

// Luminance percentiles over a 256-bin histogram.
std::pair<double, double> luma_range(const Image& im, double lo_q, double hi_q) {
  std::array<std::size_t, 256> hist{};
  const std::size_t n = static_cast<std::size_t>(im.width) * im.height;
  for (std::size_t i = 0; i < n; ++i) ++hist[clamp_u8(luma01(&im.rgb[3 * i]) * 255.0)];
  auto q = [&](double frac) {
    const auto target = static_cast<std::size_t>(frac * static_cast<double>(n));
    std::size_t acc = 0;
    for (int b = 0; b < 256; ++b) {
      acc += hist[static_cast<std::size_t>(b)];
      if (acc > target) return b / 255.0;
    }
    return 1.0;
  };
  return {q(lo_q), q(hi_q)};
}

Palette sorted_by_luminance(Palette p) {
  std::stable_sort(p.begin(), p.end(), [](Rgb a, Rgb b) { return relative_luminance(a) < relative_luminance(b); });
  return p;
}

}  // namespace

void apply_palette(Image& im, const Palette& palette_in, double amount) {
  if (palette_in.size() < 2 || amount <= 0) return;
  const Palette pal = sorted_by_luminance(palette_in);
  auto [lo, hi] = luma_range(im, 0.01, 0.99);
  if (hi - lo < 1e-3) hi = lo + 1e-3;
  // A 256-entry lookup from stretched luminance to the palette gradient.
  std::array<std::array<double, 3>, 256> lut{};
  const double segs = static_cast<double>(pal.size() - 1);
  for (int i = 0; i < 256; ++i) {
    const double t = std::clamp((i / 255.0 - lo) / (hi - lo), 0.0, 1.0) * segs;
    const auto k = std::min(static_cast<std::size_t>(t), pal.size() - 2);
    const double f = t - static_cast<double>(k);
    const Rgb a = pal[k], b = pal[k + 1];
    lut[static_cast<std::size_t>(i)] = {a.r + f * (b.r - a.r), a.g + f * (b.g - a.g), a.b + f * (b.b - a.b)};
  }
  const std::size_t n = static_cast<std::size_t>(im.width) * im.height;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t* p = &im.rgb[3 * i];
    const auto& m = lut[clamp_u8(luma01(p) * 255.0)];
    for (int c = 0; c < 3; ++c) p[c] = clamp_u8(p[c] + amount * (m[static_cast<std::size_t>(c)] - p[c]));
  }
}

void apply_filter(Image& im, const Filter& f, const Palette& palette, std::uint64_t seed) {
  const std::size_t n = static_cast<std::size_t>(im.width) * im.height;
  if (f.amount <= 0) return;
  switch (f.kind) {
    case FilterKind::duotone: {
      Rgb shadow = f.shadow, highlight = f.highlight;
      if (shadow == Rgb{} && highlight == Rgb{}) {
        if (palette.size() >= 2) {
          const Palette s = sorted_by_luminance(palette);
          shadow = s.front();
          highlight = s.back();
        } else {
          shadow = {0x1b, 0x1b, 0x3a};
          highlight = {0xf2, 0xc1, 0x4e};
        }
      }
      apply_palette(im, {shadow, highlight}, f.amount);
      return;
    }
    case FilterKind::vignette: {
      // Darkens towards the corners: gain 1 - amount * r^2.2, r = distance / half-diagonal.
      const double cx = (im.width - 1) / 2.0, cy = (im.height - 1) / 2.0;
      const double inv_r2 = 1.0 / (cx * cx + cy * cy + 1e-9);
      // gain as a function of r^2 = (r^2)^1.1, tabulated finely (no pow per pixel).
      constexpr int kSteps = 4096;
      std::vector<double> table(kSteps + 2);
      for (int i = 0; i <= kSteps + 1; ++i) table[static_cast<std::size_t>(i)] = 1.0 - f.amount * std::pow(double(i) / kSteps, 1.1);
      for (int y = 0; y < im.height; ++y)
        for (int x = 0; x < im.width; ++x) {
          const double r2 = std::min(1.0, ((x - cx) * (x - cx) + (y - cy) * (y - cy)) * inv_r2) * kSteps;
          const auto i = static_cast<std::size_t>(r2);
          const double gain = table[i] + (r2 - static_cast<double>(i)) * (table[i + 1] - table[i]);
          std::uint8_t* p = im.pixel(x, y);
          for (int c = 0; c < 3; ++c) p[c] = clamp_u8(p[c] * gain);
        }
      return;
    }
    case FilterKind::grain: {
      // Monochrome film grain: Gaussian noise at half resolution (clumps a little, as
      // film does), bilinearly enlarged; sigma = amount * 64 levels. Same seed, same grain.
      const int gw = std::max(1, (im.width + 1) / 2), gh = std::max(1, (im.height + 1) / 2);
      cv::Mat noise(gh, gw, CV_32F);
      std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ull);
      std::normal_distribution<float> normal(0.0f, 1.0f);
      for (int y = 0; y < gh; ++y) {
        float* row = noise.ptr<float>(y);
        for (int x = 0; x < gw; ++x) row[x] = normal(rng);
      }
      cv::Mat big;
      cv::resize(noise, big, cv::Size(im.width, im.height), 0, 0, cv::INTER_LINEAR);
      const double sigma = f.amount * 64.0;
      for (int y = 0; y < im.height; ++y) {
        const float* row = big.ptr<float>(y);
        for (int x = 0; x < im.width; ++x) {
          std::uint8_t* p = im.pixel(x, y);
          const double d = sigma * row[x];
          for (int c = 0; c < 3; ++c) p[c] = clamp_u8(p[c] + d);
        }
      }
      (void)n;
      return;
    }
  }
}

Image resize(const Image& im, int width, int height) {
  if (width == im.width && height == im.height) return im;
  cv::Mat src(im.height, im.width, CV_8UC3, const_cast<std::uint8_t*>(im.rgb.data()));
  Image out(width, height);
  cv::Mat dst(height, width, CV_8UC3, out.rgb.data());
  const bool up = width >= im.width && height >= im.height;
  // Upscaling: Lanczos (8x8 taps) in float, clamped, so its overshoot at edges is cut
  // rather than wrapped. Downscaling: area averaging, which does not alias.
  if (up) {
    cv::Mat f, g;
    src.convertTo(f, CV_32FC3);
    cv::resize(f, g, cv::Size(width, height), 0, 0, cv::INTER_LANCZOS4);
    g.convertTo(dst, CV_8UC3);  // saturating
  } else {
    cv::resize(src, dst, cv::Size(width, height), 0, 0, cv::INTER_AREA);
  }
  return out;
}

}  // namespace detail
}  // namespace covergen::finish
