// The bad-input corpus (tests/data/bad/, described in its README) through every
// CLI subcommand that reads files: each case must end with its documented exit
// code (3 bad input, 2 plugin), a message naming the file, no signal (crash), no
// hang (timeout), no torch backtrace, and no half-written output.
#include "process.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using covergen::test::ProcessResult;
using covergen::test::run_process;
using covergen::test::ScratchDir;

namespace {

const std::string kCli = COVERGEN_CLI;

// A copy of tests/data/bad/ in a scratch folder: some commands write beside their
// input (the cover cache goes to <dataset>/.covergen-cache), never into the sources.
const fs::path& bad_dir() {
  static ScratchDir dir("bad-corpus");
  static const fs::path copy = [] {
    const fs::path p = dir / "bad";
    fs::copy(COVERGEN_BAD_DIR, p, fs::copy_options::recursive);
    return p;
  }();
  return copy;
}
std::string bad(const std::string& name) { return (bad_dir() / name).string(); }

// A small valid dataset (for commands whose other input is the bad one).
const fs::path& good_dataset() {
  static ScratchDir dir("bad-good-data");
  static const fs::path ds = [] {
    const fs::path p = dir / "ds";
    const ProcessResult r = run_process({kCli, "dataset", "synth", "--out", p.string(), "--genres", "2",
                                         "--per-genre", "3", "--seconds", "1", "--cover-size", "64", "-q"},
                                        120s);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return p;
  }();
  return ds;
}

// Files left in `dir` (recursively); a failed command must leave none that look
// half-written (temp files) and, unless `allow_files`, none at all.
std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  return out;
}

struct Case {
  std::vector<std::string> args;
  int code;
  std::string must_name;  // the file the message must name (its file name is enough)
  fs::path out;           // output folder that must stay empty ("" = none)
};

void check(const Case& c) {
  std::vector<std::string> argv = {kCli};
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  std::string cmd;
  for (const auto& a : c.args) cmd += a + " ";
  INFO("covergen " << cmd);
  const ProcessResult r = run_process(argv, 120s);
  INFO(r.describe() << "\n" << r.output);
  REQUIRE_FALSE(r.timed_out);
  REQUIRE(r.signal == 0);
  REQUIRE(r.exited);
  CHECK(r.exit_code == c.code);
  CHECK(r.output.find(fs::path(c.must_name).filename().string()) != std::string::npos);
  CHECK(r.output.find("frame #") == std::string::npos);  // no library backtraces in user messages
  if (!c.out.empty()) {
    INFO("output folder " << c.out);
    CHECK(files_in(c.out).empty());
  }
}

}  // namespace

TEST_CASE("bad audio files: covergen features exits 3 naming the file", "[reliability][bad_input]") {
  ScratchDir tmp("bad-features");
  for (const char* f : {"empty.mp3", "garbage.mp3", "not_audio.wav", "truncated.mp3", "truncated.wav",
                        "huge_amplitude.wav", "absurd_dimensions.jpg", "does_not_exist.mp3"}) {
    const fs::path out = tmp / (std::string("npy-") + f);
    check({{"features", bad(f), "--npy-dir", out.string(), "-q"}, 3, f, out});
  }
  // A batch: every bad file is skipped and named, the exit code is 3, the store
  // holds no record and no temp file.
  const fs::path store = tmp / "store";
  std::vector<std::string> args = {"features"};
  for (const char* f : {"empty.mp3", "garbage.mp3", "not_audio.wav", "truncated.mp3", "huge_amplitude.wav"})
    args.push_back(bad(f));
  args.insert(args.end(), {"--out", store.string(), "-j", "2"});
  const ProcessResult r = run_process([&] {
    std::vector<std::string> a = {kCli};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }(), 120s);
  INFO(r.describe() << "\n" << r.output);
  REQUIRE(r.exited);
  CHECK(r.exit_code == 3);
  for (const char* f : {"empty.mp3", "garbage.mp3", "not_audio.wav", "truncated.mp3", "huge_amplitude.wav"})
    CHECK(r.output.find(f) != std::string::npos);
  for (const auto& f : files_in(store)) CHECK(f.find(".tmp") == std::string::npos);
}

