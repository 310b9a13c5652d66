#include "covergen/latent/fit_mapper.hpp"

#include "covergen/latent/mapper.hpp"

#include <covergen/data/dataset.hpp>
#include <covergen/errors.hpp>
#include <covergen/generate/encoder_inputs.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/model_file.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>

namespace covergen::latent {

namespace fs = std::filesystem;
namespace data = covergen::data;
using nlohmann::json;

namespace {

// MMD against a seeded N(0, I) sample of the same size, and the distance rank correlation
// (on at most 1000 tracks: the pairs grow quadratically).
json evaluate(const LatentMapper& m, const at::Tensor& phi, std::int64_t permutations,
              std::uint64_t seed) {
  const auto n = std::min<std::int64_t>(phi.size(0), 1000);
  const auto p = phi.narrow(0, 0, n);
  const auto z = m.map(p);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed + 101);
  const auto ref = at::randn({n, m.latent_dim()}, gen);
  const auto t = mmd_test(z, ref, permutations, seed + 202);
  const auto null = mmd_test(at::randn({n, m.latent_dim()}, gen), ref, 0);
  return json{{"tracks", n},
              {"mmd2", t.mmd2},
              {"mmd2_p_value", t.p_value},
              {"mmd_bandwidth", t.bandwidth},
              {"mmd_permutations", t.permutations},
              {"mmd2_reference_gaussian", null.mmd2},
              {"distance_rank_correlation", distance_rank_correlation(p, z)},
              {"distance_rank_correlation_whitened_pca", distance_rank_correlation(p, m.whiten(p))},
              {"latent_mean_abs_max", z.mean(0).abs().max().item<double>()},
              {"latent_norm_mean", z.norm(2, 1).mean().item<double>()},
              {"latent_norm_expected", std::sqrt(static_cast<double>(m.latent_dim()))}};
}

}  // namespace

std::string fit_mapper(const MapperFitOptions& o, const PluginRegistry& registry,
                       const std::function<void(const std::string&)>& log) {
  auto say = [&](const std::string& line) {
    if (log) log(line);
  };
  if (o.permutations < 0 || o.permutations > 100000) throw InputError("--permutations must be in [0, 100000]");
  const auto t0 = std::chrono::steady_clock::now();
  auto gen = generate::load_generator(o.generator, registry);
  if (gen->condition_dim() != 0)
    throw InputError(o.generator, "is a conditional generator (condition_dim " + std::to_string(gen->condition_dim()) +
                                      "); a mapper is for unconditional generators, whose z alone decides the cover");
  auto encoder = load_encoder(o.encoder, registry);
  auto ds = data::Dataset::open(o.data_dir);
  for (const auto& bad : ds.bad_rows()) say("covergen: skipped " + bad.to_string());
  const fs::path store_dir = o.features.empty() ? generate::default_feature_store(ds) : fs::path(o.features);
  auto store = generate::ensure_features(ds, store_dir, o.threads, log, o.progress);
  const auto train = generate::store_tracks(ds, store, data::Split::train).keys;
  auto held = generate::store_tracks(ds, store, data::Split::test).keys;
  std::string held_name = "test";
  if (held.empty()) {
    held = generate::store_tracks(ds, store, data::Split::val).keys;
    held_name = "val";
  }
  if (train.size() < 3) throw InputError(o.data_dir, "fewer than 3 training tracks with features");
  say("covergen: encoding " + std::to_string(train.size() + held.size()) + " tracks with " + encoder->plugin_name() + " (dim " + std::to_string(encoder->dim()) + ")");
  const auto phi_train = generate::encode_keys(*encoder, store, train);
  const auto phi_held = held.empty() ? at::Tensor() : generate::encode_keys(*encoder, store, held);
  auto mapper = LatentMapper::fit(phi_train, gen->latent_dim(), o.seed);
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
  save_mapper(o.out, mapper, o.encoder, meta.dump());
  return meta.dump();
}

}  // namespace covergen::latent
