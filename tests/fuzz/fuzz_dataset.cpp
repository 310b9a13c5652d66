// The dataset format: spec JSON (DatasetSpec::parse) + CSV (parse_csv) + the row
// mapping of Dataset::open (templates, numbers, genres, splits, bad rows).
// Input: <dataset.json> '\0' <tracks.csv>. The CSV is written to a tmpfs folder;
// the spec's "csv" is forced to that file (a spec may name any file by design).
// Contract: InputError for a bad spec, bad rows collected, never anything else.
#include "fuzz_support.hpp"

#include <covergen/data/csv.hpp>
#include <covergen/data/dataset.hpp>
#include <covergen/errors.hpp>

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace covergen;
  std::string_view parts[2];
  fuzz::split(std::string_view(reinterpret_cast<const char*>(data), size), '\0', parts);
  const auto& dir = fuzz::scratch_dir();

  // The CSV reader alone, with each supported delimiter.
  for (char d : {',', ';', '\t'}) {
    data::CsvTable t = data::parse_csv(parts[1], d);
    for (const auto& r : t.records)
      if (r.line == 0) std::abort();
    (void)t.column("id");
  }

  data::DatasetSpec spec;
  try {
    spec = data::DatasetSpec::parse(std::string(parts[0]), dir, dir / "dataset.json");
    (void)spec.to_json();
  } catch (const InputError&) {
    return 0;
  }
  spec.csv = "tracks.csv";
  fuzz::write_bytes(dir / "tracks.csv", parts[1]);
  data::DatasetOptions opt;
  opt.check_files = false;
  try {
    data::Dataset ds = data::Dataset::open(spec, opt);
    for (const auto& b : ds.bad_rows()) (void)b.to_string();
    for (const auto& t : ds.tracks())
      if (t.genre >= static_cast<int>(ds.genres().size()) || t.attributes.size() != spec.attributes.size())
        std::abort();
    (void)ds.cover_fingerprint();
  } catch (const InputError&) {
  }
  return 0;
}
