// `covergen dataset import` as a library (covergen::data::import_music), issue 19: a
// music library made here with the real tools (lame, flac + metaflac, oggenc +
// vorbiscomment, ffmpeg), then imported: embedded art from every container, folder
// art, no art, a too-small and a corrupt cover, an unreadable file, a symlink loop,
// genres normalised and merged, albums kept on one side of the split, duplicate
// covers stored once, and reruns that add and drop files without re-reading the rest.
#include "music_library.hpp"
#include "test_support.hpp"

#include <covergen/data/csv.hpp>
#include <covergen/data/dataset.hpp>
#include <covergen/data/music_import.hpp>
#include <covergen/errors.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <unistd.h>

namespace fs = std::filesystem;
namespace data = covergen::data;
using covergen::test::make_image;
using covergen::test::read_bytes;
using covergen::test::TempDir;
using covergen::test::TrackSpec;
using covergen::test::write_text;

namespace {

const data::ImportProblem* find_problem(const data::ImportReport& r, const std::string& file_part) {
  for (const auto& p : r.problems)
    if (p.path.string().find(file_part) != std::string::npos) return &p;
  return nullptr;
}

std::map<std::string, std::size_t> genre_map(const data::ImportReport& r) {
  return {r.genres.begin(), r.genres.end()};
}

// Rows of tracks.csv by "folder/file" of the audio.
std::map<std::string, std::map<std::string, std::string>> rows_by_file(const fs::path& dataset) {
  const auto t = data::read_csv(dataset / "tracks.csv");
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const auto& r : t.records) {
    std::map<std::string, std::string> m;
    for (std::size_t c = 0; c < t.header.size(); ++c) m[t.header[c]] = r.fields[c];
    const fs::path a(m["audio"]);
    out[a.parent_path().filename().string() + "/" + a.filename().string()] = m;
  }
  return out;
}

std::size_t files_in(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

}  // namespace

TEST_CASE("genre tags are normalised, numeric ID3v1 genres named, the first value taken", "[import][genre]") {
  CHECK(data::normalise_genre("Rock") == "rock");
  CHECK(data::normalise_genre("  rock ") == "rock");
  CHECK(data::normalise_genre("(17)") == "rock");
  CHECK(data::normalise_genre("17") == "rock");
  CHECK(data::normalise_genre("(17)(35)") == "rock");
  CHECK(data::normalise_genre("(8)Jazz Fusion") == "jazz fusion");
  CHECK(data::normalise_genre("Rock; Indie") == "rock");
  CHECK(data::normalise_genre("Rock/Pop") == "rock");
  CHECK(data::normalise_genre("Hip   Hop, Rap") == "hip hop");
  CHECK(data::normalise_genre("(52)") == "electronic");
  CHECK(data::normalise_genre("") == "");
  CHECK(data::normalise_genre("   ") == "");
  const data::GenreMap map{{"indie rock", "rock"}, {"electronic", "electro"}, {"electro", "dance"}};
  CHECK(data::normalise_genre("Indie  Rock", map) == "rock");
  CHECK(data::normalise_genre("(52)", map) == "dance");  // chains resolve

  TempDir tmp("genremap");
  write_text(tmp / "map.json", R"({"rock": ["Indie Rock", "alt rock"], "Hip-Hop": "hip hop"})");
  const auto m = data::load_genre_map(tmp / "map.json");
  CHECK(m.at("indie rock") == "rock");
  CHECK(m.at("alt rock") == "rock");
  CHECK(m.at("hip-hop") == "hip hop");
  write_text(tmp / "bad.json", R"({"rock": 3})");
  CHECK_THROWS_WITH(data::load_genre_map(tmp / "bad.json"), Catch::Contains("bad.json") && Catch::Contains("'rock'"));
  write_text(tmp / "broken.json", "{");
  CHECK_THROWS_WITH(data::load_genre_map(tmp / "broken.json"), Catch::Contains("not valid JSON"));
}

