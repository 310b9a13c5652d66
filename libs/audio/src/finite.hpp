// Internal: the finite-sample check the decoder and the feature pass share.
#pragma once

#include <cstddef>

namespace covergen::audio::detail {

/// Whether every sample is finite (NaN fails the comparison, Inf exceeds FLT_MAX), in one
/// branch-free pass (decoder.cpp, with an AVX2 clone).
bool all_finite(const float* x, std::size_t n);

}  // namespace covergen::audio::detail
