// covergen dataset import (docs/datasets.md, "Importing a music library").
//
// 1. Walk the inputs (directory symlinks followed, each directory visited once by
//    device/inode, so loops end; files reached twice are read once).
// 2. Per file, on N threads: reuse the previous run's row when the file's size and
//    mtime are unchanged; otherwise read tags and pictures with TagLib and pick the
//    cover: an embedded front cover, an embedded "other" picture, an image in the
//    folder (cover.jpg, folder.jpg, front.png, ...), any other embedded picture. Each
//    candidate is probed, size-checked and decoded once per distinct content (hash).
// 3. Write covers/<hash>.<ext> for new embedded covers, tracks.csv, dataset.json and
//    import.json (temp file + rename each); delete covers no row references any more.
#include "covergen/data/music_import.hpp"

#include "covergen/data/csv.hpp"
#include "covergen/data/dataset.hpp"
#include "covergen/data/hash.hpp"
#include "covergen/data/image.hpp"
#include "covergen/data/image_cache.hpp"

#include <covergen/parallel.hpp>
#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>

#include <nlohmann/json.hpp>

#include <taglib/attachedpictureframe.h>
#include <taglib/fileref.h>
#include <taglib/flacfile.h>
#include <taglib/flacpicture.h>
#include <taglib/id3v1genres.h>
#include <taglib/id3v2tag.h>
#include <taglib/mp4coverart.h>
#include <taglib/mp4file.h>
#include <taglib/mp4tag.h>
#include <taglib/mpegfile.h>
#include <taglib/tag.h>
#include <taglib/tpropertymap.h>
#include <taglib/xiphcomment.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <sys/stat.h>
#include <unordered_map>

namespace fs = std::filesystem;
using nlohmann::json;

namespace covergen::data {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string collapse_ws(const std::string& s) {
  std::string out;
  bool space = false;
  for (unsigned char c : s) {
    if (std::isspace(c) || c == 0) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(c);
  }
  return out;
}

std::string hex16(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string id3v1_name(const std::string& digits) {
  if (digits.size() > 3) return {};
  const int n = std::stoi(digits);
  const TagLib::String name = TagLib::ID3v1::genre(n);
  return name.to8Bit(true);
}

std::string to_utf8(const TagLib::String& s) { return s.to8Bit(true); }

}  // namespace

std::string normalise_genre(const std::string& raw, const GenreMap& map) {
  std::string s = collapse_ws(raw);
  // ID3v2.3 TCON: "(17)", "(17)(35)", "(17)Rock" (refinement text wins), "(RX)" remix, "(CR)" cover.
  while (!s.empty() && s[0] == '(') {
    const auto close = s.find(')');
    if (close == std::string::npos) break;
    const std::string inner = s.substr(1, close - 1);
    const std::string rest = collapse_ws(s.substr(close + 1));
    if (!rest.empty() && rest[0] != '(') {
      s = rest;
      break;
    }
    if (all_digits(inner)) {
      s = id3v1_name(inner);
      break;
    }
    if (!rest.empty()) {  // "(RX)(17)": look at what follows
      s = rest;
      continue;
    }
    s = inner == "RX" ? "Remix" : inner == "CR" ? "Cover" : inner;
    break;
  }
  if (all_digits(s)) s = id3v1_name(s);
  // The first of several values.
  const auto sep = s.find_first_of(";/,|\\");
  if (sep != std::string::npos) s = s.substr(0, sep);
  s = lower(collapse_ws(s));
  if (s.empty()) return s;
  for (int hops = 0; hops < 8; ++hops) {  // a chain a->b->c resolves; a cycle stops
    auto it = map.find(s);
    if (it == map.end() || it->second == s) break;
    s = it->second;
  }
  return s;
}

GenreMap load_genre_map(const fs::path& file) {
  json j;
  try {
    j = json::parse(read_file(file));
  } catch (const json::exception& e) {
    throw InputError(file.string(), std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object())
    throw InputError(file.string(), "expected a JSON object: {\"indie rock\": \"rock\"} or {\"rock\": [\"indie rock\", ...]}");
  GenreMap map;
  auto add = [&](const std::string& from, const std::string& to) {
    const std::string f = lower(collapse_ws(from)), t = lower(collapse_ws(to));
    if (f.empty() || t.empty()) throw InputError(file.string(), "empty genre name in the map");
    if (auto [it, ok] = map.emplace(f, t); !ok && it->second != t)
      throw InputError(file.string(), "genre '" + f + "' is mapped to both '" + it->second + "' and '" + t + "'");
  };
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_string()) {
      add(it.key(), it.value().get<std::string>());
    } else if (it.value().is_array()) {
      for (const auto& e : it.value()) {
        if (!e.is_string()) throw InputError(file.string(), "'" + it.key() + "': list entries must be strings");
        add(e.get<std::string>(), it.key());
      }
    } else {
      throw InputError(file.string(), "'" + it.key() + "' must map to a genre name or a list of genre names");
    }
  }
  return map;
}

