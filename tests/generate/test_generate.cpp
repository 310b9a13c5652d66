// libs/generate and libs/image without a trained run: the run's condition read from a
// meta (genre one-hot, attribute standardisation, the errors that name what is
// wrong), the one 8-bit conversion, and what load_generator takes for TorchScript.
#include <covergen/errors.hpp>
#include <covergen/generate/condition.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/image.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using covergen::generate::RunCondition;

TEST_CASE("a genre run's condition is one-hot over its genres", "[generate]") {
  covergen::PluginRegistry registry;
  const RunCondition c("run", R"({"mode":"genre","names":["ambient","rock","techno"]})", 3, registry);
  CHECK(c.mode() == "genre");
  CHECK_FALSE(c.takes_audio());
  const auto t = c.for_genres({"techno", "ambient"});
  REQUIRE(t.sizes() == at::IntArrayRef({2, 3}));
  CHECK(at::equal(t, at::tensor({0.f, 0.f, 1.f, 1.f, 0.f, 0.f}).view({2, 3})));
  CHECK_THROWS_AS(c.for_genres({"jazz"}), covergen::InputError);
  CHECK_THROWS_AS(c.for_attributes("tempo=1"), covergen::InputError);
  CHECK_THROWS_AS(c.for_tracks({"x.mp3"}, 1), covergen::InputError);
}

TEST_CASE("an attribute run standardises with the training statistics", "[generate]") {
  covergen::PluginRegistry registry;
  const RunCondition c("run", R"({"mode":"attributes","names":["tempo","energy"],"mean":[120,0.5],"std":[20,0.25]})", 2,
                       registry);
  const auto t = c.for_attributes("tempo=160,energy=0.25");
  CHECK(t[0].item<float>() == Approx(2.0));
  CHECK(t[1].item<float>() == Approx(-1.0));
  CHECK(c.for_attributes("energy=1")[0].item<float>() == 0.0f);  // unnamed: the training mean
  CHECK_THROWS_AS(c.for_attributes("valence=1"), covergen::InputError);
  CHECK_THROWS_AS(c.for_attributes("tempo=fast"), covergen::InputError);
  CHECK_THROWS_AS(c.for_attributes("tempo"), covergen::InputError);
}

TEST_CASE("a meta without a mode is unconditional for an unconditional generator", "[generate]") {
  covergen::PluginRegistry registry;
  CHECK(RunCondition("g.pt", "{}", 0, registry).mode() == "none");
  CHECK(RunCondition("g.pt", "{}", 4, registry).mode() == "unknown");
  CHECK_THROWS_AS(RunCondition("run", R"({"mode":"audio","names":["no_such_feature"],"mean":[0],"std":[1]})", 1,
                               registry),
                  covergen::InputError);
  CHECK_THROWS_AS(RunCondition("run", R"({"mode":"attributes","names":["a"],"mean":[0,1],"std":[1]})", 1, registry),
                  covergen::InputError);
}

TEST_CASE("to_rgb8 rounds (x + 1) * 127.5 and clamps, channels last", "[image]") {
  auto img = at::zeros({1, 3, 1, 2});
  img[0][0][0][0] = -1.0;  // 0
  img[0][0][0][1] = 1.0;   // 255
  img[0][1][0][0] = 2.0;   // clamped to 255
  img[0][1][0][1] = -3.0;  // clamped to 0
  img[0][2][0][0] = 0.0;   // 127.5 -> 128 (torch rounds halves to even)
  img[0][2][0][1] = 0.5;   // 191.25 -> 191
  const auto u8 = covergen::to_rgb8(img);
  REQUIRE(u8.sizes() == at::IntArrayRef({1, 1, 2, 3}));
  REQUIRE(u8.scalar_type() == at::kByte);
  const auto* p = u8.data_ptr<std::uint8_t>();
  CHECK(std::vector<int>(p, p + 6) == std::vector<int>{0, 255, 128, 255, 0, 191});
  CHECK(at::equal(covergen::to_rgb8(img[0]), u8[0]));  // one image: [S, S, 3]
  const std::string png = covergen::encode_image_png(img[0]);
  CHECK(png.substr(1, 3) == "PNG");
}

TEST_CASE("load_generator tells TorchScript files from model files", "[generate]") {
  const fs::path dir = fs::temp_directory_path() / "covergen-test-generate";
  fs::create_directories(dir);
  { std::ofstream(dir / "g.pt") << "not a zip"; }
  { std::ofstream(dir / "g.cvgn") << "PK\x03\x04 but named .cvgn"; }
  CHECK(covergen::generate::is_torchscript_file(dir / "g.pt"));
  CHECK_FALSE(covergen::generate::is_torchscript_file(dir / "g.cvgn"));
  CHECK_FALSE(covergen::generate::is_torchscript_file(dir / "missing.pt"));
  covergen::PluginRegistry registry;
  CHECK_THROWS_AS(covergen::generate::load_generator(dir / "g.pt", registry), covergen::InputError);  // not a zip: bad input
  CHECK_THROWS_AS(covergen::generate::load_generator(dir / "g.cvgn", registry), covergen::InputError);
  fs::remove_all(dir);
}
