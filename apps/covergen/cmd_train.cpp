// covergen train --gan dcgan|wgan-gp|PATH --data DATASET --condition genre|attributes:a,b|none
//   --out RUN [--image-size 64] [--batch 64] [--steps N] [--resume] [--seed S] [--device D] [--nproc N]
// Trains a conditional GAN plugin through the engine on a dataset's cover cache.
// Data-parallel: under a launcher's RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT, or with
// --nproc N, which starts N local workers itself (docs/distributed.md).
#include "cli.hpp"

#include <covergen/data/dataset.hpp>
#include <covergen/data/hash.hpp>
#include <covergen/data/image_cache.hpp>
#include <covergen/data/loader.hpp>
#include <covergen/device.hpp>
#include <covergen/engine/loader_batches.hpp>
#include <covergen/engine/trainer.hpp>
#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>
#include <covergen/generate/condition.hpp>
#include <covergen/generate/encoder_inputs.hpp>
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

// Φ(track) of every dataset track from a fitted encoder, through the dataset's
// feature store; the run keeps a copy of the encoder (RUN/encoder.cvgn) that
// libs/generate's RunCondition reads back.
covergen::generate::TrainingConditions encoder_conditions(const std::string& file, const data::Dataset& ds,
                                                          const std::vector<std::size_t>& train, const fs::path& run_dir,
                                                          bool resume, int threads,
                                                          const covergen::cli::CommonOptions& common) {
  auto registry = covergen::cli::make_registry();
  auto encoder = covergen::load_encoder(file, registry);
  auto emb = covergen::generate::dataset_embeddings(ds, *encoder, threads, covergen::cli::logger(common),
                                                  covergen::cli::shows_progress(common));
  auto c = covergen::generate::encoder_training_conditions(*encoder, file, emb.raw, emb.have, ds, train);
  const fs::path copy = run_dir / "encoder.cvgn";
  if (!(resume && fs::exists(copy))) {
    fs::create_directories(run_dir);
    covergen::write_file_atomic(copy, covergen::read_file(file));
  }
  return c;
}

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
    if (covergen::generate::is_encoder_condition(o.condition))
      covergen::generate::ensure_features(ds, covergen::generate::default_feature_store(ds), o.threads,
                                         covergen::cli::logger(o.common), covergen::cli::shows_progress(o.common));
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
  const bool by_encoder = covergen::generate::is_encoder_condition(o.condition);
  const auto cond = by_encoder ? encoder_conditions(o.condition, ds, train, o.out, o.resume, o.threads, o.common)
                               : covergen::generate::training_conditions(o.condition, ds, train, o.threads);
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
  json meta = json::parse(cond.meta_json);
  meta["dataset"] = fs::absolute(o.data_dir).string();
  t.condition_meta_json = meta.dump();
  covergen::engine::LoaderBatches batches(ds, cache, cond.per_track, train, o.batch, o.seed, device, rank, world);
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
