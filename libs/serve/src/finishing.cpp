#include "finishing.hpp"

#include <covergen/errors.hpp>

#include <nlohmann/json.hpp>

#ifdef COVERGEN_SERVE_FINISH
#include <covergen/finish/finish.hpp>
#endif

#include <algorithm>

using nlohmann::json;

namespace covergen::serve {

bool finishing_available() {
#ifdef COVERGEN_SERVE_FINISH
  return true;
#else
  return false;
#endif
}

std::vector<std::string> finishing_formats() {
  if (!finishing_available()) return {"png"};
  return {"png", "jpg", "svg", "pdf"};
}

FinishRequest parse_finish_request(const std::map<std::string, std::string>& fields) {
  FinishRequest r;
  auto get = [&](const char* k) {
    auto it = fields.find(k);
    return it == fields.end() ? std::string() : it->second;
  };
  r.artist = get("artist");
  r.title = get("title");
  for (const char* name : {"artist", "title"})
    if (get(name).size() > kMaxTextBytes)
      throw InputError("field '" + std::string(name) + "' is longer than " + std::to_string(kMaxTextBytes) + " bytes");
  const std::string formats = get("format").empty() ? "png" : get("format");
  for (std::size_t pos = 0; pos <= formats.size();) {
    const auto comma = std::min(formats.find(',', pos), formats.size());
    std::string f = formats.substr(pos, comma - pos);
    if (f == "jpeg") f = "jpg";
    const auto known = finishing_formats();
    if (std::find(known.begin(), known.end(), f) == known.end())
      throw InputError("field 'format': '" + f + "' is not one of " + json(known).dump() +
                       (finishing_available() ? "" : " (this build has no finishing)"));
    if (std::find(r.formats.begin(), r.formats.end(), f) == r.formats.end()) r.formats.push_back(f);
    pos = comma + 1;
  }
  r.size = kDefaultFinishSize;
  const std::string size = get("size");
  if (!size.empty()) {
    std::size_t used = 0;
    long v = -1;
    try {
      v = std::stol(size, &used);
    } catch (const std::exception&) {
    }
    if (used != size.size() || v < 64 || v > kMaxFinishSize)
      throw InputError("field 'size': '" + size + "' is not a whole number of px in [64, " +
                       std::to_string(kMaxFinishSize) + "]");
    r.size = static_cast<int>(v);
  }
  r.active = !r.artist.empty() || !r.title.empty() || !size.empty() || r.formats != std::vector<std::string>{"png"};
  if (r.active && !finishing_available())
    throw InputError("this covergen was built without finishing (libs/finish): leave out artist, title, size and format");
  return r;
}

FinishedCover finish_cover(const RgbCover& cover, const FinishRequest& request, std::uint64_t seed) {
#ifdef COVERGEN_SERVE_FINISH
  namespace cf = covergen::finish;
  cf::FinishOptions o;
  o.artist = request.artist;
  o.title = request.title;
  o.size = request.size;
  o.seed = seed;
  if (request.upscaler)
    o.upscaler = [&up = request.upscaler](const cf::Image& art, int) {
      RgbCover in{art.width, art.height, art.rgb};
      const RgbCover out = up(in);
      return cf::Image::from_buffer(out.rgb.data(), out.width, out.height, static_cast<std::size_t>(out.width) * 3);
    };
  const auto image = cf::Image::from_buffer(cover.rgb.data(), cover.width, cover.height,
                                            static_cast<std::size_t>(cover.width) * 3);
  const cf::Finished finished = cf::finish(image, o);
  FinishedCover out;
  for (const auto& f : request.formats)
    out.files.emplace_back(f, cf::encode(finished, cf::parse_formats(f).at(0)));
  out.typography_json = finished.text.to_json();
  return out;
#else
  (void)cover, (void)request, (void)seed;
  throw InputError("this covergen was built without finishing (libs/finish)");
#endif
}

}  // namespace covergen::serve
