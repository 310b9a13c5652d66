#include "covergen/audio/decoder.hpp"

#include "covergen/audio/cpu.hpp"

#include "covergen/errors.hpp"
#include "finite.hpp"
#include "mp3_frames.hpp"

#include <mpg123.h>
#include <sndfile.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <system_error>

#include <sys/types.h>

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

// ---- mp3 through libmpg123 directly -------------------------------------------------
// libsndfile 1.2 decodes MPEG audio with libmpg123 too, but behind its generic I/O layer
// (an unbuffered read() per MPEG frame, ~2,300 system calls for a 30 s clip) and a copy
// into the caller's buffer: calling libmpg123 ourselves with a buffered reader decodes the
// same samples (bit for bit: same library, same flags as libsndfile's mpeg_decode.c:
// float output, gapless, no automatic resampling, no Frankenstein streams) ~25% faster.
struct Mpg123Handle {
  mpg123_handle* h = nullptr;
  ~Mpg123Handle() {
    if (h) {
      mpg123_close(h);
      mpg123_delete(h);
    }
  }
};

// What libmpg123 reads: the whole compressed file in memory (the frame walk reads it
// too), or for a very large file a buffered FILE*.
struct Mp3Source {
  std::vector<unsigned char> bytes;
  std::size_t pos = 0;
  std::FILE* fp = nullptr;
  std::vector<char> vbuf;
  ~Mp3Source() {
    if (fp) std::fclose(fp);
  }
};

ssize_t mpg123_read_cb(void* handle, void* buf, size_t n) {
  auto* f = static_cast<Mp3Source*>(handle);
  if (f->fp) {
    const size_t got = std::fread(buf, 1, n, f->fp);
    if (got < n && std::ferror(f->fp)) return -1;
    return static_cast<ssize_t>(got);
  }
  const size_t k = std::min(n, f->bytes.size() - f->pos);
  std::memcpy(buf, f->bytes.data() + f->pos, k);
  f->pos += k;
  return static_cast<ssize_t>(k);
}

off_t mpg123_seek_cb(void* handle, off_t offset, int whence) {
  auto* f = static_cast<Mp3Source*>(handle);
  if (f->fp) {
    if (fseeko(f->fp, offset, whence) != 0) return -1;
    return ftello(f->fp);
  }
  off_t base = 0;
  if (whence == SEEK_CUR) base = static_cast<off_t>(f->pos);
  else if (whence == SEEK_END) base = static_cast<off_t>(f->bytes.size());
  else if (whence != SEEK_SET) return -1;
  const off_t to = base + offset;
  if (to < 0 || to > static_cast<off_t>(f->bytes.size())) return -1;
  f->pos = static_cast<std::size_t>(to);
  return to;
}

// Reads the whole file; an mp3 is small next to its decoded samples (128 kbit/s is ~1/11
// of the 44.1 kHz stereo float32 it decodes to).
void read_all(const fs::path& path, std::vector<unsigned char>& out) {
  std::FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp) throw InputError(path.string(), std::string("cannot open for reading: ") + std::strerror(errno));
  out.clear();
  std::size_t got = 0;
  for (;;) {
    if (out.size() - got < (1u << 16)) out.resize(std::max<std::size_t>(out.size() * 2, 1u << 20));
    const std::size_t n = std::fread(out.data() + got, 1, out.size() - got, fp);
    got += n;
    if (n == 0) break;
  }
  const bool err = std::ferror(fp) != 0;
  std::fclose(fp);
  if (err) throw InputError(path.string(), "read error");
  out.resize(got);
}

}  // namespace

namespace detail {
void mpg123_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { mpg123_init(); });
}

