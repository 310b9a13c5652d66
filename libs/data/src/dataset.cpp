#include "covergen/data/dataset.hpp"

#include "covergen/data/csv.hpp"
#include "covergen/data/hash.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>
#include <sys/stat.h>
#include <unordered_map>

namespace fs = std::filesystem;
using nlohmann::json;

namespace covergen::data {

const char* to_string(Split split) {
  switch (split) {
    case Split::train: return "train";
    case Split::val: return "val";
    case Split::test: return "test";
  }
  return "?";
}

Split split_from_string(const std::string& name) {
  if (name == "train") return Split::train;
  if (name == "val") return Split::val;
  if (name == "test") return Split::test;
  throw InputError("unknown split '" + name + "' (expected train, val or test)");
}

Split split_of(const std::string& id, double val_fraction, double test_fraction) {
  const std::uint64_t bucket = fnv1a64(id) % 1000;
  const auto train_end = static_cast<std::uint64_t>(std::llround(1000.0 * (1.0 - val_fraction - test_fraction)));
  const auto val_end = train_end + static_cast<std::uint64_t>(std::llround(1000.0 * val_fraction));
  if (bucket < train_end) return Split::train;
  if (bucket < val_end) return Split::val;
  return Split::test;
}

std::optional<double> parse_number(const std::string& text) {
  std::size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  if (b == e) return std::nullopt;
  const std::string s = text.substr(b, e - b);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string expand_template(const std::string& pattern, const std::vector<std::string>& header,
                            const std::vector<std::string>& fields, const std::string& id, const std::string& genre) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{') { out += pattern[i]; continue; }
    const auto close = pattern.find('}', i);
    if (close == std::string::npos) throw std::invalid_argument("unclosed '{' in template '" + pattern + "'");
    const std::string name = pattern.substr(i + 1, close - i - 1);
    i = close;
    if (name == "id") { out += id; continue; }
    if (name == "genre") { out += genre; continue; }
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end())
      throw std::invalid_argument("unknown placeholder {" + name + "} in template '" + pattern + "'");
    out += fields[static_cast<std::size_t>(it - header.begin())];
  }
  return out;
}

std::string BadRow::to_string() const {
  std::string s = file.string();
  if (line) s += ":" + std::to_string(line);
  s += ": ";
  if (!id.empty()) s += "track '" + id + "': ";
  return s + problem;
}

// ---- spec --------------------------------------------------------------------

namespace {

std::string require_string(const json& j, const std::string& key, const fs::path& origin) {
  if (!j.is_string()) throw InputError(origin.string(), "'" + key + "' must be a string");
  return j.get<std::string>();
}

}  // namespace

