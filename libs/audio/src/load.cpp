#include "covergen/audio/load.hpp"

#include <chrono>

namespace covergen::audio {

Audio load(const std::filesystem::path& path, const LoadOptions& options) {
  using clock = std::chrono::steady_clock;
  Audio a;
  AudioDecoder dec(options.decode);
  std::unique_ptr<Resampler> rs;
  double resample_s = 0.0;
  const auto t0 = clock::now();
  a.source = dec.decode(
      path,
      [&](const float* s, std::size_t n) {
        if (!rs) {
          a.samples.insert(a.samples.end(), s, s + n);
          return;
        }
        const auto r0 = clock::now();
        rs->push(s, n, a.samples);
        resample_s += std::chrono::duration<double>(clock::now() - r0).count();
      },
      [&](const AudioInfo& info) {
        a.sample_rate = info.sample_rate;
        if (options.sample_rate > 0 && options.sample_rate != info.sample_rate) {
          rs = make_resampler(options.resampler, info.sample_rate, options.sample_rate);
          a.sample_rate = options.sample_rate;
          // reserve from the header estimate (an estimate only; the vector grows if needed)
          if (info.header_frames > 0 && info.header_frames < (std::int64_t(1) << 28))
            a.samples.reserve(static_cast<std::size_t>(
                resampled_length(info.header_frames, info.sample_rate, options.sample_rate) + 16));
        } else if (info.header_frames > 0 && info.header_frames < (std::int64_t(1) << 28)) {
          a.samples.reserve(static_cast<std::size_t>(info.header_frames));
        }
      });
  if (rs) {
    const auto r0 = clock::now();
    rs->finish(a.samples);
    resample_s += std::chrono::duration<double>(clock::now() - r0).count();
  }
  a.decode_seconds = std::chrono::duration<double>(clock::now() - t0).count() - resample_s;
  a.resample_seconds = resample_s;
  return a;
}

}  // namespace covergen::audio
