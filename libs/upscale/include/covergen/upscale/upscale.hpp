// Learned upscaling of cover art (docs/upscaling.md): fitting an Upscaler plugin on a
// dataset's own covers, measuring it against Lanczos and bicubic on held-out covers,
// and handing it to finishing as the "art to print size" step. Torch stays out of
// this header.
//
// Training pairs are a cover at `to` px (decoded, centre-cropped and area-resized like
// any training cover) and its area downscale to `from` px; steps run on aligned random
// crops of both (crop px at `from`, crop·k at `to`). Held-out covers come from the
// dataset's split: val during fitting, test for evaluation.
#pragma once

#include <covergen/finish/finish.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace covergen {
class PluginRegistry;
class Upscaler;
}  // namespace covergen

namespace covergen::upscale {

struct FitProgress {
  std::int64_t step = 0, steps = 0;
  double l1 = 0, perceptual = 0;   ///< the last step's loss terms
  double val_l1 = -1;              ///< on the fixed val crops when just measured, else -1
  double seconds = 0;              ///< since fit() began
};

struct FitOptions {
  std::filesystem::path data;      ///< dataset folder or dataset.json
  std::filesystem::path out;       ///< the model file; its resumable state goes to <out>.state
  int from = 64, to = 1024;        ///< to / from must be 2, 4, 8 or 16
  std::int64_t steps = 2000;
  std::int64_t batch = 8;
  int crop = 16;                   ///< training crop side at `from` px (HR crop = crop · to/from)
  double lr = 5e-4;
  double perceptual_weight = 0.1;  ///< 0 disables the feature term (also off without genres)
  int judge_size = 64;             ///< side the perceptual judge is trained at
  std::int64_t judge_epochs = 5;
  std::int64_t judge_covers = 128; ///< train covers the judge learns from (0: all)
  std::string plugin = "srresnet";
  std::string config = "{}";       ///< plugin config; "factor" is filled in from to/from
  std::uint64_t seed = 0;
  std::int64_t checkpoint_every = 250;
  std::int64_t max_covers = 0;     ///< 0 = every train cover (each costs 3·to² bytes)
  bool resume = false;             ///< continue from <out>.state
  std::function<void(const FitProgress&)> on_progress;   ///< may be empty
  std::function<void(const std::string&)> log;           ///< may be empty
};

struct FitReport {
  std::int64_t steps = 0, resumed_from = 0;
  std::int64_t train_covers = 0, val_covers = 0, skipped_covers = 0;
  double val_l1 = 0, val_l1_bicubic = 0;   ///< mean |x - y| in [-1, 1] units on the fixed val crops
  double val_l1_initial = 0;               ///< before this run's first step
  bool perceptual = false;
  double seconds = 0;
  std::filesystem::path model, state;
  std::string to_json() const;  ///< `covergen upscaler fit --json`
  std::string to_text() const;  ///< one line: the model, steps and val L1 against bicubic
};

/// Fits (or resumes) an upscaler. Throws InputError naming the file for a bad dataset
/// or options, Error(runtime) when the loss stops being finite (nothing half-written:
/// the files from the last checkpoint stay as they were).
FitReport fit(const FitOptions& options, const PluginRegistry& registry);

struct EvalOptions {
  std::filesystem::path data, model;
  int from = 64;                   ///< the held-out covers are area-downscaled to this side
  std::string split = "test";      ///< held-out split
  std::int64_t max_covers = 0;     ///< 0 = all covers of the split
  int fid_crop = 128;              ///< FID over crops of this side (judge features)
  int crops_per_cover = 8;
  int judge_size = 64;             ///< side the FID judge is trained at
  std::int64_t judge_epochs = 5;
  std::int64_t judge_covers = 128; ///< train covers the judge learns from (0: all)
  std::int64_t bootstrap = 500;    ///< resamples of the covers for the confidence intervals
  std::uint64_t seed = 0;
  /// When set: a PNG of one held-out cover side by side — the input (nearest
  /// neighbour), Lanczos, the learned upscaler and the real cover — each a centre crop.
  std::filesystem::path picture;
  std::int64_t picture_cover = 0;  ///< which held-out cover
  int picture_crop = 320;          ///< crop side at the output size
  std::function<void(const std::string&)> log;
};

struct MethodScores {
  std::string name;                     ///< "lanczos", "bicubic", "learned"
  std::vector<double> psnr, ssim;       ///< per held-out cover
  double psnr_mean = 0, psnr_std = 0, ssim_mean = 0, ssim_std = 0;
  double fid = 0, fid_lo = 0, fid_hi = 0;   ///< 95% bootstrap interval over covers
  double seconds_per_image = 0;         ///< mean wall time of one upscale
};

/// `b` minus `a` per cover (paired), with a 95% bootstrap interval of the mean.
struct Margin {
  std::string what;                     ///< e.g. "psnr learned - lanczos"
  double mean = 0, std = 0, lo = 0, hi = 0;
};

struct EvalReport {
  int from = 0, to = 0;
  std::int64_t covers = 0;
  int threads = 0;
  std::string features;                 ///< what the FID features are
  std::vector<MethodScores> methods;
  std::vector<Margin> margins;          ///< learned vs lanczos: psnr, ssim, fid (lanczos - learned)
  std::string to_json() const;
  std::string to_text() const;          ///< the table `covergen upscaler eval` prints
};

EvalReport evaluate(const EvalOptions& options, const PluginRegistry& registry);

/// A PNG of one square image (e.g. a generated 64 px cover) enlarged k times: nearest
/// neighbour, Lanczos and the learned upscaler, centre crops of `crop` px side by side.
/// InputError naming the file when it cannot be read or is not square.
void write_comparison(const std::filesystem::path& image, const std::filesystem::path& model,
                      const std::filesystem::path& out, int crop, const PluginRegistry& registry);

/// Finishing's art upscaler over a loaded upscaler: one pass (factor k), when the
/// result stays within 4096 px; finishing resizes the rest of the way.
finish::ArtUpscaler art_upscaler(std::shared_ptr<Upscaler> upscaler);

/// Loads an upscaler model file (InputError naming the file when it is not one).
std::shared_ptr<Upscaler> load(const std::filesystem::path& model, const PluginRegistry& registry);

}  // namespace covergen::upscale