DatasetSpec DatasetSpec::parse(const std::string& text, const fs::path& root, const fs::path& origin) {
  DatasetSpec spec;
  spec.root = root;
  spec.spec_file = origin;
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e999
    throw InputError(origin.string(), std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw InputError(origin.string(), "expected a JSON object");
  static const std::set<std::string> known{"format", "version", "csv", "delimiter", "columns", "templates",
                                           "attributes", "split", "require_audio", "description", "synthetic"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key()))
      throw InputError(origin.string(), "unknown key '" + it.key() + "' (known: csv, delimiter, columns, templates, "
                                        "attributes, split, require_audio, description)");
  if (j.contains("version") && (!j["version"].is_number_integer() || j["version"].get<int>() != 1))
    throw InputError(origin.string(), "'version' must be 1");
  if (j.contains("csv")) spec.csv = require_string(j["csv"], "csv", origin);
  if (j.contains("delimiter")) {
    auto d = require_string(j["delimiter"], "delimiter", origin);
    if (d == "\\t") d = "\t";
    if (d.size() != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r')
      throw InputError(origin.string(), "'delimiter' must be one character other than a quote or newline");
    spec.delimiter = d[0];
  }
  bool audio_col = false, cover_col = false;
  if (j.contains("columns")) {
    const json& c = j["columns"];
    if (!c.is_object()) throw InputError(origin.string(), "'columns' must be an object");
    for (auto it = c.begin(); it != c.end(); ++it) {
      const std::string v = require_string(it.value(), "columns." + it.key(), origin);
      if (v.empty()) throw InputError(origin.string(), "'columns." + it.key() + "' is empty");
      if (it.key() == "id") spec.id_column = v;
      else if (it.key() == "genre") spec.genre_column = v;
      else if (it.key() == "audio") { spec.audio = {v, {}}; audio_col = true; spec.audio_given = true; }
      else if (it.key() == "cover") { spec.cover = {v, {}}; cover_col = true; }
      else if (it.key() == "excerpt_start") spec.excerpt_start_column = v;
      else if (it.key() == "excerpt_seconds") spec.excerpt_seconds_column = v;
      else
        throw InputError(origin.string(), "unknown key 'columns." + it.key() +
                                              "' (known: id, audio, cover, genre, excerpt_start, excerpt_seconds)");
    }
  }
  if (j.contains("templates")) {
    const json& t = j["templates"];
    if (!t.is_object()) throw InputError(origin.string(), "'templates' must be an object");
    for (auto it = t.begin(); it != t.end(); ++it) {
      const std::string v = require_string(it.value(), "templates." + it.key(), origin);
      if (it.key() == "audio") {
        if (audio_col) throw InputError(origin.string(), "audio is given both as 'columns.audio' and 'templates.audio'");
        spec.audio = {{}, v};
        spec.audio_given = true;
      } else if (it.key() == "cover") {
        if (cover_col) throw InputError(origin.string(), "cover is given both as 'columns.cover' and 'templates.cover'");
        spec.cover = {{}, v};
      } else {
        throw InputError(origin.string(), "unknown key 'templates." + it.key() + "' (known: audio, cover)");
      }
    }
  }
  if (j.contains("attributes")) {
    const json& a = j["attributes"];
    std::set<std::string> seen;
    auto add = [&](const std::string& name, const std::string& column) {
      if (name.empty() || column.empty()) throw InputError(origin.string(), "'attributes' has an empty name");
      if (!seen.insert(name).second) throw InputError(origin.string(), "attribute '" + name + "' is listed twice");
      spec.attributes.emplace_back(name, column);
    };
    if (a.is_array()) {
      for (const auto& e : a) add(require_string(e, "attributes[]", origin), e.get<std::string>());
    } else if (a.is_object()) {
      for (auto it = a.begin(); it != a.end(); ++it)
        add(it.key(), require_string(it.value(), "attributes." + it.key(), origin));
    } else {
      throw InputError(origin.string(), "'attributes' must be a list of column names or an object name -> column");
    }
  }
  if (j.contains("split")) {
    const json& s = j["split"];
    if (!s.is_object()) throw InputError(origin.string(), "'split' must be an object {\"val\": 0.1, \"test\": 0.1}");
    for (auto it = s.begin(); it != s.end(); ++it) {
      if (it.key() == "group") {
        spec.split_group = require_string(it.value(), "split.group", origin);
        if (spec.split_group.empty()) throw InputError(origin.string(), "'split.group' is empty");
        continue;
      }
      if (!it.value().is_number()) throw InputError(origin.string(), "'split." + it.key() + "' must be a number");
      if (it.key() == "val") spec.val_fraction = it.value().get<double>();
      else if (it.key() == "test") spec.test_fraction = it.value().get<double>();
      else throw InputError(origin.string(), "unknown key 'split." + it.key() + "' (known: val, test, group)");
    }
    if (spec.val_fraction < 0 || spec.test_fraction < 0 || spec.val_fraction + spec.test_fraction >= 1.0)
      throw InputError(origin.string(), "'split' fractions must be >= 0 and sum to less than 1");
  }
  if (j.contains("require_audio")) {
    if (!j["require_audio"].is_boolean()) throw InputError(origin.string(), "'require_audio' must be true or false");
    spec.require_audio = j["require_audio"].get<bool>();
  }
  return spec;
}

DatasetSpec DatasetSpec::load(const fs::path& dir_or_spec) {
  std::error_code ec;
  if (!fs::exists(dir_or_spec, ec)) throw InputError(dir_or_spec.string(), "no such dataset folder or spec file");
  if (fs::is_directory(dir_or_spec, ec)) {
    const fs::path spec_file = dir_or_spec / "dataset.json";
    if (fs::exists(spec_file, ec)) return parse(read_file(spec_file), dir_or_spec, spec_file);
    if (!fs::exists(dir_or_spec / "tracks.csv", ec))
      throw InputError(dir_or_spec.string(), "not a dataset: no dataset.json and no tracks.csv (see docs/datasets.md)");
    DatasetSpec spec;
    spec.root = dir_or_spec;
    return spec;
  }
  fs::path root = dir_or_spec.parent_path();
  if (root.empty()) root = ".";
  return parse(read_file(dir_or_spec), root, dir_or_spec);
}

std::string DatasetSpec::to_json() const {
  json j;
  j["version"] = 1;
  j["csv"] = csv;
  if (delimiter != ',') j["delimiter"] = std::string(1, delimiter);
  json cols = {{"id", id_column}};
  json tpl = json::object();
  if (!genre_column.empty()) cols["genre"] = genre_column;
  if (!audio.column.empty()) cols["audio"] = audio.column; else tpl["audio"] = audio.pattern;
  if (!cover.column.empty()) cols["cover"] = cover.column; else tpl["cover"] = cover.pattern;
  if (!excerpt_start_column.empty()) cols["excerpt_start"] = excerpt_start_column;
  if (!excerpt_seconds_column.empty()) cols["excerpt_seconds"] = excerpt_seconds_column;
  j["columns"] = cols;
  if (!tpl.empty()) j["templates"] = tpl;
  json attrs = json::object();
  for (const auto& [name, column] : attributes) attrs[name] = column;
  if (!attributes.empty()) j["attributes"] = attrs;
  j["split"] = {{"val", val_fraction}, {"test", test_fraction}};
  if (!split_group.empty()) j["split"]["group"] = split_group;
  if (!require_audio) j["require_audio"] = false;
  return j.dump(2) + "\n";
}

// ---- dataset -----------------------------------------------------------------

fs::path Dataset::csv_path() const {
  fs::path p(spec_.csv);
  return p.is_absolute() ? p : spec_.root / p;
}

std::vector<std::string> Dataset::attribute_names() const {
  std::vector<std::string> names;
  for (const auto& a : spec_.attributes) names.push_back(a.first);
  return names;
}

std::size_t Dataset::attribute_index(const std::string& name) const {
  for (std::size_t i = 0; i < spec_.attributes.size(); ++i)
    if (spec_.attributes[i].first == name) return i;
  std::string avail;
  for (const auto& a : spec_.attributes) avail += (avail.empty() ? "" : ", ") + a.first;
  throw InputError((spec_.spec_file.empty() ? csv_path() : spec_.spec_file).string(),
                   "no attribute '" + name + "' (the spec's attributes are: " + (avail.empty() ? "none" : avail) + ")");
}

std::vector<std::size_t> Dataset::indices(Split split) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < tracks_.size(); ++i)
    if (tracks_[i].split == split) out.push_back(i);
  return out;
}

