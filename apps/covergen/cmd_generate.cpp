// covergen generate --model RUN [TRACK...] [--genre NAME...] [--attributes k=v,...]
//   [-n 8] [--seed S] [--truncation PSI] --out DIR [--json]
// Loads a trained generator, builds one condition per request (a genre, a set of
// attribute values, or a track; libs/generate), writes n PNG covers per request, a
// grid per request, and index.html, a gallery of everything written.
#include "cli.hpp"

#include <covergen/device.hpp>
#include <covergen/errors.hpp>
#include <covergen/generate/condition.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/generate/requests.hpp>
#include <covergen/image.hpp>
#include <covergen/latent/track_latents.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <sstream>

#if __has_include(<covergen/finish/finish.hpp>)
#include "finish_cli.hpp"  // --artist/--title/--size/--format/--palette/--filter (docs/finishing.md)
#define COVERGEN_GENERATE_FINISH 1
#endif

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct GenerateCliOptions {
  covergen::cli::CommonOptions common;
  std::string model, out, device = "auto", mapper;
  std::vector<std::string> tracks, genres, attributes;
  std::int64_t n = 8;
  std::uint64_t seed = 0;
  double truncation = 1.0, variation = 0.25;
  std::string precision = "float32";
#ifdef COVERGEN_GENERATE_FINISH
  covergen::cli::FinishCliOptions finish;
#endif
};

void run(const GenerateCliOptions& o) {
  if (o.n <= 0 || o.n > 4096) throw covergen::InputError("-n must be between 1 and 4096");
#ifdef COVERGEN_GENERATE_FINISH
  if (o.finish.any_given) covergen::cli::check_finish_options(o.finish);
#endif
  if (!(o.truncation >= 0.0 && o.truncation <= 1.0)) throw covergen::InputError("--truncation must be in [0, 1]");
  covergen::GenerateOptions gopts;
  gopts.truncation = o.truncation;
  gopts.precision = covergen::precision_from_string(o.precision);
  const c10::Device device = covergen::parse_device(o.device);
  auto registry = covergen::cli::make_registry();
  std::string meta_text;
  auto gen = covergen::generate::load_generator(o.model, registry, &meta_text);
  gen->to(device);
  const json cond = json::parse(meta_text).value("condition", json::object());
  std::vector<covergen::generate::CoverRequest> reqs;
  if (o.mapper.empty()) {
    reqs = covergen::generate::cover_requests(
        covergen::generate::RunCondition(o.model, cond.dump(), gen->condition_dim(), registry), o.model, o.tracks,
        o.genres, o.attributes);
  } else {  // a mapper gives each track its own latent (docs/latent.md)
    if (!(o.variation >= 0.0 && o.variation <= 1.0)) throw covergen::InputError("--variation must be in [0, 1]");
    if (!o.genres.empty() || !o.attributes.empty())
      throw covergen::InputError("--mapper drives an unconditional model; give no --genre or --attributes");
    reqs = covergen::latent::mapper_requests(*gen, o.model, cond.dump(), o.mapper, o.tracks, registry);
  }

  fs::create_directories(o.out);
  auto rng = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  json written = json::array();
  std::vector<std::vector<std::string>> files(reqs.size()), finished_pngs(reqs.size());
  for (std::size_t r = 0; r < reqs.size(); ++r) {
    at::Tensor images;
    if (reqs[r].z.defined()) {
      images = gen->generate(covergen::latent::latent_variations(reqs[r].z, o.n, o.variation, rng).to(device), {}, gopts);
    } else {
      images = covergen::generate::generate_covers(*gen, reqs[r].condition, o.n, rng, gopts, device);
    }
    json item{{"request", reqs[r].label}, {"covers", json::array()}};
    for (std::int64_t i = 0; i < o.n; ++i) {
      std::string name = reqs[r].slug + "_" + std::to_string(i) + ".png";
      covergen::write_image_png(fs::path(o.out) / name, images[i]);
      files[r].push_back(name);
#ifdef COVERGEN_GENERATE_FINISH
      if (o.finish.any_given) {
        const auto u8 = covergen::to_rgb8(images[i]);
        const auto cover = covergen::finish::Image::from_buffer(u8.data_ptr<std::uint8_t>(), int(u8.size(1)),
                                                                int(u8.size(0)), std::size_t(u8.size(1) * 3));
        auto lines = o.finish;  // "{name}" in --artist/--title: this request's track, genre or attributes
        const std::string name = reqs[r].name.empty() ? reqs[r].label : reqs[r].name;
        lines.artist = covergen::generate::with_request_name(lines.artist, name);
        lines.title = covergen::generate::with_request_name(lines.title, name);
        const std::string stem = reqs[r].slug + "_" + std::to_string(i);
        item["finished"].push_back(covergen::cli::finish_cover(lines, cover, fs::path(o.out) / "finished", stem,
                                                               reqs[r].label, o.seed + static_cast<std::uint64_t>(i)));
        for (const auto& file : item["finished"].back()["files"])
          if (fs::path(file.get<std::string>()).extension() == ".png")
            finished_pngs[r].push_back(fs::relative(file.get<std::string>(), o.out).generic_string());
      }
#endif
      item["covers"].push_back((fs::path(o.out) / name).string());
    }
    const std::string grid = reqs[r].slug + "_grid.png";
    covergen::write_image_grid(fs::path(o.out) / grid, images, 8);
    item["grid"] = (fs::path(o.out) / grid).string();
    written.push_back(item);
  }
  const bool any_finished =
      std::any_of(finished_pngs.begin(), finished_pngs.end(), [](const auto& v) { return !v.empty(); });
  covergen::generate::write_gallery(o.out, o.model, reqs, files, any_finished ? &finished_pngs : nullptr);
  if (o.common.json) {
    std::cout << json{{"schema_version", 1}, {"model", o.model}, {"device", covergen::device_string(device)},
                      {"seed", o.seed}, {"truncation", o.truncation}, {"precision", covergen::to_string(gopts.precision)}, {"results", written},
                      {"gallery", (fs::path(o.out) / "index.html").string()}}
                     .dump(2)
              << '\n';
  } else {
    for (const auto& item : written) {
      std::cout << item["grid"].get<std::string>() << '\n';
      for (const auto& f : item.value("finished", json::array()))
        for (const auto& file : f["files"]) std::cout << file.get<std::string>() << '\n';
    }
    std::cout << (fs::path(o.out) / "index.html").string() << '\n';
  }
}

