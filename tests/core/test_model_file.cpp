#include "test_support.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

using namespace covergen;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

PluginRegistry test_registry() {
  PluginSearchOptions o;
  o.extra_dirs = {TEST_PLUGIN_DIR_A};
  o.use_environment = false;
  o.use_default_dirs = false;
  return PluginRegistry(o);
}

std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("expected an InputError");
  return {};
}

}  // namespace

TEST_CASE("an encoder saved to a model file loads back with identical outputs", "[model_file]") {
  test::TempDir tmp;
  auto reg = test_registry();
  auto enc = reg.create_encoder("scale", R"({"input_dim": 3})");
  EncoderData train;
  train.inputs = at::randn({10, 3}, at::TensorOptions().dtype(at::kFloat));
  enc->fit(train, {}, {});
  const fs::path file = tmp / "enc.cvgn";
  save_plugin_object(file, "encoder", *enc, R"({"note": "test"})");
  CHECK_FALSE(fs::exists(temp_path_for(file)));

  ModelHeader h = read_model_header(file);
  CHECK(h.kind == "encoder");
  CHECK(h.plugin == "scale");
  CHECK(h.config_json == R"({"input_dim":3})");
  CHECK_THAT(h.meta_json, Contains("note"));

  auto loaded = load_encoder(file, reg);
  auto x = at::randn({4, 3});
  CHECK(at::equal(loaded->encode_batch(x), enc->encode_batch(x)));
}

TEST_CASE("damaged model files are refused before torch sees them", "[model_file]") {
  test::TempDir tmp;
  auto reg = test_registry();
  auto enc = reg.create_encoder("scale", R"({"input_dim": 3})");
  const fs::path good = tmp / "enc.cvgn";
  save_plugin_object(good, "encoder", *enc);
  const std::string bytes = read_file(good);

  SECTION("truncated") {
    for (std::size_t keep : {std::size_t{0}, std::size_t{5}, std::size_t{30}, bytes.size() / 2, bytes.size() - 1}) {
      INFO(keep);
      fs::path f = tmp / "trunc.cvgn";
      test::write_text(f, bytes.substr(0, keep));
      auto msg = input_error_of([&] { read_model_file(f); });
      CHECK_THAT(msg, Contains(f.string()));
    }
  }
  SECTION("wrong magic") {
    fs::path f = tmp / "magic.cvgn";
    test::write_text(f, "PK\x03\x04" + bytes.substr(4));
    CHECK_THAT(input_error_of([&] { read_model_header(f); }), Contains("wrong magic"));
  }
  SECTION("a flipped payload byte") {
    std::string b = bytes;
    b[b.size() - 10] ^= 0x55;
    fs::path f = tmp / "flip.cvgn";
    test::write_text(f, b);
    CHECK_THAT(input_error_of([&] { read_model_file(f); }), Contains("checksum"));
  }
  SECTION("a future format version") {
    std::string b = bytes;
    b[8] = 9;
    fs::path f = tmp / "future.cvgn";
    test::write_text(f, b);
    CHECK_THAT(input_error_of([&] { read_model_header(f); }), Contains("format version 9"));
  }
  SECTION("another kind of model") {
    fs::path f = tmp / "gen.cvgn";
    ModelHeader h;
    h.kind = "generator";
    h.plugin = "dcgan";
    write_model_file(f, h, {{"w", at::zeros({2})}});
    CHECK_THAT(input_error_of([&] { load_encoder(f, reg); }), Contains("is a generator model file"));
  }
  SECTION("wrong feature dimension") {
    fs::path f = tmp / "dim.cvgn";
    ModelHeader h = read_model_header(good);
    write_model_file(f, h, {{"mean", at::zeros({5})}, {"scale", at::zeros({5})}});
    auto msg = input_error_of([&] { load_encoder(f, reg); });
    CHECK_THAT(msg, Contains("has shape [5] in the file but [3]"));
  }
  SECTION("a missing file") {
    CHECK_THAT(input_error_of([&] { read_model_header(tmp / "absent.cvgn"); }), Contains("no such file"));
  }
}

TEST_CASE("atomic writes leave the old file when the writer fails", "[atomic]") {
  test::TempDir tmp;
  const fs::path f = tmp / "out.txt";
  write_file_atomic(f, std::string_view("first"));
  CHECK_THROWS(write_file_atomic(f, [](std::ostream& out) {
    out << "half";
    throw Error("writer failed");
  }));
  CHECK(read_file(f) == "first");
  CHECK_FALSE(fs::exists(temp_path_for(f)));
  CHECK_THROWS_AS(write_file_atomic(tmp / "no/such/dir/x", std::string_view("x")), Error);
}
