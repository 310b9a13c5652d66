// Pictures for evaluation reports, drawn with OpenCV and returned as PNG bytes
// (torch-free): a 2-D layout as a mosaic of cover thumbnails, a labelled scatter map,
// and a grid of covers. Images are planar 8-bit RGB [3, S, S].
#pragma once

#include <covergen/text.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace covergen::eval {

/// Thumbnails placed by a 2-D layout (row-major [n, 2]) on a square grid of
/// `cells` x `cells`: each image goes to the free cell nearest its scaled position
/// (nearest first by distance to the cell centre, searched outward), so nearby points
/// stay nearby and nothing overlaps. `highlight[i]` draws a red frame around image i
/// (may be empty). Returns PNG bytes of (cells * thumb) pixels square.
std::string mosaic_png(const std::vector<double>& xy, const std::vector<const std::uint8_t*>& images, int image_size,
                       int cells, int thumb, const std::vector<bool>& highlight = {});

/// Dots coloured by label (labels < 0 grey) with a legend of `names` and a title.
std::string scatter_png(const std::vector<double>& xy, const std::vector<int>& labels,
                        const std::vector<std::string>& names, const std::string& title, int size = 800);

/// Images in rows of `per_row`, `scale` times their size, 2-px gaps. PNG bytes.
std::string grid_png(const std::vector<const std::uint8_t*>& images, int image_size, int per_row, int scale = 2);

/// covergen::base64 (covergen/text.hpp), for data: URIs.
using covergen::base64;

}  // namespace covergen::eval
