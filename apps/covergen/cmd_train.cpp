// covergen train --gan dcgan|wgan-gp|PATH --data DATASET --condition genre|attributes:a,b|none
//   --out RUN [--image-size 64] [--batch 64] [--steps N] [--resume] [--seed S] [--device D] [--nproc N]
// Trains a conditional GAN plugin through the engine on a dataset's cover cache.
// Data-parallel: under a launcher's RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT, or with
// --nproc N, which starts N local workers itself (docs/distributed.md).
#include "audio_conditions.hpp"
#include "cli.hpp"
#include "encoder_conditions.hpp"
#include "track_encoding.hpp"

#include <covergen/data/dataset.hpp>
#include <covergen/data/hash.hpp>
#include <covergen/data/image_cache.hpp>
#include <covergen/data/loader.hpp>
#include <covergen/device.hpp>
#include <covergen/engine/trainer.hpp>
#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>
#include <covergen/plugin_registry.hpp>
#if __has_include(<covergen/distributed/distributed.hpp>)
#include <covergen/distributed/distributed.hpp>
#define COVERGEN_HAVE_DISTRIBUTED 1
#endif

#include <ATen/ATen.h>
#include <c10/core/DefaultDtype.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;
namespace data = covergen::data;

namespace {

struct TrainCliOptions {
  covergen::cli::CommonOptions common;
  std::string gan = "dcgan", data_dir, condition = "genre", out, device = "auto", gan_config = "{}", dtype = "float32";
  int image_size = 64;
  std::int64_t batch = 64, steps = 2000, checkpoint_every = 500, sample_every = 500;
  std::uint64_t seed = 0;
  int threads = 0;
  int nproc = 1;
  bool resume = false;
};

// This process's command line without --nproc (what the local workers run).
std::vector<std::string> args_without_nproc() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string a; std::getline(in, a, '\0');) args.push_back(a);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

// Conditions of the training tracks plus how to rebuild them at generation time.
struct TrainConditions {
  at::Tensor per_track;  // [N, C] float32 over the dataset's tracks, or undefined
  json meta;
  at::Tensor grid;  // [R, C] fixed rows for the sample grid
  std::vector<bool> usable;  // tracks that have a condition (empty: all)
};

