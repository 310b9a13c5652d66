// The training engine: runs any GanModel plugin's phases over a BatchSource,
// with EMA, atomic checkpoints that resume exactly, sample grids, a JSONL loss
// log, a progress line and a NaN/Inf guard.
#pragma once

#include "covergen/engine/batch_source.hpp"
#include "covergen/gan.hpp"

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace covergen {
class PluginRegistry;
}

namespace covergen::engine {

class GradientSync;

struct TrainOptions {
  std::filesystem::path run_dir;      ///< checkpoint.cvgn, generator.cvgn, samples/, log.jsonl
  std::int64_t steps = 1000;          ///< total generator steps (a resumed run continues to this)
  std::int64_t batch_size = 64;       ///< the global batch (over all data-parallel ranks)
  std::uint64_t seed = 0;
  c10::Device device{c10::kCPU};
  /// Floating type of the model's tensors and of everything the engine feeds it
  /// (images, conditions, latents, uniforms). float32 normally; float64 for reference
  /// runs (e.g. data-parallel equivalence checks), for which the model must have been
  /// created in float64 (c10::set_default_dtype before the plugin builds it).
  at::ScalarType dtype = at::kFloat;
  std::int64_t checkpoint_every = 500;  ///< 0: only at the end
  std::int64_t sample_every = 500;      ///< 0: only at the end
  std::int64_t log_every = 10;
  bool resume = false;                ///< continue from run_dir/checkpoint.cvgn
  bool progress = true;               ///< progress line on stderr (only on a terminal)
  /// Fixed conditions for the sample grid, one row each ([R, C]); undefined: one
  /// unconditional row.
  at::Tensor sample_conditions;
  std::int64_t samples_per_row = 8;
  /// Extra JSON stored in the generator/checkpoint files' meta (how conditions are
  /// made: genre names, attribute statistics, encoder file, ...).
  std::string condition_meta_json = "{}";
  /// Called after every step with (step, losses); may be empty. For tests/tools.
  std::function<void(std::int64_t, const LossStats&)> on_step;
  /// Data-parallel group (gradient_sync.hpp); null for one process. Rank 0 alone
  /// reads a checkpoint to resume from and writes checkpoints, grids and the log.
  std::shared_ptr<GradientSync> sync;
};

struct TrainResult {
  std::int64_t steps_done = 0;
  double seconds = 0.0;
  double images_per_second = 0.0;  ///< real images fed to the discriminator per second
  LossStats last_losses;
};

class Trainer {
 public:
  Trainer(std::shared_ptr<GanModel> model, BatchSource& data, TrainOptions options);
  ~Trainer();
  TrainResult run();

  /// The EMA generator (or the live one when EMA is off).
  ConditionalGenerator& sampling_generator();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace covergen::engine
