// covergen train --gan dcgan|wgan-gp|PATH --data DATASET --condition genre|attributes:a,b|none
//   --out RUN [--image-size 64] [--batch 64] [--steps N] [--resume] [--seed S] [--device D] [--nproc N]
// Trains a conditional GAN plugin through the engine on a dataset's cover cache.
// Data-parallel: under a launcher's RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT, or with
// --nproc N, which starts N local workers itself (docs/distributed.md).
#include "cli.hpp"

#include <covergen/train/train_run.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct TrainCliOptions {
  covergen::cli::CommonOptions common;
  covergen::train::TrainRunOptions run;
  std::string data_dir, out, dtype = "float32";
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

void run(TrainCliOptions& o) {
  auto& r = o.run;
  r.data_dir = o.data_dir;
  r.out = o.out;
  r.float64 = o.dtype == "float64";
  if (r.nproc > 1) r.worker_command = args_without_nproc();
  r.progress = covergen::cli::shows_progress(o.common);
  r.plugins = covergen::cli::plugin_search();
  r.log = covergen::cli::logger(o.common);
  const auto result = covergen::train::train_run(r);
  if (!result.reports) return;  // rank 0 reports for the group
  json losses = json::object();
  for (const auto& [k, v] : result.last_losses) losses[k] = v;
  json out{{"schema_version", 1}, {"run", o.out}, {"steps", result.steps_done}, {"seconds", result.seconds},
           {"images_per_second", result.images_per_second}, {"losses", losses},
           {"generator", result.generator.string()}};
  if (o.common.json) std::cout << out.dump(2) << '\n';
  else std::cout << result.generator.string() << '\n';
}

void setup(CLI::App& root) {
  auto o = std::make_shared<TrainCliOptions>();
  auto& r = o->run;
  auto* cmd = root.add_subcommand("train", "Train a conditional GAN on a dataset");
  cmd->add_option("--gan", r.gan, "GAN plugin name or path (dcgan, wgan-gp, ...)")->capture_default_str();
  cmd->add_option("--data", o->data_dir, "Dataset folder (or its dataset.json)")->required();
  cmd->add_option("--condition", r.condition, "genre | attributes:NAME[,NAME...] | audio:FEATURE[,...] (e.g. audio:tempo_bpm,spectral_centroid_mean,rms_mean) | none")->capture_default_str();
  cmd->add_option("--out", o->out, "Run folder (checkpoints, samples, log)")->required();
  cmd->add_option("--image-size", r.image_size, "32, 64, 128 or 256")->capture_default_str();
  cmd->add_option("--batch", r.batch, "Batch size")->capture_default_str();
  cmd->add_option("--steps", r.steps, "Total generator steps")->capture_default_str();
  cmd->add_option("--checkpoint-every", r.checkpoint_every, "Steps between checkpoints")->capture_default_str();
  cmd->add_option("--sample-every", r.sample_every, "Steps between sample grids")->capture_default_str();
  cmd->add_option("--seed", r.seed, "Seed (weights, latents, data order)")->capture_default_str();
  cmd->add_option("--gan-config", r.gan_config, "Extra JSON config for the GAN plugin")->capture_default_str();
  cmd->add_option("--threads", r.threads, "Threads for preprocessing covers (0 = all)");
  cmd->add_option("--device", r.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--dtype", o->dtype,
                  "float32, or float64 for reference runs (checks such as data-parallel equivalence, "
                  "docs/distributed.md; ~25x slower on CPU)")
      ->check(CLI::IsMember({"float32", "float64"}))
      ->capture_default_str();
  cmd->add_flag("--resume", r.resume, "Continue the run in --out from its checkpoint");
  cmd->add_option("--nproc", r.nproc, "Data-parallel: start N local worker processes (--batch stays the global batch)")
      ->capture_default_str();
  covergen::cli::add_common_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
}

}  // namespace

COVERGEN_COMMAND("train", setup);
