// covergen dataset synth|check|cache: make the synthetic dataset, validate a dataset
// (bad rows and bad covers with file:line), and prebuild the preprocessing cache.
#include "cli.hpp"

#include <covergen/data/check.hpp>
#include <covergen/data/dataset.hpp>
#include <covergen/data/image_cache.hpp>
#include <covergen/data/synth.hpp>
#include <covergen/errors.hpp>
#include <covergen/progress.hpp>

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <optional>

namespace covergen::cli {
void add_dataset_import(CLI::App& dataset);  // cmd_dataset_import.cpp
}

namespace {

namespace data = covergen::data;
using nlohmann::json;

// ---- synth ---------------------------------------------------------------------

struct SynthCli {
  covergen::cli::CommonOptions common;
  data::SynthOptions o;
  std::string out;
};

void run_synth(SynthCli& c) {
  c.o.out = c.out;
  covergen::Progress progress("synth", c.o.genres * c.o.per_genre, !c.common.quiet && !c.common.json);
  c.o.on_progress = [&](std::size_t done, std::size_t) { progress.update(static_cast<std::int64_t>(done)); };
  const auto r = data::synthesize(c.o);
  progress.finish();
  std::cout << (c.common.json ? r.to_json() : r.to_text()) << '\n';
}

// ---- check ---------------------------------------------------------------------

struct CheckCli {
  covergen::cli::CommonOptions common;
  std::string dataset;
  bool no_images = false;
  int threads = 0;
};

void run_check(const CheckCli& c) {
  const auto ds = data::Dataset::open(c.dataset);
  covergen::Progress progress("checking covers", static_cast<std::int64_t>(ds.size()),
                              !c.no_images && !c.common.quiet && !c.common.json);
  const auto r = data::check_dataset(ds, !c.no_images, c.threads,
                                     [&](std::size_t done) { progress.update(static_cast<std::int64_t>(done)); });
  progress.finish();
  std::cout << (c.common.json ? r.to_json(ds, c.dataset) : r.to_text(ds)) << '\n';
  if (!r.bad.empty())
    throw covergen::InputError(ds.csv_path().string(), std::to_string(r.bad.size()) +
                                                            " bad rows (listed above); they are skipped when training");
}

// ---- cache ---------------------------------------------------------------------

struct CacheCli {
  covergen::cli::CommonOptions common;
  std::string dataset, cache_dir;
  int size = 64, threads = 0;
  bool force = false;
};

void run_cache(const CacheCli& c) {
  const auto ds = data::Dataset::open(c.dataset);
  data::CacheOptions o;
  o.size = c.size;
  o.threads = c.threads;
  o.force_rebuild = c.force;
  o.cache_dir = c.cache_dir;
  covergen::Progress progress("preprocessing covers", static_cast<std::int64_t>(ds.size()), !c.common.quiet && !c.common.json);
  o.on_progress = [&](std::size_t done, std::size_t) { progress.update(static_cast<std::int64_t>(done)); };
  const auto cache = data::CoverCache::open_or_build(ds, o);
  progress.finish();
  if (!c.common.json)
    for (const auto& b : cache.bad_images(ds)) std::cerr << "covergen: warning: " << b.to_string() << '\n';
  std::cout << (c.common.json ? cache.to_json(ds) : cache.to_text(ds)) << '\n';
}

// ---- tracks --------------------------------------------------------------------

struct TracksCli {
  covergen::cli::CommonOptions common;
  std::string dataset, split;
  int per_genre = 0;
};

// The dataset's tracks (of one split) in CSV order: audio files one per line (for
// `covergen generate` on held-out tracks), or with ids, genres and splits.
void run_tracks(const TracksCli& c) {
  const auto ds = data::Dataset::open(c.dataset);
  json rows = json::array();
  for (auto i : ds.select(c.split.empty() ? std::nullopt : std::optional(data::split_from_string(c.split)), c.per_genre)) {
    const auto& t = ds.tracks()[i];
    if (!c.common.json) std::cout << t.audio.string() << '\n';
    rows.push_back({{"id", t.id}, {"audio", t.audio.string()}, {"split", data::to_string(t.split)},
                    {"genre", t.genre >= 0 ? ds.genres()[static_cast<std::size_t>(t.genre)] : ""}});
  }
  if (c.common.json) std::cout << json{{"schema_version", 1}, {"dataset", c.dataset}, {"tracks", rows}}.dump(2) << '\n';
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand("dataset", "Make, check and preprocess datasets (docs/datasets.md)");
  cmd->require_subcommand(1);

  auto s = std::make_shared<SynthCli>();
  auto* synth = cmd->add_subcommand("synth", "Write the synthetic dataset with a known music->cover link");
  covergen::cli::add_common_options(*synth, s->common);
  synth->add_option("--out", s->out, "Output folder")->required();
  synth->add_option("--genres", s->o.genres, "Number of genres (1..8)")->capture_default_str();
  synth->add_option("--per-genre", s->o.per_genre, "Tracks per genre")->capture_default_str();
  synth->add_option("--seed", s->o.seed, "Seed: the same seed gives byte-identical files")->capture_default_str();
  synth->add_option("--cover-size", s->o.cover_size, "Cover side in pixels")->capture_default_str();
  synth->add_option("--threads", s->o.threads, "Worker threads (0 = all cores); does not change the output")
      ->capture_default_str();
  synth->add_option("--seconds", s->o.seconds, "Preview length in seconds")->capture_default_str();
  synth->callback([s] { run_synth(*s); });

  auto k = std::make_shared<CheckCli>();
  auto* check = cmd->add_subcommand("check", "Validate a dataset: bad rows and bad covers with file:line (exit 3 if any)");
  covergen::cli::add_common_options(*check, k->common);
  check->add_option("dataset", k->dataset, "Dataset folder or its dataset.json")->required();
  check->add_flag("--no-images", k->no_images, "Do not decode the covers (spec, CSV and file existence only)");
  check->add_option("--threads", k->threads, "Decoding threads (0 = all cores)");
  check->callback([k] { run_check(*k); });

  auto c = std::make_shared<CacheCli>();
  auto* cache = cmd->add_subcommand("cache", "Build (or verify) the preprocessed cover cache at one size");
  covergen::cli::add_common_options(*cache, c->common);
  cache->add_option("dataset", c->dataset, "Dataset folder or its dataset.json")->required();
  cache->add_option("--size", c->size, "Image size: 32, 64, 128 or 256")->capture_default_str();
  cache->add_option("--threads", c->threads, "Decoding threads (0 = all cores)");
  cache->add_option("--cache-dir", c->cache_dir, "Cache folder (default: <dataset>/.covergen-cache)");
  cache->add_flag("--force", c->force, "Rebuild even when up to date");
  cache->callback([c] { run_cache(*c); });

  auto t = std::make_shared<TracksCli>();
  auto* tracks = cmd->add_subcommand("tracks", "List a dataset's tracks (audio files), e.g. the held-out ones: --split test");
  covergen::cli::add_common_options(*tracks, t->common);
  tracks->add_option("dataset", t->dataset, "Dataset folder or its dataset.json")->required();
  tracks->add_option("--split", t->split, "train, val or test (default: all)");
  tracks->add_option("--per-genre", t->per_genre, "At most N tracks of each genre, the first in CSV order (0 = all)");
  tracks->callback([t] { run_tracks(*t); });

  covergen::cli::add_dataset_import(*cmd);
}

}  // namespace

COVERGEN_COMMAND("dataset", setup);
