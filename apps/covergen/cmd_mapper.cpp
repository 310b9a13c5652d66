// covergen mapper fit --encoder MODEL --generator G --data DATASET --out MAPPER
//   [--features STORE] [--seed S] [--permutations P] [-j N] [--json]
// Learns the music -> latent map for an unconditional generator (docs/latent.md):
// Φ(track) from the encoder, fitted on the dataset's train split, checked on the
// held-out split (test, else val) with an MMD two-sample test against N(0, I) and the
// Spearman correlation of pairwise distances in Φ-space and latent space.
#include "cli.hpp"

#include <covergen/latent/fit_mapper.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

using nlohmann::json;

namespace {

struct MapperFitCli {
  covergen::cli::CommonOptions common;
  covergen::latent::MapperFitOptions fit;
};

void run_fit(MapperFitCli& o) {
  o.fit.progress = covergen::cli::shows_progress(o.common);
  const json meta = json::parse(
      covergen::latent::fit_mapper(o.fit, covergen::cli::make_registry(), covergen::cli::logger(o.common)));
  if (o.common.json) {
    json out = meta;
    out["schema_version"] = 1;
    out["out"] = o.fit.out;
    std::cout << out.dump(2) << '\n';
    return;
  }
  for (const auto& [split, r] : meta["evaluation"].items()) {
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "%s (%lld tracks): MMD^2 %.5f vs N(0,I), permutation p = %.3f (N(0,I) vs N(0,I): %.5f); "
                  "distance rank correlation %.3f (linear whitening alone: %.3f)",
                  split.c_str(), static_cast<long long>(r["tracks"].get<std::int64_t>()), r["mmd2"].get<double>(),
                  r["mmd2_p_value"].get<double>(), r["mmd2_reference_gaussian"].get<double>(),
                  r["distance_rank_correlation"].get<double>(),
                  r["distance_rank_correlation_whitened_pca"].get<double>());
    covergen::cli::log(o.common, std::string("covergen: ") + buf);
  }
  std::cout << o.fit.out << '\n';
}

void setup(CLI::App& root) {
  auto* grp = root.add_subcommand("mapper", "Map music embeddings to an unconditional generator's latent space");
  grp->require_subcommand(1);
  auto o = std::make_shared<MapperFitCli>();
  auto* fit = grp->add_subcommand("fit", "Fit a music -> latent mapper (PCA whitening, Gaussianisation)");
  fit->add_option("--encoder", o->fit.encoder, "Encoder model file (from covergen encoder fit)")->required();
  fit->add_option("--generator", o->fit.generator, "Unconditional generator: run folder, generator.cvgn or FILE.pt")->required();
  fit->add_option("--data", o->fit.data_dir, "Dataset folder (or its dataset.json)")->required();
  fit->add_option("--out", o->fit.out, "Mapper file to write")->required();
  fit->add_option("--features", o->fit.features, "Feature store (default <dataset>/.covergen-cache/features)");
  fit->add_option("--seed", o->fit.seed, "Seed (random features, test samples)")->capture_default_str();
  fit->add_option("--permutations", o->fit.permutations, "Permutations for the MMD p-value")->capture_default_str();
  fit->add_option("-j,--threads", o->fit.threads, "Feature extraction threads (0 = all cores)");
  covergen::cli::add_common_options(*fit, o->common);
  fit->callback([o] { run_fit(*o); });
}

}  // namespace

COVERGEN_COMMAND("mapper", setup);
