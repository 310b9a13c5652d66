// `covergen train --condition ENCODER.cvgn` and `covergen generate --model RUN TRACK`
// for a model conditioned on a fitted music encoder, end to end through the CLI:
// the run keeps a byte-identical copy of the encoder, the conditions are Φ(track)
// standardised with the training tracks' statistics (PCA centres its outputs on the
// same training split, so the stored mean is zero: a known answer), tracks give
// covers, and --genre is refused with exit 3.
#include "process.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/model_file.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cmath>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using covergen::test::ProcessResult;
using covergen::test::run_process;
using covergen::test::ScratchDir;

namespace {
const std::string kCli = COVERGEN_CLI;

ProcessResult cli(std::vector<std::string> args, int expect = 0) {
  args.insert(args.begin(), kCli);
  ProcessResult r = run_process(args, 300s);
  INFO(r.describe() << "\n" << r.output);
  REQUIRE(r.exited);
  REQUIRE(r.exit_code == expect);
  return r;
}
}  // namespace

TEST_CASE("a GAN conditioned on a fitted encoder trains and generates from tracks", "[cli][encoder_condition]") {
  ScratchDir tmp("encoder-condition");
  const fs::path ds = tmp / "ds", enc = tmp / "pca.cvgn", run = tmp / "run", out = tmp / "covers";
  cli({"dataset", "synth", "--out", ds.string(), "--genres", "2", "--per-genre", "6", "--seconds", "2",
       "--cover-size", "64", "-q"});
  cli({"encoder", "fit", "--plugin", "pca", "--data", ds.string(), "--out", enc.string(), "--dim", "3", "-q"});
  cli({"train", "--data", ds.string(), "--condition", enc.string(), "--out", run.string(), "--image-size", "32",
       "--batch", "4", "--steps", "3", "--gan-config", R"({"ngf":8,"ndf":8})", "--device", "cpu", "-q"});

  // The run's own copy of the encoder, byte for byte.
  REQUIRE(fs::exists(run / "encoder.cvgn"));
  CHECK(covergen::read_file(run / "encoder.cvgn") == covergen::read_file(enc));

  covergen::ModelHeader h;
  covergen::read_model_file(run / "generator.cvgn", &h);
  const auto meta = nlohmann::json::parse(h.meta_json).at("condition");
  INFO(meta.dump());
  CHECK(meta.at("mode") == "encoder");
  CHECK(meta.at("encoder") == "encoder.cvgn");
  CHECK(meta.at("plugin") == "pca");
  const auto mean = meta.at("mean").get<std::vector<double>>();
  const auto stdv = meta.at("std").get<std::vector<double>>();
  REQUIRE(mean.size() == 3);
  REQUIRE(stdv.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(stdv[i] > 0);
    CHECK(std::abs(mean[i]) <= 1e-4 * stdv[i]);  // PCA outputs are centred on the training split
  }

  const fs::path track = ds / "audio" / "ambient-00000.mp3";
  REQUIRE(fs::exists(track));
  cli({"generate", "--model", run.string(), track.string(), "-n", "2", "--out", out.string(), "--device", "cpu", "-q"});
  int pngs = 0;
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().extension() == ".png") {
      const cv::Mat img = cv::imread(e.path().string());
      REQUIRE(!img.empty());
      ++pngs;
    }
  CHECK(pngs >= 2);

  // The wrong kind of input is named, exit code 3.
  const fs::path out2 = tmp / "covers2";
  const ProcessResult bad = cli({"generate", "--model", run.string(), "--genre", "ambient", "--out", out2.string(),
                                 "-q"}, 3);
  CHECK(bad.output.find("music encoder (pca); give audio files") != std::string::npos);
}
