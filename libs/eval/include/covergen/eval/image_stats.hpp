// Measurements on cover pixels (torch-free) for checking continuous conditioning
// links, rank correlation, and colour descriptors for clustering covers by colour.
// Images are planar 8-bit RGB [3, S, S] (the cover cache's layout).
#pragma once

#include <cstdint>
#include <vector>

namespace covergen::eval {

struct ImageStats {
  double lightness = 0;    ///< mean HSL lightness (max + min) / 2 over pixels, [0, 1]
  double saturation = 0;   ///< mean HSL saturation (max - min) / (1 - |2L - 1|), [0, 1]
  double edge_density = 0; ///< share of pixels whose lightness gradient (Sobel, /8) exceeds 0.06
  double regions = 0;      ///< connected regions (4-neighbour) of pixels of near-equal colour, >= 4 pixels
};

/// Statistics of one planar RGB image of side `size`.
ImageStats image_stats(const std::uint8_t* planar_rgb, int size);

/// Spearman rank correlation (Pearson correlation of average ranks; ties share their
/// mean rank). NaN when either side is constant or there are fewer than 3 pairs.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

/// A colour descriptor of a cover: its CIE L*a*b* colour averaged over a 4x4 grid of
/// cells (48 values, L in [0, 100], a/b roughly [-128, 127]).
std::vector<float> colour_layout(const std::uint8_t* planar_rgb, int size);

struct KMeansResult {
  std::vector<int> assignment;        ///< cluster of each point
  std::vector<float> centres;         ///< row-major [k, d]
  double inertia = 0;                 ///< sum of squared distances to the assigned centres
};

/// k-means (k-means++ seeding, Lloyd iterations until no assignment changes or 300
/// iterations; the best of `restarts` seeded runs by inertia). Points row-major [n, d].
KMeansResult kmeans(const std::vector<float>& points, std::int64_t d, int k, std::uint64_t seed = 0, int restarts = 4);

/// Per cluster: the share of its members carrying its most common label (labels >= 0),
/// and the label; `overall` is the member-weighted mean (classification purity).
struct Purity {
  std::vector<double> share;
  std::vector<int> majority;
  std::vector<std::int64_t> size;
  double overall = 0;
};
Purity cluster_purity(const std::vector<int>& assignment, const std::vector<int>& labels, int k);

}  // namespace covergen::eval