TEST_CASE("bad datasets: dataset check and train exit 3 naming the file", "[reliability][bad_input]") {
  ScratchDir tmp("bad-datasets");
  struct DatasetCase {
    std::string dir, named;  // the dataset, and what every message must name
    bool spec_error;         // the spec or the CSV header is unusable (everything exits 3)
  };
  const std::vector<DatasetCase> datasets = {
      {"missing_columns", "tracks.csv", true},   // a column the spec needs is absent
      {"bad_spec", "dataset.json", true},        // wrong types in the spec
      {"bad_json_spec", "dataset.json", true},   // not JSON
      {"no_such_dataset", "no_such_dataset", true},
      {"absurd_cover", "t1.jpg", false},         // a JPEG claiming 65000x65000
      {"bad_rows", "tracks.csv", false}};        // an unterminated quote
  for (const auto& d : datasets) {
    check({{"dataset", "check", bad(d.dir), "-q"}, 3, d.named, {}});
    const fs::path run = tmp / ("run-" + d.dir);
    // train names the dataset when no cover is usable (the bad ones were listed by check)
    check({{"train", "--data", bad(d.dir), "--out", run.string(), "--image-size", "32", "--steps", "2", "--batch", "4",
            "--device", "cpu", "-q"},
           3, d.spec_error ? d.named : d.dir, run});
    const fs::path cache = tmp / ("cache-" + d.dir);
    if (d.spec_error) {
      check({{"dataset", "check", bad(d.dir), "--no-images", "-q"}, 3, d.named, {}});
      check({{"dataset", "cache", bad(d.dir), "--size", "32", "--cache-dir", cache.string(), "-q"}, 3, d.named, cache});
    }
  }
  // Bad covers are skipped by the cache with a warning naming each (documented:
  // exit 0), and the cache file it writes is complete.
  const fs::path cache = tmp / "cache-absurd";
  check({{"dataset", "cache", bad("absurd_cover"), "--size", "32", "--cache-dir", cache.string()}, 0, "t1.jpg", {}});
  for (const auto& f : files_in(cache)) CHECK(f.find(".tmp") == std::string::npos);
}

TEST_CASE("bad model files: generate, evaluate and train --resume exit 3 naming the file",
          "[reliability][bad_input]") {
  ScratchDir tmp("bad-models");
  for (const char* m : {"empty.cvgn", "truncated.cvgn", "wrong_magic.cvgn", "wrong_version.cvgn", "bad_crc.cvgn",
                        "header_not_json.cvgn", "huge_header_length.cvgn", "bad_payload.cvgn", "garbage.mp3"}) {
    const fs::path out = tmp / (std::string("gen-") + m);
    check({{"generate", "--model", bad(m), "--out", out.string(), "-n", "1", "--device", "cpu", "-q"}, 3, m, out});
    check({{"evaluate", bad(m), "--data", good_dataset().string(), "--device", "cpu", "-q"}, 3, m, {}});
    // A run folder whose checkpoint is damaged: --resume refuses it by name.
    const fs::path run = tmp / (std::string("run-") + m);
    fs::create_directories(run);
    fs::copy_file(bad_dir() / m, run / "checkpoint.cvgn");
    check({{"train", "--data", good_dataset().string(), "--out", run.string(), "--resume", "--device", "cpu",
            "--image-size", "32", "--batch", "4", "-q"},
           3, "checkpoint.cvgn", {}});
    CHECK(files_in(run) == std::vector<std::string>{"checkpoint.cvgn"});  // untouched
    // The encoder commands read the same container.
    check({{"encode", "--encoder", bad(m), bad("truncated.mp3"), "-q"}, 3, m, {}});
    check({{"encoder", "eval", "--encoder", bad(m), "--data", good_dataset().string(), "-q"}, 3, m, {}});
  }
}

TEST_CASE("bad inputs to the encoder commands exit 3 naming the file", "[reliability][bad_input]") {
  ScratchDir tmp("bad-encoders");
  // A real (tiny) PCA encoder, so the audio and the dataset are what is bad.
  const fs::path enc = tmp / "pca.cvgn";
  {
    const ProcessResult r = run_process({kCli, "encoder", "fit", "--plugin", "pca", "--data", good_dataset().string(),
                                         "--out", enc.string(), "--dim", "2", "-q"},
                                        180s);
    INFO(r.describe() << "\n" << r.output);
    REQUIRE(r.exit_code == 0);
  }
  for (const char* f : {"empty.mp3", "garbage.mp3", "not_audio.wav", "truncated.wav", "does_not_exist.mp3"})
    check({{"encode", "--encoder", enc.string(), bad(f), "-q"}, 3, f, {}});
  for (const char* d : {"missing_columns", "bad_spec", "bad_json_spec"}) {
    const fs::path out = tmp / (std::string("fit-") + d);
    fs::create_directories(out);
    check({{"encoder", "fit", "--plugin", "pca", "--data", bad(d), "--out", (out / "e.cvgn").string(), "-q"}, 3, d,
           out});
    check({{"encoder", "eval", "--encoder", enc.string(), "--data", bad(d), "-q"}, 3, d, {}});
  }
  // An encoder given where a GAN run is expected, and the other way round.
  check({{"encode", "--encoder", (good_dataset() / "dataset.json").string(), bad("truncated.mp3"), "-q"}, 3,
         "dataset.json", {}});
}

