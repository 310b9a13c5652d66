// From a dataset's audio to encoder inputs and embeddings Φ(track), shared by
// training on an encoder (`covergen train --condition ENCODER.cvgn`), encoder
// fit/eval, `covergen encode` and `covergen mapper fit`: the dataset's feature store
// (extracting the tracks it lacks), one track's encoder input from stored features,
// and batched encoding. Fresh audio files go through condition.hpp instead
// (encoder_input_from_features, track_embeddings).
#pragma once

#include <covergen/audio/store.hpp>
#include <covergen/data/dataset.hpp>
#include <covergen/encoder.hpp>

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace covergen {
class Progress;
}

namespace covergen::generate {

/// `t` when positive, else the number of logical CPUs.
int default_threads(int t);

/// <dataset>/.covergen-cache/features
std::filesystem::path default_feature_store(const data::Dataset& ds);

/// Opens (or creates) the feature store at `dir` and extracts the dataset tracks it
/// lacks (resumable; failures are reported through `log` and skipped). `progress`:
/// draw a progress line on a terminal.
audio::FeatureStore ensure_features(const data::Dataset& ds, const std::filesystem::path& dir, int threads,
                                    const std::function<void(const std::string&)>& log, bool progress);

/// One track's encoder input (without the batch axis) from the store.
at::Tensor input_from_view(const audio::TrackView& v, EncoderInput kind);

/// The sequence axis of an input without batch axis (frames: 0, logmel: 1; -1 summary).
int time_axis(EncoderInput kind);

/// Encodes store records in batches (same-length sequences batched; others one by one);
/// [N, dim] float32 on the CPU.
at::Tensor encode_keys(const Encoder& e, const audio::FeatureStore& store, const std::vector<std::string>& keys,
                       Progress* progress = nullptr);

/// Φ of every dataset track, [N, D] float64 (rows in dataset order), through the
/// dataset's feature store (extracting the tracks it lacks). `have[i]` is false for
/// tracks whose audio could not be decoded (their row is zero).
struct DatasetEmbeddings {
  at::Tensor raw;
  std::vector<bool> have;
};
DatasetEmbeddings dataset_embeddings(const data::Dataset& ds, const Encoder& encoder, int threads,
                                     const std::function<void(const std::string&)>& log, bool progress);

}  // namespace covergen::generate
