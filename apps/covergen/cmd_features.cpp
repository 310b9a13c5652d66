// covergen features: librosa-identical audio features (docs/audio-features.md).
//   covergen features CLIP --npy-dir DIR          every frame feature of one clip as .npy
//   covergen features INPUT... --out STORE        batch into a resumable feature store
// INPUT is an audio file, a folder (searched recursively for audio files) or a dataset
// (a folder with dataset.json or tracks.csv, a dataset .json spec or a .csv file).
#include "cli.hpp"

#include <covergen/audio/batch.hpp>
#include <covergen/audio/summary.hpp>
#include <covergen/errors.hpp>
#include <covergen/npy.hpp>
#include <covergen/progress.hpp>
#include <covergen/atomic_file.hpp>

#if __has_include(<covergen/data/dataset.hpp>)
#include <covergen/data/dataset.hpp>
#define COVERGEN_FEATURES_HAVE_DATASETS 1
#endif

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>
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

const std::set<std::string>& audio_extensions() {
  static const std::set<std::string> e{".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".w64", ".caf"};
  return e;
}

bool is_audio_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return audio_extensions().count(ext) > 0;
}

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

#ifdef COVERGEN_FEATURES_HAVE_DATASETS
// A dataset's excerpt columns (dataset import records the middle 30 s of each track)
// choose what is read, unless --offset/--duration were given.
bool g_use_excerpts = true;

void add_dataset(const covergen::data::DatasetSpec& spec, std::vector<audio::BatchItem>& items,
                 std::vector<audio::BatchFailure>& bad) {
  covergen::data::DatasetOptions dopt;
  dopt.check_files = false;  // a missing audio file is reported by the decoder like any bad file
  auto ds = covergen::data::Dataset::open(spec, dopt);
  for (const auto& r : ds.bad_rows()) bad.push_back({r.id.empty() ? r.to_string() : r.id, r.file, r.to_string()});
  for (const auto& t : ds.tracks())
    items.push_back({t.id, t.audio, g_use_excerpts ? t.excerpt_start : -1.0, t.excerpt_seconds});
}
#endif

// Expands files, folders and datasets into batch items (keys unique, order stable).
std::vector<audio::BatchItem> collect_inputs(const std::vector<std::string>& inputs,
                                             std::vector<audio::BatchFailure>& bad) {
  std::vector<audio::BatchItem> items;
  for (const auto& in : inputs) {
    const fs::path p(in);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
#ifdef COVERGEN_FEATURES_HAVE_DATASETS
      if (fs::exists(p / "dataset.json") || fs::exists(p / "tracks.csv")) {
        add_dataset(covergen::data::DatasetSpec::load(p), items, bad);
        continue;
      }
#endif
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->is_regular_file(ec) && is_audio_file(it->path())) found.push_back(it->path());
      }
      std::sort(found.begin(), found.end());
      for (const auto& f : found) items.push_back({f.generic_string(), f});
      continue;
    }
#ifdef COVERGEN_FEATURES_HAVE_DATASETS
    const std::string ext = p.extension().string();
    if (ext == ".json") {
      add_dataset(covergen::data::DatasetSpec::load(p), items, bad);
      continue;
    }
    if (ext == ".csv") {
      const fs::path root = p.parent_path().empty() ? fs::path(".") : p.parent_path();
      const nlohmann::json spec{{"csv", p.filename().string()}};
      add_dataset(covergen::data::DatasetSpec::parse(spec.dump(), root, p), items, bad);
      continue;
    }
#endif
    items.push_back({p.generic_string(), p});  // a file (a missing one is reported by the decoder)
  }
  return items;
}

