// From audio to encoder inputs and embeddings Φ(track), shared by the commands that
// encode tracks (encoder fit/eval, encode, mapper fit, generate --mapper, interpolate,
// animate): the dataset's feature store (extracting what it lacks), one track's
// encoder input from stored or freshly computed features, and batched encoding.
#pragma once

#include "cli.hpp"

#include <covergen/audio/features.hpp>
#include <covergen/audio/store.hpp>
#include <covergen/data/dataset.hpp>
#include <covergen/encoder.hpp>

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

namespace covergen {
class Progress;
}

namespace covergen::cli {

/// `t` when positive, else the number of logical CPUs.
int default_threads(int t);

/// <dataset>/.covergen-cache/features
std::filesystem::path default_feature_store(const data::Dataset& ds);

/// Opens (or creates) the feature store at `dir` and extracts the dataset tracks it
/// lacks (resumable; failures are logged and skipped).
audio::FeatureStore ensure_features(const data::Dataset& ds, const std::filesystem::path& dir, int threads,
                                    const CommonOptions& common);

/// One track's encoder input (without the batch axis) from the store (from fresh
/// features: generate::encoder_input_from_features).
at::Tensor input_from_view(const audio::TrackView& v, EncoderInput kind);

/// The sequence axis of an input without batch axis (frames: 0, logmel: 1; -1 summary).
int time_axis(EncoderInput kind);

/// Encodes store records in batches (same-length sequences batched; others one by one);
/// [N, dim] float32 on the CPU.
at::Tensor encode_keys(const Encoder& e, const audio::FeatureStore& store, const std::vector<std::string>& keys,
                       Progress* progress = nullptr);

}  // namespace covergen::cli
