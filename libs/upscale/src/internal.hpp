// Shared by fit.cpp and evaluate.cpp: loading a split's covers at high resolution,
// the [-1, 1] conversions, the area downscale and the judge (feature network).
#pragma once

#include <covergen/data/dataset.hpp>
#include <covergen/eval/cover_classifier.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace covergen::upscale::detail {

struct Covers {
  at::Tensor hr;             ///< uint8 [N, 3, S, S]
  std::vector<int> labels;   ///< genre index per cover (-1 when none)
  std::int64_t skipped = 0;  ///< unreadable covers left out
};

/// The covers of `split` at `size` px (max = 0: all), each preprocessed like a
/// training cover (centre crop, area resize). Unreadable ones are skipped and logged.
Covers load_covers(const data::Dataset& dataset, data::Split split, int size, std::int64_t max,
                   const std::function<void(const std::string&)>& log);

/// uint8 [N, 3, S, S] -> float32 in [-1, 1].
at::Tensor to_unit(const at::Tensor& u8);
/// float32 in [-1, 1] -> uint8, rounded and saturated.
at::Tensor to_u8(const at::Tensor& unit);
/// Area downscale by an integer factor k (box average: INTER_AREA for integer k).
at::Tensor area_down(const at::Tensor& x, std::int64_t k);

/// A genre judge trained on the first `max` of `covers` (0: all; area-resized to
/// `size`), or null when the covers have fewer than two genres.
std::shared_ptr<eval::CoverClassifier> train_judge(const Covers& covers, int classes, int size, std::int64_t epochs,
                                                   std::int64_t max, std::uint64_t seed);

/// to / from as an upscale factor; InputError unless it is 2, 4, 8 or 16 and exact.
std::int64_t check_factor(int from, int to);

}  // namespace covergen::upscale::detail
