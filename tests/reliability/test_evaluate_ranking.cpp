// `covergen evaluate` ranks models the way the evaluation issue asks, end to end on
// small data: FID and KID put a genre-conditioned DCGAN trained for 600
// steps above the same model after one step, and the per-genre FID/KID of the
// trained model (each genre's covers against that genre's real test covers) above
// the same model with its conditions shuffled. Two genres of the synthetic set at
// 32 px keep it to a CI-sized run; the full-sized figures are an experiment in
// docs/evaluation.md.
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

json train_and_evaluate(const fs::path& data, const fs::path& run, int steps) {
  cli({"train", "--gan", "dcgan", "--data", data.string(), "--condition", "genre", "--image-size", "32", "--batch",
       "32", "--steps", std::to_string(steps), "--gan-config", R"({"ngf":16,"ndf":16})", "--seed", "0",
       "--checkpoint-every", "1000", "--sample-every", "1000", "--device", "cpu", "--out", run.string(), "-q"});
  const ProcessResult r = cli({"evaluate", run.string(), "--data", data.string(), "-n", "8", "--classifier-epochs",
                               "10", "--kid-subsets", "50", "--seed", "0", "--device", "cpu", "--json", "-q"});
  json j = json::parse(r.output.substr(r.output.find('{')));
  return j.contains("metrics") ? j.at("metrics") : j;
}
}  // namespace

TEST_CASE("FID and KID rank a trained model above an untrained one and above shuffled conditions",
          "[cli][evaluate]") {
  ScratchDir tmp("evaluate-ranking");
  const fs::path data = tmp / "data";
  cli({"dataset", "synth", "--out", data.string(), "--genres", "2", "--per-genre", "60", "--seconds", "1",
       "--cover-size", "64", "--seed", "3", "-q"});
  const json trained = train_and_evaluate(data, tmp / "trained", 600);
  const json untrained = train_and_evaluate(data, tmp / "untrained", 1);
  INFO("trained: " << trained.dump() << "\nuntrained: " << untrained.dump());

  // Trained above untrained: lower FID, and lower KID by more than both spreads.
  const double fid_t = trained.at("fid"), fid_u = untrained.at("fid");
  const double kid_t = trained.at("kid"), kid_u = untrained.at("kid");
  const double kid_std_t = trained.at("kid_std"), kid_std_u = untrained.at("kid_std");
  CHECK(fid_t < fid_u);
  CHECK(kid_t + kid_std_t + kid_std_u < kid_u);

  // Conditioned above shuffled: each genre's covers are nearer that genre's real
  // covers than covers made for the other genre's tracks are.
  const json& dist = trained.at("distribution");
  const double pg_fid = dist.at("per_genre_mean").at("fid"), pg_fid_shuf = dist.at("per_genre_mean_shuffled").at("fid");
  const double pg_kid = dist.at("per_genre_mean").at("kid"), pg_kid_shuf = dist.at("per_genre_mean_shuffled").at("kid");
  CHECK(pg_fid < pg_fid_shuf);
  CHECK(pg_kid < pg_kid_shuf);
  // An untrained generator ignores its condition: shuffling changes nothing much.
  const json& dist_u = untrained.at("distribution");
  const double pg_fid_u = dist_u.at("per_genre_mean").at("fid");
  const double pg_fid_u_shuf = dist_u.at("per_genre_mean_shuffled").at("fid");
  CHECK(std::abs(pg_fid_u - pg_fid_u_shuf) < 0.1 * (pg_fid_shuf - pg_fid));
}

// A GAN conditioned on the music itself (a fitted PCA encoder over the audio
// summary, `train --condition pca.cvgn`) follows the music: `covergen evaluate`
// judges its covers for held-out tracks as the tracks' genres far more often than
// covers made from the same tracks' conditions shuffled among them, by a margin
// that the per-track spread of both figures cannot explain. The conditions of the
// held-out tracks are computed from their audio by the same code `covergen
// generate TRACK` runs (generate::RunCondition::for_dataset). Small data (three
// genres, 32 px, 40% of the tracks held out) keeps it CI-sized; the full table is
// an experiment in docs/training.md.
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
