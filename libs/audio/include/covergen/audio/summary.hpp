// What the encoders consume (docs/audio-features.md):
//  - the frame sequence [T, F]: one row per STFT frame, F = 45 named features (RNN input);
//  - the per-track summary vector: mean and std of every frame feature, then rhythm (93 values);
//  - the log-mel spectrogram [128, T] (Features::log_mel, CNN input).
#pragma once

#include "covergen/audio/features.hpp"

#include <string>
#include <vector>

namespace covergen::audio {

/// Names of the frame-sequence columns, in order:
/// mfcc_0..mfcc_19, chroma_C, chroma_C#, chroma_D, ..., chroma_B, spectral_centroid,
/// spectral_bandwidth, spectral_rolloff, spectral_contrast_0..6, zero_crossing_rate, rms,
/// onset_strength.
std::vector<std::string> frame_feature_names(const FeatureConfig& config = {});

/// [T, F] row-major: row t holds frame t's features in frame_feature_names() order.
Matrix frame_sequence(const Features& f);

/// Names of the summary vector: "<frame feature>_mean" for each frame feature, then
/// "<frame feature>_std" (population std) for each, then tempo_bpm, beat_rate_hz
/// (beats per second of audio) and beat_interval_std_s (0 with fewer than 3 beats).
std::vector<std::string> summary_names(const FeatureConfig& config = {});

std::vector<float> summary_vector(const Features& f);

}  // namespace covergen::audio