void write_npy_dir(const FeaturesOptions& o) {
  if (o.inputs.size() != 1) throw covergen::InputError("--npy-dir takes exactly one audio file");
  const auto b = batch_options(o);
  const fs::path dir(o.npy_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw covergen::InputError(dir.string(), "cannot create folder: " + ec.message());
  audio::Audio a = audio::load(o.inputs[0], b.load);
  audio::FeatureExtractor fx(b.features);
  audio::Features f;
  try {
    f = fx.compute(a.samples);
  } catch (const covergen::InputError& e) {  // name the file, as the batch path does
    throw covergen::InputError(o.inputs[0], e.what());
  }
  const std::int64_t T = f.n_frames;
  auto save = [&](const std::string& name, const audio::Matrix& m) {
    covergen::npy::save(dir / (name + ".npy"), m.data, {m.rows, m.cols});
  };
  save("mel", f.mel);
  save("mfcc", f.mfcc);
  save("chroma_stft", f.chroma);
  save("spectral_centroid", f.spectral_centroid);
  save("spectral_bandwidth", f.spectral_bandwidth);
  save("spectral_rolloff", f.spectral_rolloff);
  save("spectral_contrast", f.spectral_contrast);
  save("zero_crossing_rate", f.zero_crossing_rate);
  save("rms", f.rms);
  save("log_mel", f.log_mel);
  save("frame_sequence", audio::frame_sequence(f));
  covergen::npy::save(dir / "onset_env.npy", f.onset_env, {T});
  covergen::npy::save(dir / "beats.npy", std::vector<std::int64_t>(f.beats.begin(), f.beats.end()),
                      {static_cast<std::int64_t>(f.beats.size())});
  covergen::npy::save(dir / "y_22050.npy", a.samples, {static_cast<std::int64_t>(a.samples.size())});
  const auto sv = audio::summary_vector(f);
  const auto names = audio::summary_names(b.features);
  nlohmann::json summary = nlohmann::json::object();
  for (std::size_t i = 0; i < sv.size(); ++i) summary[names[i]] = sv[i];
  nlohmann::json j{{"schema_version", 1},
                   {"file", o.inputs[0]},
                   {"source", {{"sample_rate", a.source.sample_rate}, {"channels", a.source.channels},
                               {"frames", a.source.decoded_frames}, {"format", a.source.format}}},
                   {"sample_rate", f.sample_rate},
                   {"n_samples", f.n_samples},
                   {"n_frames", f.n_frames},
                   {"tempo", f.tempo},
                   {"tuning", f.tuning},
                   {"beats", f.beats},
                   {"frame_features", audio::frame_feature_names(b.features)},
                   {"summary_names", names},
                   {"summary_vector", sv},
                   {"summary", summary}};
  covergen::write_file_atomic(dir / "features.json", j.dump(1) + "\n");
  if (o.common.json) {
    std::cout << nlohmann::json{{"npy_dir", dir.string()}, {"tempo", f.tempo}, {"n_frames", f.n_frames},
                                {"tuning", f.tuning}}.dump(2)
              << '\n';
  } else {
    covergen::cli::log(o.common, "wrote " + std::to_string(T) + " frames of features to " + dir.string() +
                                     " (tempo " + std::to_string(f.tempo) + " BPM)");
  }
}

void run_batch(const FeaturesOptions& o) {
  const auto b = batch_options(o);
  std::vector<audio::BatchFailure> bad;
  const auto items = collect_inputs(o.inputs, bad);
  auto store = audio::FeatureStore::open_or_create(o.out, audio::store_layout(b));
  covergen::Progress progress("features", static_cast<std::int64_t>(items.size()), !o.common.quiet && !o.common.json);
  auto report = audio::extract_batch(items, store, b, [&](const audio::BatchProgress& p) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%zu failed, %.0f s of audio", p.failed, p.audio_seconds);
    progress.update(static_cast<std::int64_t>(p.done), buf);
  });
  progress.finish();
  report.failures.insert(report.failures.begin(), bad.begin(), bad.end());
  if (!bad.empty()) {
    std::vector<std::pair<std::string, std::string>> f;
    std::vector<std::string> src;
    for (const auto& x : report.failures) {
      f.emplace_back(x.key, x.error);
      src.push_back(x.path.string());
    }
    store.write_failures(f, src);
  }
  const double rate = report.wall_seconds > 0 ? report.extracted / report.wall_seconds : 0.0;
  if (o.common.json) {
    nlohmann::json fails = nlohmann::json::array();
    for (const auto& x : report.failures) fails.push_back({{"key", x.key}, {"path", x.path.string()}, {"error", x.error}});
    std::cout << nlohmann::json{{"schema_version", 1}, {"store", o.out}, {"inputs", report.total},
                                {"extracted", report.extracted}, {"skipped", report.skipped},
                                {"failed", report.failures.size()}, {"threads", b.threads},
                                {"wall_seconds", report.wall_seconds}, {"tracks_per_second", rate},
                                {"audio_seconds", report.audio_seconds}, {"failures", fails}}
                     .dump(2)
              << '\n';
  } else if (!o.common.quiet) {
    std::fprintf(stderr, "features: %zu extracted, %zu already in %s, %zu failed (%.1f s, %.1f tracks/s, %d threads)\n",
                 report.extracted, report.skipped, o.out.c_str(), report.failures.size(), report.wall_seconds, rate,
                 b.threads);
    for (const auto& x : report.failures) std::fprintf(stderr, "  failed: %s\n", x.error.c_str());
  }
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
#ifdef COVERGEN_FEATURES_HAVE_DATASETS
    g_use_excerpts = opts->offset == 0.0 && opts->duration < 0.0;
#endif
    if (!opts->npy_dir.empty()) write_npy_dir(*opts);
    else run_batch(*opts);
  });
}

COVERGEN_COMMAND("features", setup);

}  // namespace
