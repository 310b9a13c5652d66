// covergen evaluate RUN [--data DATASET] [--json] [-n 4] [--seed S]
// Conditioning fidelity: a cover genre classifier is trained on the dataset's real
// training covers (its accuracy on real test covers is the ceiling); covers are
// generated for the test tracks from their own conditions and classified into a
// genre (fidelity = share classified as the track's genre), then again with the
// conditions shuffled among the test tracks (the floor: what a generator that
// ignores its condition scores).
#include "audio_conditions.hpp"
#include "cli.hpp"

#include <covergen/data/dataset.hpp>
#include <covergen/data/image_cache.hpp>
#include <covergen/device.hpp>
#include <covergen/engine/trainer.hpp>
#include <covergen/errors.hpp>
#include <covergen/eval/cover_classifier.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>

namespace fs = std::filesystem;
using nlohmann::json;
namespace data = covergen::data;

namespace {

struct EvaluateOptions {
  covergen::cli::CommonOptions common;
  std::string run, data_dir, device = "auto";
  std::int64_t per_track = 4, classifier_epochs = 30;
  std::uint64_t seed = 0;
  int threads = 0;
};

// Real covers of `idx` from the cache as float [-1, 1].
at::Tensor real_images(const data::CoverCache& cache, const std::vector<std::size_t>& idx) {
  const int s = cache.size();
  auto out = at::empty({static_cast<std::int64_t>(idx.size()), 3, s, s}, at::kByte);
  for (std::size_t i = 0; i < idx.size(); ++i)
    std::memcpy(out[static_cast<std::int64_t>(i)].data_ptr<std::uint8_t>(), cache.image(idx[i]), cache.image_bytes());
  return out.to(at::kFloat).div_(127.5).sub_(1.0);
}

at::Tensor genre_labels(const data::Dataset& ds, const std::vector<std::size_t>& idx) {
  std::vector<std::int64_t> l;
  for (auto i : idx) l.push_back(ds.tracks()[i].genre);
  return at::tensor(l);
}

// The condition vectors the run's generator expects for dataset tracks `idx`.
at::Tensor track_conditions(const json& cond, const data::Dataset& ds, const std::vector<std::size_t>& idx,
                            int threads) {
  const std::string mode = cond.value("mode", "none");
  const auto n = static_cast<std::int64_t>(idx.size());
  if (mode == "genre") {
    const auto names = cond.at("names").get<std::vector<std::string>>();
    auto c = at::zeros({n, static_cast<std::int64_t>(names.size())});
    for (std::int64_t i = 0; i < n; ++i) {
      const auto& g = ds.genres()[static_cast<std::size_t>(ds.tracks()[idx[i]].genre)];
      auto it = std::find(names.begin(), names.end(), g);
      if (it == names.end()) throw covergen::InputError("genre '" + g + "' of the dataset is unknown to the model");
      c[i][it - names.begin()] = 1.0;
    }
    return c;
  }
  if (mode == "attributes" || mode == "audio") {
    const auto names = cond.at("names").get<std::vector<std::string>>();
    at::Tensor raw;
    if (mode == "audio") {
      std::vector<fs::path> files;
      for (auto i : idx) files.push_back(ds.tracks()[i].audio);
      raw = covergen::cli::audio_summary_values(files, names, threads);
    } else {
      raw = at::zeros({n, static_cast<std::int64_t>(names.size())}, at::kDouble);
      for (std::size_t j = 0; j < names.size(); ++j) {
        auto col = ds.attribute_index(names[j]);
        for (std::int64_t i = 0; i < n; ++i) raw[i][static_cast<std::int64_t>(j)] = ds.tracks()[idx[i]].attributes[col];
      }
    }
    auto mean = at::tensor(cond.at("mean").get<std::vector<double>>(), at::kDouble);
    auto stdv = at::tensor(cond.at("std").get<std::vector<double>>(), at::kDouble);
    return ((raw - mean) / stdv).to(at::kFloat);
  }
  throw covergen::InputError("the model's condition mode '" + mode +
                             "' has no per-track condition; fidelity needs a conditional model");
}

// Share of generated covers classified as their track's genre.
double fidelity(covergen::ConditionalGenerator& gen, const covergen::eval::CoverClassifier& judge,
                const at::Tensor& conds, const at::Tensor& labels, std::int64_t per_track, std::uint64_t seed,
                c10::Device device, at::Tensor* confusion) {
  auto rng = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::int64_t hits = 0, total = 0;
  for (std::int64_t k = 0; k < per_track; ++k) {
    for (std::int64_t s = 0; s < conds.size(0); s += 256) {
      const std::int64_t b = std::min<std::int64_t>(256, conds.size(0) - s);
      auto z = at::randn({b, gen.latent_dim()}, rng).to(device);
      auto images = gen.generate(z, conds.narrow(0, s, b).to(device)).cpu();
      auto pred = judge.predict(images);
      auto truth = labels.narrow(0, s, b);
      hits += pred.eq(truth).sum().item<std::int64_t>();
      total += b;
      if (confusion)
        for (std::int64_t i = 0; i < b; ++i) (*confusion)[truth[i].item<std::int64_t>()][pred[i].item<std::int64_t>()] += 1;
    }
  }
  return total ? static_cast<double>(hits) / static_cast<double>(total) : 0.0;
}

void run(const EvaluateOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const c10::Device device = covergen::parse_device(o.device);
  auto registry = covergen::cli::make_registry();
  std::string meta_text;
  auto gen = covergen::engine::load_generator(o.run, registry, &meta_text);
  gen->to(device);
  json meta = json::parse(meta_text);
  json cond = meta.value("condition", json::object());
  std::string data_dir = o.data_dir.empty() ? cond.value("dataset", std::string()) : o.data_dir;
  if (data_dir.empty()) throw covergen::InputError(o.run + ": the run does not name its dataset; pass --data");

  auto ds = data::Dataset::open(data_dir);
  if (ds.genres().empty()) throw covergen::InputError(data_dir, "fidelity needs a genre column in the dataset");
  data::CacheOptions copts;
  copts.size = static_cast<int>(gen->image_size());
  copts.threads = o.threads;
  auto cache = data::CoverCache::open_or_build(ds, copts);
  auto usable = [&](data::Split split) {
    std::vector<std::size_t> v;
    for (auto i : ds.indices(split))
      if (cache.valid(i) && ds.tracks()[i].genre >= 0) v.push_back(i);
    return v;
  };
  auto train = usable(data::Split::train), test = usable(data::Split::test);
  if (train.empty() || test.empty()) throw covergen::InputError(data_dir, "needs labelled covers in both train and test splits");
  const auto classes = static_cast<std::int64_t>(ds.genres().size());

  covergen::cli::log(o.common, "covergen: training the cover genre classifier on " + std::to_string(train.size()) +
                                   " real covers");
  covergen::eval::ClassifierOptions copt;
  copt.seed = o.seed;
  copt.epochs = o.classifier_epochs;
  copt.device = device;
  covergen::eval::CoverClassifier judge(real_images(cache, train), genre_labels(ds, train), classes, copt);
  auto test_labels = genre_labels(ds, test);
  const double ceiling = judge.accuracy(real_images(cache, test), test_labels);

  auto conds = track_conditions(cond, ds, test, o.threads);
  auto confusion = at::zeros({classes, classes}, at::kLong);
  const double fid = fidelity(*gen, judge, conds, test_labels, o.per_track, o.seed + 1, device, &confusion);
  auto perm = at::randperm(conds.size(0), at::make_generator<at::CPUGeneratorImpl>(o.seed + 2));
  const double shuffled = fidelity(*gen, judge, conds.index_select(0, perm), test_labels, o.per_track, o.seed + 1, device, nullptr);

  json conf = json::array();
  for (std::int64_t i = 0; i < classes; ++i) {
    json row = json::array();
    for (std::int64_t j = 0; j < classes; ++j) row.push_back(confusion[i][j].item<std::int64_t>());
    conf.push_back(row);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  json out{{"schema_version", 1},
           {"run", o.run},
           {"dataset", data_dir},
           {"condition", cond.value("mode", "none")},
           {"test_tracks", test.size()},
           {"covers_per_track", o.per_track},
           {"chance", 1.0 / static_cast<double>(classes)},
           {"classifier_real_test_accuracy", ceiling},
           {"fidelity", fid},
           {"fidelity_shuffled", shuffled},
           {"genres", ds.genres()},
           {"confusion", conf},
           {"seconds", secs}};
  if (o.common.json) {
    std::cout << out.dump(2) << '\n';
  } else {
    std::printf("conditioning fidelity  %.3f  (covers for %zu test tracks, %lld each)\n", fid, test.size(),
                static_cast<long long>(o.per_track));
    std::printf("shuffled conditions    %.3f  (floor; chance %.3f)\n", shuffled, 1.0 / static_cast<double>(classes));
    std::printf("judge on real covers   %.3f  (ceiling)\n", ceiling);
  }
}

void setup(CLI::App& root) {
  auto o = std::make_shared<EvaluateOptions>();
  auto* cmd = root.add_subcommand("evaluate", "Measure how well a trained model follows its condition");
  cmd->add_option("run", o->run, "Run folder or generator file")->required();
  cmd->add_option("--data", o->data_dir, "Dataset (default: the one the run was trained on)");
  cmd->add_option("-n", o->per_track, "Covers generated per test track")->capture_default_str();
  cmd->add_option("--classifier-epochs", o->classifier_epochs, "Epochs for the cover genre classifier")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads for preprocessing and audio features (0 = all)");
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  covergen::cli::add_common_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
}

}  // namespace

COVERGEN_COMMAND("evaluate", setup);
