// A GAN training run end to end (`covergen train`, docs/training.md): the dataset's
// cover cache, the run's conditions (libs/generate's training_conditions, or Φ of a
// fitted encoder, whose copy the run keeps as RUN/encoder.cvgn), the GAN plugin, the
// engine's loader and Trainer, and data parallelism (libs/distributed, when built).
// Logs go to `log`; nothing is printed to stdout.
#pragma once

#include <covergen/plugin_registry.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <utility>
#include <string>
#include <vector>

namespace covergen::train {

struct TrainRunOptions {
  std::string gan = "dcgan";              ///< GAN plugin name or path
  std::filesystem::path data_dir;         ///< dataset folder (or its dataset.json)
  /// genre | attributes:NAME[,NAME...] | audio:FEATURE[,...] | none | a fitted encoder file
  std::string condition = "genre";
  std::filesystem::path out;              ///< the run folder
  std::string device = "auto";            ///< auto, cpu, cuda or cuda:N
  std::string gan_config = "{}";          ///< extra JSON config for the plugin (an object)
  bool float64 = false;                   ///< reference runs: weights and batches in float64
  int image_size = 64;                    ///< 32, 64, 128 or 256
  std::int64_t batch = 64;                ///< the global batch
  std::int64_t steps = 2000, checkpoint_every = 500, sample_every = 500;
  std::uint64_t seed = 0;                 ///< weights, latents, data order
  int threads = 0;                        ///< cover preprocessing / feature extraction (0 = all)
  bool resume = false;                    ///< continue the run in `out` from its checkpoint
  /// Data-parallel: > 1 starts `nproc` local workers running `worker_command` (this
  /// program's command line without the option that asked for them) and returns
  /// when they finish; the covers (and features) are prepared once, before.
  int nproc = 1;
  std::vector<std::string> worker_command;
  bool progress = false;                  ///< progress lines on stderr (on a terminal)
  PluginSearchOptions plugins;            ///< where the GAN and encoder plugins are found
  std::function<void(const std::string&)> log;  ///< log lines (may be empty)
};

struct TrainRunResult {
  /// False in a data-parallel worker other than rank 0 and in the launching process
  /// of --nproc: rank 0 reports for the group.
  bool reports = false;
  std::int64_t steps_done = 0;
  double seconds = 0.0, images_per_second = 0.0;
  std::vector<std::pair<std::string, double>> last_losses;  ///< the last step's losses, by name
  std::filesystem::path generator;        ///< out/generator.cvgn
};

/// Trains the run. InputError for a bad option, dataset or condition; PluginError
/// for a missing GAN plugin; a resumed run continues to `steps`.
TrainRunResult train_run(const TrainRunOptions& options);

}  // namespace covergen::train