TEST_CASE("split.group puts every row of a group in the same split", "[import][split]") {
  TempDir tmp("group");
  std::string csv = "id,audio,cover,album\n";
  for (int i = 0; i < 60; ++i) csv += "t" + std::to_string(i) + ",a.wav,c.jpg,album" + std::to_string(i / 6) + "\n";
  csv += "solo,a.wav,c.jpg,\n";  // an empty group falls back to the id
  write_text(tmp / "tracks.csv", csv);
  write_text(tmp / "dataset.json", R"({"split": {"val": 0.2, "test": 0.2, "group": "album"}})");
  data::DatasetOptions o;
  o.check_files = false;
  const auto ds = data::Dataset::open(tmp.path(), o);
  REQUIRE(ds.size() == 61);
  std::map<std::string, std::set<data::Split>> splits;
  std::set<data::Split> track_level;
  for (const auto& t : ds.tracks()) {
    if (t.id == "solo") {
      CHECK(t.split == data::split_of("solo", 0.2, 0.2));
      continue;
    }
    const std::string album = "album" + std::to_string(std::stoi(t.id.substr(1)) / 6);
    splits[album].insert(t.split);
    CHECK(t.split == data::split_of(album, 0.2, 0.2));
  }
  for (const auto& [album, s] : splits) CHECK(s.size() == 1);
  // Ten albums over three splits: the split is by album, yet not everything is train.
  std::set<data::Split> used;
  for (const auto& [album, s] : splits) used.insert(*s.begin());
  CHECK(used.size() >= 2);
  CHECK(ds.spec().split_group == "album");
  CHECK(ds.spec().to_json().find("\"group\": \"album\"") != std::string::npos);

  write_text(tmp / "dataset.json", R"({"split": {"group": "release"}})");
  CHECK_THROWS_WITH(data::Dataset::open(tmp.path(), o), Catch::Contains("'release'") && Catch::Contains("split.group"));
}

