#include "test_support.hpp"

#include <covergen/errors.hpp>
#include <covergen/plugin_abi.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace covergen;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

PluginRegistry registry_for(std::vector<fs::path> dirs) {
  PluginSearchOptions o;
  o.extra_dirs = std::move(dirs);
  o.use_environment = false;
  o.use_default_dirs = false;
  return PluginRegistry(o);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const PluginError& e) {
    return e.what();
  }
  FAIL("expected a PluginError");
  return {};
}

bool library_mapped(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.find(path) != std::string::npos) return true;
  return false;
}

const fs::path bad_dir = TEST_PLUGIN_DIR_BAD;
const fs::path dir_a = TEST_PLUGIN_DIR_A;
const fs::path dir_b = TEST_PLUGIN_DIR_B;

}  // namespace

TEST_CASE("a plugin loads, is validated and creates a working encoder", "[plugins]") {
  auto reg = registry_for({dir_a});
  auto rec = reg.inspect(dir_a / "libcovergen_scale.so");
  CHECK(rec.ok);
  CHECK(rec.kind == "encoder");
  CHECK(rec.name == "scale");
  CHECK(rec.abi_version == COVERGEN_PLUGIN_ABI_VERSION);

  auto enc = reg.create_encoder("scale", R"({"input_dim": 3})");
  CHECK(enc->plugin_name() == "scale");
  CHECK(enc->plugin_version() == "1.0.0");
  CHECK(enc->dim() == 3);
  EncoderData train;
  train.inputs = at::tensor({1.f, 2.f, 3.f, 3.f, 4.f, 5.f}).reshape({2, 3});
  enc->fit(train, {}, {});
  auto y = enc->encode(at::tensor({2.f, 3.f, 10.f}));
  REQUIRE(y.sizes() == at::IntArrayRef{3});
  CHECK(y[0].item<float>() == Approx(0.0));
  CHECK(y[2].item<float>() == Approx((10.0 - 4.0) * 2.0));
}

TEST_CASE("exceptions thrown inside a plugin are caught by type in the host", "[plugins]") {
  auto enc = registry_for({dir_a}).create_encoder("scale", R"({"input_dim": 3})");
  CHECK_THROWS_AS(enc->encode_batch(at::zeros({2, 5})), InputError);
}

TEST_CASE("a plugin of the wrong kind or a bad config is refused", "[plugins]") {
  auto reg = registry_for({dir_a});
  CHECK_THAT(error_of([&] { reg.create_gan("scale"); }), Contains("is a encoder plugin, not a gan plugin"));
  auto msg = error_of([&] { reg.create_encoder("scale", R"({"fail": true})"); });
  CHECK_THAT(msg, Contains("libcovergen_scale.so"));
  CHECK_THAT(msg, Contains("asked to fail by config"));
}

TEST_CASE("ABI mismatch is reported before the factory runs", "[plugins]") {
  auto msg = error_of([] { registry_for({bad_dir}).create_encoder("badabi"); });
  CHECK_THAT(msg, Contains((bad_dir / "libcovergen_badabi.so").string()));
  CHECK_THAT(msg, Contains("plugin has ABI 999"));
  CHECK_THAT(msg, Contains("this CoverGen has ABI 1"));
}

TEST_CASE("a missing plugin names the path or lists what is available", "[plugins]") {
  auto reg = registry_for({dir_a, bad_dir});
  auto by_path = error_of([&] { reg.create_encoder("/nonexistent/libcovergen_x.so"); });
  CHECK_THAT(by_path, Contains("/nonexistent/libcovergen_x.so"));
  CHECK_THAT(by_path, Contains("no such plugin file"));
  auto by_name = error_of([&] { reg.create_encoder("nope"); });
  CHECK_THAT(by_name, Contains("plugin 'nope' not found"));
  CHECK_THAT(by_name, Contains("available plugins: scale (encoder)"));
}

TEST_CASE("files that are not plugins are refused with the reason", "[plugins]") {
  test::TempDir tmp;
  fs::path garbage = tmp / "libcovergen_garbage.so";
  test::write_text(garbage, "this is not an ELF file");
  auto reg = registry_for({tmp.path()});
  auto msg = error_of([&] { reg.inspect(garbage); });
  CHECK_THAT(msg, Contains(garbage.string()));
  CHECK_THAT(msg, Contains("cannot load"));

  auto noinfo = error_of([&] { reg.inspect(bad_dir / "libcovergen_noinfo.so"); });
  CHECK_THAT(noinfo, Contains("not a CoverGen plugin"));
  auto badinfo = error_of([&] { reg.inspect(bad_dir / "libcovergen_badinfo.so"); });
  CHECK_THAT(badinfo, Contains("invalid info record"));
  CHECK_THAT(badinfo, Contains("'name'"));
  CHECK_THAT(error_of([&] { reg.inspect(tmp.path()); }), Contains("not a regular file"));
}

