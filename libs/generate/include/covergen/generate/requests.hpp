// What `covergen generate` is asked for, as cover requests with their conditions,
// and the gallery page it writes beside the covers.
#pragma once

#include "covergen/generate/condition.hpp"

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

namespace covergen::generate {

struct CoverRequest {
  std::string label;     ///< what was asked for: "genre rock", "tempo=120", a track's file name
  std::string slug;      ///< file-name-safe label
  at::Tensor condition;  ///< [C], undefined for unconditional models
  at::Tensor z;          ///< [L] chosen by a mapper, or undefined (z from the seed)
  std::string name;      ///< what "{name}" stands for in titles: the genre, the attributes, the track's file stem
};

/// `s` with everything but letters, digits and '-' replaced by '_' (at most 80
/// characters; "cover" when empty).
std::string slugify(const std::string& s);

/// One request per genre (all of the run's when none is given), attribute set
/// ("name=value,...") or audio track, whichever the run's mode takes, with the run's
/// condition for it. InputError (naming `model`) when the inputs do not fit the mode.
std::vector<CoverRequest> cover_requests(const RunCondition& condition, const std::string& model,
                                         const std::vector<std::string>& tracks, const std::vector<std::string>& genres,
                                         const std::vector<std::string>& attributes, int threads = 0);

/// Writes `out`/index.html atomically: a gallery of `files[i]` (relative to `out`)
/// under each request's label. With `finished` (the finished covers' PNGs, relative
/// to `out`, per request), those are shown instead, large and linked to the file.
void write_gallery(const std::filesystem::path& out, const std::string& model, const std::vector<CoverRequest>& requests,
                   const std::vector<std::vector<std::string>>& files,
                   const std::vector<std::vector<std::string>>* finished = nullptr);

/// `text` with every "{name}" replaced by `name`: per-request artist/title lines
/// (`covergen generate --title '{name}'` sets each track's file name).
std::string with_request_name(std::string text, const std::string& name);

}  // namespace covergen::generate
