// covergen finish IMAGE... --artist A --title T [--font F] [--size 3000]
//   [--format png,jpg,svg,pdf] [--palette P] [--filter F] --out DIR [--json]
// Finishes any image as a cover (docs/finishing.md): palette and filters, Lanczos
// upscaling for print, artist and title set where the image is calm in a colour that
// reaches a WCAG contrast ratio, written as PNG / JPEG / SVG / PDF (<stem>.<ext>).
#include "cli.hpp"

#if __has_include(<covergen/finish/finish.hpp>)
#include "finish_cli.hpp"

#include <covergen/errors.hpp>
#include <covergen/finish/finish.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <set>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct FinishCommandOptions {
  covergen::cli::CommonOptions common;
  covergen::cli::FinishCliOptions finish;
  std::vector<std::string> images;
  std::string out;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void run(const FinishCommandOptions& o) {
  const auto options = covergen::cli::to_finish_options(o.finish, "");
  const auto formats = covergen::finish::parse_formats(o.finish.formats);
  // Read every input first: a bad file fails the command before anything is written.
  std::vector<covergen::finish::Image> covers;
  std::set<std::string> stems;
  for (const auto& path : o.images) {
    covers.push_back(covergen::finish::read_image(path));
    const std::string stem = fs::path(path).stem().string();
    if (!stems.insert(stem).second)
      throw covergen::InputError(path + ": another input has the same name '" + stem + "'; outputs would collide");
  }
  json results = json::array();
  for (std::size_t i = 0; i < covers.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto finished = covergen::finish::finish(covers[i], options);
    const double t_finish = seconds_since(t0);
    const auto t1 = std::chrono::steady_clock::now();
    const auto files = covergen::finish::write_files(finished, o.out, fs::path(o.images[i]).stem().string(), formats);
    const double t_write = seconds_since(t1);
    if (finished.text.present && finished.text.unknown_glyphs > 0)
      covergen::cli::log(o.common, "warning: " + o.images[i] + ": " + std::to_string(finished.text.unknown_glyphs) +
                                       " characters have no glyph in any installed font (install a font for that script)");
    json item{{"input", o.images[i]},
              {"width", finished.image.width},
              {"height", finished.image.height},
              {"typography", nlohmann::json::parse(finished.text.to_json())},
              {"seconds", {{"finish", t_finish}, {"write", t_write}}},
              {"files", json::array()}};
    for (const auto& f : files) item["files"].push_back(f.string());
    results.push_back(item);
    if (!o.common.json)
      for (const auto& f : files) std::cout << f.string() << '\n';
  }
  if (o.common.json) std::cout << json{{"schema_version", 1}, {"results", results}}.dump(2) << '\n';
}

void setup(CLI::App& root) {
  auto o = std::make_shared<FinishCommandOptions>();
  auto* cmd = root.add_subcommand("finish", "Finish any image as a cover: title, artist, palette, filters, print size");
  cmd->add_option("images", o->images, "Input images (PNG, JPEG, ...)")->required();
  cmd->add_option("--out", o->out, "Output folder (files are <image stem>.<ext>)")->required();
  covergen::cli::add_finish_options(*cmd, o->finish, /*with_seed=*/true);
  covergen::cli::add_common_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
}

}  // namespace

COVERGEN_COMMAND("finish", setup);
#endif
