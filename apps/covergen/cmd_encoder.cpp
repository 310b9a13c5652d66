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

#include <covergen/atomic_file.hpp>
#include <covergen/audio/batch.hpp>
#include <covergen/audio/load.hpp>
#include <covergen/audio/summary.hpp>
#include <covergen/generate/condition.hpp>
#include <covergen/generate/encoder_inputs.hpp>
#include <covergen/data/dataset.hpp>
#include <covergen/device.hpp>
#include <covergen/encoders/evaluate.hpp>
#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>
#include <covergen/npy.hpp>
#include <covergen/plugin_registry.hpp>
#include <covergen/progress.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <thread>

namespace fs = std::filesystem;
namespace audio = covergen::audio;
namespace data = covergen::data;
namespace enc = covergen::encoders;
using nlohmann::json;

namespace {

using covergen::generate::default_threads;
using covergen::generate::encode_keys;
using covergen::generate::ensure_features;
using covergen::generate::input_from_view;
using covergen::generate::time_axis;

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// LibTorch's default intra-op thread count can come out as 1 in containers (it counts
// physical cores through cpuinfo); fitting uses every core unless OMP_NUM_THREADS says
// otherwise. Encoding and eval use one thread: one track is too little work to share,
// and on a busy machine two OpenMP threads made a CNN encode 20x slower (docs/performance.md).
void use_all_cores() {
  if (std::getenv("OMP_NUM_THREADS") || std::getenv("MKL_NUM_THREADS")) return;
  const int hw = default_threads(0);
  if (at::get_num_threads() < hw) at::set_num_threads(hw);
}
void use_one_core() {
  if (std::getenv("OMP_NUM_THREADS") || std::getenv("MKL_NUM_THREADS")) return;
  at::set_num_threads(1);  // also oneDNN's OpenMP team, which otherwise takes every core
}

// Stacks inputs; sequences of different lengths are cut to the shortest (logged).
at::Tensor stack_inputs(std::vector<at::Tensor>& xs, covergen::EncoderInput kind, std::int64_t* cut_to = nullptr) {
  const int ax = time_axis(kind);
  if (ax >= 0) {
    std::int64_t tmin = xs.front().size(ax);
    for (const auto& x : xs) tmin = std::min(tmin, x.size(ax));
    for (auto& x : xs)
      if (x.size(ax) != tmin) {
        if (cut_to) *cut_to = tmin;
        x = x.narrow(ax, 0, tmin);
      }
  }
  return at::stack(xs);
}

struct Split {
  std::vector<std::size_t> tracks;  // dataset indices present in the store
  std::vector<std::string> keys;
  std::vector<int> labels;
};

Split split_tracks(const data::Dataset& ds, const audio::FeatureStore& store, data::Split s) {
  Split out;
  for (std::size_t i : ds.indices(s)) {
    const auto& t = ds.tracks()[i];
    if (!store.contains(t.id)) continue;  // failed extraction (reported)
    out.tracks.push_back(i);
    out.keys.push_back(t.id);
    out.labels.push_back(t.genre);
  }
  return out;
}

covergen::EncoderData gather(const data::Dataset& ds, const audio::FeatureStore& store, const Split& s,
                             covergen::EncoderInput kind, const covergen::cli::CommonOptions& common, const char* what) {
  covergen::EncoderData d;
  if (s.keys.empty()) return d;
  std::vector<at::Tensor> xs;
  xs.reserve(s.keys.size());
  for (const auto& k : s.keys) xs.push_back(input_from_view(store.read(k), kind));
  std::int64_t cut = 0;
  d.inputs = stack_inputs(xs, kind, &cut);
  if (cut > 0)
    covergen::cli::log(common, std::string("covergen: ") + what + " clips differ in length; all cut to the shortest, " +
                                   std::to_string(cut) + " frames");
  const bool labelled = ds.genres().size() >= 2 &&
                        std::all_of(s.labels.begin(), s.labels.end(), [](int l) { return l >= 0; });
  if (labelled) {
    d.labels = at::tensor(std::vector<std::int64_t>(s.labels.begin(), s.labels.end()), at::kLong);
    d.class_names = ds.genres();
  }
  return d;
}

enc::Points to_points(const at::Tensor& t) {
  enc::Points p;
  auto c = t.to(at::kCPU, at::kFloat).contiguous();
  p.n = c.size(0);
  p.d = c.size(1);
  p.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return p;
}

json metrics_json(const std::vector<std::pair<std::string, double>>& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

// ---------------------------------------------------------------- fit

struct FitCli {
  covergen::cli::CommonOptions common;
  std::string plugin, data_dir, out, features, device = "auto", config = "{}";
  std::int64_t dim = 0, epochs = 0;
  std::uint64_t seed = 0;
  int threads = 0;
};

void run_fit(const FitCli& o) {
  use_all_cores();
  const auto device = covergen::parse_device(o.device);
  json cfg;
  try {
    cfg = json::parse(o.config);
  } catch (const json::exception& e) {
    throw covergen::InputError("--config is not valid JSON: " + std::string(e.what()));
  }
  if (!cfg.is_object()) throw covergen::InputError("--config must be a JSON object");
  if (o.epochs > 0) cfg["epochs"] = o.epochs;
  if (o.dim < 0) throw covergen::InputError("--dim must be positive");
  auto registry = covergen::cli::make_registry();
  auto encoder = registry.create_encoder(o.plugin, cfg.dump());
  auto ds = data::Dataset::open(o.data_dir);
  for (const auto& bad : ds.bad_rows()) covergen::cli::log(o.common, "covergen: skipped " + bad.to_string());
  const fs::path store_dir = o.features.empty() ? covergen::generate::default_feature_store(ds) : fs::path(o.features);
  auto store = ensure_features(ds, store_dir, o.threads, covergen::cli::logger(o.common), covergen::cli::shows_progress(o.common));
  const auto kind = encoder->input_kind();
  const auto tr = split_tracks(ds, store, data::Split::train), va = split_tracks(ds, store, data::Split::val);
  if (tr.keys.size() < 2) throw covergen::InputError(o.data_dir, "fewer than 2 training tracks with features");
  auto train = gather(ds, store, tr, kind, o.common, "training");
  auto val = gather(ds, store, va, kind, o.common, "validation");
  if (val.inputs.defined() && kind != covergen::EncoderInput::summary) {
    const int ax = kind == covergen::EncoderInput::frames ? 1 : 2;  // same length as training for batching
    if (val.inputs.size(ax) > train.inputs.size(ax)) val.inputs = val.inputs.narrow(ax, 0, train.inputs.size(ax));
  }
  covergen::cli::log(o.common, "covergen: fitting " + encoder->plugin_name() + " on " + std::to_string(train.size()) +
                                   " tracks (" + std::to_string(val.size()) + " validation), input " +
                                   covergen::to_string(kind) + ", device " + covergen::device_string(device) +
                                   (train.labels.defined() ? ", " + std::to_string(train.class_names.size()) + " genres" : ", unlabelled"));
  covergen::FitOptions fo;
  fo.dim = o.dim;
  fo.seed = o.seed;
  fo.device = device;
  covergen::Progress progress("fit " + encoder->plugin_name(), 0, !o.common.quiet && !o.common.json);
  const bool terminal = progress.active() && covergen::Progress::stderr_is_terminal();
  fo.on_progress = [&](const covergen::FitProgress& p) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "epoch %lld/%lld train %.4f val %.4f%s", static_cast<long long>(p.epoch),
                  static_cast<long long>(p.epochs), p.train_loss, p.val_loss,
                  p.val_accuracy >= 0 ? (" acc " + std::to_string(p.val_accuracy).substr(0, 5)).c_str() : "");
    if (terminal) progress.update(p.epoch, buf);
    else if (!o.common.quiet && !o.common.json && (p.epoch % 10 == 0 || p.epoch == 1)) covergen::cli::log(o.common, std::string("covergen: ") + buf);
  };
  const auto t0 = Clock::now();
  auto report = encoder->fit(train, val, fo);
  const double fit_s = seconds_since(t0);
  progress.finish();
  json meta{{"metrics", metrics_json(report.metrics)},
            {"epochs", report.epochs},
            {"fit_seconds", fit_s},
            {"torch_threads", at::get_num_threads()},
            {"dataset", fs::absolute(o.data_dir).string()},
            {"features", fs::absolute(store_dir).string()},
            {"train_tracks", train.size()},
            {"val_tracks", val.size()},
            {"seed", o.seed},
            {"input", covergen::to_string(kind)},
            {"summary_names", store.layout().summary},
            {"frame_features", store.layout().frame_features}};
  covergen::save_plugin_object(o.out, "encoder", *encoder, meta.dump());
  json out{{"schema_version", 1}, {"model", o.out}, {"plugin", encoder->plugin_name()}, {"dim", encoder->dim()},
           {"input", covergen::to_string(kind)}, {"input_dim", encoder->input_dim()}, {"epochs", report.epochs},
           {"fit_seconds", fit_s}, {"metrics", metrics_json(report.metrics)}, {"train_tracks", train.size()},
           {"val_tracks", val.size()}};
  if (o.common.json) {
    std::cout << out.dump(2) << '\n';
  } else {
    std::string m;
    for (const auto& [k, v] : report.metrics) m += " " + k + "=" + std::to_string(v);
    covergen::cli::log(o.common, "covergen: fitted " + encoder->plugin_name() + " (dim " + std::to_string(encoder->dim()) +
                                     ") in " + std::to_string(fit_s) + " s, " + std::to_string(report.epochs) + " epochs;" + m);
    std::cout << o.out << '\n';
  }
}

