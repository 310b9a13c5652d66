// covergen dataset import MUSIC_DIR... --out DATASET: a music library (tags and cover
// art read with TagLib) becomes a dataset folder (docs/datasets.md, "Importing a
// music library"). The work is covergen::data::import_music (torch-free); this file
// is the command line: options, progress on a terminal, the summary or --json on
// stdout, the --report file.
#include "cli.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/data/music_import.hpp>
#include <covergen/errors.hpp>
#include <covergen/progress.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>

namespace covergen::cli {

namespace {

namespace data = covergen::data;

struct ImportCli {
  CommonOptions common;
  std::vector<std::string> inputs;
  std::string out, genre_map, report;
  data::ImportOptions o;
};

void run_import(ImportCli& c) {
  for (const auto& in : c.inputs) c.o.inputs.emplace_back(in);
  c.o.out = c.out;
  if (!c.genre_map.empty()) c.o.genre_map = data::load_genre_map(c.genre_map);
  Progress progress("importing", 0, !c.common.quiet && !c.common.json);
  std::mutex mu;
  c.o.on_progress = [&](std::size_t done, std::size_t) {
    std::lock_guard<std::mutex> lock(mu);
    progress.update(static_cast<std::int64_t>(done));
  };
  const data::ImportReport r = data::import_music(c.o);
  progress.finish();
  if (!c.report.empty()) covergen::write_file_atomic(c.report, r.to_json() + "\n");
  if (c.common.json) {
    std::cout << r.to_json() << '\n';
    return;
  }
  for (const auto& p : r.problems) std::cout << "skipped: " << p.kind << ": " << p.reason << '\n';
  std::cout << "genres (tracks):";
  for (std::size_t i = 0; i < r.genres.size(); ++i)
    std::cout << (i ? ", " : " ") << r.genres[i].first << ' ' << r.genres[i].second;
  std::cout << '\n';
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%s: %zu tracks (%zu new, %zu unchanged, %zu removed), %zu albums, %zu covers (%zu newly extracted; "
                "%zu tracks with embedded art, %zu with folder art), %zu genres; split train %zu / val %zu / test %zu; "
                "%zu audio files, %zu skipped; %.1f s\n",
                c.out.c_str(), r.tracks, r.added, r.reused, r.removed, r.albums, r.covers, r.covers_extracted,
                r.covers_embedded, r.covers_folder, r.genres.size(), r.split_counts[0], r.split_counts[1],
                r.split_counts[2], r.files, r.problems.size(), r.seconds);
  std::cout << buf;
  if (r.feature_store_cleared)
    std::cout << c.out << "/.covergen-cache/features: deleted (rows were re-read; their features are extracted again)\n";
}

}  // namespace

void add_dataset_import(CLI::App& dataset) {
  auto c = std::make_shared<ImportCli>();
  auto* cmd = dataset.add_subcommand("import", "Make (or update) a dataset from a music library: tags and cover art");
  add_common_options(*cmd, c->common);
  cmd->add_option("music", c->inputs, "Music folders (searched recursively) or files")->required();
  cmd->add_option("--out", c->out, "Dataset folder (created, or updated in place)")->required();
  cmd->add_option("--threads", c->o.threads, "Worker threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--excerpt", c->o.excerpt_s, "Seconds of each track used for features: the middle part (0 = whole track)")
      ->capture_default_str();
  cmd->add_option("--min-cover-size", c->o.min_cover_size, "Smallest usable cover side in pixels")->capture_default_str();
  cmd->add_option("--genre-map", c->genre_map, "JSON file merging genres: {\"indie rock\": \"rock\"} or {\"rock\": [...]}");
  cmd->add_option("--report", c->report, "Also write the JSON report (summary, genres, every skipped file) here");
  cmd->add_flag("--keep-undecodable", c->o.keep_undecodable,
                "Import MP4/M4A tracks too (covers and genres only: CoverGen cannot decode AAC/ALAC audio)");
  cmd->footer("Bad files never stop the import: each is listed with the reason. Exit code 0 when a dataset was "
              "written, 3 when no usable track was found or an input does not exist.");
  cmd->callback([c] { run_import(*c); });
}

}  // namespace covergen::cli
