#include "encoder_conditions.hpp"

#include "track_encoding.hpp"

#include <covergen/audio/features.hpp>
#include <covergen/audio/load.hpp>
#include <covergen/data/image_cache.hpp>
#include <covergen/engine/encoder_condition.hpp>
#include <covergen/errors.hpp>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <mutex>

namespace fs = std::filesystem;

namespace covergen::cli {

bool is_encoder_condition(const std::string& spec) {
  if (spec.size() > 5 && spec.compare(spec.size() - 5, 5, ".cvgn") == 0) return true;
  std::error_code ec;
  return spec.find(':') == std::string::npos && fs::is_regular_file(spec, ec);
}

DatasetEmbeddings dataset_embeddings(const data::Dataset& ds, const Encoder& encoder, int threads,
                                     const CommonOptions& common) {
  auto store = ensure_features(ds, default_feature_store(ds), threads, common);
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

at::Tensor track_embeddings(const Encoder& encoder, const std::vector<fs::path>& files, int threads) {
  std::vector<at::Tensor> rows(files.size());
  std::mutex encode_mutex;  // features in parallel; the encoder runs one track at a time
  data::parallel_for(files.size(), threads, [&](std::size_t i) {
    thread_local audio::FeatureExtractor extractor;
    auto sound = audio::load(files[i]);
    at::Tensor x;
    try {
      x = engine::encoder_input_from_features(extractor.compute(sound.samples), encoder.input_kind());
    } catch (const InputError& e) {  // e.g. NaN samples: name the file
      throw InputError(files[i].string(), e.what());
    }
    std::lock_guard<std::mutex> lock(encode_mutex);
    rows[i] = engine::embed_input(encoder, x);
  });
  return at::stack(rows);
}

}  // namespace covergen::cli