// ---------------------------------------------------------------- eval

struct EvalCli {
  covergen::cli::CommonOptions common;
  std::string model, data_dir, features, map, map_method = "tsne", device = "auto";
  int threads = 0, k = 5;
  std::uint64_t seed = 0;
};

void run_eval(const EvalCli& o) {
  use_one_core();
  if (o.map_method != "tsne" && o.map_method != "pca") throw covergen::InputError("--map-method must be tsne or pca");
  if (o.k < 1) throw covergen::InputError("--k must be >= 1");
  const auto device = covergen::parse_device(o.device);
  auto registry = covergen::cli::make_registry();
  auto encoder = covergen::load_encoder(o.model, registry);
  encoder->to(device);
  const auto header = covergen::read_model_header(o.model);
  auto ds = data::Dataset::open(o.data_dir);
  const fs::path store_dir = o.features.empty() ? covergen::generate::default_feature_store(ds) : fs::path(o.features);
  auto store = ensure_features(ds, store_dir, o.threads, covergen::cli::logger(o.common), covergen::cli::shows_progress(o.common));
  auto ref = split_tracks(ds, store, data::Split::train);
  const auto test = split_tracks(ds, store, data::Split::test);
  if (test.keys.empty()) throw covergen::InputError(o.data_dir, "the test split has no tracks with features");
  const auto t0 = Clock::now();
  auto e_test = encode_keys(*encoder, store, test.keys);
  const double test_s = seconds_since(t0);
  auto e_ref = encode_keys(*encoder, store, ref.keys);
  const bool labelled = ds.genres().size() >= 2;
  json out{{"schema_version", 1}, {"model", o.model}, {"plugin", header.plugin}, {"dim", encoder->dim()},
           {"test_tracks", test.keys.size()}, {"reference_tracks", ref.keys.size()}};
  const auto pt = to_points(e_test);
  if (labelled) {
    out["knn_k"] = o.k;
    out["knn_accuracy"] = enc::knn_accuracy(to_points(e_ref), ref.labels, pt, test.labels, o.k);
    out["silhouette"] = enc::silhouette(pt, test.labels);
    // Genre accuracy of a classifier: its classes mapped to the dataset's genres by name.
    auto cfg = json::parse(encoder->config_json());
    std::vector<std::string> classes = cfg.value("classes", std::vector<std::string>{});
    at::Tensor logits;
    if (!classes.empty()) {
      std::vector<at::Tensor> xs;
      std::int64_t correct = 0, total = 0;
      for (std::size_t i = 0; i < test.keys.size(); ++i) {
        if (test.labels[i] < 0) continue;
        auto l = encoder->classify_batch(input_from_view(store.read(test.keys[i]), encoder->input_kind()).unsqueeze(0));
        if (!l.defined()) break;
        const auto pred = l.argmax(1).item<std::int64_t>();
        correct += classes[static_cast<std::size_t>(pred)] == ds.genres()[static_cast<std::size_t>(test.labels[i])];
        ++total;
      }
      if (total > 0) out["genre_accuracy"] = static_cast<double>(correct) / static_cast<double>(total);
    }
  }
  // Per-track encoding time from features (one track at a time, after one warm-up).
  {
    const std::size_t n = std::min<std::size_t>(test.keys.size(), 50);
    std::vector<at::Tensor> xs;
    for (std::size_t i = 0; i < n; ++i) xs.push_back(input_from_view(store.read(test.keys[i]), encoder->input_kind()));
    (void)encoder->encode(xs.front());
    const auto t1 = Clock::now();
    for (const auto& x : xs) (void)encoder->encode(x).to(at::kCPU);
    out["encode_ms_per_track"] = seconds_since(t1) * 1000.0 / static_cast<double>(n);
    out["encode_batch_ms_per_track"] = test_s * 1000.0 / static_cast<double>(test.keys.size());
    out["torch_threads"] = at::get_num_threads();
  }
  if (!o.map.empty()) {
    std::vector<std::size_t> pick(test.keys.size());
    for (std::size_t i = 0; i < pick.size(); ++i) pick[i] = i;
    enc::Points p = pt;
    std::vector<int> labels = test.labels;
    const std::size_t cap = 2000;  // exact t-SNE is O(n^2): a seeded subsample beyond this
    if (pt.n > static_cast<std::int64_t>(cap)) {
      std::uint64_t s = o.seed + 0x9E37;
      for (std::size_t i = pick.size() - 1; i > 0; --i) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        std::swap(pick[i], pick[(s >> 33) % (i + 1)]);
      }
      pick.resize(cap);
      p.n = static_cast<std::int64_t>(cap);
      p.data.clear();
      labels.clear();
      for (auto i : pick) {
        p.data.insert(p.data.end(), pt.row(static_cast<std::int64_t>(i)), pt.row(static_cast<std::int64_t>(i)) + pt.d);
        labels.push_back(test.labels[i]);
      }
    }
    // Standardise each embedding axis so no single large axis dominates the layout.
    for (std::int64_t j = 0; j < p.d; ++j) {
      double m = 0, v = 0;
      for (std::int64_t i = 0; i < p.n; ++i) m += p.data[static_cast<std::size_t>(i * p.d + j)];
      m /= static_cast<double>(p.n);
      for (std::int64_t i = 0; i < p.n; ++i) v += std::pow(p.data[static_cast<std::size_t>(i * p.d + j)] - m, 2);
      const double sd = std::sqrt(v / static_cast<double>(p.n));
      for (std::int64_t i = 0; i < p.n; ++i)
        p.data[static_cast<std::size_t>(i * p.d + j)] = static_cast<float>((p.data[static_cast<std::size_t>(i * p.d + j)] - m) / (sd > 1e-12 ? sd : 1.0));
    }
    const auto t2 = Clock::now();
    auto xy = o.map_method == "tsne" ? enc::tsne_2d(p, 30.0, 1000, o.seed) : enc::pca_2d(p);
    std::string title = header.plugin + " embeddings (dim " + std::to_string(encoder->dim()) + "), test split, " +
                        (o.map_method == "tsne" ? "t-SNE" : "PCA");
    if (out.contains("knn_accuracy")) {
      char buf[64];
      std::snprintf(buf, sizeof buf, ", 5-NN acc %.2f", out["knn_accuracy"].get<double>());
      title += buf;
    }
    enc::draw_map(o.map, xy, labels, ds.genres(), title);
    out["map"] = o.map;
    out["map_method"] = o.map_method;
    out["map_seconds"] = seconds_since(t2);
  }
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
  auto store = audio::FeatureStore::open(o.store);
  const auto keys = store.keys();
  if (keys.empty()) throw covergen::InputError(o.store, "the feature store is empty");
  covergen::Progress progress("encode", static_cast<std::int64_t>(keys.size()), !o.common.quiet && !o.common.json);
  const auto t0 = Clock::now();
  auto emb = encode_keys(e, store, keys, &progress);
  const double secs = seconds_since(t0);
  progress.finish();
  covergen::npy::save(o.out, covergen::npy::DType::f4, {emb.size(0), emb.size(1)}, emb.data_ptr<float>());
  std::string key_text;
  for (const auto& k : keys) key_text += k + "\n";
  const fs::path keys_file = fs::path(o.out).replace_extension(".keys.txt");
  covergen::write_file_atomic(keys_file, key_text);
  json out{{"schema_version", 1}, {"out", o.out}, {"keys", keys_file.string()}, {"tracks", keys.size()},
           {"dim", e.dim()}, {"seconds", secs}, {"ms_per_track", secs * 1000.0 / static_cast<double>(keys.size())}};
  if (o.common.json) std::cout << out.dump(2) << '\n';
  else
    covergen::cli::log(o.common, "covergen: encoded " + std::to_string(keys.size()) + " tracks into " + o.out + " (" +
                                     std::to_string(secs) + " s); row order in " + keys_file.string());
}

