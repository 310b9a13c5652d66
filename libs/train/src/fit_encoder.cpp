#include "covergen/train/fit_encoder.hpp"

#include <covergen/device.hpp>
#include <covergen/errors.hpp>
#include <covergen/generate/encoder_inputs.hpp>
#include <covergen/model_file.hpp>
#include <covergen/progress.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace covergen::train {

namespace fs = std::filesystem;
namespace data = covergen::data;
using nlohmann::json;

namespace {

void say(const FitEncoderOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

// Stacks inputs; sequences of different lengths are cut to the shortest (returned in cut_to).
at::Tensor stack_inputs(std::vector<at::Tensor>& xs, EncoderInput kind, std::int64_t& cut_to) {
  const int ax = generate::time_axis(kind);
  if (ax >= 0) {
    std::int64_t tmin = xs.front().size(ax);
    for (const auto& x : xs) tmin = std::min(tmin, x.size(ax));
    for (auto& x : xs)
      if (x.size(ax) != tmin) {
        cut_to = tmin;
        x = x.narrow(ax, 0, tmin);
      }
  }
  return at::stack(xs);
}

EncoderData gather(const FitEncoderOptions& o, const data::Dataset& ds, const audio::FeatureStore& store,
                   const generate::StoreTracks& s, EncoderInput kind, const char* what) {
  EncoderData d;
  if (s.keys.empty()) return d;
  std::vector<at::Tensor> xs;
  xs.reserve(s.keys.size());
  for (const auto& k : s.keys) xs.push_back(generate::input_from_view(store.read(k), kind));
  std::int64_t cut = 0;
  d.inputs = stack_inputs(xs, kind, cut);
  if (cut > 0)
    say(o, std::string("covergen: ") + what + " clips differ in length; all cut to the shortest, " + std::to_string(cut) +
               " frames");
  const bool labelled =
      ds.genres().size() >= 2 && std::all_of(s.labels.begin(), s.labels.end(), [](int l) { return l >= 0; });
  if (labelled) {
    d.labels = at::tensor(std::vector<std::int64_t>(s.labels.begin(), s.labels.end()), at::kLong);
    d.class_names = ds.genres();
  }
  return d;
}

json metrics_json(const std::vector<std::pair<std::string, double>>& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

}  // namespace

FitEncoderResult fit_encoder(const FitEncoderOptions& o) {
  const auto device = parse_device(o.device);
  json cfg;
  try {
    cfg = json::parse(o.config);
  } catch (const json::exception& e) {
    throw InputError("--config is not valid JSON: " + std::string(e.what()));
  }
  if (!cfg.is_object()) throw InputError("--config must be a JSON object");
  if (o.epochs > 0) cfg["epochs"] = o.epochs;
  if (o.dim < 0) throw InputError("--dim must be positive");
  PluginRegistry registry(o.plugins);
  auto encoder = registry.create_encoder(o.plugin, cfg.dump());
  auto ds = data::Dataset::open(o.data_dir);
  for (const auto& bad : ds.bad_rows()) say(o, "covergen: skipped " + bad.to_string());
  const fs::path store_dir = o.features.empty() ? generate::default_feature_store(ds) : o.features;
  auto store = generate::ensure_features(ds, store_dir, o.threads, o.log, o.progress);
  const auto kind = encoder->input_kind();
  const auto tr = generate::store_tracks(ds, store, data::Split::train);
  const auto va = generate::store_tracks(ds, store, data::Split::val);
  if (tr.keys.size() < 2) throw InputError(o.data_dir.string(), "fewer than 2 training tracks with features");
  auto train = gather(o, ds, store, tr, kind, "training");
  auto val = gather(o, ds, store, va, kind, "validation");
  if (val.inputs.defined() && kind != EncoderInput::summary) {
    const int ax = kind == EncoderInput::frames ? 1 : 2;  // same length as training for batching
    if (val.inputs.size(ax) > train.inputs.size(ax)) val.inputs = val.inputs.narrow(ax, 0, train.inputs.size(ax));
  }
  say(o, "covergen: fitting " + encoder->plugin_name() + " on " + std::to_string(train.size()) + " tracks (" +
             std::to_string(val.size()) + " validation), input " + to_string(kind) + ", device " +
             device_string(device) +
             (train.labels.defined() ? ", " + std::to_string(train.class_names.size()) + " genres" : ", unlabelled"));
  FitOptions fo;
  fo.dim = o.dim;
  fo.seed = o.seed;
  fo.device = device;
  Progress progress("fit " + encoder->plugin_name(), 0, o.progress);
  const bool terminal = progress.active() && Progress::stderr_is_terminal();
  fo.on_progress = [&](const FitProgress& p) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "epoch %lld/%lld train %.4f val %.4f%s", static_cast<long long>(p.epoch),
                  static_cast<long long>(p.epochs), p.train_loss, p.val_loss,
                  p.val_accuracy >= 0 ? (" acc " + std::to_string(p.val_accuracy).substr(0, 5)).c_str() : "");
    if (terminal) progress.update(p.epoch, buf);
    else if (o.progress && (p.epoch % 10 == 0 || p.epoch == 1)) say(o, std::string("covergen: ") + buf);
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto report = encoder->fit(train, val, fo);
  const double fit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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
            {"input", to_string(kind)},
            {"summary_names", store.layout().summary},
            {"frame_features", store.layout().frame_features}};
  save_plugin_object(o.out, "encoder", *encoder, meta.dump());
  FitEncoderResult r;
  r.plugin = encoder->plugin_name();
  r.input = to_string(kind);
  r.dim = encoder->dim();
  r.input_dim = encoder->input_dim();
  r.epochs = report.epochs;
  r.fit_seconds = fit_s;
  r.metrics = report.metrics;
  r.train_tracks = static_cast<std::size_t>(train.size());
  r.val_tracks = static_cast<std::size_t>(val.size());
  r.model = o.out;
  return r;
}

std::string FitEncoderResult::to_json() const {
  json m = json::object();
  for (const auto& [k, v] : metrics) m[k] = v;
  return json{{"schema_version", 1}, {"model", model.string()}, {"plugin", plugin}, {"dim", dim},
              {"input", input}, {"input_dim", input_dim}, {"epochs", epochs}, {"fit_seconds", fit_seconds},
              {"metrics", m}, {"train_tracks", train_tracks}, {"val_tracks", val_tracks}}
      .dump(2);
}

std::string FitEncoderResult::summary() const {
  std::string m;
  for (const auto& [k, v] : metrics) m += " " + k + "=" + std::to_string(v);
  return "fitted " + plugin + " (dim " + std::to_string(dim) + ") in " + std::to_string(fit_seconds) + " s, " +
         std::to_string(epochs) + " epochs;" + m;
}

}  // namespace covergen::train
