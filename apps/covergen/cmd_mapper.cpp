// covergen mapper fit --encoder MODEL --generator G --data DATASET --out MAPPER
//   [--features STORE] [--seed S] [--permutations P] [-j N] [--json]
// Learns the music -> latent map for an unconditional generator (docs/latent.md):
// Φ(track) from the encoder, fitted on the dataset's train split, checked on the
// held-out split (test, else val) with an MMD two-sample test against N(0, I) and the
// Spearman correlation of pairwise distances in Φ-space and latent space.
#include "cli.hpp"

#include <covergen/data/dataset.hpp>
#include <covergen/errors.hpp>
#include <covergen/generate/encoder_inputs.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/latent/mapper.hpp>
#include <covergen/model_file.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace fs = std::filesystem;
namespace data = covergen::data;
using nlohmann::json;

namespace {

struct MapperFitCli {
  covergen::cli::CommonOptions common;
  std::string encoder, generator, data_dir, out, features;
  std::uint64_t seed = 0;
  std::int64_t permutations = 1000;
  int threads = 0;
};

std::vector<std::string> split_keys(const data::Dataset& ds, const covergen::audio::FeatureStore& store, data::Split s) {
  std::vector<std::string> keys;
  for (std::size_t i : ds.indices(s))
    if (store.contains(ds.tracks()[i].id)) keys.push_back(ds.tracks()[i].id);
  return keys;
}

// MMD against a seeded N(0, I) sample of the same size, and the distance rank correlation
// (on at most 1000 tracks: the pairs grow quadratically).
json evaluate(const covergen::latent::LatentMapper& m, const at::Tensor& phi, std::int64_t permutations,
              std::uint64_t seed) {
  const auto n = std::min<std::int64_t>(phi.size(0), 1000);
  const auto p = phi.narrow(0, 0, n);
  const auto z = m.map(p);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed + 101);
  const auto ref = at::randn({n, m.latent_dim()}, gen);
  const auto t = covergen::latent::mmd_test(z, ref, permutations, seed + 202);
  const auto null = covergen::latent::mmd_test(at::randn({n, m.latent_dim()}, gen), ref, 0);
  return json{{"tracks", n},
              {"mmd2", t.mmd2},
              {"mmd2_p_value", t.p_value},
              {"mmd_bandwidth", t.bandwidth},
              {"mmd_permutations", t.permutations},
              {"mmd2_reference_gaussian", null.mmd2},
              {"distance_rank_correlation", covergen::latent::distance_rank_correlation(p, z)},
              {"distance_rank_correlation_whitened_pca", covergen::latent::distance_rank_correlation(p, m.whiten(p))},
              {"latent_mean_abs_max", z.mean(0).abs().max().item<double>()},
              {"latent_norm_mean", z.norm(2, 1).mean().item<double>()},
              {"latent_norm_expected", std::sqrt(static_cast<double>(m.latent_dim()))}};
}

void run_fit(const MapperFitCli& o) {
  if (o.permutations < 0 || o.permutations > 100000) throw covergen::InputError("--permutations must be in [0, 100000]");
  const auto t0 = std::chrono::steady_clock::now();
  auto registry = covergen::cli::make_registry();
  auto gen = covergen::generate::load_generator(o.generator, registry);
  if (gen->condition_dim() != 0)
    throw covergen::InputError(o.generator, "is a conditional generator (condition_dim " +
                                                std::to_string(gen->condition_dim()) +
                                                "); a mapper is for unconditional generators, whose z alone decides the cover");
  auto encoder = covergen::load_encoder(o.encoder, registry);
  auto ds = data::Dataset::open(o.data_dir);
  for (const auto& bad : ds.bad_rows()) covergen::cli::log(o.common, "covergen: skipped " + bad.to_string());
  const fs::path store_dir = o.features.empty() ? covergen::generate::default_feature_store(ds) : fs::path(o.features);
  auto store = covergen::generate::ensure_features(ds, store_dir, o.threads, covergen::cli::logger(o.common),
                                                  covergen::cli::shows_progress(o.common));
  const auto train = split_keys(ds, store, data::Split::train);
  auto held = split_keys(ds, store, data::Split::test);
  std::string held_name = "test";
  if (held.empty()) {
    held = split_keys(ds, store, data::Split::val);
    held_name = "val";
  }
  if (train.size() < 3) throw covergen::InputError(o.data_dir, "fewer than 3 training tracks with features");
  covergen::cli::log(o.common, "covergen: encoding " + std::to_string(train.size() + held.size()) + " tracks with " +
                                   encoder->plugin_name() + " (dim " + std::to_string(encoder->dim()) + ")");
  const auto phi_train = covergen::generate::encode_keys(*encoder, store, train);
  const auto phi_held = held.empty() ? at::Tensor() : covergen::generate::encode_keys(*encoder, store, held);
  auto mapper = covergen::latent::LatentMapper::fit(phi_train, gen->latent_dim(), o.seed);
  json report{{"train", evaluate(mapper, phi_train, o.permutations, o.seed)}};
  if (phi_held.defined() && phi_held.size(0) >= 3) report[held_name] = evaluate(mapper, phi_held, o.permutations, o.seed);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  json meta{{"generator", fs::absolute(o.generator).string()},
            {"generator_plugin", gen->plugin_name()},
            {"latent_dim", gen->latent_dim()},
            {"encoder_file", fs::absolute(o.encoder).string()},
            {"encoder_plugin", encoder->plugin_name()},
            {"encoder_dim", encoder->dim()},
            {"dataset", fs::absolute(o.data_dir).string()},
            {"train_tracks", train.size()},
            {"held_out_split", held.empty() ? "none" : held_name},
            {"held_out_tracks", held.size()},
            {"pca_dim", mapper.pca_dim()},
            {"rff_dim", mapper.rff_dim()},
            {"seed", o.seed},
            {"evaluation", report},
            {"fit_seconds", secs}};
  covergen::latent::save_mapper(o.out, mapper, o.encoder, meta.dump());
  if (o.common.json) {
    json out = meta;
    out["schema_version"] = 1;
    out["out"] = o.out;
    std::cout << out.dump(2) << '\n';
    return;
  }
  for (const auto& [split, r] : report.items()) {
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
  std::cout << o.out << '\n';
}

void setup(CLI::App& root) {
  auto* grp = root.add_subcommand("mapper", "Map music embeddings to an unconditional generator's latent space");
  grp->require_subcommand(1);
  auto o = std::make_shared<MapperFitCli>();
  auto* fit = grp->add_subcommand("fit", "Fit a music -> latent mapper (PCA whitening, Gaussianisation)");
  fit->add_option("--encoder", o->encoder, "Encoder model file (from covergen encoder fit)")->required();
  fit->add_option("--generator", o->generator, "Unconditional generator: run folder, generator.cvgn or FILE.pt")->required();
  fit->add_option("--data", o->data_dir, "Dataset folder (or its dataset.json)")->required();
  fit->add_option("--out", o->out, "Mapper file to write")->required();
  fit->add_option("--features", o->features, "Feature store (default <dataset>/.covergen-cache/features)");
  fit->add_option("--seed", o->seed, "Seed (random features, test samples)")->capture_default_str();
  fit->add_option("--permutations", o->permutations, "Permutations for the MMD p-value")->capture_default_str();
  fit->add_option("-j,--threads", o->threads, "Feature extraction threads (0 = all cores)");
  covergen::cli::add_common_options(*fit, o->common);
  fit->callback([o] { run_fit(*o); });
}

}  // namespace

COVERGEN_COMMAND("mapper", setup);