TEST_CASE("an unresolved symbol fails at load time with the symbol's name", "[plugins]") {
  auto msg = error_of([] { registry_for({bad_dir}).create_encoder("unresolved"); });
  CHECK_THAT(msg, Contains("libcovergen_unresolved.so"));
  CHECK_THAT(msg, Contains("undefined symbol: covergen_symbol_that_does_not_exist"));
}

TEST_CASE("a factory that throws gives a PluginError with its message", "[plugins]") {
  auto msg = error_of([] { registry_for({bad_dir}).create_encoder("throws"); });
  CHECK_THAT(msg, Contains("libcovergen_throws.so"));
  CHECK_THAT(msg, Contains("the throwing factory refuses to build anything"));
}

TEST_CASE("listing names broken files with reasons and still lists the good ones", "[plugins]") {
  auto records = registry_for({dir_a, bad_dir}).list();
  std::map<std::string, PluginRecord> by_file;
  for (const auto& r : records) by_file[r.path.filename().string()] = r;
  REQUIRE(by_file.count("libcovergen_scale.so"));
  CHECK(by_file["libcovergen_scale.so"].ok);
  for (const char* f : {"libcovergen_badabi.so", "libcovergen_unresolved.so", "libcovergen_badinfo.so",
                        "libcovergen_noinfo.so"}) {
    INFO(f);
    REQUIRE(by_file.count(f));
    CHECK_FALSE(by_file[f].ok);
    CHECK_THAT(by_file[f].error, Contains(f));
  }
  // The throwing plugin is valid until its factory runs.
  CHECK(by_file["libcovergen_throws.so"].ok);
}

TEST_CASE("an object outlives the registry and keeps its library loaded", "[plugins]") {
  const std::string lib = (dir_a / "libcovergen_scale.so").string();
  std::shared_ptr<Encoder> enc;
  {
    auto reg = registry_for({dir_a});
    enc = reg.create_encoder("scale", R"({"input_dim": 2})");
  }
  REQUIRE(library_mapped(lib));
  auto y = enc->encode(at::tensor({1.f, 2.f}));  // virtual call into the plugin
  CHECK(y[1].item<float>() == Approx(4.0));
  auto copy = enc;
  enc.reset();
  CHECK(library_mapped(lib));
  copy.reset();
  CHECK_FALSE(library_mapped(lib));  // the last reference unloaded it
}

TEST_CASE("COVERGEN_PLUGIN_PATH is searched in order, after explicit folders", "[plugins]") {
  auto scale_of = [](const PluginRegistry& reg) {
    auto enc = reg.create_encoder("scale", R"({"input_dim": 1})");
    return enc->encode(at::tensor({1.f}))[0].item<float>();
  };
  PluginSearchOptions env_only;
  env_only.use_default_dirs = false;
  {
    test::ScopedEnv env("COVERGEN_PLUGIN_PATH", dir_a.string() + ":" + dir_b.string());
    CHECK(scale_of(PluginRegistry(env_only)) == Approx(2.0));
    auto records = PluginRegistry(env_only).list();
    REQUIRE(records.size() == 2);
    CHECK(records[1].path.parent_path() == fs::weakly_canonical(dir_b));
    CHECK_THAT(records[1].error, Contains("shadowed by"));
  }
  {
    test::ScopedEnv env("COVERGEN_PLUGIN_PATH", dir_b.string() + ":" + dir_a.string());
    CHECK(scale_of(PluginRegistry(env_only)) == Approx(3.0));
    PluginSearchOptions explicit_first = env_only;
    explicit_first.extra_dirs = {dir_a};
    CHECK(scale_of(PluginRegistry(explicit_first)) == Approx(2.0));
  }
}

TEST_CASE("a plugin writable by other users is refused unless allowed", "[plugins][trust]") {
  test::TempDir tmp;
  fs::path copy = tmp / "libcovergen_scale.so";
  fs::copy_file(dir_a / "libcovergen_scale.so", copy);
  ::chmod(copy.c_str(), 0666);
  auto msg = error_of([&] { registry_for({tmp.path()}).create_encoder("scale"); });
  CHECK_THAT(msg, Contains("writable by other users"));
  CHECK_THAT(msg, Contains("--allow-untrusted-plugins"));
  PluginSearchOptions allow;
  allow.extra_dirs = {tmp.path()};
  allow.use_default_dirs = false;
  allow.allow_untrusted = true;
  CHECK(PluginRegistry(allow).create_encoder("scale")->dim() == 4);
  ::chmod(copy.c_str(), 0644);
  ::chmod(tmp.path().c_str(), 0777);
  CHECK_THAT(error_of([&] { registry_for({tmp.path()}).create_encoder("scale"); }), Contains("folder"));
  ::chmod(tmp.path().c_str(), 0700);
}
