// covergen interpolate --model M --from A --to B [--frames 60] [--fps 24] --out FILE.mp4|.avi|.gif|DIR/
//   [--mapper MAPPER] [--seed S] [--vary-latent] [--space auto|z|w] [--size PX] [--truncation PSI] [--json]
// A walk between two covers (docs/latent.md). An endpoint is an audio file (its
// latent through --mapper for unconditional models, its audio condition for models
// trained with --condition audio:...) or seed:N (z drawn from seed N; unconditional
// models). z is slerped, conditions lerped; generators with a W space are lerped in W.
#include "cli.hpp"

#include <covergen/device.hpp>
#include <covergen/errors.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/latent/track_latents.hpp>
#include <covergen/latent/paths.hpp>
#include <covergen/latent/video.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <optional>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct InterpolateCli {
  covergen::cli::CommonOptions common;
  std::string model, from, to, out, mapper, space = "auto", device = "auto";
  std::int64_t frames = 60, size = 0;
  double fps = 24.0, truncation = 1.0;
  std::uint64_t seed = 0;
  bool vary_latent = false;
};

std::optional<std::uint64_t> seed_endpoint(const std::string& spec) {
  if (spec.rfind("seed:", 0) != 0) return std::nullopt;
  try {
    std::size_t used = 0;
    const auto v = std::stoull(spec.substr(5), &used);
    if (used != spec.size() - 5) throw std::invalid_argument(spec);
    return v;
  } catch (const std::exception&) {
    throw covergen::InputError("endpoint " + spec + ": expected seed:N with N a non-negative integer");
  }
}

at::Tensor z_from_seed(std::uint64_t seed, std::int64_t dim) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn({dim}, g);
}

void run(const InterpolateCli& o) {
  if (o.frames < 2 || o.frames > 100000) throw covergen::InputError("--frames must be between 2 and 100000");
  if (!(o.truncation >= 0.0 && o.truncation <= 1.0)) throw covergen::InputError("--truncation must be in [0, 1]");
  if (o.space != "auto" && o.space != "z" && o.space != "w") throw covergen::InputError("--space must be auto, z or w");
  covergen::latent::frame_format_for(o.out);  // reject a bad --out before any work
  const auto device = covergen::parse_device(o.device);
  auto registry = covergen::cli::make_registry();
  std::string meta_text;
  auto gen = covergen::generate::load_generator(o.model, registry, &meta_text);
  gen->to(device);
  const json cond = json::parse(meta_text).value("condition", json::object());
  const auto L = gen->latent_dim();

  const auto seed_a = seed_endpoint(o.from), seed_b = seed_endpoint(o.to);
  std::vector<fs::path> tracks;
  if (!seed_a) tracks.push_back(o.from);
  if (!seed_b) tracks.push_back(o.to);
  std::vector<covergen::latent::LatentPoint> pts;
  if (!tracks.empty()) {
    covergen::latent::TrackLatents tl(*gen, o.model, cond.dump(), o.mapper, registry);
    pts = tl.points(covergen::latent::TrackLatents::analyse(tracks));
  } else if (!o.mapper.empty()) {
    throw covergen::InputError("--mapper is only used with audio endpoints");
  }
  if ((seed_a || seed_b) && gen->condition_dim() > 0)
    throw covergen::InputError(o.model + " is conditional: a seed:N endpoint gives no condition; give audio files");
  std::size_t next = 0;
  auto endpoint = [&](const std::optional<std::uint64_t>& s, std::uint64_t default_seed) {
    covergen::latent::LatentPoint p = s ? covergen::latent::LatentPoint{z_from_seed(*s, L), {}} : pts[next++];
    if (!p.z.defined()) p.z = z_from_seed(default_seed, L);
    return p;
  };
  auto a = endpoint(seed_a, o.seed);
  auto b = endpoint(seed_b, o.vary_latent ? o.seed + 1 : o.seed);

  auto space = covergen::latent::path_space_for(*gen);
  if (o.space == "z") space = covergen::latent::PathSpace::z;
  if (o.space == "w" && space != covergen::latent::PathSpace::w)
    throw covergen::InputError(o.model + ": this generator exposes no W space; use --space z (or auto)");
  covergen::GenerateOptions gopts;
  gopts.truncation = o.truncation;
  covergen::latent::FrameWriter writer(o.out, o.fps, o.size);
  covergen::latent::render_interpolation(*gen, a.z, b.z, a.c, b.c, o.frames, space, gopts,
                                         [&](const at::Tensor& x) { writer.write(x); });
  const auto written = writer.finish();
  json out{{"schema_version", 1},
           {"model", o.model},
           {"out", o.out},
           {"format", covergen::latent::to_string(writer.format())},
           {"frames", written},
           {"fps", o.fps},
           {"space", space == covergen::latent::PathSpace::w ? "w" : "z"},
           {"from", o.from},
           {"to", o.to}};
  if (o.common.json) std::cout << out.dump(2) << '\n';
  else std::cout << o.out << '\n';
}

void setup(CLI::App& root) {
  auto o = std::make_shared<InterpolateCli>();
  auto* cmd = root.add_subcommand("interpolate", "Render a latent-space walk between two tracks (or seeds) as video, GIF or PNGs");
  cmd->add_option("--model", o->model, "Generator: run folder, generator.cvgn or FILE.pt")->required();
  cmd->add_option("--from", o->from, "Start: an audio file, or seed:N (unconditional models)")->required();
  cmd->add_option("--to", o->to, "End: an audio file, or seed:N (unconditional models)")->required();
  cmd->add_option("--out", o->out, "FILE.mp4 (mp4v), FILE.avi (MJPG), FILE.gif, or DIR/ for lossless PNG frames")->required();
  cmd->add_option("--frames", o->frames, "Frames, endpoints included")->capture_default_str();
  cmd->add_option("--fps", o->fps, "Frames per second of the video")->capture_default_str();
  cmd->add_option("--mapper", o->mapper, "Mapper (covergen mapper fit) for an unconditional model and audio endpoints");
  cmd->add_option("--seed", o->seed, "Seed of z for audio endpoints of conditional models")->capture_default_str();
  cmd->add_flag("--vary-latent", o->vary_latent, "Conditional models: end on z from seed+1 instead of the same z");
  cmd->add_option("--space", o->space, "auto (w where the generator has a W space, else z), z or w")->capture_default_str();
  cmd->add_option("--size", o->size, "Upscale video/GIF frames to PX x PX (nearest; 0 = generator size)")->capture_default_str();
  cmd->add_option("--truncation", o->truncation, "Truncation psi in [0, 1] (1 = none)")->capture_default_str();
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  covergen::cli::add_common_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
}

}  // namespace

COVERGEN_COMMAND("interpolate", setup);