TEST_CASE("a music library imports: embedded and folder art, bad files listed, reruns update in place", "[import]") {
  const auto tools = covergen::test::music_tools();
  if (!tools.complete()) {
    WARN("skipped: the import tests need " << tools.missing() << " (bash .ci/install-deps)");
    return;
  }
  TempDir tmp("import");
  const fs::path music = tmp / "music", out = tmp / "dataset";
  const std::string cover_a = make_image(300, 300, ".jpg", 3, false, 1);
  const std::string cover_b = make_image(320, 240, ".png", 3, false, 2);
  const std::string cover_c = make_image(256, 256, ".jpg", 3, false, 3);
  const std::string folder_d = make_image(400, 400, ".jpg", 3, false, 4);
  const std::string small = make_image(64, 64, ".jpg", 3, false, 5);
  std::string corrupt = make_image(300, 300, ".jpg", 3, false, 6);
  corrupt.resize(corrupt.size() / 3);  // a JPEG cut off mid-scan

  auto mk = [&](TrackSpec s) { covergen::test::make_track(tools, s); };
  // Album A (mp3, ID3v2 APIC): three tracks, one picture, genre spelled three ways.
  mk({music / "Artist X" / "Alpha" / "01.mp3", "Artist X", "", "Alpha", "One", "Rock", "2001", 1, cover_a, 3.0, 220});
  mk({music / "Artist X" / "Alpha" / "02.mp3", "Artist X", "", "Alpha", "Two", "rock ", "2001", 2, cover_a, 3.0, 247});
  mk({music / "Artist X" / "Alpha" / "03.mp3", "Artist X", "", "Alpha", "Three", "Rock; Indie", "2001", 3, cover_a, 3.0, 262});
  // Album B (FLAC PICTURE via metaflac): the numeric ID3v1 genre "(17)" is rock too.
  mk({music / "Various" / "Beta" / "01.flac", "Band B1", "Various", "Beta", "Uno", "(17)", "1999", 1, cover_b, 3.0, 330});
  mk({music / "Various" / "Beta" / "02.flac", "Band B2", "Various", "Beta", "Dos", "(17)", "1999", 2, cover_b, 3.0, 349});
  // Album C (Ogg Vorbis, METADATA_BLOCK_PICTURE).
  mk({music / "Gamma" / "01.ogg", "Artist Z", "", "Gamma", "Eins", "Jazz", "2010", 1, cover_c, 3.0, 392});
  mk({music / "Gamma" / "02.ogg", "Artist Z", "", "Gamma", "Zwei", "Jazz", "2010", 2, cover_c, 3.0, 415});
  // Album D (FLAC without pictures): folder art.
  mk({music / "Delta" / "01.flac", "Artist D", "", "Delta", "A", "Electronic", "2020", 1, "", 3.0, 440});
  mk({music / "Delta" / "02.flac", "Artist D", "", "Delta", "B", "Electronic", "2020", 2, "", 3.0, 466});
  write_text(music / "Delta" / "Folder.JPG", folder_d);
  write_text(music / "Delta" / "back.jpg", small);  // not a front-cover name: ignored
  // Problems: no art, a too-small cover, a corrupt cover, a file TagLib cannot read.
  mk({music / "Epsilon" / "01.mp3", "Artist E", "", "Epsilon", "Bare", "Pop", "2000", 1, "", 3.0, 500});
  mk({music / "Zeta" / "01.mp3", "Artist F", "", "Zeta", "Tiny", "Pop", "2000", 1, small, 3.0, 520});
  mk({music / "Eta" / "01.flac", "Artist G", "", "Eta", "Cut", "Pop", "2000", 1, "", 3.0, 540});
  write_text(music / "Eta" / "cover.jpg", corrupt);
  write_text(music / "Broken" / "garbage.flac", std::string(5000, 'x'));
  // A symlink loop must not hang the walk.
  fs::create_directory_symlink("..", music / "Gamma" / "loop");
  // MP4 covr (ffmpeg): imported only with keep_undecodable.
  const bool have_m4a = !tools.ffmpeg.empty();
  // Ogg Opus (ffmpeg + METADATA_BLOCK_PICTURE), carrying Alpha's picture: stored once.
  if (have_m4a) {
    mk({music / "Theta" / "01.m4a", "Artist H", "", "Theta", "Mp4", "Jazz", "2015", 1, cover_c, 3.0, 600});
    mk({music / "Iota" / "01.opus", "Artist I", "", "Iota", "Op", "Rock", "2016", 1, cover_a, 3.0, 300});
  } else {
    WARN("ffmpeg not found at configure time: the MP4 covr and Opus cases are not tested");
  }

  data::ImportOptions o;
  o.inputs = {music};
  o.out = out;
  o.threads = 2;
  o.excerpt_s = 2.0;
  o.keep_undecodable = true;
  const auto r = data::import_music(o);
  INFO(r.to_json());

  const std::size_t expect_tracks = 9 + (have_m4a ? 2 : 0);
  CHECK(r.files == expect_tracks + 4);
  CHECK(r.tracks == expect_tracks);
  CHECK(r.albums == 4 + (have_m4a ? 2 : 0));
  CHECK(r.covers == 4);                // A, B, C embedded (the m4a shares C's bytes, the opus A's) + D's folder image
  CHECK(r.covers_extracted == 3);      // each distinct embedded picture written once
  CHECK(files_in(out / "covers") == 3);
  CHECK(r.covers_folder == 2);
  CHECK(r.covers_embedded == 7 + (have_m4a ? 2 : 0));
  CHECK(r.added == expect_tracks);
  CHECK(r.reused == 0);

  // Each bad file is listed with its reason.
  REQUIRE(r.problems.size() == 4);
  const auto* p = find_problem(r, "Epsilon");
  REQUIRE(p);
  CHECK(p->kind == "no cover");
  p = find_problem(r, "Zeta");
  REQUIRE(p);
  CHECK(p->kind == "cover too small");
  CHECK(p->reason.find("64x64") != std::string::npos);
  p = find_problem(r, "Eta");
  REQUIRE(p);
  CHECK(p->kind == "corrupt image");
  CHECK(p->reason.find("cover.jpg") != std::string::npos);
  p = find_problem(r, "garbage.flac");
  REQUIRE(p);
  CHECK(p->kind == "unreadable file");
  CHECK(p->reason.find("garbage.flac") != std::string::npos);

  // Genres: "Rock", "rock ", "Rock; Indie" and "(17)" are one genre shared by two albums.
  auto g = genre_map(r);
  CHECK(g["rock"] == 5 + (have_m4a ? 1 : 0));
  CHECK(g["jazz"] == 2 + (have_m4a ? 1 : 0));
  CHECK(g["electronic"] == 2);
  CHECK(g.size() == 3);

  // The CSV: tags, original audio paths, covers, excerpt in the middle.
  auto rows = rows_by_file(out);
  const auto& a1 = rows.at("Alpha/01.mp3");
  CHECK(a1.at("artist") == "Artist X");
  CHECK(a1.at("album") == "Alpha");
  CHECK(a1.at("title") == "One");
  CHECK(a1.at("year") == "2001");
  CHECK(a1.at("track") == "1");
  CHECK(a1.at("genre") == "rock");
  CHECK(a1.at("cover_source") == "embedded");
  CHECK(fs::path(a1.at("audio")) == fs::absolute(music / "Artist X" / "Alpha" / "01.mp3"));
  const double dur = std::stod(a1.at("duration"));
  CHECK(dur == Approx(3.0).margin(0.15));
  CHECK(std::stod(a1.at("excerpt_seconds")) == Approx(2.0));
  CHECK(std::stod(a1.at("excerpt_start")) == Approx((dur - 2.0) / 2).margin(0.002));
  CHECK(read_bytes(out / a1.at("cover")) == cover_a);  // extracted byte for byte
  CHECK(fs::path(a1.at("cover")).extension() == ".jpg");
  std::set<std::string> alpha_covers;
  for (const auto& [name, row] : rows)
    if (row.at("album") == "Alpha") alpha_covers.insert(row.at("cover"));
  CHECK(alpha_covers.size() == 1);  // three tracks, one stored cover
  for (const auto& [name, row] : rows) {
    if (row.at("album") == "Beta") {
      CHECK(read_bytes(out / row.at("cover")) == cover_b);
      CHECK(fs::path(row.at("cover")).extension() == ".png");
      CHECK(row.at("album_artist") == "Various");
      CHECK(row.at("album_key") == "various - beta");  // the album artist, not the track artists
      CHECK(row.at("genre_raw") == "(17)");
    }
    if (row.at("album") == "Gamma") CHECK(read_bytes(out / row.at("cover")) == cover_c);
    if (row.at("album") == "Delta") {
      CHECK(row.at("cover_source") == "folder");
      CHECK(fs::path(row.at("cover")) == fs::absolute(music / "Delta" / "Folder.JPG"));
    }
    if (row.at("album") == "Iota") {
      CHECK(row.at("cover") == a1.at("cover"));  // Opus METADATA_BLOCK_PICTURE, deduplicated with the mp3 album's
      CHECK(row.at("genre") == "rock");
    }
    if (row.at("album") == "Theta") {
      CHECK(row.at("cover_source") == "embedded");
      CHECK(read_bytes(out / row.at("cover")) == cover_c);  // MP4 covr, deduplicated with the Ogg album's
    }
  }

  // The dataset opens with no bad rows; every album sits on one side of the split.
  const auto ds = data::Dataset::open(out);
  CHECK(ds.bad_rows().empty());
  REQUIRE(ds.size() == expect_tracks);
  CHECK(ds.spec().split_group == "album_key");
  std::map<std::string, std::set<data::Split>> album_splits;
  {
    const auto tab = data::read_csv(out / "tracks.csv");
    const long key = tab.column("album_key");
    REQUIRE(key >= 0);
    for (std::size_t i = 0; i < ds.size(); ++i) {
      const auto& t = ds.tracks()[i];
      const auto& rec = *std::find_if(tab.records.begin(), tab.records.end(),
                                      [&](const data::CsvRecord& rr) { return rr.fields[0] == t.id; });
      const std::string& album = rec.fields[static_cast<std::size_t>(key)];
      album_splits[album].insert(t.split);
      CHECK(t.split == data::split_of(album));
      CHECK(t.excerpt_seconds == Approx(2.0));
      CHECK(t.excerpt_start > 0.0);
    }
  }
  for (const auto& [album, s] : album_splits) {
    INFO(album);
    CHECK(s.size() == 1);
  }
  CHECK(r.split_counts[0] + r.split_counts[1] + r.split_counts[2] == expect_tracks);

  // Rerun with one added file: only it is read; nothing re-extracted, and features
  // already extracted for the other tracks stay.
  const auto csv_before = rows_by_file(out);
  const fs::path store = out / ".covergen-cache" / "features";
  fs::create_directories(store);
  write_text(store / "index.json", "{}");
  mk({music / "Gamma" / "03.ogg", "Artist Z", "", "Gamma", "Drei", "Jazz", "2010", 3, cover_c, 3.0, 440});
  const auto r2 = data::import_music(o);
  INFO(r2.to_json());
  CHECK_FALSE(r2.feature_store_cleared);
  CHECK(fs::exists(store / "index.json"));
  CHECK(r2.tracks == expect_tracks + 1);
  CHECK(r2.added == 1);
  CHECK(r2.reused == expect_tracks);
  CHECK(r2.removed == 0);
  CHECK(r2.covers_extracted == 0);  // its picture is Gamma's, stored already
  CHECK(files_in(out / "covers") == 3);
  auto rows2 = rows_by_file(out);
  CHECK(rows2.at("Gamma/03.ogg").at("cover") == rows2.at("Gamma/02.ogg").at("cover"));
  CHECK(rows2.at("Alpha/01.mp3") == csv_before.at("Alpha/01.mp3"));

  // Removing an album drops its rows and its extracted cover; a genre map merges genres.
  fs::remove_all(music / "Various");
  write_text(tmp / "map.json", R"({"rock": ["electronic"]})");
  o.genre_map = data::load_genre_map(tmp / "map.json");
  const auto r3 = data::import_music(o);
  INFO(r3.to_json());
  CHECK(r3.removed == 2);
  CHECK(r3.added == 0);
  CHECK(r3.tracks == expect_tracks - 1);
  CHECK(files_in(out / "covers") == 2);
  g = genre_map(r3);
  CHECK(g["rock"] == 3 + 2 + (have_m4a ? 1 : 0));  // Alpha's three + Delta's electronic (+ the opus)
  CHECK(g.count("electronic") == 0);

  // Another --excerpt re-reads every track: the features stored for them (keyed by
  // track id) would be of the old windows, so the store is deleted.
  o.excerpt_s = 1.5;
  const auto r5 = data::import_music(o);
  CHECK(r5.feature_store_cleared);
  CHECK_FALSE(fs::exists(store));
  CHECK(r5.reused == 0);
  CHECK(std::stod(rows_by_file(out).at("Alpha/01.mp3").at("excerpt_seconds")) == Approx(1.5));

  // Without keep_undecodable the MP4 track is listed, not imported.
  if (have_m4a) {
    o.keep_undecodable = false;
    const auto r4 = data::import_music(o);
    p = find_problem(r4, "Theta");
    REQUIRE(p);
    CHECK(p->kind == "undecodable audio");
    CHECK(r4.tracks == expect_tracks - 2);
  }

  // An unreadable folder is listed, not fatal (root reads everything: checked as a user only).
  if (::geteuid() != 0) {
    fs::create_directories(music / "Locked");
    fs::permissions(music / "Locked", fs::perms::none);
    const auto r5 = data::import_music(o);
    fs::permissions(music / "Locked", fs::perms::owner_all);
    p = find_problem(r5, "Locked");
    REQUIRE(p);
    CHECK(p->kind == "unreadable folder");
    CHECK(r5.tracks > 0);
  } else {
    WARN("running as root: the unreadable-folder case is not checked");
  }

  // A folder with no audio at all is bad input; nothing written.
  fs::create_directories(tmp / "empty");
  CHECK_THROWS_AS(data::import_music({{tmp / "empty"}, tmp / "ds2"}), covergen::InputError);
  CHECK_FALSE(fs::exists(tmp / "ds2" / "tracks.csv"));
  CHECK_THROWS_WITH(data::import_music({{tmp / "nope"}, tmp / "ds2"}), Catch::Contains("nope"));
}
