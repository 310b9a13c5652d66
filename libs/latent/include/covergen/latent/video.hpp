// Writing a sequence of generated frames: an MP4 (MPEG-4 Part 2, fourcc mp4v, the
// encoder Debian's OpenCV 4.6 has through FFmpeg), an AVI (MJPG), an animated GIF
// (giflib, one 256-colour palette per frame) or a folder of lossless PNGs
// (frame_00000.png, ...). Every file appears atomically: video and GIF are written to
// a temporary file beside the target and renamed on finish(); PNGs one by one.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace covergen::latent {

enum class FrameFormat { mp4, avi, gif, png_dir };

/// From the output path: ending in '/' or an existing folder -> png_dir; .mp4, .avi,
/// .gif by extension; anything else throws InputError listing the choices.
FrameFormat frame_format_for(const std::string& out);
const char* to_string(FrameFormat format);

class FrameWriter {
 public:
  /// `size`: output frames are size x size (nearest-neighbour upscaling of the
  /// generator's images; 0 = the images' own size). PNG folders always keep the
  /// generator's size.
  FrameWriter(const std::string& out, double fps, std::int64_t size = 0);
  ~FrameWriter();  // without finish(): the partial file is removed
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  /// Appends images [N, 3, S, S] in [-1, 1] (any device) as N frames.
  void write(const at::Tensor& images);
  /// Closes the file and renames it into place; returns the frames written.
  std::int64_t finish();

  FrameFormat format() const;
  std::int64_t frames() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace covergen::latent
