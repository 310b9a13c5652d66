#include "covergen/eval/encoder.hpp"

#include "covergen/eval/embeddings.hpp"
#include "covergen/eval/maps.hpp"
#include "covergen/eval/tsne.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/device.hpp>
#include <covergen/errors.hpp>
#include <covergen/generate/encoder_inputs.hpp>
#include <covergen/model_file.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>
#include <cstdio>

namespace covergen::eval {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::vector<float> to_points(const at::Tensor& t) {
  auto c = t.to(at::kCPU, at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

// Genre accuracy of a classifier encoder: its classes mapped to the dataset's genres by name.
void classifier_accuracy(const Encoder& encoder, const data::Dataset& ds, const audio::FeatureStore& store,
                         const generate::StoreTracks& test, json& out) {
  auto cfg = json::parse(encoder.config_json());
  std::vector<std::string> classes = cfg.value("classes", std::vector<std::string>{});
  if (classes.empty()) return;
  std::int64_t correct = 0, total = 0;
  for (std::size_t i = 0; i < test.keys.size(); ++i) {
    if (test.labels[i] < 0) continue;
    auto l = encoder.classify_batch(generate::input_from_view(store.read(test.keys[i]), encoder.input_kind()).unsqueeze(0));
    if (!l.defined()) break;
    const auto pred = l.argmax(1).item<std::int64_t>();
    correct += classes[static_cast<std::size_t>(pred)] == ds.genres()[static_cast<std::size_t>(test.labels[i])];
    ++total;
  }
  if (total > 0) out["genre_accuracy"] = static_cast<double>(correct) / static_cast<double>(total);
}

// The map: each embedding axis standardised so no single large axis dominates the layout.
void draw_map(const EncoderEvaluationOptions& o, std::vector<float> p, std::int64_t d, const std::vector<int>& labels,
              const data::Dataset& ds, const std::string& plugin, std::int64_t dim, json& out,
              const std::function<void(const std::string&)>& log) {
  const auto n = static_cast<std::int64_t>(labels.size());
  for (std::int64_t j = 0; j < d; ++j) {
    double m = 0, v = 0;
    for (std::int64_t i = 0; i < n; ++i) m += p[static_cast<std::size_t>(i * d + j)];
    m /= static_cast<double>(n);
    for (std::int64_t i = 0; i < n; ++i) v += std::pow(p[static_cast<std::size_t>(i * d + j)] - m, 2);
    const double sd = std::sqrt(v / static_cast<double>(n));
    for (std::int64_t i = 0; i < n; ++i)
      p[static_cast<std::size_t>(i * d + j)] =
          static_cast<float>((p[static_cast<std::size_t>(i * d + j)] - m) / (sd > 1e-12 ? sd : 1.0));
  }
  const auto t0 = Clock::now();
  // t-SNE needs 4 points; a smaller test split is laid out by PCA (and says so).
  const bool tsne = o.map_method == "tsne" && n >= 4;
  if (o.map_method == "tsne" && !tsne && log)
    log("covergen: t-SNE needs at least 4 test tracks, this split has " + std::to_string(n) + "; the map is PCA");
  std::vector<double> xy;
  if (tsne) {
    TsneOptions to;
    to.seed = o.seed;
    to.threads = o.threads;
    xy = tsne_barnes_hut(p, n, d, to).xy;
  } else {
    xy = pca_2d(p, d);
  }
  std::string title = plugin + " embeddings (dim " + std::to_string(dim) + "), test split, " + (tsne ? "t-SNE" : "PCA");
  if (out.contains("knn_accuracy")) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ", %d-NN acc %.2f", o.k, out["knn_accuracy"].get<double>());
    title += buf;
  }
  const fs::path png(o.map);
  if (png.has_parent_path()) fs::create_directories(png.parent_path());
  write_file_atomic(png, scatter_png(xy, labels, ds.genres(), title, 900));
  out["map"] = o.map;
  out["map_method"] = tsne ? "tsne" : "pca";
  out["map_seconds"] = seconds_since(t0);
}

}  // namespace

json evaluate_encoder(const EncoderEvaluationOptions& o, const PluginRegistry& registry,
                      const std::function<void(const std::string&)>& log) {
  if (o.map_method != "tsne" && o.map_method != "pca") throw InputError("--map-method must be tsne or pca");
  if (o.k < 1) throw InputError("--k must be >= 1");
  const auto device = parse_device(o.device);
  auto encoder = load_encoder(o.model, registry);
  encoder->to(device);
  const auto header = read_model_header(o.model);
  auto ds = data::Dataset::open(o.data_dir);
  const fs::path store_dir = o.features.empty() ? generate::default_feature_store(ds) : fs::path(o.features);
  auto store = generate::ensure_features(ds, store_dir, o.threads, log, o.progress);
  const auto ref = generate::store_tracks(ds, store, data::Split::train);
  const auto test = generate::store_tracks(ds, store, data::Split::test);
  if (test.keys.empty()) throw InputError(o.data_dir, "the test split has no tracks with features");
  const auto t0 = Clock::now();
  auto e_test = generate::encode_keys(*encoder, store, test.keys);
  const double test_s = seconds_since(t0);
  auto e_ref = generate::encode_keys(*encoder, store, ref.keys);
  const std::int64_t d = e_test.size(1);
  json out{{"schema_version", 1}, {"model", o.model}, {"plugin", header.plugin}, {"dim", encoder->dim()},
           {"test_tracks", test.keys.size()}, {"reference_tracks", ref.keys.size()}};
  const auto pt = to_points(e_test);
  if (ds.genres().size() >= 2) {
    out["knn_k"] = o.k;
    out["knn_accuracy"] = knn_accuracy(to_points(e_ref), ref.labels, pt, test.labels, d, o.k);
    out["silhouette"] = silhouette(pt, d, test.labels);
    classifier_accuracy(*encoder, ds, store, test, out);
  }
  // Per-track encoding time from features (one track at a time, after one warm-up).
  {
    const std::size_t n = std::min<std::size_t>(test.keys.size(), 50);
    std::vector<at::Tensor> xs;
    for (std::size_t i = 0; i < n; ++i)
      xs.push_back(generate::input_from_view(store.read(test.keys[i]), encoder->input_kind()));
    (void)encoder->encode(xs.front());
    const auto t1 = Clock::now();
    for (const auto& x : xs) (void)encoder->encode(x).to(at::kCPU);
    out["encode_ms_per_track"] = seconds_since(t1) * 1000.0 / static_cast<double>(n);
    out["encode_batch_ms_per_track"] = test_s * 1000.0 / static_cast<double>(test.keys.size());
    out["torch_threads"] = at::get_num_threads();
  }
  if (!o.map.empty()) draw_map(o, pt, d, test.labels, ds, header.plugin, encoder->dim(), out, log);
  return out;
}

}  // namespace covergen::eval
