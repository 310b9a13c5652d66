#include "covergen/audio/decoder.hpp"

#include "covergen/errors.hpp"

#include <sndfile.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <system_error>

namespace fs = std::filesystem;

namespace covergen::audio {
namespace {

struct SndFile {
  SNDFILE* f = nullptr;
  ~SndFile() {
    if (f) sf_close(f);
  }
};

// Checks what libsndfile would only report as "System error": existence, type, permission.
void check_readable(const fs::path& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw InputError(path.string(), "no such file");
  if (fs::is_directory(st)) throw InputError(path.string(), "is a directory, expected an audio file");
  // FIFOs and devices could block forever or never end: only regular files are audio here.
  if (!fs::is_regular_file(st)) throw InputError(path.string(), "not a regular file");
  std::FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp) throw InputError(path.string(), std::string("cannot open for reading: ") + std::strerror(errno));
  std::fclose(fp);
  if (fs::file_size(path, ec) == 0 && !ec) throw InputError(path.string(), "empty file (0 bytes), not audio");
}

std::string format_name(int format) {
  SF_FORMAT_INFO fi;
  fi.format = format & SF_FORMAT_TYPEMASK;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &fi, sizeof(fi)) == 0 && fi.name) {
    std::string s = fi.name;
    auto sp = s.find(' ');
    // libsndfile names look like "WAV (Microsoft)"; keep the short word.
    return sp == std::string::npos ? s : s.substr(0, sp);
  }
  return "unknown";
}

void open_file(const fs::path& path, SndFile& sf, SF_INFO& info) {
  check_readable(path);
  std::memset(&info, 0, sizeof(info));
  sf.f = sf_open(path.c_str(), SFM_READ, &info);
  if (!sf.f) {
    // libsndfile's own text is often misleading here ("File does not exist or is not a
    // regular file (possibly a pipe?)" for a file it merely cannot parse).
    throw InputError(path.string(), "not a supported audio file (libsndfile recognises no wav, flac, "
                                    "ogg/vorbis, opus or mp3 data in it)");
  }
  if (info.samplerate <= 0) throw InputError(path.string(), "invalid sample rate " + std::to_string(info.samplerate));
  if (info.channels <= 0) throw InputError(path.string(), "invalid channel count " + std::to_string(info.channels));
}

}  // namespace

AudioDecoder::AudioDecoder(DecodeOptions options) : options_(options) {
  if (options_.block_frames == 0) options_.block_frames = 65536;
}

AudioInfo AudioDecoder::probe(const fs::path& path) {
  SndFile sf;
  SF_INFO info;
  open_file(path, sf, info);
  AudioInfo out;
  out.sample_rate = info.samplerate;
  out.channels = info.channels;
  out.header_frames = info.frames;
  out.format = format_name(info.format);
  return out;
}

AudioInfo AudioDecoder::decode(const fs::path& path, const MonoSink& sink, const OpenCallback& on_open) const {
  SndFile sf;
  SF_INFO info;
  open_file(path, sf, info);

  AudioInfo out;
  out.sample_rate = info.samplerate;
  out.channels = info.channels;
  out.header_frames = info.frames;
  out.format = format_name(info.format);
  if (on_open) on_open(out);

  if (!(options_.offset_s >= 0.0) || !std::isfinite(options_.offset_s))
    throw InputError(path.string(), "offset must be a finite, non-negative number of seconds");
  // librosa: int(offset * sr_native) and int(duration * sr_native) (truncation).
  std::int64_t skip = static_cast<std::int64_t>(options_.offset_s * info.samplerate);
  std::int64_t limit = -1;
  if (options_.duration_s >= 0.0) limit = static_cast<std::int64_t>(options_.duration_s * info.samplerate);

  const std::size_t ch = static_cast<std::size_t>(info.channels);
  const std::size_t block = options_.block_frames;
  std::vector<float> buf(block * ch);
  std::vector<float> mono(block);

  // Seek when the format allows it exactly; mp3 (and unseekable input) is read and skipped.
  const bool mpeg = (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG;
  if (skip > 0 && info.seekable && !mpeg) {
    if (sf_seek(sf.f, skip, SEEK_SET) >= 0) skip = 0;
  }

  std::int64_t delivered = 0;
  for (;;) {
    if (limit >= 0 && delivered >= limit) break;
    sf_count_t got = sf_readf_float(sf.f, buf.data(), static_cast<sf_count_t>(block));
    if (got <= 0) break;
    std::size_t start = 0;
    if (skip > 0) {
      const std::int64_t drop = std::min<std::int64_t>(skip, got);
      skip -= drop;
      start = static_cast<std::size_t>(drop);
      if (start == static_cast<std::size_t>(got)) continue;
    }
    std::size_t n = static_cast<std::size_t>(got) - start;
    if (limit >= 0) n = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(n), limit - delivered));
    const float* src = buf.data() + start * ch;
    if (ch == 1) {
      std::memcpy(mono.data(), src, n * sizeof(float));
    } else if (ch == 2) {
      for (std::size_t i = 0; i < n; ++i) mono[i] = (src[2 * i] + src[2 * i + 1]) / 2.0f;
    } else {
      // np.mean over channels of float32: sequential float32 sum, then one division.
      const float inv_count = static_cast<float>(ch);
      for (std::size_t i = 0; i < n; ++i) {
        const float* fr = src + i * ch;
        float s = fr[0];
        for (std::size_t c = 1; c < ch; ++c) s += fr[c];
        mono[i] = s / inv_count;
      }
    }
    // Branch-free scan first (NaN fails the comparison, Inf exceeds FLT_MAX).
    bool all_finite = true;
    for (std::size_t i = 0; i < n; ++i) all_finite &= std::abs(mono[i]) <= std::numeric_limits<float>::max();
    for (std::size_t i = 0; !all_finite && i < n; ++i) {
      if (!std::isfinite(mono[i])) {
        if (options_.nonfinite == NonFinitePolicy::reject) {
          throw InputError(path.string(), "contains NaN or Inf samples (first at frame " +
                                              std::to_string(delivered + static_cast<std::int64_t>(i)) +
                                              "); not decodable to finite audio");
        }
        mono[i] = 0.0f;
        ++out.nonfinite_samples;
      }
    }
    sink(mono.data(), n);
    delivered += static_cast<std::int64_t>(n);
  }
  const int err = sf_error(sf.f);
  if (err != SF_ERR_NO_ERROR && delivered == 0)
    throw InputError(path.string(), std::string("decoding failed: ") + sf_strerror(sf.f));
  out.decoded_frames = delivered;
  if (delivered == 0) {
    if (options_.offset_s > 0.0) throw InputError(path.string(), "offset is past the end of the audio");
    throw InputError(path.string(), "contains no audio samples (zero-length audio)");
  }
  return out;
}

std::vector<float> AudioDecoder::decode_mono(const fs::path& path, AudioInfo* info) const {
  std::vector<float> y;
  AudioInfo i = decode(path, [&](const float* s, std::size_t n) { y.insert(y.end(), s, s + n); });
  if (info) *info = i;
  return y;
}

}  // namespace covergen::audio
