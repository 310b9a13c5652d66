// Conditions computed from the sound itself: chosen entries of the audio summary
// vector (docs/audio-features.md), standardised with training statistics. Used by
// `covergen train --condition audio:...` and by `covergen generate TRACK...`.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace covergen::cli {

/// Parses "audio:name,name" into summary-vector names (validated; throws InputError
/// listing the valid names).
std::vector<std::string> parse_audio_condition(const std::string& spec);

/// The raw (unstandardised) values of `names` for each file, [N, K] float64.
/// Files that fail to decode throw InputError naming the file. `windows` (optional, one
/// per file): (offset, duration) in seconds to read, offset < 0 meaning the whole file
/// (a dataset's excerpt columns).
at::Tensor audio_summary_values(const std::vector<std::filesystem::path>& files, const std::vector<std::string>& names,
                                int threads, const std::vector<std::pair<double, double>>& windows = {});

}  // namespace covergen::cli
