// Cover finishing: the step after generation that turns any RGB image into delivered
// artwork. Recolours it to a palette and applies filters (each deterministic by seed),
// resizes it for print (Lanczos, or a learned upscaler first when one is given), sets the artist and title where the image is calm in
// a colour that reaches a WCAG contrast ratio on the rendered pixels, and writes PNG,
// JPEG, SVG and PDF (raster embedded, text as vector). See docs/finishing.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace covergen::finish {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};

/// "#rrggbb".
std::string to_hex(Rgb c);
/// WCAG 2 relative luminance of an sRGB colour, in [0, 1].
double relative_luminance(Rgb c);
/// WCAG 2 contrast ratio (L1 + 0.05) / (L2 + 0.05), in [1, 21].
double contrast_ratio(Rgb a, Rgb b);

/// An 8-bit RGB image, rows packed (3 * width bytes per row).
struct Image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;

  Image() = default;
  Image(int w, int h);
  /// Copies an RGB (or BGR, with `bgr`) buffer whose rows are `stride` bytes apart.
  static Image from_buffer(const std::uint8_t* data, int width, int height, std::size_t stride, bool bgr = false);
  std::uint8_t* pixel(int x, int y) { return rgb.data() + (static_cast<std::size_t>(y) * width + x) * 3; }
  const std::uint8_t* pixel(int x, int y) const { return rgb.data() + (static_cast<std::size_t>(y) * width + x) * 3; }
};

/// Reads PNG, JPEG, WebP, ... into RGB. Throws InputError("<path>: ...") when it cannot.
Image read_image(const std::filesystem::path& path);

// ---- palettes and filters ------------------------------------------------------

using Palette = std::vector<Rgb>;

/// Names of the built-in palettes.
std::vector<std::string> palette_names();
/// A built-in palette, or "#rrggbb,#rrggbb,..." (at least two colours).
/// Throws InputError naming the spec and the accepted forms.
Palette parse_palette(std::string_view spec);
/// The palette for a music condition, e.g. a genre name ("rock", "ambient"): known
/// genres map to a fitting built-in palette, any other label to a fixed pick by hash.
Palette palette_for_condition(std::string_view label);
/// The `--palette` option: empty (no palette), "auto" (palette_for_condition of
/// `condition`; InputError when there is none) or what parse_palette takes.
Palette palette_option(std::string_view spec, std::string_view condition);

enum class FilterKind { duotone, grain, vignette };
struct Filter {
  FilterKind kind = FilterKind::grain;
  double amount = 0.0;       ///< 0..1
  Rgb shadow{}, highlight{}; ///< duotone only; both black = from the palette or the default pair
};
/// "duotone[:AMOUNT][:#shadow:#highlight],grain[:AMOUNT],vignette[:AMOUNT]".
std::vector<Filter> parse_filters(std::string_view spec);

// ---- finishing -----------------------------------------------------------------

/// Makes art bigger before the print resize: (art, target longer side) -> larger art
/// (covergen::upscale::art_upscaler wraps a learned Upscaler). finish() calls it only
/// when the art must grow at least twofold; Lanczos or area then covers what is left.
using ArtUpscaler = std::function<Image(const Image& art, int target_side)>;

struct FinishOptions {
  std::string artist, title;          ///< either may be empty; both empty = no text
  std::string font = "DejaVu Sans";   ///< fontconfig family; other scripts fall back
  Palette palette;                    ///< empty keeps the image's colours
  double palette_amount = 0.85;       ///< 0 = original colours, 1 = palette only
  std::vector<Filter> filters;        ///< applied in order after the palette
  int size = 3000;                    ///< longer side of the output in px; 0 keeps the input's
  std::uint64_t seed = 0;             ///< grain noise
  int jpeg_quality = 92;              ///< 1..100
  double min_contrast = 4.5;          ///< WCAG AA for text
  ArtUpscaler upscaler;               ///< empty: Lanczos all the way to `size` (the default)
};

/// A rectangle in output pixels.
struct Box {
  int x = 0, y = 0, width = 0, height = 0;
};

/// One laid-out block of text, enough to draw it again on any Cairo surface.
struct TextLine {
  std::string text;
  std::string font;        ///< Pango font description, e.g. "DejaVu Sans Bold"
  double px = 0;           ///< font size in output pixels
  double x = 0, y = 0;     ///< top-left of the Pango layout
  double layout_width = 0; ///< wrap width in px
  int max_lines = 1;       ///< more is ellipsized
  int align = 0;           ///< 0 left, 1 centre, 2 right
  int lines = 0;           ///< lines after wrapping
  bool ellipsized = false;
};

/// What the typography did, in output pixels; measured on the rendered image.
struct Typography {
  bool present = false;
  std::vector<TextLine> blocks;  ///< artist then title (those given)
  std::string placement;         ///< e.g. "bottom-left"
  Box box;                       ///< everything drawn (ink and backing); inside the image
  Rgb colour{};
  double contrast = 0;           ///< WCAG ratio, text pixels vs the pixels around the glyphs
  double calmness = 0;           ///< gradient energy of the chosen area (lower = calmer)
  bool backing = false;          ///< a translucent panel was needed to reach min_contrast
  Rgb backing_colour{};
  double backing_alpha = 0;
  Box backing_box;
  double backing_radius = 0;
  int unknown_glyphs = 0;        ///< characters no installed font could draw (tofu)
  /// JSON of what was drawn (placement, box, colour, contrast, backing, lines...);
  /// "null" when there is no text. What `--json` and `covergen serve` report.
  std::string to_json() const;
};

struct Finished {
  Image background;  ///< recoloured, filtered, resized: the raster SVG and PDF embed
  Image image;       ///< background with the typography: what PNG and JPEG hold
  Typography text;
  int jpeg_quality = 92;
};

/// Finishes one cover. Throws InputError for unusable options (size, font, empty image).
Finished finish(const Image& cover, const FinishOptions& options);

/// The installed font families fontconfig knows (sorted).
std::vector<std::string> font_families();

// ---- output --------------------------------------------------------------------

enum class Format { png, jpeg, svg, pdf };
/// "png,jpg,svg,pdf" (jpeg also accepted). Throws InputError for anything else.
std::vector<Format> parse_formats(std::string_view list);
/// "png", "jpg", "svg", "pdf".
std::string extension(Format f);
/// The file's bytes. SVG is sized in px; PDF at 300 dpi (3000 px = 10 in).
std::string encode(const Finished& cover, Format f);
/// Writes <dir>/<stem>.<ext> for each format, each atomically; returns the paths.
std::vector<std::filesystem::path> write_files(const Finished& cover, const std::filesystem::path& dir,
                                               const std::string& stem, const std::vector<Format>& formats);

}  // namespace covergen::finish
