// The dataset format (docs/datasets.md): a folder with a CSV, one row a track, and a
// small JSON spec (dataset.json) that maps the CSV's own column names and path
// templates, so a user's CSV loads without converting it. Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace covergen::data {

enum class Split { train = 0, val = 1, test = 2 };
const char* to_string(Split split);
/// "train", "val" or "test"; throws InputError otherwise.
Split split_from_string(const std::string& name);

/// A path given either by a CSV column or by a template such as "covers/{id}.jpg"
/// ({id} is the track id, {genre} the genre, {NAME} any CSV column). Relative paths
/// are taken from the dataset folder.
struct PathSource {
  std::string column;    ///< set when the path is a column
  std::string pattern;   ///< set when the path is a template
};

/// The parsed dataset.json.
struct DatasetSpec {
  std::filesystem::path root;        ///< the dataset folder (paths are relative to it)
  std::filesystem::path spec_file;   ///< empty when defaults were used
  std::string csv = "tracks.csv";
  char delimiter = ',';
  std::string id_column = "id";
  PathSource audio{"audio", {}};
  PathSource cover{"cover", {}};
  std::string genre_column;          ///< empty: the column "genre" if the CSV has one, else no genre
  /// (name, column): attributes exposed under `name`, read from `column`.
  std::vector<std::pair<std::string, std::string>> attributes;
  double val_fraction = 0.1, test_fraction = 0.1;
  /// split.group: a column whose value decides the split (rows with the same value land
  /// in the same split, e.g. all tracks of one album); empty: the id decides.
  std::string split_group;
  /// columns.excerpt_start / columns.excerpt_seconds: the part of the audio that feature
  /// extraction reads (seconds); empty: the whole file.
  std::string excerpt_start_column, excerpt_seconds_column;
  bool require_audio = true;         ///< a row whose audio file is missing is bad
  bool audio_given = false;          ///< the spec named the audio column or template

  /// Reads `dir/dataset.json`, or `path` itself when it is a .json file. A folder
  /// without dataset.json gets the defaults above (columns id, audio, cover; genre
  /// when the header has it; no attributes). Throws InputError naming the spec file
  /// and the key for a bad spec.
  static DatasetSpec load(const std::filesystem::path& dir_or_spec);
  /// Parses spec JSON text; `root` is the dataset folder, `origin` names it in errors.
  static DatasetSpec parse(const std::string& json_text, const std::filesystem::path& root,
                           const std::filesystem::path& origin);
  std::string to_json() const;
};

struct Track {
  std::string id;
  std::filesystem::path audio, cover;  ///< absolute or relative to the working folder
  int genre = -1;                      ///< index into Dataset::genres(), -1 when none
  std::vector<double> attributes;      ///< in DatasetSpec::attributes order
  Split split = Split::train;
  std::size_t line = 0;                ///< CSV line of the row
  double excerpt_start = -1.0;         ///< seconds into the audio; <0: no excerpt (the whole file)
  double excerpt_seconds = -1.0;       ///< excerpt length; <0: to the end
};

/// A row (or a cover) that was skipped, with where and why.
struct BadRow {
  std::filesystem::path file;
  std::size_t line = 0;
  std::string id;   ///< may be empty
  std::string problem;
  std::string to_string() const;  ///< "file:line: problem"
};

struct DatasetOptions {
  bool check_files = true;  ///< stat audio and cover files (a missing one is a bad row)
};

class Dataset {
 public:
  /// Loads the spec and the CSV. A bad spec (including a column the spec names that
  /// the CSV header lacks) throws InputError naming the column; bad rows are
  /// collected in bad_rows() and skipped.
  static Dataset open(const std::filesystem::path& dir_or_spec, const DatasetOptions& options = {});
  /// Same, from an already parsed spec.
  static Dataset open(const DatasetSpec& spec, const DatasetOptions& options = {});

  const DatasetSpec& spec() const { return spec_; }
  const std::vector<Track>& tracks() const { return tracks_; }
  std::size_t size() const { return tracks_.size(); }
  const std::vector<std::string>& genres() const { return genres_; }  ///< sorted names
  std::vector<std::string> attribute_names() const;
  /// Index of an attribute name; throws InputError listing the available ones.
  std::size_t attribute_index(const std::string& name) const;
  const std::vector<BadRow>& bad_rows() const { return bad_rows_; }
  std::filesystem::path csv_path() const;

  /// Indices of the tracks in `split`, in file order.
  std::vector<std::size_t> indices(Split split) const;
  /// Indices in file order of the tracks in `split` (all when none), at most
  /// `per_genre` of each genre (the first; 0 = no limit): `covergen dataset tracks`.
  std::vector<std::size_t> select(std::optional<Split> split, int per_genre = 0) const;

  /// Changes whenever a track is added, removed, reordered or its cover file is
  /// replaced (id, cover path, size, mtime). Keys the preprocessing cache.
  std::uint64_t cover_fingerprint() const;
  /// Changes whenever the track list or any audio file changes. Keys embeddings.
  std::uint64_t audio_fingerprint() const;

 private:
  DatasetSpec spec_;
  std::vector<Track> tracks_;
  std::vector<std::string> genres_;
  std::vector<BadRow> bad_rows_;
};

/// The split of an id: bucket = fnv1a64(id) % 1000; bucket < 1000*(1-val-test) is
/// train, the next 1000*val buckets val, the rest test.
Split split_of(const std::string& id, double val_fraction = 0.1, double test_fraction = 0.1);

/// Expands a path template for one CSV row ({id}, {genre}, {COLUMN}); throws
/// std::invalid_argument("unknown placeholder NAME") or ("unclosed {").
std::string expand_template(const std::string& pattern, const std::vector<std::string>& header,
                            const std::vector<std::string>& fields, const std::string& id,
                            const std::string& genre);

/// Parses a finite double ("1.5", "-3e2", " 7 "); nullopt for "", "abc", "nan", "inf".
std::optional<double> parse_number(const std::string& text);

}  // namespace covergen::data
