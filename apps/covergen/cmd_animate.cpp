// covergen animate --model M SONG --out FILE.mp4|.avi|.gif|DIR/ [--fps 10] [--window 3]
//   [--mapper MAPPER] [--seed S] [--size PX] [--truncation PSI] [--json]
// A cover that moves with the music (docs/latent.md): one frame per analysis window,
// frame i showing the window of --window seconds centred on the middle of its display
// interval [i/fps, (i+1)/fps), so the video stays in step with the audio for any
// length. The song's features are computed once; each window's features drive the
// generator as a whole track would (the mapper's z for unconditional models, the
// audio condition for audio-conditioned ones, with z fixed by --seed).
#include "cli.hpp"

#include <covergen/audio/load.hpp>
#include <covergen/device.hpp>
#include <covergen/errors.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/latent/track_latents.hpp>
#include <covergen/latent/paths.hpp>
#include <covergen/latent/video.hpp>
#include <covergen/plugin_registry.hpp>
#include <covergen/progress.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct AnimateCli {
  covergen::cli::CommonOptions common;
  std::string model, song, out, mapper, device = "auto";
  double fps = 10.0, window = 3.0, truncation = 1.0;
  std::int64_t size = 0;
  std::uint64_t seed = 0;
};

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void run(const AnimateCli& o) {
  if (!(o.fps > 0.0 && o.fps <= 120.0)) throw covergen::InputError("--fps must be in (0, 120]");
  if (!(o.window > 0.0 && o.window <= 60.0)) throw covergen::InputError("--window must be in (0, 60] seconds");
  if (!(o.truncation >= 0.0 && o.truncation <= 1.0)) throw covergen::InputError("--truncation must be in [0, 1]");
  const auto format = covergen::latent::frame_format_for(o.out);
  const auto device = covergen::parse_device(o.device);
  auto registry = covergen::cli::make_registry();
  std::string meta_text;
  auto gen = covergen::generate::load_generator(o.model, registry, &meta_text);
  gen->to(device);
  const json cond = json::parse(meta_text).value("condition", json::object());
  covergen::latent::TrackLatents tl(*gen, o.model, cond.dump(), o.mapper, registry);

  const auto features = covergen::latent::TrackLatents::analyse({o.song}).front();
  const double sr = features.sample_rate, hop = features.hop_length;
  const double duration = static_cast<double>(features.n_samples) / sr;
  const auto frames = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(duration * o.fps - 1e-9)));
  const int win = std::clamp(static_cast<int>(std::lround(o.window * sr / hop)), 1, std::max(1, features.n_frames));
  auto rng = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  const auto z_fixed = at::randn({gen->latent_dim()}, rng);

  covergen::GenerateOptions gopts;
  gopts.truncation = o.truncation;
  covergen::latent::FrameWriter writer(o.out, o.fps, o.size);
  covergen::Progress progress("animate", frames, !o.common.quiet && !o.common.json);
  const std::int64_t chunk = 32;
  for (std::int64_t s = 0; s < frames; s += chunk) {
    const auto n = std::min(chunk, frames - s);
    std::vector<covergen::audio::Features> windows;
    for (std::int64_t i = s; i < s + n; ++i) {
      const double centre = (static_cast<double>(i) + 0.5) / o.fps * sr / hop;  // in feature frames
      const int begin = std::clamp(static_cast<int>(std::lround(centre - win / 2.0)), 0, std::max(0, features.n_frames - win));
      windows.push_back(covergen::latent::slice_features(features, begin, begin + win));
    }
    const auto pts = tl.points(windows);
    std::vector<at::Tensor> zs, cs;
    for (const auto& p : pts) {
      zs.push_back(p.z.defined() ? p.z : z_fixed);
      if (p.c.defined()) cs.push_back(p.c);
    }
    covergen::latent::render_frames(*gen, at::stack(zs), cs.empty() ? at::Tensor() : at::stack(cs), gopts,
                                    [&](const at::Tensor& x) { writer.write(x); });
    progress.update(s + n);
  }
  progress.finish();
  const auto written = writer.finish();
  std::string mux;
  if (format == covergen::latent::FrameFormat::mp4 || format == covergen::latent::FrameFormat::avi) {
    const auto p = fs::path(o.out);
    const auto muxed = (p.parent_path() / (p.stem().string() + "-with-audio.mp4")).string();
    mux = "ffmpeg -i " + shell_quote(o.out) + " -i " + shell_quote(o.song) +
          " -map 0:v:0 -map 1:a:0 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest " + shell_quote(muxed);
  }
  json out{{"schema_version", 1},   {"model", o.model},       {"song", o.song},
           {"out", o.out},          {"format", covergen::latent::to_string(format)},
           {"frames", written},     {"fps", o.fps},           {"window_seconds", win * hop / sr},
           {"audio_seconds", duration}, {"video_seconds", static_cast<double>(written) / o.fps},
           {"driven_by", tl.uses_mapper() ? "mapper z" : "audio condition"}};
  if (!mux.empty()) out["mux_command"] = mux;
  if (o.common.json) {
    std::cout << out.dump(2) << '\n';
  } else {
    std::cout << o.out << '\n';
    if (!mux.empty()) covergen::cli::log(o.common, "covergen: add the sound with: " + mux);
  }
}

void setup(CLI::App& root) {
  auto o = std::make_shared<AnimateCli>();
  auto* cmd = root.add_subcommand("animate", "Render a cover that follows a song, one frame per analysis window");
  cmd->add_option("--model", o->model, "Generator: run folder, generator.cvgn or FILE.pt")->required();
  cmd->add_option("song", o->song, "Audio file")->required();
  cmd->add_option("--out", o->out, "FILE.mp4 (mp4v), FILE.avi (MJPG), FILE.gif, or DIR/ for lossless PNG frames")->required();
  cmd->add_option("--fps", o->fps, "Frames (analysis windows) per second")->capture_default_str();
  cmd->add_option("--window", o->window, "Analysis window in seconds, centred on each frame")->capture_default_str();
  cmd->add_option("--mapper", o->mapper, "Mapper (covergen mapper fit) for an unconditional model");
  cmd->add_option("--seed", o->seed, "Seed of the fixed z for audio-conditioned models")->capture_default_str();
  cmd->add_option("--size", o->size, "Upscale video/GIF frames to PX x PX (nearest; 0 = generator size)")->capture_default_str();
  cmd->add_option("--truncation", o->truncation, "Truncation psi in [0, 1] (1 = none)")->capture_default_str();
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  covergen::cli::add_common_options(*cmd, o->common);
  cmd->footer("Mux the sound in afterwards, e.g.: ffmpeg -i OUT.mp4 -i SONG -map 0:v:0 -map 1:a:0 -c:v libx264 "
              "-pix_fmt yuv420p -c:a aac -shortest OUT-with-audio.mp4");
  cmd->callback([o] { run(*o); });
}

}  // namespace

COVERGEN_COMMAND("animate", setup);
