// Crash safety (issue 10): `covergen features --out STORE` and `covergen train` are
// killed with SIGKILL at random points, many times; after every kill everything
// already finished must be intact (every visible store record readable and equal
// to a clean run's; the last checkpoint and generator load), and a rerun (or
// --resume) must complete.
//
// Sizes keep it CI-sized (~1 min on 2 cores): 12 two-second clips, a 32px DCGAN
// with 16 filters. COVERGEN_KILLS_FEATURES / COVERGEN_KILLS_TRAIN override the
// kill counts (50 / 20); COVERGEN_KILL_SEED the random seed (printed).
#include "process.hpp"

#include <covergen/audio/store.hpp>
#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>

#include <ATen/ATen.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using covergen::test::Process;
using covergen::test::ProcessResult;
using covergen::test::run_process;
using covergen::test::ScratchDir;

namespace {

const std::string kCli = COVERGEN_CLI;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

std::mt19937_64& rng() {
  static std::mt19937_64 r = [] {
    const auto seed = static_cast<std::uint64_t>(
        env_int("COVERGEN_KILL_SEED", static_cast<int>(std::random_device{}() & 0x7fffffff)));
    std::printf("kill test seed: COVERGEN_KILL_SEED=%llu\n", static_cast<unsigned long long>(seed));
    return std::mt19937_64(seed);
  }();
  return r;
}

// A small synthetic dataset (12 mp3 clips of 2 s, 64px covers), made once per process.
const fs::path& dataset() {
  static ScratchDir dir("kill-data");
  static const fs::path ds = [] {
    const fs::path p = dir / "ds";
    auto r = run_process({kCli, "dataset", "synth", "--out", p.string(), "--genres", "2", "--per-genre", "6",
                          "--seconds", "2", "--cover-size", "64", "-q"},
                         120s);
    INFO(r.output);
    REQUIRE(r.exited);
    REQUIRE(r.exit_code == 0);
    return p;
  }();
  return ds;
}

// Everything of a record, as bytes, for exact comparison.
std::string record_bytes(const covergen::audio::TrackView& v) {
  std::string s = v.key + '\0' + v.source + '\0';
  auto add = [&](const void* p, std::size_t n) { s.append(static_cast<const char*>(p), n); };
  add(v.summary, sizeof(float) * v.n_summary);
  add(v.frames, sizeof(float) * v.n_frames * v.n_features);
  add(v.log_mel, sizeof(std::uint16_t) * v.n_mels * v.n_frames);
  add(v.beats, sizeof(std::int32_t) * v.n_beats);
  add(&v.tempo, sizeof v.tempo);
  return s;
}

std::map<std::string, std::string> read_store(const fs::path& dir) {
  std::map<std::string, std::string> out;
  auto store = covergen::audio::FeatureStore::open(dir);
  for (const auto& k : store.keys()) out[k] = record_bytes(store.read(k));
  return out;
}

std::vector<std::string> features_cmd(const fs::path& store) {
  return {kCli, "features", dataset().string(), "--out", store.string(), "-j", "2", "-q"};
}

// Starts `cmd`, waits until `marker` exists (or the process ends), returns the
// seconds from start to the marker and to the end: where the interesting part runs.
std::pair<double, double> timed_clean_run(const std::vector<std::string>& cmd, const fs::path& marker,
                                          const fs::path& log) {
  const auto t0 = std::chrono::steady_clock::now();
  Process p(cmd, log);
  double t_marker = -1;
  while (p.running()) {
    if (t_marker < 0 && fs::exists(marker))
      t_marker = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::this_thread::sleep_for(2ms);
  }
  ProcessResult r = p.wait(1s);
  INFO(r.output);
  REQUIRE(r.exited);
  REQUIRE(r.exit_code == 0);
  if (t_marker < 0) t_marker = 0;
  return {t_marker, r.seconds};
}

// Kills `cmd` after a uniform random delay in [lo, hi] s; returns whether it died by the kill.
bool run_and_kill(const std::vector<std::string>& cmd, double lo, double hi, const fs::path& log) {
  std::uniform_real_distribution<double> u(lo, hi);
  const auto delay = std::chrono::duration<double>(u(rng()));
  Process p(cmd, log);
  const auto t0 = std::chrono::steady_clock::now();
  while (p.running() && std::chrono::steady_clock::now() - t0 < delay) std::this_thread::sleep_for(1ms);
  const bool killed = p.running();
  p.kill(SIGKILL);
  ProcessResult r = p.wait(120s);
  if (!killed) {  // finished before the kill: it must have succeeded
    INFO(r.output);
    REQUIRE(r.exited);
    REQUIRE(r.exit_code == 0);
  }
  return killed;
}

}  // namespace

