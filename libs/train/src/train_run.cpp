#include "covergen/train/train_run.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/data/dataset.hpp>
#include <covergen/data/image_cache.hpp>
#include <covergen/device.hpp>
#include <covergen/engine/loader_batches.hpp>
#include <covergen/engine/trainer.hpp>
#include <covergen/errors.hpp>
#include <covergen/generate/condition.hpp>
#include <covergen/generate/encoder_inputs.hpp>
#include <covergen/model_file.hpp>
#ifdef COVERGEN_HAVE_DISTRIBUTED
#include <covergen/distributed/distributed.hpp>
#endif

#include <ATen/ATen.h>
#include <c10/core/DefaultDtype.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace covergen::train {

namespace fs = std::filesystem;
namespace data = covergen::data;
using nlohmann::json;

namespace {

void say(const TrainRunOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

// Φ(track) of every dataset track from a fitted encoder, through the dataset's
// feature store; the run keeps a copy of the encoder (RUN/encoder.cvgn) that
// libs/generate's RunCondition reads back.
generate::TrainingConditions encoder_conditions(const TrainRunOptions& o, const data::Dataset& ds,
                                                const std::vector<std::size_t>& train) {
  PluginRegistry registry(o.plugins);
  auto encoder = load_encoder(o.condition, registry);
  auto emb = generate::dataset_embeddings(ds, *encoder, o.threads, o.log, o.progress);
  auto c = generate::encoder_training_conditions(*encoder, o.condition, emb.raw, emb.have, ds, train);
  const fs::path copy = o.out / "encoder.cvgn";
  if (!(o.resume && fs::exists(copy))) {
    fs::create_directories(o.out);
    write_file_atomic(copy, read_file(o.condition));
  }
  return c;
}

}  // namespace

TrainRunResult train_run(const TrainRunOptions& o) {
  const c10::Device device = parse_device(o.device);
  if (!data::is_supported_size(o.image_size))
    throw InputError("--image-size " + std::to_string(o.image_size) + ": use 32, 64, 128 or 256");
  auto ds = data::Dataset::open(o.data_dir);
  for (const auto& bad : ds.bad_rows()) say(o, "covergen: skipped " + bad.to_string());
  data::CacheOptions copts;
  copts.size = o.image_size;
  copts.threads = o.threads;
  auto cache = data::CoverCache::open_or_build(ds, copts);
  std::vector<std::size_t> train;
  for (std::size_t i : ds.indices(data::Split::train))
    if (cache.valid(i)) train.push_back(i);
  if (train.empty()) throw InputError(o.data_dir.string(), "no usable training covers");

  // Data parallelism: the covers are cached above, once, before the workers start.
  std::shared_ptr<engine::GradientSync> sync;
  int rank = 0, world = 1;
  const bool by_encoder = generate::is_encoder_condition(o.condition);
#ifdef COVERGEN_HAVE_DISTRIBUTED
  if (o.nproc > 1) {
    // Workers only read the feature store: extract what it lacks once, here.
    if (by_encoder) generate::ensure_features(ds, generate::default_feature_store(ds), o.threads, o.log, o.progress);
    distributed::launch_local_workers(o.nproc, o.worker_command);
    return {};
  }
  const auto wenv = distributed::worker_env_from_environment();
  if (wenv.distributed()) {
    if (o.batch % wenv.world_size != 0)
      throw InputError("--batch " + std::to_string(o.batch) + " is the global batch: it must be a multiple of the " +
                       std::to_string(wenv.world_size) + " data-parallel workers");
    sync = distributed::join_group(wenv, device);
    rank = sync->rank();
    world = sync->world_size();
  }
#else
  if (o.nproc > 1) throw InputError("--nproc: this covergen was built without data-parallel training (torch c10d + libgloo-dev)");
#endif
  const auto cond = by_encoder ? encoder_conditions(o, ds, train) : generate::training_conditions(o.condition, ds, train, o.threads);
  if (!cond.usable.empty()) {
    train.erase(std::remove_if(train.begin(), train.end(), [&](std::size_t i) { return !cond.usable[i]; }), train.end());
    if (train.empty()) throw InputError(o.data_dir.string(), "no training track has both a cover and a condition");
  }

  json cfg;
  try {
    cfg = json::parse(o.gan_config);
  } catch (const json::exception& e) {
    throw InputError("--gan-config", std::string("not valid JSON: ") + e.what());
  }
  if (!cfg.is_object()) throw InputError("--gan-config", "expected a JSON object, e.g. '{\"ngf\": 64}'");
  cfg["image_size"] = o.image_size;
  cfg["condition_dim"] = cond.per_track.defined() ? cond.per_track.size(1) : 0;
  PluginRegistry registry(o.plugins);
  // float64: the plugin builds its weights (and the EMA copy) in the default dtype.
  if (o.float64) c10::set_default_dtype(caffe2::TypeMeta::Make<double>());
  at::manual_seed(o.seed);  // the plugin initialises its weights from the global generator: the seed fixes them
  auto model = registry.create_gan(o.gan, cfg.dump());

  engine::TrainOptions t;
  t.run_dir = o.out;
  t.steps = o.steps;
  t.batch_size = o.batch;
  t.seed = o.seed;
  t.device = device;
  t.dtype = o.float64 ? at::kDouble : at::kFloat;
  t.checkpoint_every = o.checkpoint_every;
  t.sample_every = o.sample_every;
  t.resume = o.resume;
  t.progress = o.progress;
  t.sync = sync;
  t.sample_conditions = cond.grid;
  json meta = json::parse(cond.meta_json);
  meta["dataset"] = fs::absolute(o.data_dir).string();
  t.condition_meta_json = meta.dump();
  engine::LoaderBatches batches(ds, cache, cond.per_track, train, o.batch, o.seed, device, rank, world);
  if (rank == 0)
    say(o, "covergen: training " + model->plugin_name() + " on " + std::to_string(train.size()) + " covers at " +
               std::to_string(o.image_size) + "px, condition " + o.condition + ", device " + device_string(device) +
               (world > 1 ? ", " + std::to_string(world) + " data-parallel workers" : ""));
  const auto r = engine::Trainer(model, batches, t).run();
  TrainRunResult out;
  out.reports = rank == 0;
  out.steps_done = r.steps_done;
  out.seconds = r.seconds;
  out.images_per_second = r.images_per_second;
  out.last_losses = r.last_losses;
  out.generator = o.out / "generator.cvgn";
  return out;
}

}  // namespace covergen::train
