// librosa.load(path, sr=22050, mono=True) in C++: decode with libsndfile, mean
// downmix, stream through the resampler, fix the length. Memory stays at the
// output signal plus one block, whatever the input's rate and channel count.
#pragma once

#include "covergen/audio/decoder.hpp"
#include "covergen/audio/resampler.hpp"

#include <filesystem>
#include <vector>

namespace covergen::audio {

struct LoadOptions {
  int sample_rate = 22050;  ///< target rate; <=0 keeps the native rate
  ResamplerBackend resampler = ResamplerBackend::soxr_hq;
  DecodeOptions decode{};
};

struct Audio {
  std::vector<float> samples;  ///< mono float32 at `sample_rate`
  int sample_rate = 0;
  AudioInfo source;  ///< the file as decoded
  double decode_seconds = 0.0;    ///< wall time in the decoder (incl. downmix)
  double resample_seconds = 0.0;  ///< wall time in the resampler
};

/// Loads `path`; throws covergen::InputError("<path>: <problem>") on bad input,
/// including a file that decodes to zero samples.
Audio load(const std::filesystem::path& path, const LoadOptions& options = {});

}  // namespace covergen::audio
