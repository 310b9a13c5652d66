// covergen encoder fit|eval and covergen encode (docs/encoders.md).
//   covergen encoder fit --plugin NAME --data DATASET --out MODEL [--dim D] [--epochs N] [--seed S]
//                        [--device D] [--features STORE] [--config JSON]
//   covergen encoder eval --encoder MODEL --data DATASET [--features STORE] [--map PNG] [--json]
//   covergen encode --encoder MODEL TRACK... [--json]
//   covergen encode --encoder MODEL --store STORE --out EMB.npy
// Features come from the audio feature store (docs/audio-features.md): an existing one
// (--features) or <dataset>/.covergen-cache/features, extracted on the fly for the
// tracks it lacks (resumable).
#include "cli.hpp"

#include <covergen/cpu_kernels.hpp>
#include <covergen/device.hpp>
#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>
#include <covergen/eval/encoder.hpp>
#include <covergen/generate/encoder_inputs.hpp>
#include <covergen/train/fit_encoder.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace fs = std::filesystem;
namespace audio = covergen::audio;
using nlohmann::json;

namespace {

// Encoding and eval use one thread, torch's and OpenBLAS's: one track is too little
// work to share; on a busy machine two OpenMP threads made a CNN encode 20x slower, and
// two OpenBLAS threads an RNN encode 1.7x slower; and one BLAS thread makes the
// embeddings the same numbers whatever the core count (docs/performance.md).
// Fitting keeps main()'s setting (every core unless OMP_NUM_THREADS says otherwise).
void use_one_compute_thread() {
  if (!std::getenv("OMP_NUM_THREADS") && !std::getenv("MKL_NUM_THREADS") && !std::getenv("OPENBLAS_NUM_THREADS"))
    covergen::set_compute_threads(1);
}

// ---------------------------------------------------------------- fit

struct FitCli {
  covergen::cli::CommonOptions common;
  covergen::train::FitEncoderOptions fit;
  std::string data_dir, out, features;
};

void run_fit(FitCli& o) {
  auto& f = o.fit;
  f.data_dir = o.data_dir;
  f.out = o.out;
  f.features = o.features;
  f.progress = covergen::cli::shows_progress(o.common);
  f.plugins = covergen::cli::plugin_search();
  f.log = covergen::cli::logger(o.common);
  const auto r = covergen::train::fit_encoder(f);
  if (o.common.json) {
    std::cout << r.to_json() << '\n';
  } else {
    covergen::cli::log(o.common, "covergen: " + r.summary());
    std::cout << o.out << '\n';
  }
}

// ---------------------------------------------------------------- eval

struct EvalCli {
  covergen::cli::CommonOptions common;
  covergen::eval::EncoderEvaluationOptions eval;
};

void run_eval(EvalCli& o) {
  use_one_compute_thread();
  o.eval.progress = covergen::cli::shows_progress(o.common);
  const json out = covergen::eval::evaluate_encoder(o.eval, covergen::cli::make_registry(), covergen::cli::logger(o.common));
  if (o.common.json) {
    std::cout << out.dump(2) << '\n';
  } else {
    for (const auto& [k, v] : out.items())
      if (k != "schema_version") std::cout << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << '\n';
  }
}

// ---------------------------------------------------------------- encode

struct EncodeCli {
  covergen::cli::CommonOptions common;
  std::string model, store, out, device = "auto";
  std::vector<std::string> tracks;
};

void run_encode_store(const EncodeCli& o, const covergen::Encoder& e) {
  if (o.out.empty()) throw covergen::InputError("--store needs --out EMB.npy");
  const auto r = covergen::generate::encode_store_to_npy(e, o.store, o.out, covergen::cli::shows_progress(o.common));
  if (o.common.json) std::cout << r.to_json() << '\n';
  else
    covergen::cli::log(o.common, "covergen: encoded " + std::to_string(r.tracks) + " tracks into " + o.out + " (" +
                                     std::to_string(r.seconds) + " s); row order in " + r.keys_file.string());
}

void run_encode(const EncodeCli& o) {
  use_one_compute_thread();
  const auto device = covergen::parse_device(o.device);
  auto registry = covergen::cli::make_registry();
  auto e = covergen::load_encoder(o.model, registry);
  e->to(device);
  if (!o.store.empty()) {
    if (!o.tracks.empty()) throw covergen::InputError("give either audio files or --store STORE, not both");
    run_encode_store(o, *e);
    return;
  }
  if (o.tracks.empty()) throw covergen::InputError("nothing to encode: give audio files or --store STORE --out EMB.npy");
  audio::FeatureExtractor fx;
  std::vector<std::pair<fs::path, covergen::generate::TrackEncoding>> done;
  for (const auto& path : o.tracks) {
    done.emplace_back(path, covergen::generate::encode_audio_file(*e, fx, path));
    if (!o.common.json) std::cout << covergen::generate::encoding_line(path, done.back().second) << '\n';
  }
  if (o.common.json) std::cout << covergen::generate::encodings_json(*e, o.model, done) << '\n';
}

void setup(CLI::App& root) {
  auto* grp = root.add_subcommand("encoder", "Fit and evaluate encoders (pca, autoencoder, rnn, spectrogram-cnn)");
  grp->require_subcommand(1);

  auto f = std::make_shared<FitCli>();
  auto* fit = grp->add_subcommand("fit", "Fit an encoder plugin on a dataset's audio features");
  fit->add_option("--plugin", f->fit.plugin, "Encoder plugin name or path (pca, autoencoder, rnn, spectrogram-cnn)")->required();
  fit->add_option("--data", f->data_dir, "Dataset folder (or its dataset.json)")->required();
  fit->add_option("--out", f->out, "Model file to write")->required();
  fit->add_option("--dim", f->fit.dim, "Embedding size (0 = the plugin's default; pca: by explained variance)")->capture_default_str();
  fit->add_option("--epochs", f->fit.epochs, "Maximum epochs (0 = the plugin's default)")->capture_default_str();
  fit->add_option("--seed", f->fit.seed, "Seed (weights, data order, crops)")->capture_default_str();
  fit->add_option("--device", f->fit.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  fit->add_option("--features", f->features, "Feature store (default <dataset>/.covergen-cache/features; missing tracks are extracted)");
  fit->add_option("--config", f->fit.config, "Extra JSON config for the plugin (see docs/encoders.md)")->capture_default_str();
  fit->add_option("-j,--threads", f->fit.threads, "Feature extraction threads (0 = all cores)");
  covergen::cli::add_common_options(*fit, f->common);
  fit->callback([f] { run_fit(*f); });

  auto v = std::make_shared<EvalCli>();
  auto* ev = grp->add_subcommand("eval", "Genre accuracy, k-NN accuracy, silhouette and a 2-D map of an encoder's embeddings");
  ev->add_option("--encoder", v->eval.model, "Encoder model file (from covergen encoder fit)")->required();
  ev->add_option("--data", v->eval.data_dir, "Dataset folder (or its dataset.json)")->required();
  ev->add_option("--features", v->eval.features, "Feature store (default <dataset>/.covergen-cache/features)");
  ev->add_option("--map", v->eval.map, "Write a 2-D map PNG of the test tracks coloured by genre");
  ev->add_option("--map-method", v->eval.map_method, "tsne or pca")->capture_default_str();
  ev->add_option("--k", v->eval.k, "Neighbours for the k-NN accuracy")->capture_default_str();
  ev->add_option("--seed", v->eval.seed, "Seed of the t-SNE layout")->capture_default_str();
  ev->add_option("--device", v->eval.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  ev->add_option("-j,--threads", v->eval.threads, "Feature extraction threads (0 = all cores)");
  covergen::cli::add_common_options(*ev, v->common);
  ev->callback([v] { run_eval(*v); });
}

void setup_encode(CLI::App& root) {
  auto o = std::make_shared<EncodeCli>();
  auto* cmd = root.add_subcommand("encode", "Embed audio files (or a whole feature store) with a fitted encoder");
  cmd->add_option("--encoder", o->model, "Encoder model file (from covergen encoder fit)")->required();
  cmd->add_option("tracks", o->tracks, "Audio files");
  cmd->add_option("--store", o->store, "Encode every record of this feature store instead");
  cmd->add_option("--out", o->out, "With --store: write the embeddings here as .npy [N, D] (row order in <out>.keys.txt)");
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  covergen::cli::add_common_options(*cmd, o->common);
  cmd->footer("Without --json: one line per file, the path then the embedding, tab-separated.");
  cmd->callback([o] { run_encode(*o); });
}

COVERGEN_COMMAND("encoder", setup);
COVERGEN_COMMAND("encode", setup_encode);

}  // namespace
