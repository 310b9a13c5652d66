#include "covergen/generate/requests.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/encoder.hpp>
#include <covergen/errors.hpp>
#include <covergen/text.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <sstream>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace covergen::generate {

std::string slugify(const std::string& s) {
  std::string out;
  for (char ch : s) out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-') ? ch : '_';
  return out.empty() ? "cover" : out.substr(0, 80);
}

std::vector<CoverRequest> cover_requests(const RunCondition& cond, const std::string& model,
                                         const std::vector<std::string>& tracks, const std::vector<std::string>& genres,
                                         const std::vector<std::string>& attributes, int threads) {
  const std::string& mode = cond.mode();
  std::vector<CoverRequest> reqs;
  const std::string names_json = json(cond.names()).dump();
  if (mode == "none") {
    if (!tracks.empty() || !genres.empty() || !attributes.empty())
      throw InputError(model + ": this model is unconditional; give no tracks, --genre or --attributes");
    reqs.push_back({"unconditional", "unconditional", {}});
    return reqs;
  }
  if (mode == "genre") {
    if (!tracks.empty())
      throw InputError(model + ": this model is conditioned on genre, not on tracks; use --genre NAME (" +
                                 "one of: " + names_json + ")");
    const std::vector<std::string> wanted = genres.empty() ? cond.names() : genres;
    const auto c = cond.for_genres(wanted);
    for (std::size_t i = 0; i < wanted.size(); ++i)
      reqs.push_back({"genre " + wanted[i], slugify(wanted[i]), c[static_cast<std::int64_t>(i)], {}, wanted[i]});
    return reqs;
  }
  if (mode == "attributes") {
    if (!tracks.empty() || !genres.empty())
      throw InputError(model + ": this model is conditioned on attributes " + names_json +
                                 "; use --attributes name=value,...");
    if (attributes.empty()) throw InputError(model + ": give --attributes name=value,...");
    for (const auto& a : attributes) reqs.push_back({a, slugify(a), cond.for_attributes(a), {}, a});
    return reqs;
  }
  if (cond.takes_audio()) {  // the sound's summary features, or Φ(track) from the run's copy of its encoder
    if (tracks.empty())
      throw InputError(model + (mode == "audio" ? std::string(": this model is conditioned on the sound of a track")
                                                            : ": this model is conditioned on a music encoder (" +
                                                                  cond.encoder()->plugin_name() + ")") +
                                 "; give audio files");
    if (!genres.empty() || !attributes.empty())
      throw InputError(model + ": this model takes tracks, not --genre or --attributes");
    std::vector<fs::path> files(tracks.begin(), tracks.end());
    const auto c = cond.for_tracks(files, threads);
    for (std::size_t i = 0; i < files.size(); ++i)
      reqs.push_back({files[i].filename().string(), slugify(files[i].stem().string()), c[static_cast<std::int64_t>(i)], {},
                      files[i].stem().string()});
    return reqs;
  }
  throw InputError(model + ": unsupported condition mode '" + mode + "' in this build");
}

std::string with_request_name(std::string text, const std::string& name) {
  static const std::string kKey = "{name}";
  for (auto at = text.find(kKey); at != std::string::npos; at = text.find(kKey, at + name.size()))
    text.replace(at, kKey.size(), name);
  return text;
}

void write_gallery(const fs::path& out, const std::string& model, const std::vector<CoverRequest>& reqs,
                   const std::vector<std::vector<std::string>>& files,
                   const std::vector<std::vector<std::string>>* finished) {
  std::ostringstream h;
  h << "<!doctype html><html><head><meta charset=\"utf-8\"><title>CoverGen covers</title><style>"
       "body{font-family:sans-serif;background:#111;color:#eee;margin:2em}"
       "h2{font-weight:normal;margin:1.5em 0 .5em}img{width:128px;height:128px;image-rendering:pixelated;"
       "margin:2px;border-radius:3px}"
    << (finished ? "img.finished{width:320px;height:320px;image-rendering:auto}" : "")
    << "</style></head><body><h1>Covers from " << html_escape(model) << "</h1>";
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    h << "<h2>" << html_escape(reqs[i].label) << "</h2><div>";
    if (finished && i < finished->size() && !(*finished)[i].empty()) {
      for (const auto& f : (*finished)[i])
        h << "<a href=\"" << html_escape(f) << "\"><img class=\"finished\" src=\"" << html_escape(f) << "\" alt=\""
          << html_escape(f) << "\"></a>";
    } else {
      for (const auto& f : files[i]) h << "<img src=\"" << html_escape(f) << "\" alt=\"" << html_escape(f) << "\">";
    }
    h << "</div>";
  }
  h << "</body></html>\n";
  write_file_atomic(out / "index.html", h.str());
}

}  // namespace covergen::generate
