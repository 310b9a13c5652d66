// Decoding audio files to mono float32 with libsndfile (wav, flac, ogg/vorbis,
// opus, mp3). MPEG audio that libsndfile recognises is decoded with libmpg123
// directly, with libsndfile's own mpg123 settings (float, gapless): the same
// samples bit for bit, without libsndfile's unbuffered per-frame reads and copy
// (~25% faster); DecodeOptions::mp3_mono_mix (off by default) trades librosa's exact
// samples for ~15% less decoding.
// Files are read in blocks until EOF: SF_INFO.frames is only an estimate for mp3
// without a LAME/Xing tag. Channels are averaged (librosa's to_mono) block by
// block, so a long multichannel file never sits in memory at its native rate and
// channel count.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace covergen::audio {

/// What to do with NaN/Inf samples (float wav/flac can hold them).
enum class NonFinitePolicy {
  reject,  ///< throw InputError naming the file (librosa also refuses them)
  zero,    ///< replace them with 0 and count them in AudioInfo::nonfinite_samples
};

struct DecodeOptions {
  double offset_s = 0.0;     ///< start reading here (seconds, librosa's `offset`)
  double duration_s = -1.0;  ///< read at most this much (seconds); <0 means to the end
  NonFinitePolicy nonfinite = NonFinitePolicy::reject;
  std::size_t block_frames = 65536;  ///< frames per sf_readf_float call
  /// Speed option, off by default. true: stereo mp3 whose two channels use the same block
  /// type in every granule (checked by walking the frames' side information first) is
  /// mixed to mono inside libmpg123, before its IMDCT and synthesis: ~15% less decoding,
  /// but the samples are the mean of the channels only to within float rounding (~1e-6),
  /// not librosa's bit for bit, and features computed from near-silent spectral regions
  /// move with them (spectral contrast's top band by up to 3 dB on a low-passed mp3; see
  /// docs/audio-features.md). false (default): both channels are decoded and averaged in
  /// float32 as librosa's to_mono does: libsndfile + librosa's samples bit for bit.
  bool mp3_mono_mix = false;
};

/// Facts about a decoded file.
struct AudioInfo {
  int sample_rate = 0;
  int channels = 0;
  std::int64_t header_frames = 0;   ///< SF_INFO.frames (an estimate for some mp3s)
  std::int64_t decoded_frames = 0;  ///< frames actually decoded (after offset/duration)
  std::int64_t nonfinite_samples = 0;
  bool mp3_mono_mixed = false;  ///< libmpg123 mixed the channels (DecodeOptions::mp3_mono_mix)
  std::string mp3_decoder;      ///< libmpg123's decoder (mpg123_current_decoder), e.g. "AVX"; empty if not mp3
  std::string format;  ///< e.g. "WAV", "MP3", "FLAC", "OGG"
};

/// Receives mono float32 blocks in order.
using MonoSink = std::function<void(const float* samples, std::size_t n)>;
/// Called once, after the file is opened and before the first block.
using OpenCallback = std::function<void(const AudioInfo& info)>;

/// The file extensions (lower case, with the dot) of the formats the decoder reads:
/// libsndfile's (wav, flac, ogg/oga/opus, aiff, au, w64, caf) and mp3. The decoder
/// detects the format from the content; folders are searched by these names.
const std::vector<std::string>& decodable_extensions();
/// Whether `path`'s extension, in any case, is one of decodable_extensions().
bool has_decodable_extension(const std::filesystem::path& path);

class AudioDecoder {
 public:
  explicit AudioDecoder(DecodeOptions options = {});

  /// Opens `path` and reports its format without decoding (rate, channels).
  /// Throws covergen::InputError("<path>: <problem>") if the file cannot be used.
  static AudioInfo probe(const std::filesystem::path& path);

  /// Decodes `path`, downmixes each block to mono (mean of the channels) and
  /// hands it to `sink`. Returns the file facts. Throws InputError on a missing,
  /// unreadable, undecodable or empty file, or on NaN/Inf under `reject`.
  AudioInfo decode(const std::filesystem::path& path, const MonoSink& sink,
                   const OpenCallback& on_open = nullptr) const;

  /// Convenience: the whole mono signal at the native rate.
  std::vector<float> decode_mono(const std::filesystem::path& path, AudioInfo* info = nullptr) const;

  const DecodeOptions& options() const { return options_; }

 private:
  DecodeOptions options_;
};

}  // namespace covergen::audio
