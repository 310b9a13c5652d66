// covergen evaluate RUN [--data DATASET] [--json] [-n 4] [--seed S] [--features inception.pt]
// Measures a trained run against its dataset's real covers (docs/evaluation.md;
// libs/eval's evaluate_run): conditioning fidelity, FID/KID overall and per genre,
// diversity, memorisation, attribute <-> pixel-statistic correlations, colour clusters.
#include "cli.hpp"
#include "evaluation.hpp"

#include <covergen/plugin_registry.hpp>

#include <cstdio>
#include <iostream>

namespace covergen::cli {

void add_evaluation_options(CLI::App& cmd, eval::EvaluationOptions& o) {
  cmd.add_option("run", o.run, "Run folder or generator file")->required();
  cmd.add_option("--data", o.data_dir, "Dataset (default: the one the run was trained on)");
  cmd.add_option("-n", o.per_track, "Covers generated per test track")->capture_default_str();
  cmd.add_option("--features", o.features,
                 "TorchScript feature network for FID/KID (input [N,3,299,299] in [-1,1], output [N,D]); "
                 "default: the built-in judge features");
  cmd.add_option("--kid-subsets", o.kid_subsets, "Random subsets averaged for KID")->capture_default_str();
  cmd.add_option("--classifier-epochs", o.classifier_epochs, "Epochs for the cover genre classifier")->capture_default_str();
  cmd.add_option("--seed", o.seed, "Seed")->capture_default_str();
  cmd.add_option("--threads", o.threads, "Threads for preprocessing, audio features and t-SNE (0 = all)");
  cmd.add_option("--device", o.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
}

nlohmann::json evaluate(const eval::EvaluationOptions& o, const CommonOptions& common, eval::EvaluationPictures* pictures) {
  return eval::evaluate_run(o, make_registry(), pictures, [&](const std::string& line) { log(common, line); });
}

namespace {

void run(const eval::EvaluationOptions& o, const CommonOptions& common) {
  const nlohmann::json out = evaluate(o, common, nullptr);
  if (common.json) {
    std::cout << out.dump(2) << '\n';
    return;
  }
  std::printf("conditioning fidelity  %.3f +- %.3f  (covers for %zu test tracks, %lld each; +- one standard error)\n",
              out["fidelity"].get<double>(), out["fidelity_se"].get<double>(), out["test_tracks"].get<std::size_t>(),
              static_cast<long long>(o.per_track));
  std::printf("shuffled conditions    %.3f +- %.3f  (floor; chance %.3f)\n", out["fidelity_shuffled"].get<double>(),
              out["fidelity_shuffled_se"].get<double>(), out["chance"].get<double>());
  std::printf("judge on real covers   %.3f  (ceiling)\n", out["classifier_real_test_accuracy"].get<double>());
  const auto& d = out["distribution"];
  std::printf("FID                    %.3f  (real test covers: %.3f)\n", out["fid"].get<double>(),
              d["real_test"]["fid"].get<double>());
  std::printf("KID                    %.5f +- %.5f  (real test covers: %.5f +- %.5f)\n", out["kid"].get<double>(),
              out["kid_std"].get<double>(), d["real_test"]["kid"].get<double>(), d["real_test"]["kid_std"].get<double>());
  std::printf("per-genre FID (mean)   %.3f  (shuffled conditions: %.3f, real test: %.3f)\n",
              d["per_genre_mean"]["fid"].get<double>(), d["per_genre_mean_shuffled"]["fid"].get<double>(),
              d["per_genre_mean_real_test"]["fid"].get<double>());
  std::printf("diversity              %.3f  (real: %.3f)\n", out["diversity"]["generated"].get<double>(),
              out["diversity"]["real"].get<double>());
  std::printf("nearest-train median   %.3f  (real test: %.3f)\n",
              out["memorisation"]["generated_to_train"]["median"].get<double>(),
              out["memorisation"]["real_test_to_train"]["median"].get<double>());
  std::printf("colour-cluster purity  %.3f  (real covers; %.3f if clusters ignored genre)\n",
              out["clusters"]["real"]["purity"].get<double>(), out["clusters"]["real"]["purity_if_unrelated"].get<double>());
  std::printf("features: %s\n", out["feature_extractor"].get<std::string>().c_str());
}

void setup(CLI::App& root) {
  auto o = std::make_shared<eval::EvaluationOptions>();
  auto common = std::make_shared<CommonOptions>();
  auto* cmd = root.add_subcommand("evaluate", "Measure a trained model: fidelity, FID/KID, diversity, memorisation");
  add_evaluation_options(*cmd, *o);
  add_common_options(*cmd, *common);
  cmd->callback([o, common] { run(*o, *common); });
}

}  // namespace
}  // namespace covergen::cli

COVERGEN_COMMAND("evaluate", covergen::cli::setup);
