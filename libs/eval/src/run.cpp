#include "covergen/eval/run.hpp"

#include "covergen/eval/cover_classifier.hpp"
#include "covergen/eval/distribution.hpp"
#include "covergen/eval/features.hpp"
#include "covergen/eval/image_stats.hpp"
#include "covergen/eval/maps.hpp"
#include "covergen/eval/tsne.hpp"

#include <covergen/audio/summary.hpp>
#include <covergen/data/dataset.hpp>
#include <covergen/data/image_cache.hpp>
#include <covergen/device.hpp>
#include <covergen/errors.hpp>
#include <covergen/generate/condition.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/image.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <optional>
#include <random>

namespace fs = std::filesystem;
using nlohmann::json;

namespace covergen::eval {
namespace {

// Real covers of `idx` from the cache as uint8 [N, 3, S, S].
at::Tensor real_bytes(const data::CoverCache& cache, const std::vector<std::size_t>& idx) {
  const int s = cache.size();
  auto out = at::empty({static_cast<std::int64_t>(idx.size()), 3, s, s}, at::kByte);
  for (std::size_t i = 0; i < idx.size(); ++i)
    std::memcpy(out[static_cast<std::int64_t>(i)].data_ptr<std::uint8_t>(), cache.image(idx[i]), cache.image_bytes());
  return out;
}
at::Tensor to_unit(const at::Tensor& bytes) { return bytes.to(at::kFloat).div(127.5).sub(1.0); }
// Generated covers in [-1, 1] as uint8 [N, 3, S, S], through the one 8-bit conversion.
at::Tensor to_bytes(const at::Tensor& unit) { return covergen::to_rgb8(unit).permute({0, 3, 1, 2}).contiguous(); }

std::vector<int> genres_of(const data::Dataset& ds, const std::vector<std::size_t>& idx) {
  std::vector<int> l;
  for (auto i : idx) l.push_back(ds.tracks()[i].genre);
  return l;
}
at::Tensor as_tensor(const std::vector<int>& v) { return at::tensor(std::vector<std::int64_t>(v.begin(), v.end())); }

template <class T>
std::vector<T> repeat(const std::vector<T>& v, std::int64_t times) {
  std::vector<T> out;
  for (std::int64_t k = 0; k < times; ++k) out.insert(out.end(), v.begin(), v.end());
  return out;
}

double safe(double v) { return std::isfinite(v) ? v : 0.0; }
json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json summary(std::vector<double> v) {
  if (v.empty()) return json::object();
  std::sort(v.begin(), v.end());
  auto q = [&](double p) { return v[static_cast<std::size_t>(std::lround(p * static_cast<double>(v.size() - 1)))]; };
  return {{"mean", std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size())},
          {"median", q(0.5)}, {"p05", q(0.05)}, {"min", v.front()}, {"count", v.size()}};
}

// Spearman correlation overall and averaged within genres.
json correlation(const std::vector<double>& attr, const std::vector<double>& stat, const std::vector<int>& genre, int classes) {
  double within = 0;
  int counted = 0;
  for (int g = 0; g < classes; ++g) {
    std::vector<double> a, s;
    for (std::size_t i = 0; i < attr.size(); ++i)
      if (genre[i] == g) {
        a.push_back(attr[i]);
        s.push_back(stat[i]);
      }
    const double r = spearman(a, s);
    if (std::isfinite(r)) {
      within += r;
      ++counted;
    }
  }
  return {{"overall", number_or_null(spearman(attr, stat))},
          {"within_genre", counted ? json(within / counted) : json(nullptr)}};
}

std::vector<ImageStats> stats_of(const at::Tensor& bytes) {
  std::vector<ImageStats> out;
  const int s = static_cast<int>(bytes.size(2));
  for (std::int64_t i = 0; i < bytes.size(0); ++i) out.push_back(image_stats(bytes[i].data_ptr<std::uint8_t>(), s));
  return out;
}

json cluster_report(const at::Tensor& bytes, const std::vector<int>& labels, int k, std::uint64_t seed,
                    const std::vector<std::string>& genres) {
  const int s = static_cast<int>(bytes.size(2));
  std::vector<float> pts;
  for (std::int64_t i = 0; i < bytes.size(0); ++i) {
    auto f = colour_layout(bytes[i].data_ptr<std::uint8_t>(), s);
    pts.insert(pts.end(), f.begin(), f.end());
  }
  const auto km = kmeans(pts, 48, std::min<int>(k, static_cast<int>(bytes.size(0))), seed);
  const auto p = cluster_purity(km.assignment, labels, static_cast<int>(km.centres.size() / 48));
  json clusters = json::array();
  for (std::size_t c = 0; c < p.share.size(); ++c)
    clusters.push_back({{"size", p.size[c]},
                        {"majority_genre", p.majority[c] >= 0 ? json(genres[static_cast<std::size_t>(p.majority[c])]) : json(nullptr)},
                        {"purity", p.share[c]},
                        {"mean_lab", {km.centres[c * 48 + 0], km.centres[c * 48 + 1], km.centres[c * 48 + 2]}}});
  std::vector<std::int64_t> count(genres.size(), 0);
  for (int l : labels)
    if (l >= 0) ++count[static_cast<std::size_t>(l)];
  const double majority = static_cast<double>(*std::max_element(count.begin(), count.end())) / static_cast<double>(labels.size());
  return {{"covers", bytes.size(0)}, {"purity", p.overall}, {"purity_if_unrelated", majority}, {"clusters", clusters}};
}

std::string png_grid(const at::Tensor& bytes, const std::vector<std::int64_t>& idx, int per_row) {
  std::vector<const std::uint8_t*> imgs;
  for (auto i : idx) imgs.push_back(bytes[i].data_ptr<std::uint8_t>());
  return imgs.empty() ? std::string() : grid_png(imgs, static_cast<int>(bytes.size(2)), per_row, bytes.size(2) <= 32 ? 3 : 2);
}

}  // namespace

