// Internal: a walk over the MPEG layer III frames of an mp3 file image, reading each
// frame's header and side information (no audio decoding), to tell whether libmpg123 may
// mix the two channels before its IMDCT.
#pragma once

#include <cstddef>

namespace covergen::audio::detail {

/// What mp3_walk found.
struct Mp3Walk {
  bool clean = false;     ///< every byte after an ID3v2 tag is a layer III frame of one format
                          ///< (an ID3v1 tag or one cut-off frame may end the data)
  bool stereo = false;    ///< the frames carry two channels
  bool same_blocks = false;  ///< in every granule both channels use one window-switching flag,
                             ///< block type and mixed-block flag
  std::size_t frames = 0;
};

/// Walks `size` bytes of an mp3 file. libmpg123's MPG123_MONO_MIX sums the two channels'
/// spectra and transforms the sum with the first channel's block type, which equals the mean
/// of the separately decoded channels (to float rounding) exactly when `clean && stereo &&
/// same_blocks`; anything the walk cannot vouch for (free format, junk between frames, layer
/// I/II, a change of format) leaves `clean` false.
Mp3Walk mp3_walk(const unsigned char* data, std::size_t size);

}  // namespace covergen::audio::detail
