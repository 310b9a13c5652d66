// covergen features: librosa-identical audio features (docs/audio-features.md).
//   covergen features CLIP --npy-dir DIR          every frame feature of one clip as .npy
//   covergen features INPUT... --out STORE        batch into a resumable feature store
// INPUT is an audio file, a folder (searched recursively for audio files) or a dataset
// (a folder with dataset.json or tracks.csv, a dataset .json spec or a .csv file).
#include "cli.hpp"

#include <covergen/audio/batch.hpp>
#include <covergen/audio/npy_dir.hpp>
#include <covergen/errors.hpp>
#include <covergen/progress.hpp>

#include <covergen/generate/encoder_inputs.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <thread>

namespace fs = std::filesystem;
namespace audio = covergen::audio;

namespace {

struct FeaturesOptions {
  covergen::cli::CommonOptions common;
  std::vector<std::string> inputs;
  std::string out, npy_dir, resampler = "soxr_hq", nonfinite = "reject";
  int threads = 0;
  double offset = 0.0, duration = -1.0;
  bool mp3_mono_mix = false;
};

audio::BatchOptions batch_options(const FeaturesOptions& o) {
  audio::BatchOptions b;
  b.threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  b.load.resampler = audio::parse_resampler_backend(o.resampler);
  b.load.decode.offset_s = o.offset;
  b.load.decode.duration_s = o.duration;
  b.load.decode.mp3_mono_mix = o.mp3_mono_mix;
  if (o.nonfinite == "zero") b.load.decode.nonfinite = audio::NonFinitePolicy::zero;
  else if (o.nonfinite != "reject") throw covergen::InputError("--nonfinite must be reject or zero, not '" + o.nonfinite + "'");
  return b;
}

void write_npy_dir(const FeaturesOptions& o) {
  if (o.inputs.size() != 1) throw covergen::InputError("--npy-dir takes exactly one audio file");
  const auto b = batch_options(o);
  const fs::path dir(o.npy_dir);
  const auto f = audio::write_feature_npy_dir(o.inputs[0], b.load, b.features, dir);
  if (o.common.json) {
    std::cout << nlohmann::json{{"npy_dir", dir.string()}, {"tempo", f.tempo}, {"n_frames", f.n_frames},
                                {"tuning", f.tuning}}.dump(2)
              << '\n';
  } else {
    covergen::cli::log(o.common, "wrote " + std::to_string(f.n_frames) + " frames of features to " + dir.string() +
                                     " (tempo " + std::to_string(f.tempo) + " BPM)");
  }
}

void run_batch(const FeaturesOptions& o) {
  auto b = batch_options(o);
  const auto items = covergen::generate::feature_inputs(o.inputs, o.offset == 0.0 && o.duration < 0.0, b.input_failures);
  auto store = audio::FeatureStore::open_or_create(o.out, audio::store_layout(b));
  covergen::Progress progress("features", static_cast<std::int64_t>(items.size() + b.input_failures.size()),
                              !o.common.quiet && !o.common.json);
  const auto report = audio::extract_batch(items, store, b, [&](const audio::BatchProgress& p) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%zu failed, %.0f s of audio", p.failed, p.audio_seconds);
    progress.update(static_cast<std::int64_t>(p.done), buf);
  });
  progress.finish();
  if (o.common.json) std::cout << report.to_json() << '\n';
  else if (!o.common.quiet) std::cerr << report.to_text();
  if (!report.failures.empty())
    throw covergen::InputError(std::to_string(report.failures.size()) + " of " + std::to_string(report.total) +
                               " inputs failed and were skipped (listed in " + (fs::path(o.out) / "failures.json").string() +
                               "); the others are in the store");
}

void setup(CLI::App& root) {
  auto opts = std::make_shared<FeaturesOptions>();
  auto* cmd = root.add_subcommand("features", "Extract librosa-identical audio features (one clip or a batch)");
  cmd->add_option("inputs", opts->inputs, "Audio files, folders, or datasets (folder with dataset.json/tracks.csv, .json, .csv)")
      ->required();
  cmd->add_option("--out", opts->out, "Feature store folder (created; rerun to resume)");
  cmd->add_option("--npy-dir", opts->npy_dir, "Write one clip's features as .npy files plus features.json here");
  cmd->add_option("-j,--threads", opts->threads, "Worker threads for --out (default: all cores)");
  cmd->add_option("--resampler", opts->resampler, "soxr_hq (librosa's default) or sinc_best (libsamplerate)");
  cmd->add_option("--offset", opts->offset, "Start reading at this many seconds");
  cmd->add_option("--duration", opts->duration, "Read at most this many seconds");
  cmd->add_option("--nonfinite", opts->nonfinite, "NaN/Inf samples: reject (default) or zero");
  cmd->add_flag("--mp3-mono-mix", opts->mp3_mono_mix,
                "Speed option: mix stereo mp3 inside libmpg123 (~15% less decoding); samples then differ from "
                "librosa's by ~1e-6 and near-silent bands' features (spectral contrast) can move by decibels");
  covergen::cli::add_common_options(*cmd, opts->common);
  cmd->footer("Exit code 3 when an input is unusable; in a batch, bad files are skipped and listed, and the "
              "exit code is 3 if any failed.");
  cmd->callback([opts] {
    if (opts->npy_dir.empty() == opts->out.empty())
      throw covergen::InputError("give exactly one of --out STORE (batch) or --npy-dir DIR (one clip)");
    if (!opts->npy_dir.empty()) write_npy_dir(*opts);
    else run_batch(*opts);
  });
}

COVERGEN_COMMAND("features", setup);

}  // namespace