TEST_CASE("kill -9 during covergen features --out never damages the store", "[reliability]") {
  ScratchDir tmp("kill-features");
  const fs::path log = tmp / "run.log";
  // The clean run: the reference records, and when the store appears / the run ends.
  const fs::path clean = tmp / "clean";
  // Twice: the first run warms the page cache (torch's libraries), the second is timed.
  timed_clean_run(features_cmd(tmp / "warmup"), tmp / "warmup" / "store.json", log);
  const auto [t_store, t_end] = timed_clean_run(features_cmd(clean), clean / "store.json", log);
  const auto reference = read_store(clean);
  REQUIRE(reference.size() == 12);

  const int kills = env_int("COVERGEN_KILLS_FEATURES", 50);
  const fs::path store = tmp / "store";
  int killed = 0, partial = 0, resets = 0, runs = 0;
  // Until `kills` runs were really killed mid-way (bounded: a run may finish first).
  for (int i = 0; killed < kills && i < 3 * kills; ++i, ++runs) {
    // Aim at the extraction itself (the store exists from t_store on), plus a margin.
    killed += run_and_kill(features_cmd(store), 0.5 * t_store, t_end, log);
    if (!fs::exists(store / "store.json")) continue;  // killed before anything was written
    std::map<std::string, std::string> got;
    INFO("after kill " << i);
    REQUIRE_NOTHROW(got = read_store(store));
    for (const auto& [k, bytes] : got) {
      INFO("record " << k);
      REQUIRE(reference.count(k));
      REQUIRE(bytes == reference.at(k));
    }
    if (!got.empty() && got.size() < reference.size()) ++partial;
    if (got.size() == reference.size()) {  // complete: start over so kills keep hitting extraction
      fs::remove_all(store);
      ++resets;
    }
  }
  std::printf("features: %d runs, %d killed mid-run, %d partial stores checked, %d completed\n", runs, killed,
              partial, resets);
  CHECK(killed == kills);

  // A last kill, then the rerun must complete and give the clean run's records.
  run_and_kill(features_cmd(store), 0.8 * t_store, t_end, log);
  ProcessResult r = run_process(features_cmd(store), 300s);
  INFO(r.output);
  REQUIRE(r.exited);
  REQUIRE(r.exit_code == 0);
  REQUIRE(read_store(store) == reference);
  for (const auto& e : fs::directory_iterator(store))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("a store folder left by a kill during its creation is taken over", "[reliability]") {
  // Found by the kill test: killed between mkdir and the manifest's rename, the
  // folder held only store.json.tmp.<pid> and every rerun refused it as "not empty".
  ScratchDir tmp("store-creation");
  const fs::path dir = tmp / "store";
  fs::create_directories(dir);
  { std::ofstream(dir / "store.json.tmp.12345") << "{\"format\": \"covergen-fea"; }
  covergen::audio::StoreLayout layout;
  layout.frame_features = {"a"};
  layout.summary = {"b"};
  REQUIRE_NOTHROW(covergen::audio::FeatureStore::open_or_create(dir, layout));
  CHECK(fs::exists(dir / "store.json"));
  CHECK_FALSE(fs::exists(dir / "store.json.tmp.12345"));
  // Anything else in the folder is still refused.
  const fs::path other = tmp / "other";
  fs::create_directories(other);
  { std::ofstream(other / "notes.txt") << "mine"; }
  CHECK_THROWS_AS(covergen::audio::FeatureStore::open_or_create(other, layout), covergen::InputError);
}

namespace {

constexpr int kSteps = 16, kEvery = 2;

std::vector<std::string> train_cmd(const fs::path& run, bool resume) {
  std::vector<std::string> c = {kCli, "train", "--data", dataset().string(), "--out", run.string(),
                                "--image-size", "32", "--batch", "8", "--steps", std::to_string(kSteps),
                                "--checkpoint-every", std::to_string(kEvery), "--sample-every", "4",
                                "--gan-config", R"({"ngf":16,"ndf":16})", "--device", "cpu", "--threads", "1",
                                "--seed", "7", "-q"};
  if (resume) c.push_back("--resume");
  return c;
}

// The checkpoint (and generator) in `run` load completely; returns the checkpoint's step (-1: none yet).
std::int64_t check_run(const fs::path& run) {
  std::int64_t step = -1;
  if (fs::exists(run / "checkpoint.cvgn")) {
    covergen::ModelHeader h;
    covergen::NamedTensors t;
    REQUIRE_NOTHROW(t = covergen::read_model_file(run / "checkpoint.cvgn", &h));
    REQUIRE(h.kind == "checkpoint");
    REQUIRE(!t.empty());
    step = nlohmann::json::parse(h.meta_json).at("step").get<std::int64_t>();
    REQUIRE(step > 0);
    REQUIRE(step <= kSteps);
    REQUIRE((step % kEvery == 0 || step == kSteps));
  }
  if (fs::exists(run / "generator.cvgn")) {
    covergen::ModelHeader h;
    REQUIRE_NOTHROW(covergen::read_model_file(run / "generator.cvgn", &h));
    REQUIRE(h.kind == "generator");
  }
  if (fs::exists(run / "samples"))
    for (const auto& e : fs::directory_iterator(run / "samples"))
      if (e.path().extension() == ".png") {
        INFO(e.path());
        REQUIRE(!cv::imread(e.path().string()).empty());
      }
  return step;
}

}  // namespace

TEST_CASE("kill -9 during covergen train always leaves a loadable checkpoint, and --resume completes",
          "[reliability]") {
  ScratchDir tmp("kill-train");
  const fs::path log = tmp / "run.log";
  const fs::path clean = tmp / "clean";
  const auto [t_ckpt, t_end] = timed_clean_run(train_cmd(clean, false), clean / "checkpoint.cvgn", log);
  REQUIRE(check_run(clean) == kSteps);

  const int kills = env_int("COVERGEN_KILLS_TRAIN", 20);
  const fs::path run = tmp / "run";
  int killed = 0, resumed = 0, completed = 0, runs = 0;
  std::int64_t last_step = -1;
  for (int i = 0; killed < kills && i < 3 * kills; ++i, ++runs) {
    const bool resume = fs::exists(run / "checkpoint.cvgn");
    resumed += resume;
    // From a little before the first checkpoint to the end of a whole run (a
    // resumed run has fewer steps left: aim at its shorter remainder).
    const double hi = resume ? t_ckpt + (t_end - t_ckpt) * double(kSteps - std::max<std::int64_t>(last_step, 0)) / kSteps
                             : t_end;
    killed += run_and_kill(train_cmd(run, resume), 0.7 * t_ckpt, std::max(hi, 0.7 * t_ckpt + 0.05), log);
    INFO("after kill " << i);
    const std::int64_t step = check_run(run);
    if (resume) REQUIRE(step >= last_step);  // a resumed run never goes back
    last_step = step;
    if (step == kSteps) {  // finished: start a fresh run
      fs::remove_all(run);
      last_step = -1;
      ++completed;
    }
  }
  std::printf("train: %d runs (%d resumed), %d killed mid-run, %d completed\n", runs, resumed, killed, completed);
  CHECK(killed == kills);

  // A final kill after the first checkpoint, then --resume must finish the run.
  while (!fs::exists(run / "checkpoint.cvgn")) {
    ProcessResult r = run_process(train_cmd(run, false), 300s);
    REQUIRE(r.exit_code == 0);
  }
  ProcessResult r = run_process(train_cmd(run, true), 300s);
  INFO(r.output);
  REQUIRE(r.exited);
  REQUIRE(r.exit_code == 0);
  REQUIRE(check_run(run) == kSteps);

  // Resume is exact for the real DCGAN through the CLI: the run that was killed and
  // resumed ends with the clean run's weights and logs the clean run's losses.
  covergen::NamedTensors a = covergen::read_model_file(clean / "checkpoint.cvgn");
  covergen::NamedTensors b = covergen::read_model_file(run / "checkpoint.cvgn");
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    REQUIRE(a[i].first == b[i].first);
    if (a[i].second.is_floating_point())
      CHECK((a[i].second - b[i].second).abs().max().item<double>() <= 1e-6);
    else
      CHECK(a[i].second.equal(b[i].second));
  }
  auto losses = [](const fs::path& file) {
    std::vector<double> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      for (auto it = j.begin(); it != j.end(); ++it)
        if (it.key() != "images_per_second" && it.value().is_number()) out.push_back(it.value().get<double>());
    }
    return out;
  };
  const auto la = losses(clean / "log.jsonl"), lb = losses(run / "log.jsonl");
  REQUIRE(la.size() == lb.size());
  for (std::size_t i = 0; i < la.size(); ++i) CHECK(lb[i] == Approx(la[i]).margin(1e-6));
}
