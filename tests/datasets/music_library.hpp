// Builds music libraries for the `dataset import` tests and the 1,000-track timing
// with the real tools a library comes from: lame (ID3v2 APIC via --ti), flac +
// metaflac --import-picture-from (FLAC PICTURE), oggenc + vorbiscomment
// (METADATA_BLOCK_PICTURE), ffmpeg (MP4 covr). Tool paths are found at configure time.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace covergen::test {

struct MusicTools {
  std::string lame, flac, metaflac, oggenc, vorbiscomment, ffmpeg;  ///< empty: not found at configure time
  /// The tools every import test needs (all but ffmpeg) are present.
  bool complete() const;
  std::string missing() const;  ///< names of the absent tools, space separated
};
/// The paths CMake found (CGTEST_LAME, ...).
MusicTools music_tools();

/// A 16-bit mono WAV of `seconds` of a chord around `freq` Hz at 22,050 Hz.
void write_wav(const std::filesystem::path& path, double seconds, double freq);

struct TrackSpec {
  std::filesystem::path file;  ///< its extension picks the tool: .mp3 .flac .ogg .m4a .opus (ffmpeg)
  std::string artist, album_artist, album, title, genre, year;
  int track = 0;
  std::string picture;  ///< encoded image embedded as the front cover; empty: none
  double seconds = 3.0, freq = 220.0;
};

/// Encodes and tags one track; throws std::runtime_error with the tool's command on failure.
void make_track(const MusicTools& tools, const TrackSpec& spec);

/// The FLAC picture block (type 3, front cover) of an image, base64: the value of a
/// Vorbis comment METADATA_BLOCK_PICTURE.
std::string metadata_block_picture(const std::string& image, const std::string& mime, int width, int height);

/// Runs a command line (argv, each word shell-quoted); returns the exit status and
/// appends stdout+stderr to `output` when given.
int run_command(const std::vector<std::string>& argv, std::string* output = nullptr);

}  // namespace covergen::test