const std::vector<std::string>& importable_extensions() {
  static const std::vector<std::string> e{".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".wav", ".aif", ".aiff"};
  return e;
}

std::string ImportProblem::to_string() const { return path.string() + ": " + kind + ": " + reason; }

std::string ImportReport::to_json() const {
  json g = json::array();
  for (const auto& [name, n] : genres) g.push_back({{"genre", name}, {"tracks", n}});
  json p = json::array();
  for (const auto& x : problems) p.push_back({{"path", x.path.string()}, {"kind", x.kind}, {"reason", x.reason}});
  return json{{"schema_version", 1},
              {"files", files},
              {"tracks", tracks},
              {"albums", albums},
              {"covers", covers},
              {"covers_embedded", covers_embedded},
              {"covers_folder", covers_folder},
              {"covers_extracted", covers_extracted},
              {"reused", reused},
              {"added", added},
              {"removed", removed},
              {"feature_store_cleared", feature_store_cleared},
              {"splits", {{"train", split_counts[0]}, {"val", split_counts[1]}, {"test", split_counts[2]}}},
              {"genres", g},
              {"problems", p},
              {"seconds", seconds}}
      .dump(2);
}

namespace {

// The CSV's columns, in order. file_size/file_mtime let a rerun skip unchanged files.
const std::vector<std::string> kColumns{"id",    "audio",         "cover",           "artist",      "album_artist",
                                        "album", "title",         "track",           "genre",       "genre_raw",
                                        "year",  "duration",      "excerpt_start",   "excerpt_seconds", "album_key",
                                        "cover_source", "file_size", "file_mtime"};
enum Col { kId, kAudio, kCover, kArtist, kAlbumArtist, kAlbum, kTitle, kTrackNo, kGenre, kGenreRaw, kYear, kDuration,
           kExStart, kExSeconds, kAlbumKey, kCoverSource, kSize, kMtime, kNumCols };

struct FileEntry {
  fs::path path;  // absolute, lexically normal
  std::int64_t size = 0, mtime_ns = 0;
};

struct Walker {
  std::vector<FileEntry> files;
  std::vector<ImportProblem> problems;
  std::set<std::pair<dev_t, ino_t>> dirs_seen, files_seen;

  static bool importable(const fs::path& p) {
    const std::string ext = lower(p.extension().string());
    const auto& e = importable_extensions();
    return std::find(e.begin(), e.end(), ext) != e.end();
  }

  void add_file(const fs::path& p, const struct stat& st) {
    if (!files_seen.insert({st.st_dev, st.st_ino}).second) return;  // reached twice (a link)
    files.push_back({p, static_cast<std::int64_t>(st.st_size),
                     static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec});
  }

  void walk(const fs::path& dir, const fs::path& out_dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
      problems.push_back({dir, "unreadable folder", dir.string() + ": " + std::strerror(errno)});
      return;
    }
    if (!dirs_seen.insert({st.st_dev, st.st_ino}).second) return;  // a symlink loop or a second path to it
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
      problems.push_back({dir, "unreadable folder", dir.string() + ": " + ec.message()});
      return;
    }
    std::vector<fs::path> entries;
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) {
        problems.push_back({dir, "unreadable folder", dir.string() + ": listing stopped: " + ec.message()});
        break;
      }
      entries.push_back(it->path());
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& p : entries) {
      struct stat es {};
      if (::stat(p.c_str(), &es) != 0) continue;  // a dangling symlink
      if (S_ISDIR(es.st_mode)) {
        if (p.filename().string().rfind('.', 0) == 0) continue;  // hidden folders (.covergen-cache, .git)
        if (!out_dir.empty() && p == out_dir) continue;
        walk(p, out_dir);
      } else if (S_ISREG(es.st_mode) && importable(p) && p.filename().string().rfind("._", 0) != 0) {
        // ("._name": macOS resource forks copied along, not audio)
        add_file(p, es);
      }
    }
  }
};

