// Audio decoding (libsndfile: wav, flac, ogg, mp3, ...) + resampling + the full
// feature extraction + summary + store record, from arbitrary bytes.
// Contract: covergen::InputError for unusable input (from load(), or from
// compute() for amplitudes whose power overflows float32), never a crash, a hang,
// an unbounded allocation or a non-finite value in the summary it returns.
#include "fuzz_support.hpp"

#include <covergen/audio/features.hpp>
#include <covergen/audio/load.hpp>
#include <covergen/audio/store.hpp>
#include <covergen/audio/summary.hpp>
#include <covergen/errors.hpp>

#include <cmath>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace covergen;
  fuzz::MemFile file(std::string_view(reinterpret_cast<const char*>(data), size));
  audio::LoadOptions lo;
  lo.decode.duration_s = 2.0;  // bound the work per input (a header may claim hours)
  lo.decode.nonfinite = (size & 1) ? audio::NonFinitePolicy::zero : audio::NonFinitePolicy::reject;
  audio::Audio a;
  try {
    a = audio::load(file.path(), lo);
  } catch (const InputError&) {
    return 0;
  }
  if (a.samples.empty()) std::abort();  // load() promises InputError for an empty file
  static audio::FeatureExtractor fx;  // reused, as the batch workers do
  audio::Features f;
  try {
    f = fx.compute(a.samples);
  } catch (const InputError&) {
    return 0;
  }
  std::vector<float> sv = audio::summary_vector(f);
  for (float v : sv)
    if (!std::isfinite(v)) std::abort();  // a NaN in an output is a bug
  audio::TrackRecord r = audio::make_record(f);
  (void)r;
  return 0;
}
