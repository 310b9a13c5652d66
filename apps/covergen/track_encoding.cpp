#include "track_encoding.hpp"

#include <covergen/audio/batch.hpp>
#include <covergen/progress.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <thread>

namespace fs = std::filesystem;

namespace covergen::cli {

int default_threads(int t) { return t > 0 ? t : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

fs::path default_feature_store(const data::Dataset& ds) { return ds.spec().root / ".covergen-cache" / "features"; }

// Opens (or creates) the feature store and extracts the dataset tracks it lacks.
audio::FeatureStore ensure_features(const data::Dataset& ds, const fs::path& dir, int threads,
                                    const CommonOptions& common) {
  audio::BatchOptions b;
  b.threads = default_threads(threads);
  auto store = audio::FeatureStore::open_or_create(dir, audio::store_layout(b));
  std::vector<audio::BatchItem> items;
  for (const auto& t : ds.tracks())
    if (!store.contains(t.id)) items.push_back({t.id, t.audio, t.excerpt_start, t.excerpt_seconds});
  if (items.empty()) return store;
  log(common, "covergen: extracting features of " + std::to_string(items.size()) + " tracks into " +
                                 dir.string() + " (" + std::to_string(b.threads) + " threads)");
  Progress progress("features", static_cast<std::int64_t>(items.size()), !common.quiet && !common.json);
  auto rep = audio::extract_batch(items, store, b, [&](const audio::BatchProgress& p) {
    progress.update(static_cast<std::int64_t>(p.done), std::to_string(p.failed) + " failed");
  });
  progress.finish();
  for (const auto& f : rep.failures) log(common, "covergen: skipped " + f.error);
  log(common, "covergen: features extracted in " + std::to_string(rep.wall_seconds) + " s");
  return store;
}

// One track's encoder input (without the batch axis) from the store.
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

}  // namespace covergen::cli
