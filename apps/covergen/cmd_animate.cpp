// covergen animate --model M SONG --out FILE.mp4|.avi|.gif|DIR/ [--fps 10] [--window 3]
// (covergen/latent/videos.hpp, docs/latent.md).
#include "cli.hpp"

#include <covergen/latent/videos.hpp>

#include <nlohmann/json.hpp>

#include <iostream>

using nlohmann::json;

namespace {

struct AnimateCli {
  covergen::cli::CommonOptions common;
  covergen::latent::AnimationOptions v;
};

void run(AnimateCli& o) {
  o.v.progress = covergen::cli::shows_progress(o.common);
  const json out = json::parse(covergen::latent::animate_video(o.v, covergen::cli::make_registry()));
  if (o.common.json) {
    std::cout << out.dump(2) << '\n';
  } else {
    std::cout << o.v.out << '\n';
    if (out.contains("mux_command"))
      covergen::cli::log(o.common, "covergen: add the sound with: " + out["mux_command"].get<std::string>());
  }
}

void setup(CLI::App& root) {
  auto o = std::make_shared<AnimateCli>();
  auto* cmd = root.add_subcommand("animate", "Render a cover that follows a song, one frame per analysis window");
  cmd->add_option("--model", o->v.model, "Generator: run folder, generator.cvgn or FILE.pt")->required();
  cmd->add_option("song", o->v.song, "Audio file")->required();
  cmd->add_option("--out", o->v.out, "FILE.mp4 (mp4v), FILE.avi (MJPG), FILE.gif, or DIR/ for lossless PNG frames")->required();
  cmd->add_option("--fps", o->v.fps, "Frames (analysis windows) per second")->capture_default_str();
  cmd->add_option("--window", o->v.window, "Analysis window in seconds, centred on each frame")->capture_default_str();
  cmd->add_option("--mapper", o->v.mapper, "Mapper (covergen mapper fit) for an unconditional model");
  cmd->add_option("--seed", o->v.seed, "Seed of the fixed z for audio-conditioned models")->capture_default_str();
  cmd->add_option("--size", o->v.size, "Upscale video/GIF frames to PX x PX (nearest; 0 = generator size)")->capture_default_str();
  cmd->add_option("--truncation", o->v.truncation, "Truncation psi in [0, 1] (1 = none)")->capture_default_str();
  cmd->add_option("--device", o->v.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  covergen::cli::add_common_options(*cmd, o->common);
  cmd->footer("Mux the sound in afterwards, e.g.: ffmpeg -i OUT.mp4 -i SONG -map 0:v:0 -map 1:a:0 -c:v libx264 "
              "-pix_fmt yuv420p -c:a aac -shortest OUT-with-audio.mp4");
  cmd->callback([o] { run(*o); });
}

}  // namespace

COVERGEN_COMMAND("animate", setup);
