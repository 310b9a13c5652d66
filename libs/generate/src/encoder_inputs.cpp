#include "covergen/generate/encoder_inputs.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/audio/batch.hpp>
#include <covergen/audio/load.hpp>
#include <covergen/generate/condition.hpp>
#include <covergen/npy.hpp>
#include <covergen/errors.hpp>
#include <covergen/progress.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

namespace fs = std::filesystem;

namespace covergen::generate {

int default_threads(int t) { return t > 0 ? t : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

fs::path default_feature_store(const data::Dataset& ds) { return ds.spec().root / ".covergen-cache" / "features"; }

// Opens (or creates) the feature store and extracts the dataset tracks it lacks.
audio::FeatureStore ensure_features(const data::Dataset& ds, const fs::path& dir, int threads,
                                    const std::function<void(const std::string&)>& log_fn, bool show_progress) {
  auto log = [&](const std::string& line) {
    if (log_fn) log_fn(line);
  };
  audio::BatchOptions b;
  b.threads = default_threads(threads);
  auto store = audio::FeatureStore::open_or_create(dir, audio::store_layout(b));
  std::vector<audio::BatchItem> items;
  for (const auto& t : ds.tracks())
    if (!store.contains(t.id)) items.push_back({t.id, t.audio, t.excerpt_start, t.excerpt_seconds});
  if (items.empty()) return store;
  log("covergen: extracting features of " + std::to_string(items.size()) + " tracks into " +
                                 dir.string() + " (" + std::to_string(b.threads) + " threads)");
  Progress progress("features", static_cast<std::int64_t>(items.size()), show_progress);
  auto rep = audio::extract_batch(items, store, b, [&](const audio::BatchProgress& p) {
    progress.update(static_cast<std::int64_t>(p.done), std::to_string(p.failed) + " failed");
  });
  progress.finish();
  for (const auto& f : rep.failures) log("covergen: skipped " + f.error);
  log("covergen: features extracted in " + std::to_string(rep.wall_seconds) + " s");
  return store;
}

// One track's encoder input (without the batch axis) from the store.
StoreTracks store_tracks(const data::Dataset& ds, const audio::FeatureStore& store, data::Split split) {
  StoreTracks out;
  for (std::size_t i : ds.indices(split)) {
    const auto& t = ds.tracks()[i];
    if (!store.contains(t.id)) continue;  // failed extraction (reported)
    out.tracks.push_back(i);
    out.keys.push_back(t.id);
    out.labels.push_back(t.genre);
  }
  return out;
}

at::Tensor input_from_view(const audio::TrackView& v, EncoderInput kind) {
  switch (kind) {
    case EncoderInput::summary:
      return at::from_blob(const_cast<float*>(v.summary), {v.n_summary}, at::kFloat).clone();
    case EncoderInput::frames:
      return at::from_blob(const_cast<float*>(v.frames), {v.n_frames, v.n_features}, at::kFloat).clone();
    case EncoderInput::logmel: {
      auto m = v.log_mel_float();
      return at::from_blob(m.data(), {v.n_mels, v.n_frames}, at::kFloat).clone();
    }
  }
  return {};
}

// The sequence axis of an input without batch axis (frames: 0, logmel: 1; -1 summary).
int time_axis(EncoderInput kind) {
  return kind == EncoderInput::frames ? 0 : kind == EncoderInput::logmel ? 1 : -1;
}

// Encodes store records in batches (same-length sequences batched; others one by one).
at::Tensor encode_keys(const Encoder& e, const audio::FeatureStore& store, const std::vector<std::string>& keys,
                       Progress* progress) {
  std::vector<at::Tensor> out;
  const std::size_t chunk = e.input_kind() == EncoderInput::summary ? 1024 : 32;
  for (std::size_t s = 0; s < keys.size(); s += chunk) {
    std::vector<at::Tensor> xs;
    for (std::size_t i = s; i < std::min(keys.size(), s + chunk); ++i) xs.push_back(input_from_view(store.read(keys[i]), e.input_kind()));
    const int ax = time_axis(e.input_kind());
    bool same = true;
    if (ax >= 0)
      for (const auto& x : xs) same = same && x.size(ax) == xs.front().size(ax);
    if (same) {
      out.push_back(e.encode_batch(at::stack(xs)).to(at::kCPU, at::kFloat));
    } else {
      for (const auto& x : xs) out.push_back(e.encode(x).unsqueeze(0).to(at::kCPU, at::kFloat));
    }
    if (progress) progress->update(static_cast<std::int64_t>(std::min(keys.size(), s + chunk)));
  }
  return out.empty() ? at::zeros({0, e.dim()}) : at::cat(out, 0).contiguous();
}

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

StoreEncoding encode_store_to_npy(const Encoder& e, const fs::path& store_dir, const fs::path& out, bool show_progress) {
  auto store = audio::FeatureStore::open(store_dir);
  const auto keys = store.keys();
  if (keys.empty()) throw InputError(store_dir.string(), "the feature store is empty");
  Progress progress("encode", static_cast<std::int64_t>(keys.size()), show_progress);
  StoreEncoding r;
  const auto t0 = Clock::now();
  auto emb = encode_keys(e, store, keys, &progress);
  r.seconds = seconds_since(t0);
  progress.finish();
  npy::save(out, npy::DType::f4, {emb.size(0), emb.size(1)}, emb.data_ptr<float>());
  std::string key_text;
  for (const auto& k : keys) key_text += k + "\n";
  r.keys_file = fs::path(out).replace_extension(".keys.txt");
  write_file_atomic(r.keys_file, key_text);
  r.tracks = keys.size();
  r.dim = e.dim();
  r.out = out;
  return r;
}

std::string StoreEncoding::to_json() const {
  return nlohmann::json{{"schema_version", 1}, {"out", out.string()}, {"keys", keys_file.string()},
                        {"tracks", tracks}, {"dim", dim}, {"seconds", seconds},
                        {"ms_per_track", seconds * 1000.0 / static_cast<double>(tracks)}}
      .dump(2);
}

std::string encodings_json(const Encoder& e, const fs::path& model,
                           const std::vector<std::pair<fs::path, TrackEncoding>>& files) {
  nlohmann::json tracks = nlohmann::json::array();
  for (const auto& [file, r] : files)
    tracks.push_back({{"file", file.string()},
                      {"embedding", r.embedding},
                      {"timing_ms",
                       {{"load", r.load_seconds * 1e3}, {"features", r.features_seconds * 1e3},
                        {"encode", r.encode_seconds * 1e3},
                        {"total", (r.load_seconds + r.features_seconds + r.encode_seconds) * 1e3}}}});
  return nlohmann::json{{"schema_version", 1}, {"encoder", model.string()}, {"plugin", e.plugin_name()},
                        {"dim", e.dim()}, {"tracks", tracks}}
      .dump(2);
}

std::string encoding_line(const fs::path& file, const TrackEncoding& encoding) {
  std::string line = file.string();
  char buf[32];
  for (float f : encoding.embedding) {
    std::snprintf(buf, sizeof buf, "\t%.6g", static_cast<double>(f));
    line += buf;
  }
  return line;
}

TrackEncoding encode_audio_file(const Encoder& e, audio::FeatureExtractor& fx, const fs::path& file) {
  TrackEncoding r;
  const auto t0 = Clock::now();
  auto a = audio::load(file);
  r.load_seconds = seconds_since(t0);
  const auto t1 = Clock::now();
  audio::Features f;
  try {
    f = fx.compute(a.samples);
  } catch (const InputError& err) {  // e.g. NaN samples: name the file
    throw InputError(file.string(), err.what());
  }
  auto x = encoder_input_from_features(f, e.input_kind());
  r.features_seconds = seconds_since(t1);
  const auto t2 = Clock::now();
  auto v = e.encode(x).to(at::kCPU, at::kFloat).contiguous();
  r.encode_seconds = seconds_since(t2);
  r.embedding.assign(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
  return r;
}

namespace {

void add_dataset(const data::DatasetSpec& spec, bool use_excerpts, std::vector<audio::BatchItem>& items,
                 std::vector<audio::BatchFailure>& bad) {
  data::DatasetOptions dopt;
  dopt.check_files = false;  // a missing audio file is reported by the decoder like any bad file
  auto ds = data::Dataset::open(spec, dopt);
  for (const auto& r : ds.bad_rows()) bad.push_back({r.id.empty() ? r.to_string() : r.id, r.file, r.to_string()});
  for (const auto& t : ds.tracks())
    items.push_back({t.id, t.audio, use_excerpts ? t.excerpt_start : -1.0, t.excerpt_seconds});
}

}  // namespace

std::vector<audio::BatchItem> feature_inputs(const std::vector<std::string>& inputs, bool use_excerpts,
                                             std::vector<audio::BatchFailure>& bad) {
  std::vector<audio::BatchItem> items;
  for (const auto& in : inputs) {
    const fs::path p(in);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      if (fs::exists(p / "dataset.json") || fs::exists(p / "tracks.csv")) {
        add_dataset(data::DatasetSpec::load(p), use_excerpts, items, bad);
        continue;
      }
      const auto found = audio::audio_files_under(p);
      items.insert(items.end(), found.begin(), found.end());
      continue;
    }
    const std::string ext = p.extension().string();
    if (ext == ".json") {
      add_dataset(data::DatasetSpec::load(p), use_excerpts, items, bad);
      continue;
    }
    if (ext == ".csv") {
      const fs::path root = p.parent_path().empty() ? fs::path(".") : p.parent_path();
      const nlohmann::json spec{{"csv", p.filename().string()}};
      add_dataset(data::DatasetSpec::parse(spec.dump(), root, p), use_excerpts, items, bad);
      continue;
    }
    items.push_back({p.generic_string(), p});  // a file (a missing one is reported by the decoder)
  }
  return items;
}


DatasetEmbeddings dataset_embeddings(const data::Dataset& ds, const Encoder& encoder, int threads,
                                     const std::function<void(const std::string&)>& log, bool progress) {
  auto store = ensure_features(ds, default_feature_store(ds), threads, log, progress);
  DatasetEmbeddings out;
  out.have.assign(ds.size(), false);
  std::vector<std::string> keys;
  std::vector<std::int64_t> rows;
  for (std::size_t i = 0; i < ds.size(); ++i)
    if (store.contains(ds.tracks()[i].id)) {
      keys.push_back(ds.tracks()[i].id);
      rows.push_back(static_cast<std::int64_t>(i));
      out.have[i] = true;
    }
  if (keys.empty()) throw InputError(ds.csv_path().string(), "no track's audio could be decoded: nothing to encode");
  at::NoGradGuard no_grad;
  const at::Tensor e = encode_keys(encoder, store, keys).to(at::kDouble);
  out.raw = at::zeros({static_cast<std::int64_t>(ds.size()), e.size(1)}, at::kDouble);
  out.raw.index_copy_(0, at::tensor(rows), e);
  return out;
}

}  // namespace covergen::generate
