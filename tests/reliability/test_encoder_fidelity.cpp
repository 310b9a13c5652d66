// A GAN conditioned on the music itself (a fitted PCA encoder over the audio
// summary, `train --condition pca.cvgn`) follows the music: `covergen evaluate`
// judges its covers for held-out tracks as the tracks' genres far more often than
// covers made from the same tracks' conditions shuffled among them, by a margin
// that the per-track spread of both figures cannot explain. The conditions of the
// held-out tracks are computed from their audio by the same code `covergen
// generate TRACK` runs (generate::RunCondition::for_dataset). Small data (three
// genres, 32 px, 40% of the tracks held out) keeps it CI-sized; the full table is an experiment in
// docs/training.md.
#include "process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using covergen::test::ProcessResult;
using covergen::test::run_process;
using covergen::test::ScratchDir;
using nlohmann::json;

namespace {
const std::string kCli = COVERGEN_CLI;

ProcessResult cli(std::vector<std::string> args) {
  args.insert(args.begin(), kCli);
  ProcessResult r = run_process(args, 600s);
  INFO(r.describe() << "\n" << r.output);
  REQUIRE(r.exited);
  REQUIRE(r.exit_code == 0);
  return r;
}
}  // namespace

TEST_CASE("an encoder-conditioned GAN scores above its shuffled floor by more than the spread", "[cli][evaluate]") {
  ScratchDir tmp("encoder-fidelity");
  const fs::path data = tmp / "data", enc = tmp / "pca.cvgn", run = tmp / "run";
  cli({"dataset", "synth", "--out", data.string(), "--genres", "3", "--per-genre", "60", "--seconds", "2",
       "--cover-size", "64", "--seed", "5", "-q"});
  {
    // 40% of the tracks held out (about 70): the fidelity's spread is over test tracks.
    std::ifstream in(data / "dataset.json");
    json spec = json::parse(in);
    spec["split"] = {{"val", 0.1}, {"test", 0.4}};
    std::ofstream(data / "dataset.json") << spec.dump(2);
  }
  cli({"encoder", "fit", "--plugin", "pca", "--data", data.string(), "--out", enc.string(), "--dim", "4", "-q"});
  cli({"train", "--gan", "dcgan", "--data", data.string(), "--condition", enc.string(), "--image-size", "32",
       "--batch", "32", "--steps", "600", "--gan-config", R"({"ngf":16,"ndf":16})", "--seed", "0",
       "--checkpoint-every", "1000", "--sample-every", "1000", "--device", "cpu", "--out", run.string(), "-q"});
  const ProcessResult r = cli({"evaluate", run.string(), "--data", data.string(), "-n", "8", "--classifier-epochs",
                               "10", "--kid-subsets", "20", "--seed", "0", "--device", "cpu", "--json", "-q"});
  json j = json::parse(r.output.substr(r.output.find('{')));
  if (j.contains("metrics")) j = j.at("metrics");
  INFO(j.dump());
  REQUIRE(j.at("condition") == "encoder");
  const double fid = j.at("fidelity"), shuf = j.at("fidelity_shuffled");
  const double se = j.at("fidelity_se"), se_shuf = j.at("fidelity_shuffled_se");
  const double chance = j.at("chance");
  // The judge can tell the genres apart on real covers, or the test means nothing.
  CHECK(j.at("classifier_real_test_accuracy").get<double>() > 0.9);
  // Above the floor by more than three standard errors of the difference.
  CHECK(fid - shuf > 3.0 * std::sqrt(se * se + se_shuf * se_shuf));
  // The floor is what a generator that ignores its condition scores: about chance.
  CHECK(std::abs(shuf - chance) < 0.25);
  CHECK(se > 0.0);
}