json evaluate_run(const EvaluationOptions& o, const PluginRegistry& registry, EvaluationPictures* pictures,
                  const std::function<void(const std::string&)>& log_fn) {
  auto log = [&](const std::string& line) {
    if (log_fn) log_fn(line);
  };
  const auto t0 = std::chrono::steady_clock::now();
  const c10::Device device = covergen::parse_device(o.device);
  if (o.per_track < 1) throw InputError("-n must be at least 1");
  std::string meta_text;
  auto gen = covergen::generate::load_generator(o.run, registry, &meta_text);
  gen->to(device);
  json meta = json::parse(meta_text);
  json cond = meta.value("condition", json::object());
  std::string data_dir = o.data_dir.empty() ? cond.value("dataset", std::string()) : o.data_dir;
  if (data_dir.empty()) throw InputError(o.run + ": the run does not name its dataset; pass --data");

  auto ds = data::Dataset::open(data_dir);
  if (ds.genres().empty()) throw InputError(data_dir, "evaluation needs a genre column in the dataset");
  data::CacheOptions copts;
  copts.size = static_cast<int>(gen->image_size());
  copts.threads = o.threads;
  auto cache = data::CoverCache::open_or_build(ds, copts);
  auto usable = [&](std::optional<data::Split> split) {
    std::vector<std::size_t> v;
    std::vector<std::size_t> all(ds.size());
    std::iota(all.begin(), all.end(), 0);
    for (auto i : split ? ds.indices(*split) : all)
      if (cache.valid(i) && ds.tracks()[i].genre >= 0) v.push_back(i);
    return v;
  };
  const auto train = usable(data::Split::train), test = usable(data::Split::test);
  if (train.size() < 2 || test.size() < 2)
    throw InputError(data_dir, "needs at least 2 labelled covers in both train and test splits");
  const auto classes = static_cast<int>(ds.genres().size());
  const auto& genres = ds.genres();

  // The judge.
  log("covergen: training the cover genre classifier on " + std::to_string(train.size()) + " real covers");
  ClassifierOptions copt;
  copt.seed = o.seed;
  copt.epochs = o.classifier_epochs;
  copt.device = device;
  const auto train_bytes = real_bytes(cache, train), test_bytes = real_bytes(cache, test);
  const auto train_l = genres_of(ds, train), test_l = genres_of(ds, test);
  auto judge = std::make_shared<CoverClassifier>(to_unit(train_bytes), as_tensor(train_l), classes, copt);
  const double ceiling = judge->accuracy(to_unit(test_bytes), as_tensor(test_l));

  // Generated covers: own conditions, then shuffled among the test tracks.
  log("covergen: generating " + std::to_string(o.per_track * static_cast<std::int64_t>(test.size())) +
                  " covers for the test tracks (and as many with shuffled conditions)");
  const covergen::generate::RunCondition run_condition(o.run, cond.dump(), gen->condition_dim(), registry);
  auto conds = run_condition.for_dataset(ds, test, o.threads);
  const auto gen_unit = covergen::generate::generate_for_conditions(*gen, conds, o.per_track, o.seed + 1, device);
  auto perm = at::randperm(conds.size(0), at::make_generator<at::CPUGeneratorImpl>(o.seed + 2));
  const auto shuf_unit =
      covergen::generate::generate_for_conditions(*gen, conds.index_select(0, perm), o.per_track, o.seed + 1, device);
  const auto gen_l = repeat(test_l, o.per_track);
  const auto gen_tracks = repeat(test, o.per_track);
  const auto gen_bytes = to_bytes(gen_unit);

  // Fidelity and confusion.
  const auto pred = judge->predict(gen_unit), pred_shuf = judge->predict(shuf_unit);
  json confusion = json::array();
  std::vector<std::vector<std::int64_t>> conf(static_cast<std::size_t>(classes), std::vector<std::int64_t>(static_cast<std::size_t>(classes), 0));
  std::int64_t hits = 0, hits_shuf = 0;
  std::vector<bool> hit(gen_l.size()), hit_shuf(gen_l.size());
  for (std::size_t i = 0; i < gen_l.size(); ++i) {
    const auto p = pred[static_cast<std::int64_t>(i)].item<std::int64_t>();
    ++conf[static_cast<std::size_t>(gen_l[i])][static_cast<std::size_t>(p)];
    hit[i] = p == gen_l[i];
    hit_shuf[i] = pred_shuf[static_cast<std::int64_t>(i)].item<std::int64_t>() == gen_l[i];
    hits += hit[i];
    hits_shuf += hit_shuf[i];
  }
  for (const auto& row : conf) confusion.push_back(row);
  const double n_gen = static_cast<double>(gen_l.size());
  // The spread of a fidelity: the standard error over test tracks of each track's
  // share of hits (covers of one track share its condition, so they are not
  // independent draws; the track is the unit).
  auto per_track_se = [&](const std::vector<bool>& hits_of) {
    const auto tracks = static_cast<std::int64_t>(test.size());
    if (tracks < 2) return 0.0;
    std::vector<double> share(static_cast<std::size_t>(tracks), 0.0);
    for (std::size_t i = 0; i < gen_l.size(); ++i)
      share[i % static_cast<std::size_t>(tracks)] += hits_of[i] / static_cast<double>(o.per_track);
    const double mean = std::accumulate(share.begin(), share.end(), 0.0) / static_cast<double>(tracks);
    double ss = 0;
    for (double v : share) ss += (v - mean) * (v - mean);
    return std::sqrt(ss / static_cast<double>(tracks - 1) / static_cast<double>(tracks));
  };

  // Features.
  std::unique_ptr<FeatureExtractor> fx;
  if (!o.features.empty()) {
    fx = torchscript_feature_extractor(o.features, device);
  } else {
    fx = judge_feature_extractor(
        judge, "judge-cnn-128: penultimate layer of the cover genre classifier trained here on " +
                   std::to_string(train.size()) + " real training covers of " + fs::path(data_dir).filename().string() +
                   " (" + std::to_string(copts.size) + " px, seed " + std::to_string(o.seed) +
                   "); comparable only with numbers from the same dataset, size and seed");
  }
  log("covergen: features (" + fx->name().substr(0, fx->name().find(':')) + ")");
  const auto f_train = fx->extract(to_unit(train_bytes)), f_test = fx->extract(to_unit(test_bytes));
  const auto f_gen = fx->extract(gen_unit), f_shuf = fx->extract(shuf_unit);

  KidOptions ko;
  ko.subsets = o.kid_subsets;
  ko.seed = o.seed + 3;
  const auto kid_gen = kid(f_gen, f_train, ko), kid_test = kid(f_test, f_train, ko);
  const double fid_gen = fid(f_gen, f_train), fid_test = fid(f_test, f_train);
  KidOptions kg = ko;
  kg.subsets = std::min<std::int64_t>(ko.subsets, 50);
  const auto pc_gen = per_class_distances(f_gen, gen_l, f_train, train_l, classes, kg);
  const auto pc_shuf = per_class_distances(f_shuf, gen_l, f_train, train_l, classes, kg);
  const auto pc_test = per_class_distances(f_test, test_l, f_train, train_l, classes, kg);
  json per_genre = json::array();
  json diversity_rows = json::array();
  double div_gen = 0, div_real = 0;
  int div_n = 0;
  for (int g = 0; g < classes; ++g) {
    const auto gs = static_cast<std::size_t>(g);
    per_genre.push_back({{"genre", genres[gs]},
                         {"generated", pc_gen.generated[gs]},
                         {"real_train", pc_gen.real[gs]},
                         {"fid", number_or_null(pc_gen.fid[gs])},
                         {"kid", number_or_null(pc_gen.kid[gs])},
                         {"kid_std", number_or_null(pc_gen.kid_std[gs])},
                         {"fid_shuffled", number_or_null(pc_shuf.fid[gs])},
                         {"kid_shuffled", number_or_null(pc_shuf.kid[gs])},
                         {"fid_real_test", number_or_null(pc_test.fid[gs])},
                         {"kid_real_test", number_or_null(pc_test.kid[gs])}});
    const double dg = mean_pairwise_distance(rows_with_label(f_gen, gen_l, g));
    const double dr = mean_pairwise_distance(rows_with_label(f_train, train_l, g));
    diversity_rows.push_back({{"genre", genres[gs]}, {"generated", dg}, {"real", dr}});
    if (pc_gen.generated[gs] >= 2) {
      div_gen += dg;
      div_real += dr;
      ++div_n;
    }
  }

  // Memorisation.
  const auto near_gen = nearest_distances(f_gen, f_train), near_test = nearest_distances(f_test, f_train);
  json mem{{"generated_to_train", summary(near_gen)}, {"real_test_to_train", summary(near_test)}};
  mem["median_ratio"] = summary(near_gen).at("median").get<double>() / std::max(1e-12, summary(near_test).at("median").get<double>());
  {
    auto sorted = near_test;
    std::sort(sorted.begin(), sorted.end());
    const double p01 = sorted[static_cast<std::size_t>(0.01 * static_cast<double>(sorted.size() - 1))];
    mem["share_closer_than_real_p01"] =
        static_cast<double>(std::count_if(near_gen.begin(), near_gen.end(), [&](double d) { return d < p01; })) / n_gen;
  }

  // Attribute <-> pixel statistic rank correlations.
  json correlations = json::array();
  {
    const auto names = ds.attribute_names();
    const auto st_gen = stats_of(gen_bytes), st_real = stats_of(test_bytes);
    struct Link {
      const char* attribute;
      const char* statistic;
      double ImageStats::*field;
    };
    const Link links[] = {{"tempo", "regions", &ImageStats::regions},
                          {"tempo", "edge_density", &ImageStats::edge_density},
                          {"brightness", "lightness", &ImageStats::lightness},
                          {"energy", "saturation", &ImageStats::saturation}};
    for (const auto& link : links) {
      if (std::find(names.begin(), names.end(), link.attribute) == names.end()) continue;
      const auto col = ds.attribute_index(link.attribute);
      std::vector<double> a_gen, s_gen, a_real, s_real;
      for (std::size_t i = 0; i < gen_tracks.size(); ++i) {
        a_gen.push_back(ds.tracks()[gen_tracks[i]].attributes[col]);
        s_gen.push_back(st_gen[i].*link.field);
      }
      for (std::size_t i = 0; i < test.size(); ++i) {
        a_real.push_back(ds.tracks()[test[i]].attributes[col]);
        s_real.push_back(st_real[i].*link.field);
      }
      correlations.push_back({{"attribute", link.attribute},
                              {"statistic", link.statistic},
                              {"generated", correlation(a_gen, s_gen, gen_l, classes)},
                              {"real_test", correlation(a_real, s_real, test_l, classes)}});
    }
  }

  // Colour clusters: all real covers, and the generated ones.
  const auto all = usable(std::nullopt);
  const auto all_bytes = real_bytes(cache, all);
  const auto all_l = genres_of(ds, all);
  json clusters{{"descriptor", "colour layout: CIE L*a*b* averaged over a 4x4 grid (48 values)"},
                {"k", classes},
                {"real", cluster_report(all_bytes, all_l, classes, o.seed, genres)},
                {"generated", cluster_report(gen_bytes, gen_l, classes, o.seed, genres)}};

  json out{{"schema_version", 2},
           {"run", o.run},
           {"dataset", data_dir},
           {"condition", cond.value("mode", "none")},
           {"image_size", copts.size},
           {"test_tracks", test.size()},
           {"train_covers", train.size()},
           {"covers_per_track", o.per_track},
           {"genres", genres},
           {"chance", 1.0 / classes},
           {"classifier_real_test_accuracy", ceiling},
           {"fidelity", static_cast<double>(hits) / n_gen},
           {"fidelity_shuffled", static_cast<double>(hits_shuf) / n_gen},
           {"fidelity_se", per_track_se(hit)},
           {"fidelity_shuffled_se", per_track_se(hit_shuf)},
           {"confusion", confusion},
           {"feature_extractor", fx->name()},
           {"feature_dim", f_gen.d},
           {"fid", fid_gen},
           {"kid", kid_gen.mean},
           {"kid_std", kid_gen.std},
           {"distribution",
            {{"reference", "real training covers"},
             {"generated", f_gen.n},
             {"kid_subsets", kid_gen.subsets},
             {"kid_subset_size", kid_gen.subset_size},
             {"real_test", {{"fid", fid_test}, {"kid", kid_test.mean}, {"kid_std", kid_test.std}}},
             {"per_genre_mean", {{"fid", safe(pc_gen.mean_fid)}, {"kid", safe(pc_gen.mean_kid)}}},
             {"per_genre_mean_shuffled", {{"fid", safe(pc_shuf.mean_fid)}, {"kid", safe(pc_shuf.mean_kid)}}},
             {"per_genre_mean_real_test", {{"fid", safe(pc_test.mean_fid)}, {"kid", safe(pc_test.mean_kid)}}},
             {"per_genre", per_genre}}},
           {"diversity",
            {{"measure", "mean pairwise feature distance within a genre"},
             {"generated", div_n ? div_gen / div_n : 0.0},
             {"real", div_n ? div_real / div_n : 0.0},
             {"per_genre", diversity_rows}}},
           {"memorisation", mem},
           {"attribute_correlations", correlations},
           {"clusters", clusters}};

  if (pictures) {
    // t-SNE of cover features: real covers (a sample of at most map_points) and the generated.
    log("covergen: t-SNE maps");
    std::vector<std::int64_t> pick(static_cast<std::size_t>(all.size()));
    std::iota(pick.begin(), pick.end(), 0);
    std::mt19937_64 rng(o.seed + 4);
    std::shuffle(pick.begin(), pick.end(), rng);
    const auto n_gen_map = std::min<std::int64_t>(f_gen.n, std::max<std::int64_t>(o.map_points / 4, 1));
    pick.resize(static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(pick.size()), o.map_points - n_gen_map)));
    const auto f_all = fx->extract(to_unit(all_bytes.index_select(0, at::tensor(pick))));
    std::vector<float> pts;
    std::vector<const std::uint8_t*> imgs;
    std::vector<bool> framed;
    for (std::int64_t i = 0; i < f_all.n; ++i) {
      pts.insert(pts.end(), f_all.row(i), f_all.row(i) + f_all.d);
      imgs.push_back(all_bytes[pick[static_cast<std::size_t>(i)]].data_ptr<std::uint8_t>());
      framed.push_back(false);
    }
    for (std::int64_t i = 0; i < n_gen_map; ++i) {
      pts.insert(pts.end(), f_gen.row(i), f_gen.row(i) + f_gen.d);
      imgs.push_back(gen_bytes[i].data_ptr<std::uint8_t>());
      framed.push_back(true);
    }
    TsneOptions to;
    to.seed = o.seed;
    to.threads = o.threads;
    const auto n_map = static_cast<std::int64_t>(imgs.size());
    const auto layout = tsne_barnes_hut(pts, n_map, f_gen.d, to);
    const int cells = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n_map) * 1.6)));
    pictures->cover_mosaic_png = mosaic_png(layout.xy, imgs, copts.size, cells, std::max(12, 1200 / cells));
    out["maps"]["covers"] = {{"points", n_map}, {"generated", n_gen_map},
                             {"seconds", layout.seconds_neighbours + layout.seconds_optimise},
                             {"kl_divergence", layout.kl_divergence},
                             {"trustworthiness_k10", trustworthiness(pts, f_gen.d, layout.xy, 2, 10)}};

    // Music map: t-SNE of what describes each track's sound, coloured by genre.
    std::string music = o.music;
    const auto attrs = ds.attribute_names();
    if (music == "auto") music = attrs.size() >= 2 ? "attributes" : "audio";
    if (music != "none") {
      std::vector<std::size_t> tracks;
      for (std::size_t i = 0; i < ds.size(); ++i)
        if (ds.tracks()[i].genre >= 0) tracks.push_back(i);
      at::Tensor desc;
      if (music == "audio") {
        std::vector<fs::path> files;
        for (auto i : tracks) files.push_back(ds.tracks()[i].audio);
        const auto names = covergen::audio::summary_names();
        desc = covergen::generate::audio_summary_values(files, names, o.threads);
        pictures->music_description = "the audio summary vector (" + std::to_string(names.size()) +
                                      " features measured from the sound, standardised)";
      } else if (music == "attributes") {
        desc = at::zeros({static_cast<std::int64_t>(tracks.size()), static_cast<std::int64_t>(attrs.size())}, at::kDouble);
        for (std::size_t j = 0; j < attrs.size(); ++j) {
          const auto col = ds.attribute_index(attrs[j]);
          for (std::size_t i = 0; i < tracks.size(); ++i)
            desc[static_cast<std::int64_t>(i)][static_cast<std::int64_t>(j)] = ds.tracks()[tracks[i]].attributes[col];
        }
        std::string list;
        for (const auto& a : attrs) list += (list.empty() ? "" : ", ") + a;
        pictures->music_description = "the dataset's track attributes (" + list + "), standardised";
      } else {
        throw InputError("--music must be audio, attributes, none or auto, not '" + music + "'");
      }
      desc = ((desc - desc.mean(0)) / desc.std(0).clamp_min(1e-12)).to(at::kFloat).contiguous();
      std::vector<float> dv(desc.data_ptr<float>(), desc.data_ptr<float>() + desc.numel());
      const auto ml = tsne_barnes_hut(dv, desc.size(0), desc.size(1), to);
      std::vector<int> ml_labels;
      for (auto i : tracks) ml_labels.push_back(ds.tracks()[i].genre);
      pictures->music_map_png = scatter_png(ml.xy, ml_labels, genres, "t-SNE of music descriptors by genre");
      out["maps"]["music"] = {{"input", music}, {"points", desc.size(0)}, {"dims", desc.size(1)},
                              {"seconds", ml.seconds_neighbours + ml.seconds_optimise},
                              {"trustworthiness_k10", trustworthiness(dv, desc.size(1), ml.xy, 2, 10)}};
    }
    // Sample grids per genre: generated covers of its test tracks, and real test covers.
    for (int g = 0; g < classes; ++g) {
      std::vector<std::int64_t> gi, ri;
      for (std::size_t i = 0; i < gen_l.size() && gi.size() < 8; ++i)
        if (gen_l[i] == g) gi.push_back(static_cast<std::int64_t>(i));
      for (std::size_t i = 0; i < test_l.size() && ri.size() < 8; ++i)
        if (test_l[i] == g) ri.push_back(static_cast<std::int64_t>(i));
      pictures->genre_grids.emplace_back(genres[static_cast<std::size_t>(g)], png_grid(gen_bytes, gi, 8));
      pictures->real_grids.emplace_back(genres[static_cast<std::size_t>(g)], png_grid(test_bytes, ri, 8));
    }
  }
  out["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace covergen::eval
