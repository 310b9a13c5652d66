// A downstream app, as users link CoverGen: covers for an audio track from a trained
// run, through the installed covergen::generate. Usage: covers_for_track RUN TRACK OUT_DIR N
#include <covergen/generate/condition.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/image.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <iostream>

int main(int argc, char** argv) try {
  if (argc != 5) return std::cerr << "usage: covers_for_track RUN TRACK OUT_DIR N\n", 3;
  const std::filesystem::path run = argv[1], track = argv[2], out = argv[3];
  covergen::PluginRegistry registry;  // the installed plugins (and $COVERGEN_PLUGIN_PATH)
  std::string meta;
  auto generator = covergen::generate::load_generator(run, registry, &meta);
  const auto condition_json = nlohmann::json::parse(meta).value("condition", nlohmann::json::object()).dump();
  const covergen::generate::RunCondition condition(run, condition_json, generator->condition_dim(), registry);
  const at::Tensor c = condition.for_tracks({track}, 1)[0];  // the track's condition, as covergen generate computes it
  auto rng = at::make_generator<at::CPUGeneratorImpl>(1);
  const at::Tensor covers = covergen::generate::generate_covers(*generator, c, std::stoi(argv[4]), rng, {}, at::kCPU);
  std::filesystem::create_directories(out);
  for (int i = 0; i < covers.size(0); ++i)
    covergen::write_image_png(out / ("cover_" + std::to_string(i) + ".png"), covers[i]);
  std::cout << "wrote " << covers.size(0) << " covers for " << track.filename().string() << '\n';
} catch (const std::exception& e) {
  std::cerr << "covers_for_track: " << e.what() << '\n';
  return 1;
}
