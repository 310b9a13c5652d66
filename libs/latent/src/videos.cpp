#include "covergen/latent/videos.hpp"

#include "covergen/latent/paths.hpp"
#include "covergen/latent/track_latents.hpp"
#include "covergen/latent/video.hpp"

#include <covergen/device.hpp>
#include <covergen/errors.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/plugin_registry.hpp>
#include <covergen/progress.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <optional>

namespace covergen::latent {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::optional<std::uint64_t> seed_endpoint(const std::string& spec) {
  if (spec.rfind("seed:", 0) != 0) return std::nullopt;
  try {
    std::size_t used = 0;
    const auto v = std::stoull(spec.substr(5), &used);
    if (used != spec.size() - 5) throw std::invalid_argument(spec);
    return v;
  } catch (const std::exception&) {
    throw InputError("endpoint " + spec + ": expected seed:N with N a non-negative integer");
  }
}

at::Tensor z_from_seed(std::uint64_t seed, std::int64_t dim) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn({dim}, g);
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

std::string interpolate_video(const InterpolationOptions& o, const PluginRegistry& registry) {
  if (o.frames < 2 || o.frames > 100000) throw InputError("--frames must be between 2 and 100000");
  if (!(o.truncation >= 0.0 && o.truncation <= 1.0)) throw InputError("--truncation must be in [0, 1]");
  if (o.space != "auto" && o.space != "z" && o.space != "w") throw InputError("--space must be auto, z or w");
  frame_format_for(o.out);  // reject a bad --out before any work
  const auto device = parse_device(o.device);
  std::string meta_text;
  auto gen = generate::load_generator(o.model, registry, &meta_text);
  gen->to(device);
  const json cond = json::parse(meta_text).value("condition", json::object());
  const auto L = gen->latent_dim();

  const auto seed_a = seed_endpoint(o.from), seed_b = seed_endpoint(o.to);
  std::vector<fs::path> tracks;
  if (!seed_a) tracks.push_back(o.from);
  if (!seed_b) tracks.push_back(o.to);
  std::vector<LatentPoint> pts;
  if (!tracks.empty()) {
    TrackLatents tl(*gen, o.model, cond.dump(), o.mapper, registry);
    pts = tl.points(TrackLatents::analyse(tracks));
  } else if (!o.mapper.empty()) {
    throw InputError("--mapper is only used with audio endpoints");
  }
  if ((seed_a || seed_b) && gen->condition_dim() > 0)
    throw InputError(o.model + " is conditional: a seed:N endpoint gives no condition; give audio files");
  std::size_t next = 0;
  auto endpoint = [&](const std::optional<std::uint64_t>& s, std::uint64_t default_seed) {
    LatentPoint p = s ? LatentPoint{z_from_seed(*s, L), {}} : pts[next++];
    if (!p.z.defined()) p.z = z_from_seed(default_seed, L);
    return p;
  };
  auto a = endpoint(seed_a, o.seed);
  auto b = endpoint(seed_b, o.vary_latent ? o.seed + 1 : o.seed);

  auto space = path_space_for(*gen);
  if (o.space == "z") space = PathSpace::z;
  if (o.space == "w" && space != PathSpace::w)
    throw InputError(o.model + ": this generator exposes no W space; use --space z (or auto)");
  GenerateOptions gopts;
  gopts.truncation = o.truncation;
  FrameWriter writer(o.out, o.fps, o.size);
  render_interpolation(*gen, a.z, b.z, a.c, b.c, o.frames, space, gopts,
                                         [&](const at::Tensor& x) { writer.write(x); });
  const auto written = writer.finish();
  json out{{"schema_version", 1},
           {"model", o.model},
           {"out", o.out},
           {"format", to_string(writer.format())},
           {"frames", written},
           {"fps", o.fps},
           {"space", space == PathSpace::w ? "w" : "z"},
           {"from", o.from},
           {"to", o.to}};
  return out.dump();
}

std::string animate_video(const AnimationOptions& o, const PluginRegistry& registry) {
  if (!(o.fps > 0.0 && o.fps <= 120.0)) throw InputError("--fps must be in (0, 120]");
  if (!(o.window > 0.0 && o.window <= 60.0)) throw InputError("--window must be in (0, 60] seconds");
  if (!(o.truncation >= 0.0 && o.truncation <= 1.0)) throw InputError("--truncation must be in [0, 1]");
  const auto format = frame_format_for(o.out);
  const auto device = parse_device(o.device);
  std::string meta_text;
  auto gen = generate::load_generator(o.model, registry, &meta_text);
  gen->to(device);
  const json cond = json::parse(meta_text).value("condition", json::object());
  TrackLatents tl(*gen, o.model, cond.dump(), o.mapper, registry);

  const auto features = TrackLatents::analyse({o.song}).front();
  const double sr = features.sample_rate, hop = features.hop_length;
  const double duration = static_cast<double>(features.n_samples) / sr;
  const auto frames = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(duration * o.fps - 1e-9)));
  const int win = std::clamp(static_cast<int>(std::lround(o.window * sr / hop)), 1, std::max(1, features.n_frames));
  auto rng = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  const auto z_fixed = at::randn({gen->latent_dim()}, rng);

  GenerateOptions gopts;
  gopts.truncation = o.truncation;
  FrameWriter writer(o.out, o.fps, o.size);
  Progress progress("animate", frames, o.progress);
  const std::int64_t chunk = 32;
  for (std::int64_t s = 0; s < frames; s += chunk) {
    const auto n = std::min(chunk, frames - s);
    std::vector<audio::Features> windows;
    for (std::int64_t i = s; i < s + n; ++i) {
      const double centre = (static_cast<double>(i) + 0.5) / o.fps * sr / hop;  // in feature frames
      const int begin = std::clamp(static_cast<int>(std::lround(centre - win / 2.0)), 0, std::max(0, features.n_frames - win));
      windows.push_back(slice_features(features, begin, begin + win));
    }
    const auto pts = tl.points(windows);
    std::vector<at::Tensor> zs, cs;
    for (const auto& p : pts) {
      zs.push_back(p.z.defined() ? p.z : z_fixed);
      if (p.c.defined()) cs.push_back(p.c);
    }
    render_frames(*gen, at::stack(zs), cs.empty() ? at::Tensor() : at::stack(cs), gopts,
                                    [&](const at::Tensor& x) { writer.write(x); });
    progress.update(s + n);
  }
  progress.finish();
  const auto written = writer.finish();
  std::string mux;
  if (format == FrameFormat::mp4 || format == FrameFormat::avi) {
    const auto p = fs::path(o.out);
    const auto muxed = (p.parent_path() / (p.stem().string() + "-with-audio.mp4")).string();
    mux = "ffmpeg -i " + shell_quote(o.out) + " -i " + shell_quote(o.song) +
          " -map 0:v:0 -map 1:a:0 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest " + shell_quote(muxed);
  }
  json out{{"schema_version", 1},   {"model", o.model},       {"song", o.song},
           {"out", o.out},          {"format", to_string(format)},
           {"frames", written},     {"fps", o.fps},           {"window_seconds", win * hop / sr},
           {"audio_seconds", duration}, {"video_seconds", static_cast<double>(written) / o.fps},
           {"driven_by", tl.uses_mapper() ? "mapper z" : "audio condition"}};
  if (!mux.empty()) out["mux_command"] = mux;
  return out.dump();
}

}  // namespace covergen::latent
