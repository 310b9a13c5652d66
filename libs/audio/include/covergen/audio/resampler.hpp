// Sample-rate conversion behind one interface. Two backends:
//  - soxr HQ (default): what librosa 0.10 uses (res_type='soxr_hq'), fast;
//  - libsamplerate SINC_BEST: the slow, high-quality alternative.
// (SINC_MEDIUM and below alias near Nyquist by 6-26 dB in the top mel bands,
// so they are deliberately not offered.)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace covergen::audio {

enum class ResamplerBackend { soxr_hq, samplerate_sinc_best };

/// "soxr_hq" / "sinc_best"; throws InputError on an unknown name.
ResamplerBackend parse_resampler_backend(const std::string& name);
std::string to_string(ResamplerBackend backend);

/// librosa's output length for `n` input samples: ceil(n * out_rate / in_rate).
std::int64_t resampled_length(std::int64_t n, double in_rate, double out_rate);

/// A streaming mono resampler: push() blocks in order, then finish() once.
/// The output is librosa's: after finish() it is trimmed or zero-padded to
/// resampled_length(total input) samples (librosa's fix_length).
class Resampler {
 public:
  virtual ~Resampler();
  /// Appends the output produced so far to `out`.
  virtual void push(const float* in, std::size_t n, std::vector<float>& out) = 0;
  /// Flushes, then fixes the total length of `out` (which must hold everything
  /// this resampler appended, starting at the size it had before the first push).
  virtual void finish(std::vector<float>& out) = 0;

  double in_rate() const { return in_rate_; }
  double out_rate() const { return out_rate_; }

 protected:
  Resampler(double in_rate, double out_rate);
  double in_rate_, out_rate_;
};

/// Creates a resampler; throws InputError for rates that are not positive.
std::unique_ptr<Resampler> make_resampler(ResamplerBackend backend, double in_rate, double out_rate);

/// One-shot convenience (librosa.resample(y, orig_sr, target_sr, res_type, fix=True)).
std::vector<float> resample(const std::vector<float>& in, double in_rate, double out_rate,
                            ResamplerBackend backend = ResamplerBackend::soxr_hq);

}  // namespace covergen::audio