__attribute__((target_clones("arch=x86-64-v3", "default")))
bool all_finite(const float* x, std::size_t n) {
  int ok = 1;
  for (std::size_t i = 0; i < n; ++i) ok &= std::abs(x[i]) <= std::numeric_limits<float>::max();
  return ok != 0;
}
}  // namespace detail

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

  std::size_t ch = static_cast<std::size_t>(info.channels);  // of the decoded blocks
  const std::size_t block = options_.block_frames;
  std::vector<float> buf(block * ch);
  std::vector<float> mono_buf(block);

  std::int64_t delivered = 0;
  // Skips, limits, downmixes (np.mean over channels) and checks one interleaved block.
  // Returns false once `limit` frames have been delivered.
  auto deliver = [&](const float* interleaved, std::size_t got) {
    std::size_t start = 0;
    if (skip > 0) {
      const std::int64_t drop = std::min<std::int64_t>(skip, static_cast<std::int64_t>(got));
      skip -= drop;
      start = static_cast<std::size_t>(drop);
      if (start == got) return true;
    }
    std::size_t n = got - start;
    if (limit >= 0) n = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(n), limit - delivered));
    const float* src = interleaved + start * ch;
    float* mono = mono_buf.data();
    if (ch == 1) {
      // already mono: hand the block on as it is unless a sample needs replacing
      if (detail::all_finite(src, n)) {
        sink(src, n);
        delivered += static_cast<std::int64_t>(n);
        return !(limit >= 0 && delivered >= limit);
      }
      std::memcpy(mono, src, n * sizeof(float));
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
    // one branch-free scan; the per-sample pass only when something is not finite
    const bool finite = detail::all_finite(mono, n);
    for (std::size_t i = 0; !finite && i < n; ++i) {
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
    sink(mono, n);
    delivered += static_cast<std::int64_t>(n);
    return !(limit >= 0 && delivered >= limit);
  };

  const bool mpeg = (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG;
  if (mpeg) {
    // libsndfile recognised MPEG audio: decode it with libmpg123 directly (see above).
    sf_close(sf.f);
    sf.f = nullptr;
    detail::mpg123_init_once();
    // Files up to 256 MiB (over 4 hours at 128 kbit/s) are read whole and their frames
    // walked; larger ones stream from disk and decode both channels.
    Mp3Source src;
    std::error_code size_ec;
    const auto file_bytes = fs::file_size(path, size_ec);
    bool mono_mix = false;
    if (!size_ec && file_bytes <= (std::uintmax_t(1) << 28)) {
      read_all(path, src.bytes);
      mono_mix = options_.mp3_mono_mix && info.channels == 2 && [&] {
        const detail::Mp3Walk w = detail::mp3_walk(src.bytes.data(), src.bytes.size());
        return w.clean && w.stereo && w.same_blocks;
      }();
    } else {
      src.fp = std::fopen(path.c_str(), "rb");
      if (!src.fp) throw InputError(path.string(), std::string("cannot open for reading: ") + std::strerror(errno));
      src.vbuf.resize(1 << 18);  // 256 KiB reads instead of one per MPEG frame
      std::setvbuf(src.fp, src.vbuf.data(), _IOFBF, src.vbuf.size());
    }
    Mpg123Handle mh;
    int merr = MPG123_OK;
    // nullptr: libmpg123 picks its decoder from cpuid ("AVX" on AVX2 and AVX-512 CPUs alike);
    // COVERGEN_CPU_ISA=avx2 names it explicitly (cpu.hpp)
    mh.h = mpg123_new(detail::forced_mp3_decoder(), &merr);
    if (!mh.h) throw Error(std::string("libmpg123: cannot create a decoder: ") + mpg123_plain_strerror(merr));
    if (const char* dec = mpg123_current_decoder(mh.h)) out.mp3_decoder = dec;
    mpg123_param(mh.h, MPG123_REMOVE_FLAGS, MPG123_AUTO_RESAMPLE, 0.0);
    mpg123_param(mh.h, MPG123_ADD_FLAGS,
                 MPG123_FORCE_FLOAT | MPG123_GAPLESS | MPG123_NO_FRANKENSTEIN | MPG123_QUIET | (mono_mix ? MPG123_MONO_MIX : 0),
                 0.0);
    auto fail = [&](const char* what) {
      throw InputError(path.string(), std::string("decoding failed: ") + what + ": " + mpg123_strerror(mh.h));
    };
    if (mpg123_replace_reader_handle(mh.h, mpg123_read_cb, mpg123_seek_cb, nullptr) != MPG123_OK ||
        mpg123_open_handle(mh.h, &src) != MPG123_OK)
      fail("libmpg123 cannot open the stream");
    long rate = 0;
    int channels = 0, encoding = 0;
    if (mpg123_getformat(mh.h, &rate, &channels, &encoding) != MPG123_OK) fail("no MPEG audio format");
    const int want_channels = mono_mix ? 1 : info.channels;  // MONO_MIX reports one channel
    if (rate != info.samplerate || channels != want_channels)
      throw InputError(path.string(), "decoding failed: libmpg123 and libsndfile disagree on the format");
    ch = static_cast<std::size_t>(want_channels);
    out.mp3_mono_mixed = mono_mix;
    if (encoding != MPG123_ENC_FLOAT_32) {
      mpg123_format_none(mh.h);
      if (mpg123_format(mh.h, rate, channels, MPG123_ENC_FLOAT_32) != MPG123_OK) fail("no float output");
    }
    // a few MPEG frames per read: the block is still in cache when the resampler takes it
    const std::size_t bytes = std::min<std::size_t>(block, 4608) * ch * sizeof(float);
    std::size_t pending = 0;  // bytes of a partial frame carried over (never with whole-frame reads)
    for (;;) {
      if (limit >= 0 && delivered >= limit) break;
      std::size_t done = 0;
      const int r = mpg123_read(mh.h, reinterpret_cast<unsigned char*>(buf.data()) + pending, bytes - pending, &done);
      done += pending;
      const std::size_t frames = done / (sizeof(float) * ch);
      pending = done - frames * sizeof(float) * ch;
      if (frames > 0) {
        if (!deliver(buf.data(), frames)) break;
        if (pending) std::memmove(buf.data(), reinterpret_cast<unsigned char*>(buf.data()) + frames * sizeof(float) * ch, pending);
      }
      if (r == MPG123_OK) continue;
      if (r == MPG123_NEW_FORMAT) {
        // libsndfile treats a changed format mid-stream as the end of the data.
        if (mpg123_getformat(mh.h, &rate, &channels, &encoding) == MPG123_OK && rate == info.samplerate &&
            channels == want_channels && encoding == MPG123_ENC_FLOAT_32)
          continue;
        break;
      }
      if (r == MPG123_DONE) break;
      // A decoding error ends the data as in libsndfile (a truncated file keeps what decoded).
      if (delivered == 0) fail("libmpg123");
      break;
    }
  } else {
    // Seek when the format allows it exactly; unseekable input is read and skipped.
    if (skip > 0 && info.seekable) {
      if (sf_seek(sf.f, skip, SEEK_SET) >= 0) skip = 0;
    }
    for (;;) {
      if (limit >= 0 && delivered >= limit) break;
      sf_count_t got = sf_readf_float(sf.f, buf.data(), static_cast<sf_count_t>(block));
      if (got <= 0) break;
      if (!deliver(buf.data(), static_cast<std::size_t>(got))) break;
    }
    const int err = sf_error(sf.f);
    if (err != SF_ERR_NO_ERROR && delivered == 0)
      throw InputError(path.string(), std::string("decoding failed: ") + sf_strerror(sf.f));
  }
  out.decoded_frames = delivered;
  if (delivered == 0) {
    if (options_.offset_s > 0.0) throw InputError(path.string(), "offset is past the end of the audio");
    throw InputError(path.string(), "contains no audio samples (zero-length audio)");
  }
  return out;
}

std::vector<float> AudioDecoder::decode_mono(const fs::path& path, AudioInfo* info) const {
  std::vector<float> y;
  // reserved from the header's estimate: growing a vector block by block page-faults every
  // new allocation
  AudioInfo i = decode(
      path, [&](const float* s, std::size_t n) { y.insert(y.end(), s, s + n); },
      [&](const AudioInfo& info) {
        if (info.header_frames > 0 && info.header_frames < (std::int64_t(1) << 28))
          y.reserve(static_cast<std::size_t>(info.header_frames));
      });
  if (info) *info = i;
  return y;
}

const std::vector<std::string>& decodable_extensions() {
  static const std::vector<std::string> e{".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3",
                                          ".aif", ".aiff", ".au", ".w64", ".caf"};
  return e;
}

bool has_decodable_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto& known = decodable_extensions();
  return std::find(known.begin(), known.end(), ext) != known.end();
}

}  // namespace covergen::audio
