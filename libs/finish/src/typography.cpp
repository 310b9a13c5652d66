// Artist and title typography with Pango (shaping, bidi, fallback through fontconfig)
// on Cairo. Layout is planned at the output resolution; the same plan is drawn on the
// raster and on the SVG/PDF surfaces, with metric hinting off so all agree.
#include "internal.hpp"

#include "covergen/errors.hpp"

#include <cairo.h>
#include <pango/pangocairo.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>

namespace covergen::finish {

std::vector<std::string> font_families() {
  PangoFontMap* map = pango_cairo_font_map_get_default();  // owned by pango
  PangoFontFamily** families = nullptr;
  int n = 0;
  pango_font_map_list_families(map, &families, &n);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.emplace_back(pango_font_family_get_name(families[i]));
  g_free(families);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace detail {
namespace {

struct CairoDeleter {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
using SurfacePtr = std::unique_ptr<cairo_surface_t, CairoDeleter>;
using ContextPtr = std::unique_ptr<cairo_t, CairoDeleter>;
struct GObjectDeleter {
  void operator()(void* p) const { g_object_unref(p); }
};
using LayoutPtr = std::unique_ptr<PangoLayout, GObjectDeleter>;

// Same glyph outlines and advances on every surface: no hinting, greyscale AA.
LayoutPtr make_layout(cairo_t* cr, const TextLine& l) {
  LayoutPtr layout(pango_cairo_create_layout(cr));
  cairo_font_options_t* fo = cairo_font_options_create();
  cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
  pango_cairo_context_set_font_options(pango_layout_get_context(layout.get()), fo);
  cairo_font_options_destroy(fo);
  pango_layout_context_changed(layout.get());

  PangoFontDescription* desc = pango_font_description_from_string(l.font.c_str());
  pango_font_description_set_absolute_size(desc, l.px * PANGO_SCALE);
  pango_layout_set_font_description(layout.get(), desc);
  pango_font_description_free(desc);
  pango_layout_set_width(layout.get(), static_cast<int>(l.layout_width * PANGO_SCALE));
  pango_layout_set_wrap(layout.get(), PANGO_WRAP_WORD_CHAR);
  pango_layout_set_alignment(layout.get(), l.align == 0   ? PANGO_ALIGN_LEFT
                                           : l.align == 1 ? PANGO_ALIGN_CENTER
                                                          : PANGO_ALIGN_RIGHT);
  if (l.max_lines > 0) {
    pango_layout_set_height(layout.get(), -l.max_lines);
    pango_layout_set_ellipsize(layout.get(), PANGO_ELLIPSIZE_END);
  }
  pango_layout_set_text(layout.get(), l.text.c_str(), -1);
  return layout;
}

struct Extents {
  PangoRectangle ink, logical;
  int lines;
  bool ellipsized;
  int unknown;
};

Extents measure(cairo_t* cr, const TextLine& l) {
  auto layout = make_layout(cr, l);
  Extents e{};
  pango_layout_get_pixel_extents(layout.get(), &e.ink, &e.logical);
  e.lines = pango_layout_get_line_count(layout.get());
  e.ellipsized = pango_layout_is_ellipsized(layout.get());
  e.unknown = pango_layout_get_unknown_glyphs_count(layout.get());
  return e;
}

struct Rect {
  double x0, y0, x1, y1;
  void unite(const Rect& o) {
    x0 = std::min(x0, o.x0);
    y0 = std::min(y0, o.y0);
    x1 = std::max(x1, o.x1);
    y1 = std::max(y1, o.y1);
  }
};

std::array<double, 256> linear_lut() {
  std::array<double, 256> lut{};
  for (int i = 0; i < 256; ++i) {
    const double s = i / 255.0;
    lut[static_cast<std::size_t>(i)] = s <= 0.04045 ? s / 12.92 : std::pow((s + 0.055) / 1.055, 2.4);
  }
  return lut;
}

double pixel_luminance(const std::uint8_t* p) {
  static const auto lut = linear_lut();
  return 0.2126 * lut[p[0]] + 0.7152 * lut[p[1]] + 0.0722 * lut[p[2]];
}

double ratio(double a, double b) { return (std::max(a, b) + 0.05) / (std::min(a, b) + 0.05); }

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  const auto k = static_cast<std::size_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

Rgb mix(Rgb a, Rgb b, double t) {
  auto m = [t](std::uint8_t x, std::uint8_t y) {
    return static_cast<std::uint8_t>(std::lround(x + t * (static_cast<double>(y) - x)));
  };
  return {m(a.r, b.r), m(a.g, b.g), m(a.b, b.b)};
}

// Image <-> Cairo RGB24 (native-endian 0x00RRGGBB words).
}  // namespace

cairo_surface_t* image_surface(const Image& im) {
  SurfacePtr s(cairo_image_surface_create(CAIRO_FORMAT_RGB24, im.width, im.height));
  if (cairo_surface_status(s.get()) != CAIRO_STATUS_SUCCESS)
    throw Error("finish: cannot allocate a " + std::to_string(im.width) + "x" + std::to_string(im.height) +
                " drawing surface (out of memory?)");
  cairo_surface_flush(s.get());
  unsigned char* data = cairo_image_surface_get_data(s.get());
  const int stride = cairo_image_surface_get_stride(s.get());
  for (int y = 0; y < im.height; ++y) {
    auto* row = reinterpret_cast<std::uint32_t*>(data + static_cast<std::ptrdiff_t>(y) * stride);
    const std::uint8_t* p = im.pixel(0, y);
    for (int x = 0; x < im.width; ++x, p += 3)
      row[x] = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
  }
  cairo_surface_mark_dirty(s.get());
  return s.release();
}

namespace {
SurfacePtr to_surface(const Image& im) { return SurfacePtr(image_surface(im)); }

void from_surface(cairo_surface_t* s, Image& im) {
  cairo_surface_flush(s);
  const unsigned char* data = cairo_image_surface_get_data(s);
  const int stride = cairo_image_surface_get_stride(s);
  for (int y = 0; y < im.height; ++y) {
    const auto* row = reinterpret_cast<const std::uint32_t*>(data + static_cast<std::ptrdiff_t>(y) * stride);
    std::uint8_t* p = im.pixel(0, y);
    for (int x = 0; x < im.width; ++x, p += 3) {
      p[0] = static_cast<std::uint8_t>(row[x] >> 16);
      p[1] = static_cast<std::uint8_t>(row[x] >> 8);
      p[2] = static_cast<std::uint8_t>(row[x]);
    }
  }
}

// Glyph coverage of the text alone (no backing) over `box`, 0..255.
cv::Mat glyph_mask(const Typography& t, const Box& box) {
  SurfacePtr s(cairo_image_surface_create(CAIRO_FORMAT_A8, box.width, box.height));
  {
    ContextPtr cr(cairo_create(s.get()));
    cairo_translate(cr.get(), -box.x, -box.y);
    Typography text_only = t;
    text_only.backing = false;
    text_only.backing_alpha = 0;
    draw_typography(cr.get(), text_only);
  }
  cairo_surface_flush(s.get());
  cv::Mat view(box.height, box.width, CV_8U, cairo_image_surface_get_data(s.get()),
               static_cast<std::size_t>(cairo_image_surface_get_stride(s.get())));
  return view.clone();
}

struct Surround {
  cv::Mat text;  ///< fully covered glyph pixels
  cv::Mat ring;  ///< pixels just around the glyphs (what the eye compares the text with)
};

Surround surround(const cv::Mat& mask, int radius) {
  Surround s;
  double max_cov = 0;
  cv::minMaxLoc(mask, nullptr, &max_cov);
  s.text = mask >= std::min(230.0, std::max(1.0, 0.9 * max_cov));
  cv::Mat any = mask > 0, grown;
  cv::dilate(any, grown, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * radius + 1, 2 * radius + 1)));
  s.ring = grown & ~any;
  return s;
}

std::vector<double> luminances(const Image& im, const Box& box, const cv::Mat& where) {
  std::vector<double> v;
  for (int y = 0; y < box.height; ++y) {
    const std::uint8_t* m = where.ptr<std::uint8_t>(y);
    for (int x = 0; x < box.width; ++x)
      if (m[x]) v.push_back(pixel_luminance(im.pixel(box.x + x, box.y + y)));
  }
  return v;
}

// Worst-case contrast of luminance `lt` against the bulk (5th..95th percentile) of `bg`.
double contrast_against(double lt, const std::vector<double>& bg) {
  if (bg.empty()) return 21.0;
  return std::min(ratio(lt, quantile(bg, 0.05)), ratio(lt, quantile(bg, 0.95)));
}

}  // namespace

void draw_typography(void* context, const Typography& t) {
  auto* cr = static_cast<cairo_t*>(context);
  if (!t.present) return;
  if (t.backing && t.backing_alpha > 0) {
    const Box& b = t.backing_box;
    const double r = std::min(t.backing_radius, std::min(b.width, b.height) / 2.0);
    cairo_new_sub_path(cr);
    cairo_arc(cr, b.x + b.width - r, b.y + r, r, -M_PI / 2, 0);
    cairo_arc(cr, b.x + b.width - r, b.y + b.height - r, r, 0, M_PI / 2);
    cairo_arc(cr, b.x + r, b.y + b.height - r, r, M_PI / 2, M_PI);
    cairo_arc(cr, b.x + r, b.y + r, r, M_PI, 1.5 * M_PI);
    cairo_close_path(cr);
    const Rgb c = t.backing_colour;
    cairo_set_source_rgba(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0, t.backing_alpha);
    cairo_fill(cr);
  }
  cairo_set_source_rgb(cr, t.colour.r / 255.0, t.colour.g / 255.0, t.colour.b / 255.0);
  for (const auto& line : t.blocks) {
    auto layout = make_layout(cr, line);
    cairo_move_to(cr, line.x, line.y);
    pango_cairo_show_layout(cr, layout.get());
  }
}

Typography set_type(const Image& bg, const FinishOptions& o, Image& out) {
  out = bg;
  Typography t;
  if (o.artist.empty() && o.title.empty()) return t;
  t.present = true;
  const int W = bg.width, H = bg.height;
  const double S = std::min(W, H);
  const double margin = std::round(0.06 * S);
  const double wrap_width = W - 2 * margin;

  SurfacePtr scratch(cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1));
  ContextPtr mcr(cairo_create(scratch.get()));

  // Title: bold, up to 3 lines at a size between 8.5% and 3.5% of the short side;
  // longer titles get a 4th line and are ellipsized after it.
  TextLine title{o.title, o.font + " Bold", 0.085 * S, 0, 0, wrap_width, 0, 0, 0, false};
  Extents te{};
  if (!o.title.empty()) {
    for (;;) {
      te = measure(mcr.get(), title);
      if ((te.lines <= 3 && te.logical.height <= 0.32 * H) || title.px <= 0.035 * S) break;
      title.px = std::max(0.035 * S, title.px * 0.92);
    }
    title.max_lines = 4;
    te = measure(mcr.get(), title);
    // Balanced lines: the narrowest wrap width that keeps the line count, so a
    // two-line title does not end in one orphaned word.
    if (te.lines >= 2 && !te.ellipsized) {
      double lo = 0.4 * wrap_width, hi = wrap_width;
      for (int i = 0; i < 8; ++i) {
        TextLine trial = title;
        trial.layout_width = (lo + hi) / 2;
        const Extents e = measure(mcr.get(), trial);
        if (e.lines == te.lines && !e.ellipsized) hi = trial.layout_width;
        else lo = trial.layout_width;
      }
      // A little slack: the SVG/PDF surfaces measure with unhinted outlines at another
      // scale, and a width cut to the last pixel could break a line differently there.
      title.layout_width = std::min(wrap_width, std::ceil(hi + 0.1 * title.px));
      te = measure(mcr.get(), title);
    }
  }
  const double title_px = o.title.empty() ? 0.07 * S : title.px;
  TextLine artist{o.artist, o.font, std::clamp(0.5 * title_px, 0.03 * S, 0.048 * S), 0, 0, wrap_width, 1, 0, 0, false};
  Extents ae{};
  if (!o.artist.empty()) ae = measure(mcr.get(), artist);
  const double gap = o.artist.empty() || o.title.empty() ? 0.0 : std::round(0.3 * artist.px);
  const double block_h = (o.artist.empty() ? 0 : ae.logical.height) + gap + (o.title.empty() ? 0 : te.logical.height);
  const double ring_px = std::max(5.0, std::round(0.2 * artist.px));
  const double pad = std::max(ring_px + 2, std::round(0.45 * artist.px));

  // Calmness map: gradient magnitude of luminance on a <= 384 px copy.
  const double k = std::min(1.0, 384.0 / std::max(W, H));
  cv::Mat luma(H, W, CV_32F);
  {
    cv::Mat rgb(H, W, CV_8UC3, const_cast<std::uint8_t*>(bg.rgb.data())), grey;
    cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
    grey.convertTo(luma, CV_32F, 1.0 / 255);
  }
  cv::Mat small, gx, gy, mag;
  cv::resize(luma, small, cv::Size(std::max(1, static_cast<int>(W * k)), std::max(1, static_cast<int>(H * k))), 0, 0,
             cv::INTER_AREA);
  cv::Sobel(small, gx, CV_32F, 1, 0, 3);
  cv::Sobel(small, gy, CV_32F, 0, 1, 3);
  cv::magnitude(gx, gy, mag);

  struct Candidate {
    std::string name;
    std::vector<TextLine> lines;
    Rect ink;
    double score;
  };
  std::vector<Candidate> candidates;
  const char* vnames[] = {"bottom", "top", "middle"};
  const char* hnames[] = {"left", "centre", "right"};
  for (int v = 0; v < 3; ++v) {
    for (int h = 0; h < 3; ++h) {
      double y = v == 0 ? H - margin - block_h : v == 1 ? margin : (H - block_h) / 2;
      Candidate c{std::string(vnames[v]) + "-" + hnames[h], {}, {1e9, 1e9, -1e9, -1e9}, 0};
      auto place = [&](TextLine l, const Extents& e) {
        // Pango mirrors the alignment of right-to-left paragraphs; place the
        // (possibly narrower) layout box on the side the text will go to.
        const bool rtl = pango_find_base_dir(l.text.c_str(), -1) == PANGO_DIRECTION_RTL;
        const int side = rtl ? 2 - h : h;
        l.x = margin + (wrap_width - l.layout_width) * side / 2.0;
        l.y = y;
        l.align = h;
        const Extents pe = measure(mcr.get(), l);
        c.ink.unite({l.x + pe.ink.x, l.y + pe.ink.y, l.x + pe.ink.x + pe.ink.width, l.y + pe.ink.y + pe.ink.height});
        y += e.logical.height + gap;
        c.lines.push_back(l);
      };
      if (!o.artist.empty()) place(artist, ae);
      if (!o.title.empty()) place(title, te);
      // Keep the padded ink inside the image (ink can overhang the logical box).
      double dx = 0, dy = 0;
      if (c.ink.x0 - pad < 0) dx = pad - c.ink.x0;
      if (c.ink.x1 + pad > W) dx = W - pad - c.ink.x1;
      if (c.ink.y0 - pad < 0) dy = pad - c.ink.y0;
      if (c.ink.y1 + pad > H) dy = H - pad - c.ink.y1;
      for (auto& l : c.lines) {
        l.x += dx;
        l.y += dy;
      }
      c.ink = {c.ink.x0 + dx, c.ink.y0 + dy, c.ink.x1 + dx, c.ink.y1 + dy};
      const int x0 = std::clamp(static_cast<int>((c.ink.x0 - pad) * k), 0, small.cols - 1);
      const int y0 = std::clamp(static_cast<int>((c.ink.y0 - pad) * k), 0, small.rows - 1);
      const int x1 = std::clamp(static_cast<int>(std::ceil((c.ink.x1 + pad) * k)), x0 + 1, small.cols);
      const int y1 = std::clamp(static_cast<int>(std::ceil((c.ink.y1 + pad) * k)), y0 + 1, small.rows);
      const cv::Rect roi(x0, y0, x1 - x0, y1 - y0);
      cv::Scalar mean_l, std_l;
      cv::meanStdDev(small(roi), mean_l, std_l);
      // Low gradient energy and low spread of tones = calm. Text in the middle covers
      // the subject, so it must be clearly calmer to win.
      c.score = cv::mean(mag(roi))[0] + 0.5 * std_l[0];
      if (v == 2) c.score = c.score * 1.15 + 0.01;
      candidates.push_back(std::move(c));
    }
  }
  const auto best = std::min_element(candidates.begin(), candidates.end(),
                                     [](const Candidate& a, const Candidate& b) { return a.score < b.score; });
  t.blocks = best->lines;
  {
    // Name the place by where the text went: Pango mirrors right-to-left paragraphs.
    const std::string& main_text = o.title.empty() ? o.artist : o.title;
    const bool rtl = pango_find_base_dir(main_text.c_str(), -1) == PANGO_DIRECTION_RTL;
    const std::string v = best->name.substr(0, best->name.find('-')), h = best->name.substr(best->name.find('-') + 1);
    t.placement = v + "-" + (rtl && h != "centre" ? (h == "left" ? "right" : "left") : h);
  }
  t.calmness = best->score;
  for (const auto& l : t.blocks) {
    const Extents e = measure(mcr.get(), l);
    t.unknown_glyphs += e.unknown;
  }
  for (auto& l : t.blocks) {
    const Extents e = measure(mcr.get(), l);
    l.lines = e.lines;
    l.ellipsized = e.ellipsized;
  }

  // The region that may change: padded ink, inside the image.
  Box region;
  region.x = std::max(0, static_cast<int>(std::floor(best->ink.x0 - pad)));
  region.y = std::max(0, static_cast<int>(std::floor(best->ink.y0 - pad)));
  region.width = std::min(W, static_cast<int>(std::ceil(best->ink.x1 + pad))) - region.x;
  region.height = std::min(H, static_cast<int>(std::ceil(best->ink.y1 + pad))) - region.y;
  if (region.width <= 0 || region.height <= 0) {  // nothing visible (e.g. only spaces)
    t.present = false;
    return t;
  }

  const cv::Mat mask = glyph_mask(t, region);
  const Surround sr = surround(mask, static_cast<int>(ring_px));
  const std::vector<double> under = luminances(bg, region, sr.ring);  // before any text

  // Mean colour around the glyphs, for tinted candidates that sit with the image.
  double mr = 0, mg = 0, mb = 0, cnt = 0;
  for (int y = 0; y < region.height; ++y)
    for (int x = 0; x < region.width; ++x)
      if (sr.ring.at<std::uint8_t>(y, x)) {
        const std::uint8_t* p = bg.pixel(region.x + x, region.y + y);
        mr += p[0];
        mg += p[1];
        mb += p[2];
        ++cnt;
      }
  const Rgb mean_c = cnt > 0 ? Rgb{static_cast<std::uint8_t>(mr / cnt), static_cast<std::uint8_t>(mg / cnt),
                                   static_cast<std::uint8_t>(mb / cnt)}
                             : Rgb{128, 128, 128};
  const Rgb white{255, 255, 255}, black{0, 0, 0};
  const Rgb tints[] = {mix(mean_c, white, 0.9), mix(mean_c, black, 0.85)};
  const Rgb plain[] = {white, black};
  auto pick = [&](const Rgb* set, std::size_t n) {
    Rgb b = set[0];
    double bc = -1;
    for (std::size_t i = 0; i < n; ++i) {
      const double c = contrast_against(relative_luminance(set[i]), under);
      if (c > bc) {
        bc = c;
        b = set[i];
      }
    }
    return std::make_pair(b, bc);
  };
  // Aim 10% above the target, so the result holds for any reasonable choice of the
  // pixels "around" the glyphs, not only for the ring measured here.
  const double aim = o.min_contrast * 1.1;
  auto [colour, predicted] = pick(tints, 2);
  if (predicted < aim) std::tie(colour, predicted) = pick(plain, 2);
  t.colour = colour;
  const bool light_text = relative_luminance(colour) > 0.18;
  t.backing_colour = light_text ? mix(mean_c, black, 0.92) : mix(mean_c, white, 0.94);
  t.backing_box = {static_cast<int>(std::floor(best->ink.x0 - pad)), static_cast<int>(std::floor(best->ink.y0 - pad)),
                   static_cast<int>(std::ceil(best->ink.x1 - best->ink.x0 + 2 * pad)),
                   static_cast<int>(std::ceil(best->ink.y1 - best->ink.y0 + 2 * pad))};
  t.backing_box.x = std::max(0, t.backing_box.x);
  t.backing_box.y = std::max(0, t.backing_box.y);
  t.backing_box.width = std::min(W - t.backing_box.x, t.backing_box.width);
  t.backing_box.height = std::min(H - t.backing_box.y, t.backing_box.height);
  t.backing_radius = pad;

  // Render, then measure on the rendered pixels; if the plain colour does not reach
  // the target, add a translucent panel, more opaque each step, until it does.
  Image crop(region.width, region.height);
  for (int y = 0; y < region.height; ++y)
    std::copy_n(bg.pixel(region.x, region.y + y), static_cast<std::size_t>(region.width) * 3, crop.pixel(0, y));
  const Box local{0, 0, region.width, region.height};
  const double alphas[] = {0.0, 0.35, 0.5, 0.65, 0.8, 0.92, 1.0};
  Image trial = crop;
  for (double alpha : alphas) {
    t.backing = alpha > 0;
    t.backing_alpha = alpha;
    SurfacePtr s = to_surface(crop);
    {
      ContextPtr cr(cairo_create(s.get()));
      cairo_translate(cr.get(), -region.x, -region.y);
      draw_typography(cr.get(), t);
    }
    from_surface(s.get(), trial);
    const double lt = quantile(luminances(trial, local, sr.text), 0.5);
    t.contrast = contrast_against(lt, luminances(trial, local, sr.ring));
    if (t.contrast >= aim) break;
  }
  for (int y = 0; y < region.height; ++y)
    std::copy_n(trial.pixel(0, y), static_cast<std::size_t>(region.width) * 3, out.pixel(region.x, region.y + y));
  (void)predicted;

  t.box = t.backing ? t.backing_box : region;
  if (!t.backing) {
    // Tight box around what the text changed.
    cv::Mat any = mask > 0;
    const cv::Rect r = cv::boundingRect(any);
    t.box = {region.x + r.x, region.y + r.y, r.width, r.height};
  }
  return t;
}

}  // namespace detail
}  // namespace covergen::finish