std::vector<double> to_vec(const at::Tensor& t) {
  auto c = t.to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// raw [N, K] float64 standardised with the mean and (population) std of `rows`;
// the statistics go into meta as "mean" and "std".
at::Tensor standardise(const at::Tensor& raw, const std::vector<std::int64_t>& rows, json& meta) {
  auto tr = raw.index_select(0, at::tensor(rows));
  auto mean = tr.mean(0), stdv = tr.std(0, /*unbiased=*/false).clamp_min(1e-12);
  meta["mean"] = to_vec(mean);
  meta["std"] = to_vec(stdv);
  return ((raw - mean) / stdv).to(at::kFloat);
}

// Sample-grid rows: the dataset rows among `rows` at the 10th..90th percentile of
// the first condition entry, so the grid shows how the covers follow it.
std::vector<std::int64_t> percentile_rows(const at::Tensor& per_track, const std::vector<std::int64_t>& rows) {
  auto first = per_track.index_select(0, at::tensor(rows)).select(1, 0);
  auto order = std::get<1>(first.sort());
  const std::int64_t n_rows = std::min<std::int64_t>(5, order.size(0));
  std::vector<std::int64_t> pick;
  for (std::int64_t r = 0; r < n_rows; ++r)
    pick.push_back(rows[static_cast<std::size_t>(order[(order.size(0) - 1) * (1 + 2 * r) / (2 * n_rows)].item<std::int64_t>())]);
  return pick;
}

// Φ(track) from a fitted encoder, standardised with the training tracks' statistics.
// The run keeps a copy of the encoder (RUN/encoder.cvgn) for `covergen generate`.
TrainConditions encoder_conditions(const std::string& file, const data::Dataset& ds,
                                   const std::vector<std::size_t>& train, const fs::path& run_dir, bool resume,
                                   int threads, const covergen::cli::CommonOptions& common) {
  auto registry = covergen::cli::make_registry();
  auto encoder = covergen::load_encoder(file, registry);
  auto emb = covergen::cli::dataset_embeddings(ds, *encoder, threads, common);
  std::vector<std::int64_t> rows;
  for (std::size_t i : train)
    if (emb.have[i]) rows.push_back(static_cast<std::int64_t>(i));
  if (rows.empty()) throw covergen::InputError(ds.csv_path().string(), "no training track could be encoded");
  TrainConditions c;
  c.meta = {{"mode", "encoder"},  {"encoder", "encoder.cvgn"},   {"encoder_source", fs::absolute(file).string()},
            {"plugin", encoder->plugin_name()}, {"dim", encoder->dim()}};
  c.per_track = standardise(emb.raw, rows, c.meta);
  c.usable = emb.have;
  const fs::path copy = run_dir / "encoder.cvgn";
  if (!(resume && fs::exists(copy))) {
    fs::create_directories(run_dir);
    covergen::write_file_atomic(copy, covergen::read_file(file));
  }
  // Grid rows: per genre, the training track nearest its genre's mean embedding (a
  // real track, so the row shows what the model does with real music); without
  // genres, tracks at the 10th..90th percentile of the first dimension.
  std::vector<std::int64_t> pick;
  const auto g = static_cast<int>(ds.genres().size());
  for (int k = 0; k < g && pick.size() < 8; ++k) {
    std::vector<std::int64_t> members;
    for (auto r : rows)
      if (ds.tracks()[static_cast<std::size_t>(r)].genre == k) members.push_back(r);
    if (members.empty()) continue;
    auto m = c.per_track.index_select(0, at::tensor(members));
    auto d = (m - m.mean(0, true)).pow(2).sum(1);
    pick.push_back(members[static_cast<std::size_t>(d.argmin().item<std::int64_t>())]);
  }
  if (pick.empty()) pick = percentile_rows(c.per_track, rows);
  c.grid = c.per_track.index_select(0, at::tensor(pick));
  return c;
}

TrainConditions build_conditions(const std::string& spec, const data::Dataset& ds, const std::vector<std::size_t>& train,
                                int threads) {
  TrainConditions c;
  const auto n = static_cast<std::int64_t>(ds.size());
  if (spec == "none") {
    c.meta = {{"mode", "none"}};
    return c;
  }
  if (spec == "genre") {
    if (ds.genres().empty())
      throw covergen::InputError(ds.csv_path().string(), "--condition genre needs a genre column; this dataset has none");
    const auto g = static_cast<std::int64_t>(ds.genres().size());
    c.per_track = at::zeros({n, g});
    for (std::int64_t i = 0; i < n; ++i)
      if (ds.tracks()[i].genre >= 0) c.per_track[i][ds.tracks()[i].genre] = 1.0;
    c.meta = {{"mode", "genre"}, {"names", ds.genres()}};
    c.grid = at::eye(g);
    return c;
  }
  const bool audio = spec.rfind("audio:", 0) == 0;
  if (audio || spec.rfind("attributes:", 0) == 0) {
    std::vector<std::string> names;
    at::Tensor raw;  // [N, K] float64
    if (audio) {
      names = covergen::cli::parse_audio_condition(spec);
      std::vector<fs::path> files;
      std::vector<std::pair<double, double>> windows;  // the dataset's excerpts (dataset import)
      for (const auto& t : ds.tracks()) {
        files.push_back(t.audio);
        windows.emplace_back(t.excerpt_start, t.excerpt_seconds);
      }
      raw = covergen::cli::audio_summary_values(files, names, threads, windows);
    } else {
      std::stringstream ss(spec.substr(11));
      for (std::string item; std::getline(ss, item, ',');)
        if (!item.empty()) names.push_back(item);
      if (names.empty()) throw covergen::InputError("--condition attributes: name at least one attribute");
      std::vector<std::size_t> cols;
      for (const auto& nm : names) cols.push_back(ds.attribute_index(nm));
      raw = at::zeros({n, static_cast<std::int64_t>(names.size())}, at::kDouble);
      for (std::int64_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < cols.size(); ++j) raw[i][static_cast<std::int64_t>(j)] = ds.tracks()[i].attributes[cols[j]];
    }
    const std::vector<std::int64_t> rows(train.begin(), train.end());
    c.meta = {{"mode", audio ? "audio" : "attributes"}, {"names", names}};
    c.per_track = standardise(raw, rows, c.meta);
    c.grid = c.per_track.index_select(0, at::tensor(percentile_rows(c.per_track, rows)));
    return c;
  }
  throw covergen::InputError("--condition " + spec +
                             ": expected genre, attributes:NAME[,NAME...], audio:FEATURE[,FEATURE...], an encoder "
                             "model file (covergen encoder fit) or none");
}

// Batches from the data loader (prefetching worker threads over the memory-mapped
// cover cache, reshuffled per epoch by seed); the resumable state is the loader's
// (epoch, next batch) plus the number of fake-condition draws.
class LoaderBatches : public covergen::engine::BatchSource {
 public:
  // `batch` is the global batch; this rank reads its shard (batch / world per step).
  LoaderBatches(const data::Dataset& ds, const data::CoverCache& cache, const at::Tensor& per_track,
                std::vector<std::size_t> train, std::int64_t batch, std::uint64_t seed, c10::Device device,
                int rank, int world)
      : items_(std::move(train)), cond_(per_track), seed_(seed), batch_(batch / world) {
    data::ConditionSpec spec;
    if (per_track.defined()) {
      spec.kind = data::ConditionSpec::Kind::embedding;
      spec.embedding = per_track;
    }
    data::LoaderOptions lo;
    lo.batch_size = static_cast<std::size_t>(batch_);
    lo.seed = seed;
    lo.rank = rank;
    lo.world = world;
    lo.device = device;
    loader_ = std::make_unique<data::Loader>(ds, cache, data::make_conditions(ds, spec), lo);
    if (loader_->batches_per_epoch() == 0)
      throw covergen::InputError(ds.csv_path().string(), "fewer training covers (" +
                                                             std::to_string(loader_->samples_per_epoch() * world) +
                                                             ") than one batch (" + std::to_string(batch) + "); lower --batch");
    loader_->start(epoch_, position_);
  }
  covergen::engine::Batch next(std::int64_t n) override {
    if (n != batch_) throw covergen::Error("internal: batch size changed during training");
    data::Batch b;
    while (!loader_->next(b)) loader_->start(++epoch_, position_ = 0);
    ++position_;
    covergen::engine::Batch out;
    out.images = b.images;
    if (cond_.defined()) out.conditions = b.conditions;
    return out;
  }
  at::Tensor sample_conditions(std::int64_t n) override {
    if (!cond_.defined()) return {};
    std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
    for (auto& i : idx) i = static_cast<std::int64_t>(items_[pick()]);
    return cond_.index_select(0, at::tensor(idx));
  }
  std::string state() const override {
    return json{{"epoch", epoch_}, {"position", position_}, {"draws", draws_}}.dump();
  }
  void restore(const std::string& text) override {
    auto j = json::parse(text);
    epoch_ = j.at("epoch");
    position_ = j.at("position");
    loader_->start(epoch_, position_);
    cond_rng_ = data::Rng(data::derive_seed(seed_, 0xC0DE));
    draws_ = 0;
    const std::uint64_t target = j.at("draws");
    while (draws_ < target) pick();
  }

 private:
  std::size_t pick() {
    ++draws_;
    return static_cast<std::size_t>(cond_rng_.below(items_.size()));
  }
  std::vector<std::size_t> items_;
  at::Tensor cond_;
  std::uint64_t seed_;
  std::int64_t batch_;
  std::unique_ptr<data::Loader> loader_;
  std::int64_t epoch_ = 0;
  std::size_t position_ = 0;
  data::Rng cond_rng_{data::derive_seed(seed_, 0xC0DE)};
  std::uint64_t draws_ = 0;
};

void run(const TrainCliOptions& o) {
  const c10::Device device = covergen::parse_device(o.device);
  if (!data::is_supported_size(o.image_size))
    throw covergen::InputError("--image-size " + std::to_string(o.image_size) + ": use 32, 64, 128 or 256");
  auto ds = data::Dataset::open(o.data_dir);
  for (const auto& bad : ds.bad_rows()) covergen::cli::log(o.common, "covergen: skipped " + bad.to_string());
  data::CacheOptions copts;
  copts.size = o.image_size;
  copts.threads = o.threads;
  auto cache = data::CoverCache::open_or_build(ds, copts);
  std::vector<std::size_t> train;
  for (std::size_t i : ds.indices(data::Split::train))
    if (cache.valid(i)) train.push_back(i);
  if (train.empty()) throw covergen::InputError(o.data_dir, "no usable training covers");

  // Data parallelism: the covers are cached above, once, before the workers start.
  std::shared_ptr<covergen::engine::GradientSync> sync;
  int rank = 0, world = 1;
#ifdef COVERGEN_HAVE_DISTRIBUTED
  if (o.nproc > 1) {
    // Workers only read the feature store: extract what it lacks once, here.
    if (covergen::cli::is_encoder_condition(o.condition))
      covergen::cli::ensure_features(ds, covergen::cli::default_feature_store(ds), o.threads, o.common);
    covergen::distributed::launch_local_workers(o.nproc, args_without_nproc());
    return;
  }
  const auto wenv = covergen::distributed::worker_env_from_environment();
  if (wenv.distributed()) {
    if (o.batch % wenv.world_size != 0)
      throw covergen::InputError("--batch " + std::to_string(o.batch) + " is the global batch: it must be a multiple of the " +
                                 std::to_string(wenv.world_size) + " data-parallel workers");
    sync = covergen::distributed::join_group(wenv, device);
    rank = sync->rank();
    world = sync->world_size();
  }
#else
  if (o.nproc > 1) throw covergen::InputError("--nproc: this covergen was built without data-parallel training (torch c10d + libgloo-dev)");
#endif
  const bool by_encoder = covergen::cli::is_encoder_condition(o.condition);
  TrainConditions cond = by_encoder ? encoder_conditions(o.condition, ds, train, o.out, o.resume, o.threads, o.common)
                                    : build_conditions(o.condition, ds, train, o.threads);
  if (!cond.usable.empty()) {
    train.erase(std::remove_if(train.begin(), train.end(), [&](std::size_t i) { return !cond.usable[i]; }), train.end());
    if (train.empty()) throw covergen::InputError(o.data_dir, "no training track has both a cover and a condition");
  }

  json cfg;
  try {
    cfg = json::parse(o.gan_config);
  } catch (const json::exception& e) {
    throw covergen::InputError("--gan-config", std::string("not valid JSON: ") + e.what());
  }
  if (!cfg.is_object()) throw covergen::InputError("--gan-config", "expected a JSON object, e.g. '{\"ngf\": 64}'");
  cfg["image_size"] = o.image_size;
  cfg["condition_dim"] = cond.per_track.defined() ? cond.per_track.size(1) : 0;
  auto registry = covergen::cli::make_registry();
  // float64: the plugin builds its weights (and the EMA copy) in the default dtype.
  const bool f64 = o.dtype == "float64";
  if (f64) c10::set_default_dtype(caffe2::TypeMeta::Make<double>());
  at::manual_seed(o.seed);  // the plugin initialises its weights from the global generator: --seed fixes them
  auto model = registry.create_gan(o.gan, cfg.dump());

  covergen::engine::TrainOptions t;
  t.run_dir = o.out;
  t.steps = o.steps;
  t.batch_size = o.batch;
  t.seed = o.seed;
  t.device = device;
  t.dtype = f64 ? at::kDouble : at::kFloat;
  t.checkpoint_every = o.checkpoint_every;
  t.sample_every = o.sample_every;
  t.resume = o.resume;
  t.progress = !o.common.quiet && !o.common.json;
  t.sync = sync;
  t.sample_conditions = cond.grid;
  json meta = cond.meta;
  meta["dataset"] = fs::absolute(o.data_dir).string();
  t.condition_meta_json = meta.dump();
  LoaderBatches batches(ds, cache, cond.per_track, train, o.batch, o.seed, device, rank, world);
  if (rank == 0)
    covergen::cli::log(o.common, "covergen: training " + model->plugin_name() + " on " + std::to_string(train.size()) +
                                   " covers at " + std::to_string(o.image_size) + "px, condition " + o.condition +
                                   ", device " + covergen::device_string(device) +
                                   (world > 1 ? ", " + std::to_string(world) + " data-parallel workers" : ""));
  auto result = covergen::engine::Trainer(model, batches, t).run();
  if (rank != 0) return;  // rank 0 reports for the group
  json losses = json::object();
  for (const auto& [k, v] : result.last_losses) losses[k] = v;
  json out{{"schema_version", 1}, {"run", o.out}, {"steps", result.steps_done}, {"seconds", result.seconds},
           {"images_per_second", result.images_per_second}, {"losses", losses},
           {"generator", (fs::path(o.out) / "generator.cvgn").string()}};
  if (o.common.json) std::cout << out.dump(2) << '\n';
  else std::cout << (fs::path(o.out) / "generator.cvgn").string() << '\n';
}

void setup(CLI::App& root) {
  auto o = std::make_shared<TrainCliOptions>();
  auto* cmd = root.add_subcommand("train", "Train a conditional GAN on a dataset");
  cmd->add_option("--gan", o->gan, "GAN plugin name or path (dcgan, wgan-gp, ...)")->capture_default_str();
  cmd->add_option("--data", o->data_dir, "Dataset folder (or its dataset.json)")->required();
  cmd->add_option("--condition", o->condition, "genre | attributes:NAME[,NAME...] | audio:FEATURE[,...] (e.g. audio:tempo_bpm,spectral_centroid_mean,rms_mean) | none")->capture_default_str();
  cmd->add_option("--out", o->out, "Run folder (checkpoints, samples, log)")->required();
  cmd->add_option("--image-size", o->image_size, "32, 64, 128 or 256")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Batch size")->capture_default_str();
  cmd->add_option("--steps", o->steps, "Total generator steps")->capture_default_str();
  cmd->add_option("--checkpoint-every", o->checkpoint_every, "Steps between checkpoints")->capture_default_str();
  cmd->add_option("--sample-every", o->sample_every, "Steps between sample grids")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed (weights, latents, data order)")->capture_default_str();
  cmd->add_option("--gan-config", o->gan_config, "Extra JSON config for the GAN plugin")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads for preprocessing covers (0 = all)");
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--dtype", o->dtype,
                  "float32, or float64 for reference runs (checks such as data-parallel equivalence, "
                  "docs/distributed.md; ~25x slower on CPU)")
      ->check(CLI::IsMember({"float32", "float64"}))
      ->capture_default_str();
  cmd->add_flag("--resume", o->resume, "Continue the run in --out from its checkpoint");
  cmd->add_option("--nproc", o->nproc, "Data-parallel: start N local worker processes (--batch stays the global batch)")
      ->capture_default_str();
  covergen::cli::add_common_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
}

}  // namespace

COVERGEN_COMMAND("train", setup);
