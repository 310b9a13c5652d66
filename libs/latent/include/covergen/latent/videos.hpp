// Videos from a generator's latent space (docs/latent.md), what `covergen interpolate`
// and `covergen animate` write:
//  - interpolate_video: a walk between two covers. An endpoint is an audio file (its
//    latent through the mapper for unconditional models, its audio condition for
//    models trained with --condition audio:...) or seed:N (z drawn from seed N;
//    unconditional models). z is slerped, conditions lerped; generators with a W
//    space are lerped in W.
//  - animate_video: a cover that moves with the music: one frame per analysis window,
//    frame i showing the window of `window` seconds centred on the middle of its
//    display interval [i/fps, (i+1)/fps), so the video stays in step with the audio
//    for any length. The song's features are computed once; each window's features
//    drive the generator as a whole track would (the mapper's z for unconditional
//    models, the audio condition for audio-conditioned ones, with z fixed by `seed`).
// Output: FILE.mp4 (mp4v), FILE.avi (MJPG), FILE.gif, or DIR/ for lossless PNG frames.
#pragma once

#include <cstdint>
#include <string>

namespace covergen {
class PluginRegistry;
}

namespace covergen::latent {

struct InterpolationOptions {
  std::string model, from, to, out, mapper;
  std::string space = "auto";   ///< auto (w where the generator has a W space, else z), z or w
  std::string device = "auto";
  std::int64_t frames = 60;     ///< endpoints included, in [2, 100000]
  std::int64_t size = 0;        ///< upscale video/GIF frames to size x size (0 = generator size)
  double fps = 24.0, truncation = 1.0;
  std::uint64_t seed = 0;       ///< z for audio endpoints of conditional models
  bool vary_latent = false;     ///< conditional models: end on z from seed + 1
};

/// Renders the walk; returns the JSON report (schema_version 1: model, out, format,
/// frames, fps, space, from, to). InputError for bad options or endpoints.
std::string interpolate_video(const InterpolationOptions& options, const PluginRegistry& registry);

struct AnimationOptions {
  std::string model, song, out, mapper;
  std::string device = "auto";
  double fps = 10.0;            ///< frames (analysis windows) per second, in (0, 120]
  double window = 3.0;          ///< analysis window in seconds, in (0, 60]
  double truncation = 1.0;
  std::int64_t size = 0;
  std::uint64_t seed = 0;       ///< the fixed z of audio-conditioned models
  bool progress = false;        ///< progress line on stderr (on a terminal)
};

/// Renders the animation; returns the JSON report (schema_version 1: model, song, out,
/// format, frames, fps, window_seconds, audio_seconds, video_seconds, driven_by, and
/// for mp4/avi the ffmpeg command that muxes the song in, "mux_command").
std::string animate_video(const AnimationOptions& options, const PluginRegistry& registry);

}  // namespace covergen::latent
