// The finishing options shared by `covergen finish` and `covergen generate`
// (artist/title typography, palette, filters, print size, formats). Header-only so
// both commands use the same flags; the work is done by covergen::finish.
#pragma once

#include <covergen/errors.hpp>
#include <covergen/finish/finish.hpp>

#if __has_include(<covergen/upscale/upscale.hpp>)
#include <covergen/plugin_registry.hpp>
#include <covergen/upscale/upscale.hpp>
#include "cli.hpp"
#define COVERGEN_CLI_HAS_UPSCALE 1
#endif

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace covergen::cli {

struct FinishCliOptions {
  std::string artist, title, font = "DejaVu Sans", palette, filter, formats = "png";
  int size = 3000, jpeg_quality = 92;
  double palette_amount = 0.85, min_contrast = 4.5;
  std::uint64_t seed = 0;
  bool any_given = false;  ///< generate finishes only when one of the flags was given
  std::string upscaler;    ///< --upscaler MODEL: learned upscaling before the print resize
  /// The loaded upscaler, made on first use and shared by every cover of the command.
  mutable covergen::finish::ArtUpscaler loaded_upscaler;
};

/// `with_seed`: generate has its own --seed and passes it on.
inline void add_finish_options(CLI::App& cmd, FinishCliOptions& o, bool with_seed) {
  const std::string g = "Finishing";
  auto mark = [&o](const auto&) { o.any_given = true; };
  cmd.add_option("--artist", o.artist, "Artist line (any script Pango shapes)")->group(g)->each(mark);
  cmd.add_option("--title", o.title, "Title; long titles wrap and shrink (generate: {name} stands for each track's file name, genre or attributes)")->group(g)->each(mark);
  cmd.add_option("--font", o.font, "Font family (fontconfig; see fc-list : family)")->group(g)->capture_default_str();
  cmd.add_option("--size", o.size, "Longer side of the finished cover in px (0 keeps the input's)")
      ->group(g)->capture_default_str()->each(mark);
  cmd.add_option("--format", o.formats, "Comma list of png, jpg, svg, pdf")->group(g)->capture_default_str()->each(mark);
  cmd.add_option("--palette", o.palette,
                 "Palette name (" + [] {
                   std::string s;
                   for (const auto& n : covergen::finish::palette_names()) s += (s.empty() ? "" : ", ") + n;
                   return s;
                 }() + "), #rrggbb,#rrggbb,... or auto (generate: from the condition)")
      ->group(g)->each(mark);
  cmd.add_option("--palette-amount", o.palette_amount, "0 keeps the colours, 1 is the palette only")
      ->group(g)->capture_default_str();
  cmd.add_option("--filter", o.filter, "duotone[:AMOUNT][:#shadow:#highlight],grain[:AMOUNT],vignette[:AMOUNT]")
      ->group(g)->each(mark);
  cmd.add_option("--jpeg-quality", o.jpeg_quality, "JPEG quality 1..100")->group(g)->capture_default_str();
  cmd.add_option("--min-contrast", o.min_contrast, "WCAG contrast ratio the text must reach")
      ->group(g)->capture_default_str();
  if (with_seed) cmd.add_option("--seed", o.seed, "Seed for the grain")->group(g)->capture_default_str();
#ifdef COVERGEN_CLI_HAS_UPSCALE
  cmd.add_option("--upscaler", o.upscaler,
                 "Upscaler model (covergen upscaler fit) that enlarges the art before the print resize; "
                 "default: Lanczos only (docs/upscaling.md)")
      ->group(g)->each(mark);
#endif
}

/// `condition`: what the cover was generated for (a genre name...), for --palette auto.
inline covergen::finish::FinishOptions to_finish_options(const FinishCliOptions& c, const std::string& condition) {
  covergen::finish::FinishOptions o;
  o.artist = c.artist;
  o.title = c.title;
  o.font = c.font;
  o.size = c.size;
  o.seed = c.seed;
  o.jpeg_quality = c.jpeg_quality;
  o.palette_amount = c.palette_amount;
  o.min_contrast = c.min_contrast;
  o.palette = covergen::finish::palette_option(c.palette, condition);
  o.filters = covergen::finish::parse_filters(c.filter);
  if (!c.upscaler.empty()) {
#ifdef COVERGEN_CLI_HAS_UPSCALE
    if (!c.loaded_upscaler)
      c.loaded_upscaler = covergen::upscale::art_upscaler(covergen::upscale::load(c.upscaler, make_registry()));
    o.upscaler = c.loaded_upscaler;
#else
    throw covergen::InputError("--upscaler: this covergen was built without libs/upscale");
#endif
  }
  return o;
}

/// Fails early (before any generation) on unusable finishing flags.
inline void check_finish_options(const FinishCliOptions& c) {
  (void)to_finish_options(c, "genre");
  (void)covergen::finish::parse_formats(c.formats);
}

/// Finishes one generated cover into <dir>/<stem>.<ext>; `condition` picks the
/// palette for --palette auto, `seed` the grain.
inline nlohmann::json finish_cover(const FinishCliOptions& c, const covergen::finish::Image& cover,
                                   const std::filesystem::path& dir, const std::string& stem,
                                   const std::string& condition, std::uint64_t seed) {
  auto options = to_finish_options(c, condition);
  options.seed = seed;
  const auto finished = covergen::finish::finish(cover, options);
  nlohmann::json j{{"typography", nlohmann::json::parse(finished.text.to_json())}, {"files", nlohmann::json::array()}};
  for (const auto& p : covergen::finish::write_files(finished, dir, stem, covergen::finish::parse_formats(c.formats)))
    j["files"].push_back(p.string());
  return j;
}

}  // namespace covergen::cli
