// The finishing pipeline and its writers: resize -> palette -> filters -> typography,
// then PNG / JPEG (OpenCV) and SVG / PDF (Cairo vector surfaces, raster embedded).
#include "internal.hpp"

#include "covergen/atomic_file.hpp"
#include "covergen/errors.hpp"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>

#include <glib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <memory>

namespace covergen::finish {

namespace {

constexpr double kPdfDpi = 300.0;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void check_font(const std::string& family) {
  static const char* generic[] = {"sans", "sans-serif", "serif", "monospace", "mono", "system-ui", "cursive", "fantasy"};
  const std::string want = lower(family);
  for (const char* g : generic)
    if (want == g) return;
  const auto families = font_families();
  for (const auto& f : families)
    if (lower(f) == want) return;
  std::string some;
  for (std::size_t i = 0; i < families.size() && i < 12; ++i) some += (i ? ", " : "") + families[i];
  throw InputError("--font " + family + ": no installed font family has that name; installed: " + some +
                   (families.size() > 12 ? ", ... (see fc-list : family)" : ""));
}

std::string encode_raster(const Image& im, bool jpeg, int quality) {
  return jpeg ? detail::encode_jpeg(im, quality) : detail::encode_png(im);
}

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

std::string encode_vector(const Finished& f, Format fmt) {
  const int W = f.background.width, H = f.background.height;
  std::string out;
  cairo_surface_t* target = nullptr;
  double scale = 1.0;
  if (fmt == Format::svg) {
    target = cairo_svg_surface_create_for_stream(append_to_string, &out, W, H);
    cairo_svg_surface_set_document_unit(target, CAIRO_SVG_UNIT_PX);
  } else {
    scale = 72.0 / kPdfDpi;  // PDF user space is in points
    target = cairo_pdf_surface_create_for_stream(append_to_string, &out, W * scale, H * scale);
    if (f.text.present) {
      std::string title;
      for (const auto& b : f.text.blocks) title += (title.empty() ? "" : " - ") + b.text;
      cairo_pdf_surface_set_metadata(target, CAIRO_PDF_METADATA_TITLE, title.c_str());
    }
    cairo_pdf_surface_set_metadata(target, CAIRO_PDF_METADATA_CREATOR, "CoverGen covergen::finish");
  }
  // The raster travels as the JPEG bytes (quality 95, 4:4:4) instead of Cairo's
  // lossless re-encoding: a 3000 px cover stays a few MB in SVG and PDF.
  cairo_surface_t* raster = detail::image_surface(f.background);
  auto* jpeg = new std::string(encode_raster(f.background, true, 95));
  cairo_surface_set_mime_data(raster, CAIRO_MIME_TYPE_JPEG, reinterpret_cast<const unsigned char*>(jpeg->data()),
                              jpeg->size(), [](void* p) { delete static_cast<std::string*>(p); }, jpeg);
  cairo_t* cr = cairo_create(target);
  cairo_scale(cr, scale, scale);
  cairo_set_source_surface(cr, raster, 0, 0);
  cairo_paint(cr);
  detail::draw_typography(cr, f.text);
  const cairo_status_t draw_status = cairo_status(cr);
  cairo_destroy(cr);
  cairo_surface_destroy(raster);
  cairo_surface_finish(target);
  const cairo_status_t status = draw_status != CAIRO_STATUS_SUCCESS ? draw_status : cairo_surface_status(target);
  cairo_surface_destroy(target);
  if (status != CAIRO_STATUS_SUCCESS)
    throw Error(std::string("finish: Cairo could not write the ") + (fmt == Format::svg ? "SVG" : "PDF") + ": " +
                cairo_status_to_string(status));
  return out;
}

}  // namespace

Finished finish(const Image& cover, const FinishOptions& o) {
  if (cover.width <= 0 || cover.height <= 0 ||
      cover.rgb.size() != static_cast<std::size_t>(cover.width) * cover.height * 3)
    throw InputError("finish: the image is empty or its buffer does not hold width * height * 3 bytes");
  if (o.size != 0 && (o.size < 64 || o.size > 12000))
    throw InputError("--size " + std::to_string(o.size) + ": give an output side between 64 and 12000 px (or 0 to keep)");
  if (o.jpeg_quality < 1 || o.jpeg_quality > 100)
    throw InputError("--jpeg-quality " + std::to_string(o.jpeg_quality) + ": give a quality between 1 and 100");
  if (!(o.palette_amount >= 0.0 && o.palette_amount <= 1.0))
    throw InputError("--palette-amount: give a value between 0 and 1");
  if (!(o.min_contrast >= 1.0 && o.min_contrast <= 21.0))
    throw InputError("--min-contrast: a WCAG contrast ratio lies between 1 and 21");
  for (const auto& f : o.filters)
    if (!(f.amount >= 0.0 && f.amount <= 1.0)) throw InputError("--filter: amounts lie between 0 and 1");
  if (!o.artist.empty() || !o.title.empty()) check_font(o.font);
  for (const std::string* s : {&o.artist, &o.title})
    if (!g_utf8_validate(s->c_str(), static_cast<gssize>(s->size()), nullptr))
      throw InputError("--artist/--title: the text is not valid UTF-8");

  int W = cover.width, H = cover.height;
  if (o.size > 0) {
    const double k = static_cast<double>(o.size) / std::max(W, H);
    W = std::max(1, static_cast<int>(std::lround(W * k)));
    H = std::max(1, static_cast<int>(std::lround(H * k)));
  }
  Finished f;
  f.jpeg_quality = o.jpeg_quality;
  // Art to print size, the one place it happens: a learned upscaler first when given
  // and the art must at least double, then Lanczos (up) or area (down) to W x H.
  if (o.upscaler && std::max(W, H) >= 2 * std::max(cover.width, cover.height)) {
    const Image larger = o.upscaler(cover, std::max(W, H));
    if (larger.width <= 0 || larger.height <= 0 || larger.rgb.size() != 3u * larger.width * larger.height)
      throw Error("the upscaler returned an empty or malformed image");
    f.background = detail::resize(larger, W, H);
  } else {
    f.background = detail::resize(cover, W, H);
  }
  detail::apply_palette(f.background, o.palette, o.palette_amount);
  for (const auto& filter : o.filters) detail::apply_filter(f.background, filter, o.palette, o.seed);
  f.text = detail::set_type(f.background, o, f.image);
  return f;
}

std::vector<Format> parse_formats(std::string_view list) {
  std::vector<Format> out;
  std::string item;
  auto flush = [&] {
    const std::string s = lower(item);
    item.clear();
    if (s.empty()) return;
    Format f;
    if (s == "png") f = Format::png;
    else if (s == "jpg" || s == "jpeg") f = Format::jpeg;
    else if (s == "svg") f = Format::svg;
    else if (s == "pdf") f = Format::pdf;
    else throw InputError("--format " + std::string(list) + ": unknown format '" + s + "' (use png, jpg, svg, pdf)");
    if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  };
  for (char c : list) {
    if (c == ',') flush();
    else if (!std::isspace(static_cast<unsigned char>(c))) item += c;
  }
  flush();
  if (out.empty()) throw InputError("--format: name at least one of png, jpg, svg, pdf");
  return out;
}

std::string extension(Format f) {
  switch (f) {
    case Format::png: return "png";
    case Format::jpeg: return "jpg";
    case Format::svg: return "svg";
    case Format::pdf: return "pdf";
  }
  return "bin";
}

std::string encode(const Finished& cover, Format f) {
  switch (f) {
    case Format::png: return encode_raster(cover.image, false, 0);
    case Format::jpeg: return encode_raster(cover.image, true, cover.jpeg_quality);
    case Format::svg:
    case Format::pdf: return encode_vector(cover, f);
  }
  throw Error("finish: unknown output format");
}

std::vector<std::filesystem::path> write_files(const Finished& cover, const std::filesystem::path& dir,
                                               const std::string& stem, const std::vector<Format>& formats) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create the output folder: " + ec.message());
  std::vector<std::filesystem::path> written;
  for (Format f : formats) {
    const auto path = dir / (stem + "." + extension(f));
    write_file_atomic(path, encode(cover, f));
    written.push_back(path);
  }
  return written;
}

std::string Typography::to_json() const {
  if (!present) return "null";
  using nlohmann::json;
  json j{{"placement", placement},
         {"box", {box.x, box.y, box.width, box.height}},
         {"colour", to_hex(colour)},
         {"contrast", contrast},
         {"calmness", calmness},
         {"backing", backing ? json{{"colour", to_hex(backing_colour)}, {"alpha", backing_alpha}} : json(nullptr)},
         {"unknown_glyphs", unknown_glyphs}};
  for (const auto& b : blocks)
    j["lines"].push_back({{"text", b.text}, {"font", b.font}, {"px", b.px}, {"lines", b.lines}, {"ellipsized", b.ellipsized}});
  return j.dump();
}

}  // namespace covergen::finish