struct Picture {
  std::string bytes;
  int type = 3;  // FLAC/ID3v2 picture type: 3 front cover, 0 other
  std::string where;  // "ID3v2 APIC", "FLAC PICTURE", ...
};

struct Tags {
  std::string artist, album_artist, album, title, genre_raw;
  int year = 0, track = 0;
  double duration = 0.0;
  std::vector<Picture> pictures;
};

// Reads tags and pictures; false with `error` when TagLib cannot read the file.
bool read_tags(const fs::path& path, Tags& t, std::string& error) {
  TagLib::FileRef ref(path.c_str(), true, TagLib::AudioProperties::Average);
  if (ref.isNull() || !ref.file() || !ref.file()->isValid()) {
    error = "TagLib cannot read it (not a supported audio file, or corrupt)";
    return false;
  }
  if (!ref.audioProperties() || ref.audioProperties()->lengthInMilliseconds() <= 0) {
    error = "no audio stream found (TagLib reports no length)";
    return false;
  }
  t.duration = ref.audioProperties()->lengthInMilliseconds() / 1000.0;
  if (const TagLib::Tag* tag = ref.tag()) {
    t.artist = to_utf8(tag->artist());
    t.album = to_utf8(tag->album());
    t.title = to_utf8(tag->title());
    t.year = static_cast<int>(tag->year());
    t.track = static_cast<int>(tag->track());
    t.genre_raw = to_utf8(tag->genre());
  }
  const TagLib::PropertyMap props = ref.file()->properties();
  if (auto it = props.find("ALBUMARTIST"); it != props.end() && !it->second.isEmpty())
    t.album_artist = to_utf8(it->second.front());
  if (auto it = props.find("GENRE"); it != props.end() && !it->second.isEmpty())
    t.genre_raw = to_utf8(it->second.toString("; "));
  auto bytes = [](const TagLib::ByteVector& v) { return std::string(v.data(), v.size()); };
  TagLib::File* f = ref.file();
  if (auto* mp3 = dynamic_cast<TagLib::MPEG::File*>(f)) {
    if (mp3->hasID3v2Tag())
      for (auto* frame : mp3->ID3v2Tag()->frameList("APIC"))
        if (auto* apic = dynamic_cast<TagLib::ID3v2::AttachedPictureFrame*>(frame))
          t.pictures.push_back({bytes(apic->picture()), static_cast<int>(apic->type()), "ID3v2 APIC"});
  } else if (auto* flac = dynamic_cast<TagLib::FLAC::File*>(f)) {
    for (auto* pic : flac->pictureList())
      t.pictures.push_back({bytes(pic->data()), static_cast<int>(pic->type()), "FLAC PICTURE"});
  } else if (auto* mp4 = dynamic_cast<TagLib::MP4::File*>(f)) {
    if (TagLib::MP4::Tag* tag = mp4->tag(); tag && tag->contains("covr"))
      for (const auto& art : tag->item("covr").toCoverArtList())
        t.pictures.push_back({bytes(art.data()), 3, "MP4 covr"});  // covr has no picture type: a front cover
  } else if (auto* xiph = dynamic_cast<TagLib::Ogg::XiphComment*>(f->tag())) {
    for (auto* pic : xiph->pictureList())
      t.pictures.push_back({bytes(pic->data()), static_cast<int>(pic->type()), "METADATA_BLOCK_PICTURE"});
  }
  return true;
}

