// Drives the real `covergen` binary: exit codes, stdout/stderr separation, JSON.
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <sys/wait.h>

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

struct Result {
  int code;
  std::string out, err;
};

Result run(const std::string& args, const std::string& env = "") {
  covergen::test::TempDir tmp;
  std::string cmd = env + " '" + std::string(COVERGEN_CLI) + "' " + args + " >" + (tmp / "out").string() + " 2>" +
                    (tmp / "err").string() + " </dev/null";
  int status = std::system(cmd.c_str());
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(tmp / "out"), slurp(tmp / "err")};
}

const std::string bad = TEST_PLUGIN_DIR_BAD;
const std::string good = TEST_PLUGIN_DIR_A;

}  // namespace

TEST_CASE("covergen --version names torch and the devices", "[cli]") {
  auto r = run("--version");
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("covergen 0."));
  CHECK_THAT(r.out, Contains("torch 1."));
  CHECK_THAT(r.out, Contains("devices: cpu"));
}

TEST_CASE("covergen plugins --json lists the build tree's plugins with no environment", "[cli]") {
  auto r = run("plugins --json", "env -u COVERGEN_PLUGIN_PATH");
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["schema_version"] == 1);
  CHECK(j["abi"] == 1);
  std::vector<std::string> dirs = j["search_path"];
  CHECK(std::find(dirs.begin(), dirs.end(), fs::weakly_canonical(COVERGEN_BUILD_PLUGIN_DIR).string()) != dirs.end());
  for (const auto& p : j["plugins"]) {
    CHECK(p.contains("kind"));
    CHECK(p.contains("name"));
    CHECK(p.contains("version"));
    CHECK(p["abi"] == 1);
  }
}

TEST_CASE("broken plugins in the search path are named and good ones still listed", "[cli]") {
  auto r = run("plugins --json --plugin-dir " + good + " --plugin-dir " + bad);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  bool has_scale = false;
  for (const auto& p : j["plugins"]) has_scale |= p["name"] == "scale";
  CHECK(has_scale);
  std::string broken = j["broken"].dump();
  CHECK_THAT(broken, Contains("libcovergen_badabi.so"));
  CHECK_THAT(broken, Contains("ABI 999"));
  CHECK_THAT(broken, Contains("undefined symbol"));
}

TEST_CASE("each plugin failure exits 2 with the path and reason on stderr", "[cli]") {
  struct Case {
    std::string args, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"plugins --inspect " + bad + "/libcovergen_badabi.so", "ABI 999"},
           {"plugins --inspect " + bad + "/libcovergen_unresolved.so", "undefined symbol"},
           {"plugins --inspect " + bad + "/libcovergen_noinfo.so", "not a CoverGen plugin"},
           {"plugins --inspect /no/such/libcovergen_x.so", "no such plugin file"},
           {"plugins --inspect nope", "plugin 'nope' not found"},
       }) {
    INFO(c.args);
    auto r = run(c.args);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Contains(c.expect));
  }
}

TEST_CASE("a world-writable plugin is refused with exit code 2 and how to override", "[cli][trust]") {
  covergen::test::TempDir tmp;
  fs::copy_file(fs::path(good) / "libcovergen_scale.so", tmp / "libcovergen_scale.so");
  fs::permissions(tmp / "libcovergen_scale.so", fs::perms::others_write, fs::perm_options::add);
  auto r = run("plugins --inspect " + (tmp / "libcovergen_scale.so").string());
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("writable by other users"));
  CHECK_THAT(r.err, Contains("--allow-untrusted-plugins"));
  auto ok = run("--allow-untrusted-plugins plugins --inspect " + (tmp / "libcovergen_scale.so").string());
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Contains("scale (encoder"));
}

TEST_CASE("parse errors keep CLI11's exit codes", "[cli]") {
  auto r = run("--no-such-flag");
  CHECK(r.code >= 100);
  CHECK(run("").code >= 100);  // a subcommand is required
}

TEST_CASE("covergen bench cpu measures the float32 peak and names the machine", "[cli]") {
  auto r = run("bench cpu --seconds 0.05 --json");
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["threads"].get<int>() >= 1);
  CHECK(j["cpu_features"].get<std::string>() != "");
  for (const char* k : {"sgemm_gflops_1t", "sgemm_gflops", "conv_gflops_1t", "conv_gflops"}) {
    INFO(k);
    // Any x86-64 core does well over 0.5 GFLOP/s in float32; and far less than 1e5.
    CHECK(j[k].get<double>() > 0.5);
    CHECK(j[k].get<double>() < 1e5);
  }
  // The one-thread sgemm runs on one thread: OpenBLAS's own pool is set too (it
  // kept every core before, and "one thread" read as fast as two).
  const int blas_threads = j["blas_threads_1t"].get<int>();
  if (blas_threads != -1) CHECK(blas_threads == 1);
  CHECK(run("bench cpu --seconds 0").code != 0);  // rejected by the option check
}