void run_encode(const EncodeCli& o) {
  use_one_core();
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
  json tracks = json::array();
  for (const auto& path : o.tracks) {
    const auto t0 = Clock::now();
    auto a = audio::load(path);
    const double load_s = seconds_since(t0);
    const auto t1 = Clock::now();
    audio::Features f;
    try {
      f = fx.compute(a.samples);
    } catch (const covergen::InputError& err) {  // e.g. NaN samples: name the file
      throw covergen::InputError(path, err.what());
    }
    auto x = covergen::generate::encoder_input_from_features(f, e->input_kind());
    const double feat_s = seconds_since(t1);
    const auto t2 = Clock::now();
    auto v = e->encode(x).to(at::kCPU, at::kFloat).contiguous();
    const double enc_s = seconds_since(t2);
    std::vector<float> vec(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
    if (o.common.json) {
      tracks.push_back({{"file", path},
                        {"embedding", vec},
                        {"timing_ms",
                         {{"load", load_s * 1e3}, {"features", feat_s * 1e3}, {"encode", enc_s * 1e3},
                          {"total", (load_s + feat_s + enc_s) * 1e3}}}});
    } else {
      std::cout << path;
      char buf[32];
      for (float f : vec) {
        std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(f));
        std::cout << '\t' << buf;
      }
      std::cout << '\n';
    }
  }
  if (o.common.json)
    std::cout << json{{"schema_version", 1}, {"encoder", o.model}, {"plugin", e->plugin_name()}, {"dim", e->dim()},
                      {"tracks", tracks}}
                     .dump(2)
              << '\n';
}