// The verdict on one image, computed once per distinct content or folder file.
struct CoverCheck {
  bool ok = false;
  std::string kind, reason;  // when !ok: "corrupt image" or "cover too small"
  std::string ext;           // ".jpg", ".png", ".webp"
};

CoverCheck check_image(std::string_view bytes, int min_side, const std::string& what) {
  CoverCheck c;
  ImageHeader h;
  std::string err;
  if (bytes.empty()) {
    c.kind = "corrupt image";
    c.reason = what + ": 0 bytes";
    return c;
  }
  if (!probe_image(bytes, h, err)) {
    c.kind = "corrupt image";
    c.reason = what + ": " + err;
    return c;
  }
  c.ext = h.format == ImageFormat::png ? ".png" : h.format == ImageFormat::webp ? ".webp" : ".jpg";
  if (static_cast<int>(std::min(h.width, h.height)) < min_side) {
    c.kind = "cover too small";
    c.reason = what + ": " + std::to_string(h.width) + "x" + std::to_string(h.height) + ", below --min-cover-size " +
               std::to_string(min_side);
    return c;
  }
  std::vector<std::uint8_t> buf(3 * 32 * 32);
  if (!preprocess_image(bytes, 32, buf.data(), err)) {  // decodes it: truncation and corruption show here
    c.kind = "corrupt image";
    c.reason = what + ": " + (err.empty() ? "cannot decode" : err);
    return c;
  }
  c.ok = true;
  return c;
}

// Folder art, by preference: cover, front, folder, album, albumart*, then the only image.
std::vector<fs::path> folder_images(const fs::path& dir) {
  static const std::vector<std::string> names{"cover", "front", "folder", "album", "albumart", "albumartlarge"};
  static const std::set<std::string> exts{".jpg", ".jpeg", ".png", ".webp"};
  std::vector<std::pair<int, fs::path>> ranked;
  std::vector<fs::path> all;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const fs::path p = it->path();
    if (!exts.count(lower(p.extension().string()))) continue;
    all.push_back(p);
    const std::string stem = lower(p.stem().string());
    for (std::size_t r = 0; r < names.size(); ++r)
      if (stem == names[r]) ranked.emplace_back(static_cast<int>(r), p);
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<fs::path> out;
  for (const auto& [r, p] : ranked) out.push_back(p);
  if (out.empty() && all.size() == 1) out.push_back(all[0]);
  return out;
}

struct Row {
  std::vector<std::string> f = std::vector<std::string>(kNumCols);
};

std::string fmt_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

struct Shared {
  std::mutex mu;
  std::unordered_map<std::string, CoverCheck> by_hash;        // embedded image content -> verdict
  std::unordered_map<std::string, std::pair<fs::path, CoverCheck>> by_folder;  // folder -> chosen image
  std::set<std::string> written;                               // covers/ files present or written
  std::size_t extracted = 0;
};

std::string content_hash(std::string_view bytes) {
  // Two FNV-1a-64 with different bases: 128 bits, enough that distinct covers never merge.
  return hex16(fnv1a64(bytes)) + hex16(fnv1a64(bytes, mix64(bytes.size() + 0x5bd1e995ULL)));
}

}  // namespace

