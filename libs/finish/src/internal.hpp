// Pieces shared by the finishing TUs (not installed).
#pragma once

#include "covergen/finish/finish.hpp"

#include <cairo.h>

#include <cstdint>

namespace covergen::finish::detail {

/// Palette gradient map: luminance (stretched to the image's 1st..99th percentile)
/// through the palette sorted dark to light, mixed with the original by `amount`.
void apply_palette(Image& im, const Palette& palette, double amount);
/// Duotone, vignette, grain. Grain uses `seed`; `palette` supplies duotone colours
/// when the filter names none.
void apply_filter(Image& im, const Filter& f, const Palette& palette, std::uint64_t seed);
/// Resize with Lanczos (up) or area averaging (down).
Image resize(const Image& im, int width, int height);

/// Draws the artist and title onto `background` (a copy), choosing place and colour.
Typography set_type(const Image& background, const FinishOptions& o, Image& out);
/// PNG tagged sRGB (sRGB + gAMA + cHRM chunks) and 300 dpi.
std::string encode_png(const Image& im);
/// Baseline JFIF JPEG, 4:4:4, optimised Huffman tables, 300 dpi.
std::string encode_jpeg(const Image& im, int quality);
/// A new Cairo RGB24 surface holding `im` (the caller destroys it).
cairo_surface_t* image_surface(const Image& im);
/// Draws `t` (backing and text) on any Cairo context in output-pixel units.
void draw_typography(void* cairo_context, const Typography& t);

}  // namespace covergen::finish::detail