void setup(CLI::App& root) {
  auto* grp = root.add_subcommand("encoder", "Fit and evaluate encoders (pca, autoencoder, rnn, spectrogram-cnn)");
  grp->require_subcommand(1);

  auto f = std::make_shared<FitCli>();
  auto* fit = grp->add_subcommand("fit", "Fit an encoder plugin on a dataset's audio features");
  fit->add_option("--plugin", f->plugin, "Encoder plugin name or path (pca, autoencoder, rnn, spectrogram-cnn)")->required();
  fit->add_option("--data", f->data_dir, "Dataset folder (or its dataset.json)")->required();
  fit->add_option("--out", f->out, "Model file to write")->required();
  fit->add_option("--dim", f->dim, "Embedding size (0 = the plugin's default; pca: by explained variance)")->capture_default_str();
  fit->add_option("--epochs", f->epochs, "Maximum epochs (0 = the plugin's default)")->capture_default_str();
  fit->add_option("--seed", f->seed, "Seed (weights, data order, crops)")->capture_default_str();
  fit->add_option("--device", f->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  fit->add_option("--features", f->features, "Feature store (default <dataset>/.covergen-cache/features; missing tracks are extracted)");
  fit->add_option("--config", f->config, "Extra JSON config for the plugin (see docs/encoders.md)")->capture_default_str();
  fit->add_option("-j,--threads", f->threads, "Feature extraction threads (0 = all cores)");
  covergen::cli::add_common_options(*fit, f->common);
  fit->callback([f] { run_fit(*f); });

  auto v = std::make_shared<EvalCli>();
  auto* ev = grp->add_subcommand("eval", "Genre accuracy, k-NN accuracy, silhouette and a 2-D map of an encoder's embeddings");
  ev->add_option("--encoder", v->model, "Encoder model file (from covergen encoder fit)")->required();
  ev->add_option("--data", v->data_dir, "Dataset folder (or its dataset.json)")->required();
  ev->add_option("--features", v->features, "Feature store (default <dataset>/.covergen-cache/features)");
  ev->add_option("--map", v->map, "Write a 2-D map PNG of the test tracks coloured by genre");
  ev->add_option("--map-method", v->map_method, "tsne or pca")->capture_default_str();
  ev->add_option("--k", v->k, "Neighbours for the k-NN accuracy")->capture_default_str();
  ev->add_option("--seed", v->seed, "Seed of the t-SNE layout")->capture_default_str();
  ev->add_option("--device", v->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  ev->add_option("-j,--threads", v->threads, "Feature extraction threads (0 = all cores)");
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