std::vector<std::size_t> Dataset::select(std::optional<Split> split, int per_genre) const {
  std::map<int, int> taken;
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < tracks_.size(); ++i)
    if ((!split || tracks_[i].split == *split) && (per_genre <= 0 || taken[tracks_[i].genre]++ < per_genre))
      out.push_back(i);
  return out;
}

Dataset Dataset::open(const fs::path& dir_or_spec, const DatasetOptions& options) {
  return open(DatasetSpec::load(dir_or_spec), options);
}

Dataset Dataset::open(const DatasetSpec& spec_in, const DatasetOptions& options) {
  Dataset ds;
  ds.spec_ = spec_in;
  DatasetSpec& spec = ds.spec_;
  const fs::path csv = ds.csv_path();
  const std::string origin = spec.spec_file.empty() ? csv.string() : spec.spec_file.string();
  CsvTable table = read_csv(csv, spec.delimiter);
  if (table.header.empty()) throw InputError(csv.string(), "empty CSV: no header row");
  for (const auto& p : table.problems) {
    if (p.line == table.header_line) throw InputError(csv.string() + ":" + std::to_string(p.line), p.message);
  }
  if (spec.genre_column.empty() && table.column("genre") >= 0) spec.genre_column = "genre";

  std::string header_list;
  for (const auto& h : table.header) header_list += (header_list.empty() ? "" : ", ") + h;
  auto need = [&](const std::string& column, const std::string& role) -> std::size_t {
    const long c = table.column(column);
    if (c < 0)
      throw InputError(origin, "column '" + column + "' (" + role + ") is not in the header of " + csv.string() +
                                   "; its columns are: " + header_list);
    return static_cast<std::size_t>(c);
  };
  // Image-only datasets: no audio column at all is fine when audio is optional.
  if (!spec.require_audio && !spec.audio_given && !spec.audio.column.empty() && table.column(spec.audio.column) < 0)
    spec.audio = {};
  const std::size_t id_col = need(spec.id_column, "the track id");
  const long genre_col = spec.genre_column.empty() ? -1L : static_cast<long>(need(spec.genre_column, "the genre"));
  const long audio_col = spec.audio.column.empty() ? -1L : static_cast<long>(need(spec.audio.column, "the audio path"));
  const long cover_col = spec.cover.column.empty() ? -1L : static_cast<long>(need(spec.cover.column, "the cover path"));
  std::vector<std::size_t> attr_cols;
  for (const auto& [name, column] : spec.attributes) attr_cols.push_back(need(column, "attribute '" + name + "'"));
  const long group_col = spec.split_group.empty() ? -1L : static_cast<long>(need(spec.split_group, "split.group"));
  const long xstart_col =
      spec.excerpt_start_column.empty() ? -1L : static_cast<long>(need(spec.excerpt_start_column, "the excerpt start"));
  const long xsec_col =
      spec.excerpt_seconds_column.empty() ? -1L : static_cast<long>(need(spec.excerpt_seconds_column, "the excerpt length"));
  // Templates: check every placeholder names a column now, so a typo is a spec error, not N bad rows.
  for (const PathSource* src : {&spec.audio, &spec.cover}) {
    if (src->pattern.empty()) continue;
    try {
      std::vector<std::string> dummy(table.header.size());
      expand_template(src->pattern, table.header, dummy, "", "");
    } catch (const std::invalid_argument& e) {
      throw InputError(origin, std::string(e.what()) + "; the CSV's columns are: " + header_list);
    }
  }

  for (const auto& p : table.problems) ds.bad_rows_.push_back({csv, p.line, {}, p.message});

  // Pass 1: rows -> tracks (genre names collected, indexed after sorting).
  struct Pending { Track track; std::string genre; };
  std::vector<Pending> pending;
  std::unordered_map<std::string, std::size_t> first_line;
  auto resolve = [&](const std::string& p) {
    fs::path path(p);
    return path.is_absolute() ? path : spec.root / path;
  };
  for (const auto& rec : table.records) {
    auto bad = [&](const std::string& id, const std::string& problem) {
      ds.bad_rows_.push_back({csv, rec.line, id, problem});
    };
    if (rec.fields.size() != table.header.size()) {
      bad({}, "has " + std::to_string(rec.fields.size()) + " fields, the header has " +
                  std::to_string(table.header.size()));
      continue;
    }
    Pending p;
    Track& t = p.track;
    t.line = rec.line;
    t.id = rec.fields[id_col];
    if (t.id.empty()) { bad({}, "empty id in column '" + spec.id_column + "'"); continue; }
    if (auto [it, inserted] = first_line.emplace(t.id, rec.line); !inserted) {
      bad(t.id, "duplicate id (first seen on line " + std::to_string(it->second) + "); row skipped");
      continue;
    }
    if (genre_col >= 0) {
      p.genre = rec.fields[static_cast<std::size_t>(genre_col)];
      if (p.genre.empty()) { bad(t.id, "empty genre in column '" + spec.genre_column + "'"); continue; }
    }
    bool ok = true;
    for (std::size_t a = 0; a < attr_cols.size() && ok; ++a) {
      const std::string& text = rec.fields[attr_cols[a]];
      auto v = parse_number(text);
      if (!v) {
        bad(t.id, "attribute '" + spec.attributes[a].first + "' (column '" + spec.attributes[a].second +
                      "') is not a finite number: '" + text + "'");
        ok = false;
      } else {
        t.attributes.push_back(*v);
      }
    }
    if (!ok) continue;
    // Excerpt: an empty start means the whole file; an empty length, to the end.
    for (const auto& [col, name, dst] : {std::tuple{xstart_col, &spec.excerpt_start_column, &t.excerpt_start},
                                         std::tuple{xsec_col, &spec.excerpt_seconds_column, &t.excerpt_seconds}}) {
      if (col < 0 || !ok) continue;
      const std::string& text = rec.fields[static_cast<std::size_t>(col)];
      if (text.empty()) continue;
      auto v = parse_number(text);
      if (!v || *v < 0) {
        bad(t.id, "column '" + *name + "' is not a non-negative number of seconds: '" + text + "'");
        ok = false;
      } else {
        *dst = *v;
      }
    }
    if (!ok) continue;
    if (t.excerpt_seconds >= 0 && t.excerpt_start < 0) t.excerpt_start = 0.0;
    try {
      const std::string audio = audio_col >= 0            ? rec.fields[static_cast<std::size_t>(audio_col)]
                                : spec.audio.pattern.empty() ? std::string()
                                                             : expand_template(spec.audio.pattern, table.header, rec.fields, t.id, p.genre);
      const std::string cover = cover_col >= 0 ? rec.fields[static_cast<std::size_t>(cover_col)]
                                               : expand_template(spec.cover.pattern, table.header, rec.fields, t.id, p.genre);
      if (cover.empty()) { bad(t.id, "empty cover path"); continue; }
      if (audio.empty() && spec.require_audio) { bad(t.id, "empty audio path"); continue; }
      t.audio = audio.empty() ? fs::path() : resolve(audio);
      t.cover = resolve(cover);
    } catch (const std::invalid_argument& e) {
      bad(t.id, e.what());
      continue;
    }
    if (options.check_files) {
      struct stat st {};
      if (::stat(t.cover.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        bad(t.id, "cover file does not exist: " + t.cover.string());
        continue;
      }
      if (spec.require_audio && (::stat(t.audio.c_str(), &st) != 0 || !S_ISREG(st.st_mode))) {
        bad(t.id, "audio file does not exist: " + t.audio.string());
        continue;
      }
    }
    // split.group: every row with the same group value lands in the same split (an
    // album never straddles train and test); an empty value falls back to the id.
    const std::string& group = group_col >= 0 ? rec.fields[static_cast<std::size_t>(group_col)] : t.id;
    t.split = split_of(group.empty() ? t.id : group, spec.val_fraction, spec.test_fraction);
    pending.push_back(std::move(p));
  }
  std::set<std::string> genre_set;
  for (const auto& p : pending)
    if (!p.genre.empty()) genre_set.insert(p.genre);
  ds.genres_.assign(genre_set.begin(), genre_set.end());
  for (auto& p : pending) {
    if (!p.genre.empty())
      p.track.genre = static_cast<int>(std::lower_bound(ds.genres_.begin(), ds.genres_.end(), p.genre) - ds.genres_.begin());
    ds.tracks_.push_back(std::move(p.track));
  }
  std::sort(ds.bad_rows_.begin(), ds.bad_rows_.end(),
            [](const BadRow& a, const BadRow& b) { return a.line < b.line; });
  return ds;
}

namespace {

std::uint64_t file_stamp(std::uint64_t h, const fs::path& p) {
  struct stat st {};
  h = fnv1a64(p.string(), h);
  if (::stat(p.c_str(), &st) == 0) {
    const std::int64_t v[3] = {static_cast<std::int64_t>(st.st_size), static_cast<std::int64_t>(st.st_mtim.tv_sec),
                               static_cast<std::int64_t>(st.st_mtim.tv_nsec)};
    h = fnv1a64(std::string_view(reinterpret_cast<const char*>(v), sizeof v), h);
  }
  return h;
}

}  // namespace

std::uint64_t Dataset::cover_fingerprint() const {
  std::uint64_t h = fnv1a64("covergen-covers-v1");
  for (const auto& t : tracks_) {
    h = fnv1a64(t.id, h);
    h = file_stamp(h, t.cover);
  }
  return h;
}

std::uint64_t Dataset::audio_fingerprint() const {
  std::uint64_t h = fnv1a64("covergen-audio-v1");
  for (const auto& t : tracks_) {
    h = fnv1a64(t.id, h);
    h = file_stamp(h, t.audio);
  }
  return h;
}

}  // namespace covergen::data
