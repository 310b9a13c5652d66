// Internal: spectral contrast's selection of a band's extreme magnitudes (features.cpp).
#pragma once

#include <vector>

namespace covergen::audio::detail {

/// The q smallest values of x[0..n) into low[0..q) and the q largest into high[0..q), both
/// ascending (1 <= q <= n): what np.sort(band)[:q] and [-q:] give. `work` is scratch.
void select_extremes(const float* x, int n, int q, float* low, float* high, std::vector<float>& work);

}  // namespace covergen::audio::detail
