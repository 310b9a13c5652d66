// covergen interpolate --model M --from A --to B [--frames 60] [--fps 24] --out FILE.mp4|.avi|.gif|DIR/
// (covergen/latent/videos.hpp, docs/latent.md).
#include "cli.hpp"

#include <covergen/latent/videos.hpp>

#include <nlohmann/json.hpp>

#include <iostream>

using nlohmann::json;

namespace {

struct InterpolateCli {
  covergen::cli::CommonOptions common;
  covergen::latent::InterpolationOptions v;
};

void run(const InterpolateCli& o) {
  const json out = json::parse(covergen::latent::interpolate_video(o.v, covergen::cli::make_registry()));
  if (o.common.json) std::cout << out.dump(2) << '\n';
  else std::cout << o.v.out << '\n';
}

void setup(CLI::App& root) {
  auto o = std::make_shared<InterpolateCli>();
  auto* cmd = root.add_subcommand("interpolate", "Render a latent-space walk between two tracks (or seeds) as video, GIF or PNGs");
  cmd->add_option("--model", o->v.model, "Generator: run folder, generator.cvgn or FILE.pt")->required();
  cmd->add_option("--from", o->v.from, "Start: an audio file, or seed:N (unconditional models)")->required();
  cmd->add_option("--to", o->v.to, "End: an audio file, or seed:N (unconditional models)")->required();
  cmd->add_option("--out", o->v.out, "FILE.mp4 (mp4v), FILE.avi (MJPG), FILE.gif, or DIR/ for lossless PNG frames")->required();
  cmd->add_option("--frames", o->v.frames, "Frames, endpoints included")->capture_default_str();
  cmd->add_option("--fps", o->v.fps, "Frames per second of the video")->capture_default_str();
  cmd->add_option("--mapper", o->v.mapper, "Mapper (covergen mapper fit) for an unconditional model and audio endpoints");
  cmd->add_option("--seed", o->v.seed, "Seed of z for audio endpoints of conditional models")->capture_default_str();
  cmd->add_flag("--vary-latent", o->v.vary_latent, "Conditional models: end on z from seed+1 instead of the same z");
  cmd->add_option("--space", o->v.space, "auto (w where the generator has a W space, else z), z or w")->capture_default_str();
  cmd->add_option("--size", o->v.size, "Upscale video/GIF frames to PX x PX (nearest; 0 = generator size)")->capture_default_str();
  cmd->add_option("--truncation", o->v.truncation, "Truncation psi in [0, 1] (1 = none)")->capture_default_str();
  cmd->add_option("--device", o->v.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  covergen::cli::add_common_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
}

}  // namespace

COVERGEN_COMMAND("interpolate", setup);
