// covergen generate --model RUN [TRACK...] [--genre NAME...] [--attributes k=v,...]
//   [-n 8] [--seed S] [--truncation PSI] --out DIR [--json]
// Loads a trained generator, builds one condition per request (a genre, a set of
// attribute values, or a track through the run's encoder), writes n PNG covers per
// request, a grid per request, and index.html, a gallery of everything written.
#include "audio_conditions.hpp"
#include "encoder_conditions.hpp"
#include "cli.hpp"
#include "track_latents.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/device.hpp>
#include <covergen/engine/encoder_condition.hpp>
#include <covergen/engine/trainer.hpp>
#include <covergen/errors.hpp>
#include <covergen/latent/load.hpp>
#include <covergen/model_file.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

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

struct Request {
  std::string label;  // what the user asked for, e.g. "genre=rock" or a track file
  std::string slug;   // file-name-safe label
  at::Tensor condition;  // [C] or undefined
  at::Tensor z;          // [L] chosen by a mapper, or undefined
};

std::string slugify(const std::string& s) {
  std::string out;
  for (char ch : s) out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-') ? ch : '_';
  return out.empty() ? "cover" : out.substr(0, 80);
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

// Parses "k=v,k=v" against the run's attribute names and standardises with the
// training statistics; unspecified attributes take the training mean (0).
at::Tensor attribute_condition(const std::string& spec, const json& cond) {
  const auto names = cond.at("names").get<std::vector<std::string>>();
  const auto mean = cond.at("mean").get<std::vector<double>>();
  const auto stdv = cond.at("std").get<std::vector<double>>();
  auto c = at::zeros({static_cast<std::int64_t>(names.size())});
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos) throw covergen::InputError("--attributes " + spec + ": expected name=value pairs");
    std::string k = item.substr(0, eq), v = item.substr(eq + 1);
    auto it = std::find(names.begin(), names.end(), k);
    if (it == names.end()) {
      std::string all;
      for (const auto& nme : names) all += (all.empty() ? "" : ", ") + nme;
      throw covergen::InputError("--attributes: this model has no attribute '" + k + "' (it has " + all + ")");
    }
    double value;
    try {
      std::size_t used = 0;
      value = std::stod(v, &used);
      if (used != v.size() || !std::isfinite(value)) throw std::invalid_argument(v);
    } catch (const std::exception&) {
      throw covergen::InputError("--attributes: '" + v + "' is not a number (attribute " + k + ")");
    }
    auto i = static_cast<std::size_t>(it - names.begin());
    c[static_cast<std::int64_t>(i)] = (value - mean[i]) / (stdv[i] > 0 ? stdv[i] : 1.0);
  }
  return c;
}

std::vector<Request> build_requests(const GenerateCliOptions& o, const json& cond, std::int64_t condition_dim) {
  const std::string mode = cond.value("mode", condition_dim == 0 ? "none" : "unknown");
  std::vector<Request> reqs;
  if (mode == "none") {
    if (!o.tracks.empty() || !o.genres.empty() || !o.attributes.empty())
      throw covergen::InputError(o.model + ": this model is unconditional; give no tracks, --genre or --attributes");
    reqs.push_back({"unconditional", "unconditional", {}});
    return reqs;
  }
  if (mode == "genre") {
    if (!o.tracks.empty())
      throw covergen::InputError(o.model + ": this model is conditioned on genre, not on tracks; use --genre NAME (" +
                                 "one of: " + cond.at("names").dump() + ")");
    const auto names = cond.at("names").get<std::vector<std::string>>();
    std::vector<std::string> wanted = o.genres.empty() ? names : o.genres;
    for (const auto& g : wanted) {
      auto it = std::find(names.begin(), names.end(), g);
      if (it == names.end())
        throw covergen::InputError("--genre " + g + ": unknown genre; this model knows " + cond.at("names").dump());
      auto c = at::zeros({static_cast<std::int64_t>(names.size())});
      c[it - names.begin()] = 1.0;
      reqs.push_back({"genre " + g, slugify(g), c});
    }
    return reqs;
  }
  if (mode == "attributes") {
    if (!o.tracks.empty() || !o.genres.empty())
      throw covergen::InputError(o.model + ": this model is conditioned on attributes " + cond.at("names").dump() +
                                 "; use --attributes name=value,...");
    if (o.attributes.empty()) throw covergen::InputError(o.model + ": give --attributes name=value,...");
    for (const auto& a : o.attributes) reqs.push_back({a, slugify(a), attribute_condition(a, cond)});
    return reqs;
  }
  if (mode == "audio") {
    if (o.tracks.empty())
      throw covergen::InputError(o.model + ": this model is conditioned on the sound of a track; give audio files");
    if (!o.genres.empty() || !o.attributes.empty())
      throw covergen::InputError(o.model + ": this model takes tracks, not --genre or --attributes");
    const auto names = cond.at("names").get<std::vector<std::string>>();
    const auto mean = cond.at("mean").get<std::vector<double>>();
    const auto stdv = cond.at("std").get<std::vector<double>>();
    std::vector<fs::path> files(o.tracks.begin(), o.tracks.end());
    auto raw = covergen::cli::audio_summary_values(files, names, 0);
    auto c = ((raw - at::tensor(mean, at::kDouble)) / at::tensor(stdv, at::kDouble)).to(at::kFloat);
    for (std::size_t i = 0; i < files.size(); ++i)
      reqs.push_back({files[i].filename().string(), slugify(files[i].stem().string()), c[static_cast<std::int64_t>(i)]});
    return reqs;
  }
  if (mode == "encoder") {  // Φ(track) from the run's copy of its encoder
    if (o.tracks.empty())
      throw covergen::InputError(o.model + ": this model is conditioned on a music encoder (" +
                                 cond.value("plugin", std::string("?")) + "); give audio files");
    if (!o.genres.empty() || !o.attributes.empty())
      throw covergen::InputError(o.model + ": this model takes tracks, not --genre or --attributes");
    auto registry = covergen::cli::make_registry();
    const covergen::engine::RunEncoder run_encoder(o.model, cond.at("encoder").get<std::string>(),
                                                   cond.at("mean").get<std::vector<double>>(),
                                                   cond.at("std").get<std::vector<double>>(), registry);
    std::vector<fs::path> files(o.tracks.begin(), o.tracks.end());
    auto c = run_encoder.standardise(covergen::cli::track_embeddings(run_encoder.encoder(), files, 0));
    for (std::size_t i = 0; i < files.size(); ++i)
      reqs.push_back({files[i].filename().string(), slugify(files[i].stem().string()), c[static_cast<std::int64_t>(i)]});
    return reqs;
  }
  throw covergen::InputError(o.model + ": unsupported condition mode '" + mode + "' in this build");
}