TEST_CASE("bad plugins: plugins --inspect exits 2, a world-writable plugin is refused with how to override",
          "[reliability][bad_input]") {
  check({{"plugins", "--inspect", bad("not_a_plugin.so")}, 2, "not_a_plugin.so", {}});
  check({{"plugins", "--inspect", bad("garbage.mp3")}, 2, "garbage.mp3", {}});
  check({{"plugins", "--inspect", "no_such_plugin_xyz"}, 2, "no_such_plugin_xyz", {}});

  const fs::path built = fs::path(COVERGEN_TEST_PLUGIN_DIR_A) / "libcovergen_scale.so";
  REQUIRE(fs::exists(built));
  ScratchDir tmp("bad-plugins");
  const fs::path dir = tmp / "plugins";
  fs::create_directories(dir);
  ::chmod(dir.c_str(), 0755);
  const fs::path plugin = dir / "libcovergen_scale.so";
  fs::copy_file(built, plugin);
  ::chmod(plugin.c_str(), 0757);  // writable by others
  {
    const ProcessResult r = run_process({kCli, "plugins", "--inspect", plugin.string()}, 60s);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find(plugin.string()) != std::string::npos);
    CHECK(r.output.find("writable by other users") != std::string::npos);
    CHECK(r.output.find("--allow-untrusted-plugins") != std::string::npos);
    const ProcessResult ok = run_process({kCli, "--allow-untrusted-plugins", "plugins", "--inspect", plugin.string()}, 60s);
    INFO(ok.output);
    CHECK(ok.exit_code == 0);
  }
  ::chmod(plugin.c_str(), 0755);
  ::chmod(dir.c_str(), 0777);  // the folder writable by others
  {
    const ProcessResult r = run_process({kCli, "plugins", "--inspect", plugin.string()}, 60s);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("folder") != std::string::npos);
    CHECK(r.output.find("--allow-untrusted-plugins") != std::string::npos);
  }
  ::chmod(dir.c_str(), 0755);
}

TEST_CASE("bfloat16 precision without bf16 instructions is refused with exit 3, float32 still works",
          "[reliability][bad_input][cpu]") {
  ScratchDir tmp("bf16-guard");
  const fs::path run = tmp / "run";
  const ProcessResult t = run_process({kCli, "train", "--gan", "dcgan", "--data", good_dataset().string(), "--condition",
                                       "genre", "--out", run.string(), "--image-size", "32", "--batch", "4", "--steps",
                                       "1", "--device", "cpu", "-q"},
                                      300s);
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  // COVERGEN_CPU_ISA=avx2 stands for an AVX2 machine; DNNL_MAX_CPU_ISA=AVX2 limits oneDNN itself.
  for (const std::string env : {"COVERGEN_CPU_ISA=avx2", "DNNL_MAX_CPU_ISA=AVX2"}) {
    const fs::path out = tmp / ("out-" + env.substr(0, env.find('=')));
    const ProcessResult r =
        run_process({kCli, "generate", "--model", run.string(), "--genre", "ambient", "-n", "2", "--precision", "bfloat16",
                     "--device", "cpu", "--out", out.string(), "-q"},
                    120s, {env});
    INFO(env << ": " << r.describe() << "\n" << r.output);
    CHECK(r.exit_code == 3);
    CHECK(r.output.find("bfloat16 precision") != std::string::npos);
    CHECK(r.output.find("bf16") != std::string::npos);
    CHECK(r.output.find("frame #") == std::string::npos);
    CHECK(files_in(out).empty());
  }
  const fs::path out = tmp / "out-float32";
  const ProcessResult f = run_process({kCli, "generate", "--model", run.string(), "--genre", "ambient", "-n", "2",
                                       "--device", "cpu", "--out", out.string(), "-q"},
                                      120s, {"COVERGEN_CPU_ISA=avx2"});
  INFO(f.output);
  CHECK(f.exit_code == 0);
  CHECK_FALSE(files_in(out).empty());
  // --version says which machine it is, under the cap too
  const ProcessResult v = run_process({kCli, "--version"}, 60s, {"COVERGEN_CPU_ISA=avx2"});
  CHECK(v.exit_code == 0);
  const auto at = v.output.find("cpu features: ");
  REQUIRE(at != std::string::npos);
  const std::string features = v.output.substr(at, v.output.find('\n', at) - at);
  CHECK(features.find("avx512") == std::string::npos);  // the cap hides them (oneDNN/ATen keep their own)
  CHECK(v.output.find("bfloat16: unavailable: COVERGEN_CPU_ISA=avx2") != std::string::npos);
}
