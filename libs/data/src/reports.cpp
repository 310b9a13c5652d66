// The reports `covergen dataset synth|check|cache` print, as JSON (--json) and as text,
// here so that a C++ app gets the same documents the CLI does.
#include "covergen/data/check.hpp"
#include "covergen/data/image_cache.hpp"
#include "covergen/data/synth.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace covergen::data {

namespace {

using nlohmann::json;

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

json bad_rows_json(const std::vector<BadRow>& bad) {
  json rows = json::array();
  for (const auto& b : bad) rows.push_back({{"file", b.file.string()}, {"line", b.line}, {"id", b.id}, {"problem", b.problem}});
  return rows;
}

}  // namespace

std::string SynthReport::to_json() const {
  return json{{"schema_version", 1},
              {"out", out.string()},
              {"tracks", tracks},
              {"seconds", seconds},
              {"audio_cpu_seconds", audio_cpu_seconds},
              {"mp3_cpu_seconds", mp3_cpu_seconds},
              {"cover_cpu_seconds", cover_cpu_seconds}}
      .dump(2);
}

std::string SynthReport::to_text() const {
  return "wrote " + std::to_string(tracks) + " tracks to " + out.string() + " in " + fixed(seconds, 1) +
         " s (cpu: synthesis " + fixed(audio_cpu_seconds, 1) + " s, mp3 " + fixed(mp3_cpu_seconds, 1) + " s, covers " +
         fixed(cover_cpu_seconds, 1) + " s)";
}

std::string DatasetCheck::to_json(const Dataset& ds, const std::string& dataset) const {
  json genres = json::object();
  for (const auto& [name, n] : genre_counts) genres[name] = n;
  return json{{"schema_version", 1},
              {"dataset", dataset},
              {"csv", ds.csv_path().string()},
              {"rows_ok", ds.size()},
              {"usable", usable},
              {"images_checked", images_checked},
              {"splits", {{"train", split_counts[0]}, {"val", split_counts[1]}, {"test", split_counts[2]}}},
              {"genres", genres},
              {"attributes", ds.attribute_names()},
              {"bad_rows", bad_rows_json(bad)}}
      .dump(2);
}

std::string DatasetCheck::to_text(const Dataset& ds) const {
  std::string out;
  for (const auto& b : bad) out += b.to_string() + '\n';
  out += ds.csv_path().string() + ": " + std::to_string(usable) + " usable tracks (train " +
         std::to_string(split_counts[0]) + ", val " + std::to_string(split_counts[1]) + ", test " +
         std::to_string(split_counts[2]) + "), " + std::to_string(bad.size()) + " bad rows";
  if (!genre_counts.empty()) out += ", " + std::to_string(genre_counts.size()) + " genres";
  return out;
}

namespace {
double images_per_second(const CoverCache& c, const Dataset& ds) {
  return c.build_seconds() > 0 ? static_cast<double>(ds.size()) / c.build_seconds() : 0.0;
}
}  // namespace

std::string CoverCache::to_json(const Dataset& dataset) const {
  return json{{"schema_version", 1}, {"cache", file().string()},    {"size", size()},
              {"images", count()},   {"valid", valid_count()},      {"built", was_built()},
              {"seconds", build_seconds()}, {"images_per_second", images_per_second(*this, dataset)},
              {"bad_covers", bad_rows_json(bad_images(dataset))}}
      .dump(2);
}

std::string CoverCache::to_text(const Dataset& dataset) const {
  std::string out = file().string() + ": " + std::to_string(valid_count()) + "/" + std::to_string(count()) +
                    " covers at " + std::to_string(size()) + "x" + std::to_string(size());
  if (was_built())
    out += ", built in " + fixed(build_seconds(), 2) + " s (" + fixed(images_per_second(*this, dataset), 0) + " images/s)";
  else
    out += ", up to date";
  return out;
}

}  // namespace covergen::data