void write_gallery(const fs::path& out, const std::string& model, const std::vector<Request>& reqs,
                   const std::vector<std::vector<std::string>>& files) {
  std::ostringstream h;
  h << "<!doctype html><html><head><meta charset=\"utf-8\"><title>CoverGen covers</title><style>"
       "body{font-family:sans-serif;background:#111;color:#eee;margin:2em}"
       "h2{font-weight:normal;margin:1.5em 0 .5em}img{width:128px;height:128px;image-rendering:pixelated;"
       "margin:2px;border-radius:3px}</style></head><body><h1>Covers from "
    << html_escape(model) << "</h1>";
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    h << "<h2>" << html_escape(reqs[i].label) << "</h2><div>";
    for (const auto& f : files[i]) h << "<img src=\"" << html_escape(f) << "\" alt=\"" << html_escape(f) << "\">";
    h << "</div>";
  }
  h << "</body></html>\n";
  covergen::write_file_atomic(out / "index.html", h.str());
}

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
  auto gen = covergen::latent::load_generator(o.model, registry, &meta_text);
  gen->to(device);
  json meta = json::parse(meta_text);
  json cond = meta.value("condition", json::object());
  std::vector<Request> reqs;
  if (o.mapper.empty()) {
    reqs = build_requests(o, cond, gen->condition_dim());
  } else {
    // A mapper gives each track its own latent (docs/latent.md).
    if (!(o.variation >= 0.0 && o.variation <= 1.0)) throw covergen::InputError("--variation must be in [0, 1]");
    if (o.tracks.empty()) throw covergen::InputError("--mapper needs audio files to map");
    if (!o.genres.empty() || !o.attributes.empty())
      throw covergen::InputError("--mapper drives an unconditional model; give no --genre or --attributes");
    covergen::cli::TrackLatents tl(*gen, o.model, cond.dump(), o.mapper, registry);
    std::vector<fs::path> files(o.tracks.begin(), o.tracks.end());
    const auto pts = tl.points(covergen::cli::TrackLatents::analyse(files));
    for (std::size_t i = 0; i < files.size(); ++i)
      reqs.push_back({files[i].filename().string(), slugify(files[i].stem().string()), {}, pts[i].z});
  }

  fs::create_directories(o.out);
  auto rng = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  json written = json::array();
  std::vector<std::vector<std::string>> files(reqs.size());
  for (std::size_t r = 0; r < reqs.size(); ++r) {
    at::Tensor images;
    if (reqs[r].z.defined()) {
      // cover 0 is the track's latent; the others sqrt(1 - s^2) z + s eps, again N(0, I)
      auto eps = at::randn({o.n, gen->latent_dim()}, rng);
      auto s = at::full({o.n, 1}, o.variation);
      s[0] = 0.0;
      auto z = (1.0 - s * s).sqrt() * reqs[r].z.unsqueeze(0) + s * eps;
      images = gen->generate(z.to(device), {}, gopts);
    } else {
      images = covergen::engine::generate_covers(*gen, reqs[r].condition, o.n, rng, gopts, device);
    }
    json item{{"request", reqs[r].label}, {"covers", json::array()}};
    for (std::int64_t i = 0; i < o.n; ++i) {
      std::string name = reqs[r].slug + "_" + std::to_string(i) + ".png";
      covergen::engine::write_image_png(fs::path(o.out) / name, images[i]);
      files[r].push_back(name);
#ifdef COVERGEN_GENERATE_FINISH
      if (o.finish.any_given) {
        auto u8 = images[i].detach().to(at::kCPU, at::kFloat).add(1.0).mul(127.5).round().clamp(0, 255)
                      .to(at::kByte).permute({1, 2, 0}).contiguous();
        const auto cover = covergen::finish::Image::from_buffer(u8.data_ptr<std::uint8_t>(), int(u8.size(1)),
                                                                int(u8.size(0)), std::size_t(u8.size(1) * 3));
        item["finished"].push_back(covergen::cli::finish_cover(o.finish, cover, fs::path(o.out) / "finished",
                                                               reqs[r].slug + "_" + std::to_string(i), reqs[r].label,
                                                               o.seed + static_cast<std::uint64_t>(i)));
      }
#endif
      item["covers"].push_back((fs::path(o.out) / name).string());
    }
    const std::string grid = reqs[r].slug + "_grid.png";
    covergen::engine::write_image_grid(fs::path(o.out) / grid, images, 8);
    item["grid"] = (fs::path(o.out) / grid).string();
    written.push_back(item);
  }
  write_gallery(o.out, o.model, reqs, files);
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
