// One clip's features as NumPy files (`covergen features CLIP --npy-dir DIR`,
// docs/audio-features.md), for comparison with librosa: every frame feature matrix,
// the log-mel spectrogram, the frame sequence, onset envelope, beats and the samples
// at 22050 Hz as .npy, and features.json (the decoded source, tempo, tuning, beats,
// the feature names and the summary vector by name).
#pragma once

#include "covergen/audio/features.hpp"
#include "covergen/audio/load.hpp"

#include <filesystem>

namespace covergen::audio {

/// Loads `clip`, computes its features and writes them into `dir` (created).
/// InputError naming the clip when it cannot be decoded or its samples are unusable,
/// or naming `dir` when it cannot be created. Returns the features.
Features write_feature_npy_dir(const std::filesystem::path& clip, const LoadOptions& options, const FeatureConfig& config,
                               const std::filesystem::path& dir);

}  // namespace covergen::audio
