// Artist/title finishing for `covergen serve` (covergen::finish, as `covergen
// generate --artist/--title/--format` does it): the request fields, and one
// finished cover as the files of each asked format.
#pragma once

#include "covergen/serve/cover_maker.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace covergen::serve {

struct FinishRequest {
  bool active = false;               ///< finish at all (artist, title, size or a format other than png given)
  std::string artist, title;
  std::vector<std::string> formats;  ///< "png", "jpg", "svg", "pdf" (what the answer carries per cover)
  int size = 0;                      ///< longer side of the finished cover in px
  std::function<RgbCover(const RgbCover&)> upscaler;  ///< ServerOptions::upscaler (may be empty)
};

/// Whether this build finishes covers (libs/finish was built), and its formats.
bool finishing_available();
std::vector<std::string> finishing_formats();
constexpr int kDefaultFinishSize = 512;
constexpr int kMaxFinishSize = 3000;
constexpr std::size_t kMaxTextBytes = 200;

/// From the form fields artist, title, format, size. Throws InputError naming the
/// field when one is unusable (or when finishing is asked of a build without it).
FinishRequest parse_finish_request(const std::map<std::string, std::string>& fields);

struct FinishedCover {
  std::vector<std::pair<std::string, std::string>> files;  ///< (format, file bytes), in the asked order
  std::string typography_json;                              ///< where the text went ("null" without text)
};

/// Finishes one generated cover; `seed` drives the grain (as generate: seed + index).
FinishedCover finish_cover(const RgbCover& cover, const FinishRequest& request, std::uint64_t seed);

}  // namespace covergen::serve