void setup(CLI::App& root) {
  auto o = std::make_shared<GenerateCliOptions>();
  auto* cmd = root.add_subcommand("generate", "Generate covers from a trained model");
  cmd->add_option("--model", o->model, "Run folder, generator.cvgn, checkpoint.cvgn or TorchScript FILE.pt")->required();
  cmd->add_option("tracks", o->tracks, "Audio files (for models conditioned on an encoder)");
  cmd->add_option("--genre", o->genres, "Genre name (models conditioned on genre); default: every genre");
  cmd->add_option("--attributes", o->attributes, "name=value,... (models conditioned on attributes; repeatable)");
  cmd->add_option("-n", o->n, "Covers per request")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed for the latents")->capture_default_str();
  cmd->add_option("--truncation", o->truncation, "Truncation psi in [0, 1] (1 = none)")->capture_default_str();
  cmd->add_option("--mapper", o->mapper, "Mapper (covergen mapper fit): tracks choose an unconditional model's latents");
  cmd->add_option("--variation", o->variation, "With --mapper: how far covers 1..n-1 stray from the track's latent, in [0, 1]")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "Output folder")->required();
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--precision", o->precision,
                  "float32, or bfloat16: bf16 convolutions (DCGAN family; several times faster on AVX512-BF16 CPUs, "
                  "images within a few 8-bit levels)")
      ->capture_default_str();
#ifdef COVERGEN_GENERATE_FINISH
  covergen::cli::add_finish_options(*cmd, o->finish, /*with_seed=*/false);
#endif
  covergen::cli::add_common_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
}

}  // namespace

COVERGEN_COMMAND("generate", setup);