ImportReport import_music(const ImportOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.inputs.empty()) throw InputError("dataset import: give at least one music folder");
  if (o.out.empty()) throw InputError("dataset import: --out DATASET is required");
  if (o.min_cover_size < 16) throw InputError("--min-cover-size must be at least 16 pixels");
  const fs::path out = fs::absolute(o.out).lexically_normal();
  const fs::path covers_dir = out / "covers";

  Walker walker;
  for (const auto& in : o.inputs) {
    const fs::path p = fs::absolute(in).lexically_normal();
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) throw InputError(in.string(), "no such music folder or file");
    if (S_ISDIR(st.st_mode)) walker.walk(p, out);
    else if (S_ISREG(st.st_mode)) walker.add_file(p, st);
  }
  std::sort(walker.files.begin(), walker.files.end(), [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });

  // The previous run: rows by audio path, reused when the file is unchanged and the
  // options that shaped them (excerpt, minimum cover size) are the same.
  std::unordered_map<std::string, Row> previous;
  std::error_code ec;
  const fs::path csv_file = out / "tracks.csv", state_file = out / "import.json";
  bool options_same = false;
  if (fs::exists(state_file, ec)) {
    try {
      const json s = json::parse(read_file(state_file));
      options_same = s.value("excerpt", -1.0) == o.excerpt_s && s.value("min_cover_size", -1) == o.min_cover_size &&
                     s.value("keep_undecodable", false) == o.keep_undecodable;
    } catch (const std::exception&) {
      options_same = false;
    }
  }
  if (fs::exists(csv_file, ec)) {
    const CsvTable old = read_csv(csv_file);
    if (old.header == kColumns)
      for (const auto& r : old.records)
        if (r.fields.size() == kNumCols) previous[r.fields[kAudio]] = Row{r.fields};
  }

  Shared shared;
  const bool existed = fs::exists(out, ec);
  fs::create_directories(covers_dir, ec);
  if (ec) throw Error(covers_dir.string() + ": cannot create folder: " + ec.message());
  for (fs::directory_iterator it(covers_dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    shared.written.insert(it->path().filename().string());

  const std::size_t n = walker.files.size();
  std::vector<std::optional<Row>> rows(n);
  std::vector<std::optional<ImportProblem>> problems(n);
  std::vector<char> reused(n, 0);
  std::atomic<std::size_t> done{0};
  int threads = o.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  parallel_for(n, threads, [&](std::size_t i) {
    const FileEntry& fe = walker.files[i];
    const std::string path = fe.path.string();
    auto finish = [&] {
      const std::size_t d = ++done;
      if (o.on_progress) o.on_progress(d, n);
    };
    auto fail = [&](const std::string& kind, const std::string& reason) {
      problems[i] = ImportProblem{fe.path, kind, reason};
    };
    if (options_same) {
      if (auto it = previous.find(path); it != previous.end()) {
        const Row& r = it->second;
        std::error_code e2;
        const fs::path cover = fs::path(r.f[kCover]).is_absolute() ? fs::path(r.f[kCover]) : out / r.f[kCover];
        if (r.f[kSize] == std::to_string(fe.size) && r.f[kMtime] == std::to_string(fe.mtime_ns) &&
            fs::is_regular_file(cover, e2)) {
          rows[i] = r;
          reused[i] = 1;
          return finish();
        }
      }
    }
    const std::string ext = lower(fe.path.extension().string());
    if ((ext == ".m4a" || ext == ".mp4") && !o.keep_undecodable) {
      fail("undecodable audio", path + ": MP4 audio (AAC/ALAC) cannot be decoded by CoverGen's decoder "
                                "(libsndfile/libmpg123), so no features; --keep-undecodable imports it for "
                                "cover/genre-only training");
      return finish();
    }
    Tags tags;
    std::string err;
    bool ok = false;
    try {
      ok = read_tags(fe.path, tags, err);
    } catch (const std::exception& e) {
      err = std::string("TagLib failed: ") + e.what();
    }
    if (!ok) {
      fail("unreadable file", path + ": " + err);
      return finish();
    }
    // Cover candidates in order of preference.
    std::vector<const Picture*> front, other, rest;
    for (const auto& p : tags.pictures)
      (p.type == 3 ? front : p.type == 0 ? other : rest).push_back(&p);
    std::string chosen_cover, source;
    std::string first_kind, first_reason;
    auto note = [&](const CoverCheck& c) {
      if (first_kind.empty()) { first_kind = c.kind; first_reason = c.reason; }
    };
    auto try_embedded = [&](const std::vector<const Picture*>& list) {
      for (const Picture* p : list) {
        if (!chosen_cover.empty()) return;
        const std::string h = content_hash(p->bytes);
        CoverCheck c;
        bool known = false;
        {
          std::lock_guard<std::mutex> lock(shared.mu);
          if (auto it = shared.by_hash.find(h); it != shared.by_hash.end()) { c = it->second; known = true; }
        }
        if (!known) {
          c = check_image(p->bytes, o.min_cover_size, "embedded picture (" + p->where + ") in " + path);
          std::lock_guard<std::mutex> lock(shared.mu);
          shared.by_hash.emplace(h, c);
        }
        if (!c.ok) { note(c); continue; }
        const std::string name = h + c.ext;
        bool write = false;
        {
          std::lock_guard<std::mutex> lock(shared.mu);
          write = shared.written.insert(name).second;
        }
        if (write) {
          write_file_atomic(covers_dir / name, p->bytes);
          std::lock_guard<std::mutex> lock(shared.mu);
          ++shared.extracted;
        }
        chosen_cover = "covers/" + name;
        source = "embedded";
      }
    };
    auto try_folder = [&] {
      if (!chosen_cover.empty()) return;
      const std::string dir = fe.path.parent_path().string();
      std::pair<fs::path, CoverCheck> v;
      bool known = false;
      {
        std::lock_guard<std::mutex> lock(shared.mu);
        if (auto it = shared.by_folder.find(dir); it != shared.by_folder.end()) { v = it->second; known = true; }
      }
      if (!known) {
        for (const auto& img : folder_images(fe.path.parent_path())) {
          std::string bytes;
          try {
            bytes = read_file(img);
          } catch (const std::exception& e) {
            v = {img, CoverCheck{false, "corrupt image", e.what(), {}}};
            continue;
          }
          CoverCheck c = check_image(bytes, o.min_cover_size, img.string());
          const bool good = c.ok;
          if (good || v.first.empty()) v = {img, c};
          if (good) break;
        }
        std::lock_guard<std::mutex> lock(shared.mu);
        shared.by_folder.emplace(dir, v);
      }
      if (v.first.empty()) return;
      if (!v.second.ok) { note(v.second); return; }
      chosen_cover = v.first.string();
      source = "folder";
    };
    try {
      try_embedded(front);
      try_embedded(other);
      try_folder();
      try_embedded(rest);
    } catch (const std::exception& e) {  // e.g. covers/ not writable: a runtime failure, not bad input
      fail("cover not written", path + ": " + e.what());
      return finish();
    }
    if (chosen_cover.empty()) {
      if (!first_kind.empty()) fail(first_kind, first_reason);
      else fail("no cover", path + ": no embedded picture and no cover image (cover.jpg, folder.jpg, front.png, ...) in " +
                                fe.path.parent_path().string());
      return finish();
    }
    Row r;
    auto& f = r.f;
    f[kId] = hex16(fnv1a64(path));
    f[kAudio] = path;
    f[kCover] = chosen_cover;
    f[kArtist] = collapse_ws(tags.artist);
    f[kAlbumArtist] = collapse_ws(tags.album_artist);
    f[kAlbum] = collapse_ws(tags.album);
    f[kTitle] = collapse_ws(tags.title);
    f[kTrackNo] = tags.track > 0 ? std::to_string(tags.track) : "";
    f[kGenreRaw] = tags.genre_raw;
    f[kYear] = tags.year > 0 ? std::to_string(tags.year) : "";
    f[kDuration] = fmt_seconds(tags.duration);
    if (o.excerpt_s > 0) {
      const double len = std::min(o.excerpt_s, tags.duration);
      f[kExStart] = fmt_seconds(std::max(0.0, (tags.duration - len) / 2.0));
      f[kExSeconds] = fmt_seconds(len);
    }
    // The split group: album artist (else artist) + album; without an album tag, the folder.
    const std::string who = lower(f[kAlbumArtist].empty() ? f[kArtist] : f[kAlbumArtist]);
    f[kAlbumKey] = f[kAlbum].empty() ? "folder:" + fe.path.parent_path().string() : who + " - " + lower(f[kAlbum]);
    f[kCoverSource] = source;
    f[kSize] = std::to_string(fe.size);
    f[kMtime] = std::to_string(fe.mtime_ns);
    rows[i] = std::move(r);
    finish();
  });

  ImportReport rep;
  rep.files = n;
  rep.problems = std::move(walker.problems);
  for (auto& p : problems)
    if (p) rep.problems.push_back(std::move(*p));
  std::map<std::string, std::size_t> genre_counts;
  std::set<std::string> albums, covers, seen_paths;
  std::string csv;
  for (std::size_t c = 0; c < kColumns.size(); ++c) csv += (c ? "," : "") + kColumns[c];
  csv += '\n';
  std::size_t reread = 0;  // rows of the previous run read again: features stored for them are stale
  for (std::size_t i = 0; i < n; ++i) {
    if (!rows[i]) continue;
    auto& f = rows[i]->f;
    f[kGenre] = normalise_genre(f[kGenreRaw], o.genre_map);  // re-applied on reuse: a new --genre-map takes effect
    if (f[kGenre].empty()) f[kGenre] = "unknown";
    ++genre_counts[f[kGenre]];
    albums.insert(f[kAlbumKey]);
    covers.insert(f[kCover]);
    seen_paths.insert(f[kAudio]);
    (f[kCoverSource] == "embedded" ? rep.covers_embedded : rep.covers_folder)++;
    (reused[i] ? rep.reused : rep.added)++;
    if (!reused[i] && previous.count(f[kAudio])) ++reread;
    ++rep.split_counts[static_cast<int>(split_of(f[kAlbumKey]))];
    for (std::size_t c = 0; c < f.size(); ++c) csv += (c ? "," : "") + csv_escape(f[c]);
    csv += '\n';
  }
  for (const auto& [path, r] : previous)
    if (!seen_paths.count(path)) ++rep.removed;
  rep.tracks = seen_paths.size();
  rep.albums = albums.size();
  rep.covers = covers.size();
  rep.covers_extracted = shared.extracted;
  for (const auto& [g, c] : genre_counts) rep.genres.emplace_back(g, c);
  std::stable_sort(rep.genres.begin(), rep.genres.end(), [](const auto& a, const auto& b) { return a.second > b.second; });

  if (rep.tracks == 0) {
    if (!existed) fs::remove_all(out, ec);  // leave nothing behind
    std::string why = rep.problems.empty() ? "no audio files (" : std::to_string(rep.problems.size()) + " problems, no usable track (";
    throw InputError(out.string(), why + std::to_string(n) + " audio files found; supported: .mp3 .flac .ogg .opus "
                                         ".m4a .wav .aiff); nothing written");
  }

  DatasetSpec spec;
  spec.root = out;
  spec.genre_column = "genre";
  spec.split_group = "album_key";
  spec.excerpt_start_column = "excerpt_start";
  spec.excerpt_seconds_column = "excerpt_seconds";
  write_file_atomic(out / "tracks.csv", csv);
  write_file_atomic(out / "dataset.json", spec.to_json());
  if (reread > 0) {
    const fs::path store = out / ".covergen-cache" / "features";
    if (fs::exists(store, ec)) rep.feature_store_cleared = fs::remove_all(store, ec) > 0 && !ec;
  }
  json inputs = json::array();
  for (const auto& in : o.inputs) inputs.push_back(fs::absolute(in).lexically_normal().string());
  json gm = json::object();
  for (const auto& [a, b] : o.genre_map) gm[a] = b;
  write_file_atomic(state_file, json{{"schema_version", 1},
                                     {"inputs", inputs},
                                     {"excerpt", o.excerpt_s},
                                     {"min_cover_size", o.min_cover_size},
                                     {"keep_undecodable", o.keep_undecodable},
                                     {"genre_map", gm}}
                                    .dump(2) + "\n");
  // Covers no row references any more (their tracks were removed or re-tagged).
  for (const auto& name : shared.written) {
    if (covers.count("covers/" + name)) continue;
    const bool ours = name.size() > 32 && std::all_of(name.begin(), name.begin() + 32, [](unsigned char c) {
      return std::isxdigit(c);
    });
    if (ours) fs::remove(covers_dir / name, ec);
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace covergen::data
