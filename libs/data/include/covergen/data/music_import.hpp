// `covergen dataset import`: a music library (folders of mp3/FLAC/Ogg/MP4 files with
// tags and cover art) becomes a dataset folder in the documented format
// (docs/datasets.md, "Importing a music library"). Tags and embedded pictures are
// read with TagLib; the audio files are referenced where they are, embedded covers
// are extracted once per distinct image (content hash) into DATASET/covers/.
// Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace covergen::data {

/// Normalised source genre -> target genre (both normalised), from --genre-map.
using GenreMap = std::map<std::string, std::string>;

/// Reads a genre map: a JSON object whose values are either a target name
/// ({"indie rock": "rock"}) or a list of source names merged into the key
/// ({"rock": ["indie rock", "alt rock"]}). Names are normalised like tags.
/// Throws InputError naming the file for bad JSON or a bad value.
GenreMap load_genre_map(const std::filesystem::path& file);

/// One tag value -> one genre name: ID3v1 numeric references ("(17)", "17",
/// "(17)Rock") become their names, the first of several values ("Rock; Indie",
/// "Rock/Pop", "Rock, Pop") is taken, whitespace is collapsed and the result is
/// lower-cased; then `map` applies. Empty when the tag holds no genre.
std::string normalise_genre(const std::string& raw, const GenreMap& map = {});

struct ImportOptions {
  std::vector<std::filesystem::path> inputs;  ///< music folders (or single files)
  std::filesystem::path out;                  ///< the dataset folder (created or updated)
  int threads = 0;                            ///< 0: all cores
  double excerpt_s = 30.0;                    ///< excerpt length (the middle of each track); <= 0: whole track
  int min_cover_size = 200;                   ///< shorter side of a usable cover, pixels
  GenreMap genre_map;
  /// MP4/M4A audio (AAC, ALAC) cannot be decoded by CoverGen's decoder: by default such
  /// tracks are listed and skipped; true imports them for cover/genre-only training.
  bool keep_undecodable = false;
  /// Called from worker threads (serialise it yourself) after each file.
  std::function<void(std::size_t done, std::size_t total)> on_progress;
};

/// A file or folder that did not become a track, with the reason.
struct ImportProblem {
  std::filesystem::path path;
  std::string kind;    ///< "unreadable file", "no cover", "cover too small", "corrupt image",
                       ///< "unreadable folder", "undecodable audio", "cover not written"
  std::string reason;  ///< names the file and the problem
  std::string to_string() const;  ///< "path: kind: reason"
};

struct ImportReport {
  std::size_t files = 0;            ///< audio files found
  std::size_t tracks = 0;           ///< rows written
  std::size_t albums = 0;           ///< distinct album keys (the split groups)
  std::size_t covers = 0;           ///< distinct cover files referenced
  std::size_t covers_embedded = 0;  ///< tracks whose cover came from the file's tags
  std::size_t covers_folder = 0;    ///< tracks whose cover is an image in their folder
  std::size_t covers_extracted = 0; ///< new files written to covers/ in this run
  std::size_t reused = 0;           ///< rows kept from the previous run (file unchanged: not read again)
  std::size_t added = 0;            ///< rows new in this run (or re-read because the file changed)
  std::size_t removed = 0;          ///< rows of the previous run whose file is gone
  /// The dataset's feature store (.covergen-cache/features, keyed by track id) was
  /// deleted because rows it held were re-read (a changed file or --excerpt): the next
  /// `features`, `encoder fit` or `train` extracts them again instead of using stale ones.
  bool feature_store_cleared = false;
  std::size_t split_counts[3] = {0, 0, 0};  ///< tracks per split (train, val, test)
  std::vector<std::pair<std::string, std::size_t>> genres;  ///< histogram, most tracks first
  std::vector<ImportProblem> problems;
  double seconds = 0.0;
  std::string to_json() const;      ///< the --json / --report document
};

/// Imports (or updates) the dataset. Never stops for a bad file or folder: each is
/// reported in ImportReport::problems. Throws InputError when an input does not exist
/// or when no usable track was found (nothing is written then), covergen::Error when
/// the dataset cannot be written. Everything is written to temp files and renamed.
ImportReport import_music(const ImportOptions& options);

/// The file name suffixes the importer reads (lower case, with the dot).
const std::vector<std::string>& importable_extensions();

}  // namespace covergen::data
