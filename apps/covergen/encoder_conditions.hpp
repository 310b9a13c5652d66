// Conditions from a fitted music encoder Φ (`covergen encoder fit`): `covergen train
// --condition ENCODER.cvgn` conditions the GAN on Φ(track), standardised with the
// training tracks' statistics; `covergen generate --model RUN TRACK...` computes the
// same for new tracks. The run keeps its own copy of the encoder (RUN/encoder.cvgn),
// so a run folder stays usable when the original file moves. Standardising, the
// run's meta and every later use of it are libs/generate's (condition.hpp).
#pragma once

#include "cli.hpp"

#include <covergen/data/dataset.hpp>
#include <covergen/encoder.hpp>

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

namespace covergen::cli {

/// Φ of every dataset track, [N, D] float64 (rows in dataset order), through the
/// dataset's feature store (extracting the tracks it lacks). `have[i]` is false for
/// tracks whose audio could not be decoded (their row is zero; they are reported).
struct DatasetEmbeddings {
  at::Tensor raw;
  std::vector<bool> have;
};
DatasetEmbeddings dataset_embeddings(const data::Dataset& ds, const Encoder& encoder, int threads,
                                     const CommonOptions& common);

}  // namespace covergen::cli
