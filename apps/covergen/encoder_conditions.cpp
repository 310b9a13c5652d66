#include "encoder_conditions.hpp"

#include "track_encoding.hpp"

#include <covergen/errors.hpp>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

namespace fs = std::filesystem;

namespace covergen::cli {

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

}  // namespace covergen::cli
