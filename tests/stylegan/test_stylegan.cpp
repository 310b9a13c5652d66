// The stylegan plugin: layer known answers (modulated convolution against a float64
// per-sample-weight reference, demodulation), shapes 32..256, per-condition truncation,
// style mixing against a manual forward, and training through the engine (finite
// losses for every phase, exact resume).
#include "../core/test_support.hpp"

#include "stylegan_arch.hpp"

#include <covergen/engine/trainer.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/errors.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <catch2/catch.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <fstream>
#include <numeric>
#include <sstream>
#include <random>
#include <set>

using namespace covergen;
using namespace covergen::stylegan;
namespace fs = std::filesystem;

namespace {

double max_abs(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

StyleGanConfig tiny(std::int64_t size, std::int64_t cdim = 0) {
  StyleGanConfig c;
  c.image_size = size;
  c.latent_dim = 16;
  c.w_dim = 16;
  c.condition_dim = cdim;
  c.mapping_layers = 2;
  c.channel_base = 2 * size;  // 2 channels at the output resolution, more below
  c.channel_max = 16;
  c.w_avg_samples = 1024;
  return c;
}

std::string tiny_json(std::int64_t size, std::int64_t cdim, const std::string& extra = "") {
  nlohmann::json j = nlohmann::json::parse(tiny(size, cdim).to_json());
  if (!extra.empty()) j.update(nlohmann::json::parse(extra));
  return j.dump();
}

PluginRegistry build_tree_registry() {
  PluginSearchOptions o;
  o.extra_dirs = {COVERGEN_BUILD_PLUGIN_DIR};
  o.use_environment = false;
  o.use_default_dirs = false;
  return PluginRegistry(o);
}

}  // namespace

TEST_CASE("modulated conv equals the per-sample modulated weight in float64", "[stylegan][layers]") {
  at::manual_seed(3);
  ModulatedConv conv(5, 7, 3, 6, true);
  const at::Tensor x = at::randn({3, 5, 9, 9});
  const at::Tensor w = at::randn({3, 6});
  const at::Tensor got = conv->forward(x, w);
  // Reference: W' = W / sqrt(in k k) * s, demodulated per (sample, output channel), one
  // convolution per sample, in float64.
  at::NoGradGuard ng;
  const at::Tensor s = conv->affine->forward(w).to(at::kDouble);  // [3, 5]
  const at::Tensor W = conv->weight.to(at::kDouble) / std::sqrt(5.0 * 9.0);
  for (std::int64_t n = 0; n < 3; ++n) {
    at::Tensor wn = W * s[n].view({1, 5, 1, 1});
    wn = wn / (wn.square().sum({1, 2, 3}, true) + 1e-8).sqrt();
    // Demodulated: every output channel's weights have unit norm (the known answer).
    CHECK(max_abs(wn.square().sum({1, 2, 3}), at::ones({7}, at::kDouble)) < 1e-6);
    const at::Tensor ref = at::conv2d(x[n].unsqueeze(0).to(at::kDouble), wn, {}, 1, 1);
    CHECK(max_abs(got[n].unsqueeze(0), ref) < 1e-4);
  }
  // Without demodulation: plain modulation.
  ModulatedConv rgb(5, 3, 1, 6, false);
  const at::Tensor s2 = rgb->affine->forward(w).to(at::kDouble);
  const at::Tensor W2 = rgb->weight.to(at::kDouble) / std::sqrt(5.0);
  const at::Tensor got2 = rgb->forward(x, w);
  for (std::int64_t n = 0; n < 3; ++n) {
    const at::Tensor ref = at::conv2d(x[n].unsqueeze(0).to(at::kDouble), W2 * s2[n].view({1, 5, 1, 1}));
    CHECK(max_abs(got2[n].unsqueeze(0), ref) < 1e-4);
  }
}

TEST_CASE("demodulation gives unit variance per output channel for unit-variance inputs", "[stylegan][layers]") {
  at::manual_seed(4);
  ModulatedConv conv(16, 8, 3, 12, true);
  {
    // Styles far from 1 (a scaled w): without demodulation the variance would follow them.
    at::NoGradGuard ng;
    conv->affine->weight.mul_(3.0);
  }
  const at::Tensor x = at::randn({2, 16, 128, 128});
  at::NoGradGuard ng;
  const at::Tensor y = conv->forward(x, at::randn({2, 12})).narrow(2, 1, 126).narrow(3, 1, 126);
  const at::Tensor var = y.var({2, 3});  // [2, 8]: one per sample and output channel
  INFO(var);
  CHECK(max_abs(var, at::ones_like(var)) < 0.08);
}

TEST_CASE("minibatch stddev and the blurred downsample against hand computations", "[stylegan][layers]") {
  const at::Tensor x = at::arange(4 * 2 * 2 * 2, at::kFloat).view({4, 2, 2, 2});
  const at::Tensor y = minibatch_stddev(x, 2);  // groups {0, 2} and {1, 3}: members differ by 16
  REQUIRE(y.sizes() == at::IntArrayRef({4, 3, 2, 2}));
  CHECK(max_abs(y.narrow(1, 0, 2), x) == 0.0);
  CHECK(max_abs(y.narrow(1, 2, 1), at::full({4, 1, 2, 2}, 8.0)) < 1e-5);  // population std of {a, a+16}
  // [1,3,3,1]/8 separable, stride 2: a constant image stays constant inside.
  const at::Tensor ones = at::ones({1, 3, 8, 8});
  const at::Tensor d = blur_downsample(ones);
  REQUIRE(d.sizes() == at::IntArrayRef({1, 3, 4, 4}));
  CHECK(max_abs(d.narrow(2, 1, 2).narrow(3, 1, 2), at::ones({1, 3, 2, 2})) < 1e-6);
  CHECK(d[0][0][0][0].item<double>() == Approx(49.0 / 64.0));  // zero padding: (7/8)^2 at a corner
}

TEST_CASE("generator and discriminator shapes from 32 to 256", "[stylegan][shapes]") {
  for (std::int64_t size : {32, 64, 128, 256}) {
    INFO("size " << size);
    at::manual_seed(5);
    StyleGanModel model(tiny_json(size, 3));
    const auto& cfg = model.config();
    CHECK(cfg.num_ws() == 2 * static_cast<std::int64_t>(std::log2(size)) - 2);
    const at::Tensor z = at::randn({2, 16});
    const at::Tensor c = at::eye(3).narrow(0, 0, 2);
    const at::Tensor img = model.generator().generate(z, c);
    REQUIRE(img.sizes() == at::IntArrayRef({2, 3, size, size}));
    CHECK(img.abs().max().item<double>() <= 1.0);
    CHECK(img.isfinite().all().item<bool>());
    at::NoGradGuard ng;
    const at::Tensor logits = model.D()->forward(img, c);
    REQUIRE(logits.sizes() == at::IntArrayRef({2}));
    CHECK(logits.isfinite().all().item<bool>());
    // The EMA copy has the live generator's names, shapes and values.
    auto gen = model.make_generator();
    auto a = model.generator().named_tensors(), b = gen->named_tensors();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].first == b[i].first);
      CHECK(max_abs(a[i].second, b[i].second) == 0.0);
    }
  }
  // The full config: 512 channels at 4..64, 128 at 256.
  StyleGanConfig full;
  full.image_size = 256;
  CHECK(full.channels(4) == 512);
  CHECK(full.channels(64) == 512);
  CHECK(full.channels(256) == 128);
}

TEST_CASE("bad configs are refused naming the key", "[stylegan][config]") {
  CHECK_THROWS_AS(StyleGanModel(R"({"image_size": 48})"), InputError);
  CHECK_THROWS_WITH(StyleGanModel(R"({"mapping_layerz": 8})"), Catch::Contains("mapping_layerz"));
  CHECK_THROWS_WITH(StyleGanModel(R"({"style_mixing": 2})"), Catch::Contains("style_mixing"));
  CHECK_THROWS_WITH(StyleGanModel(R"({"lr": "fast"})"), Catch::Contains("\"lr\""));
  StyleGanConfig c;
  c.update_from_json(tiny_json(64, 2));
  StyleGanConfig round;
  round.update_from_json(c.to_json());
  CHECK(round.to_json() == c.to_json());
}

TEST_CASE("truncation psi 0 gives one image per condition, the condition's mean w", "[stylegan][truncation]") {
  at::manual_seed(6);
  StyleGanModel model(tiny_json(32, 3));
  auto& gen = dynamic_cast<StyleConditionalGenerator&>(model.generator());
  const at::Tensor z = at::randn({4, 16});
  GenerateOptions psi0;
  psi0.truncation = 0.0;
  for (std::int64_t k = 0; k < 3; ++k) {
    const at::Tensor c = at::one_hot(at::full({4}, k, at::kLong), 3).to(at::kFloat);
    const at::Tensor img = gen.generate(z, c, psi0);
    for (std::int64_t i = 1; i < 4; ++i) CHECK(max_abs(img[i], img[0]) == 0.0);
    // Untruncated images differ per z.
    const at::Tensor free = gen.generate(z, c);
    CHECK(max_abs(free[1], free[0]) > 1e-3);
  }
  // The centre is per condition: two conditions give two images and two mean ws.
  const at::Tensor c01 = at::eye(3).narrow(0, 0, 2);
  const at::Tensor two = gen.generate(z.narrow(0, 0, 2), c01, psi0);
  CHECK(max_abs(two[0], two[1]) > 1e-3);
  const at::Tensor m0 = gen.mean_w(c01[0]), m1 = gen.mean_w(c01[1]);
  CHECK(max_abs(m0, m1) > 1e-3);
  // The centre is the mean of w over z under that condition: compare with an
  // independent estimate from other latents (the mapping at init varies little).
  {
    at::NoGradGuard ng;
    const at::Tensor zz = at::randn({4096, 16});
    const at::Tensor mc = model.G()->mapping->forward(zz, c01[0].view({1, 3}).expand({4096, 3})).mean(0);
    const at::Tensor spread = model.G()->mapping->forward(zz, c01[0].view({1, 3}).expand({4096, 3})).std(0);
    CHECK(((m0 - mc).abs() / spread).max().item<double>() < 0.25);  // well inside the standard error bound
  }
  // psi in between is the lerp from the centre.
  const at::Tensor w = gen.map(z.narrow(0, 1, 1), c01.narrow(0, 0, 1), 1.0);
  const at::Tensor wh = gen.map(z.narrow(0, 1, 1), c01.narrow(0, 0, 1), 0.5);
  CHECK(max_abs(wh[0], 0.5 * (w[0] + m0)) < 1e-5);
  // The cache follows weight changes.
  {
    at::NoGradGuard ng;
    model.G()->mapping->layers.back()->bias.add_(1.0);
  }
  CHECK(max_abs(gen.mean_w(c01[0]), m0) > 1e-3);
}

TEST_CASE("W space: synthesize(map_to_w(z, c)) is generate(z, c), and the hook is visible through the plugin", "[stylegan][wspace]") {
  at::manual_seed(8);
  StyleGanModel model(tiny_json(32, 3));
  {  // non-zero noise strengths: the constant noise must be the same on both paths
    at::NoGradGuard ng;
    for (auto& p : model.G()->named_parameters())
      if (p.key().find("noise_strength") != std::string::npos) p.value().fill_(0.7);
  }
  auto& gen = dynamic_cast<StyleConditionalGenerator&>(model.generator());
  WSpace& ws = gen;
  CHECK(ws.w_dim() == 16);
  const at::Tensor z = at::randn({3, 16});
  const at::Tensor c = at::eye(3);
  for (double psi : {1.0, 0.5, 0.0}) {
    GenerateOptions o;
    o.truncation = psi;
    const at::Tensor w = ws.map_to_w(z, c, o);
    REQUIRE(w.sizes() == at::IntArrayRef({3, 16}));
    CHECK(at::equal(ws.synthesize(w), gen.generate(z, c, o)));
    // w is the mapping network's output lerped towards the condition's centre
    at::NoGradGuard ng;
    const at::Tensor raw = model.G()->mapping->forward(z, c);
    for (std::int64_t i = 0; i < 3; ++i) CHECK(max_abs(w[i], gen.mean_w(c[i]).lerp(raw[i], psi)) < 1e-6);
  }
  // synthesize(w) broadcasts one w to every layer: the manual synthesis with ws = w repeated
  const at::Tensor w = ws.map_to_w(z, c);
  {
    at::NoGradGuard ng;
    const at::Tensor manual =
        model.G()->synthesis->forward(w.unsqueeze(1).repeat({1, tiny(32).num_ws(), 1}), NoiseMode::constant).clamp(-1, 1);
    CHECK(at::equal(ws.synthesize(w), manual));
  }
  // a lerp between two ws: the ends are the endpoints' images, the middle is neither
  const at::Tensor mid = ws.synthesize(w.narrow(0, 0, 1).lerp(w.narrow(0, 1, 1), 0.5));
  const at::Tensor ends = gen.generate(z.narrow(0, 0, 2), c.narrow(0, 0, 2));
  // (1e-5: batch 1 against batch 2, float rounding of the matmuls and convolutions)
  CHECK(max_abs(ws.synthesize(w.narrow(0, 0, 1).lerp(w.narrow(0, 1, 1), 0.0))[0], ends[0]) < 1e-5);
  CHECK(max_abs(ws.synthesize(w.narrow(0, 0, 1).lerp(w.narrow(0, 1, 1), 1.0))[0], ends[1]) < 1e-5);
  CHECK(max_abs(mid[0], ends[0]) > 1e-3);
  CHECK(max_abs(mid[0], ends[1]) > 1e-3);
  CHECK_THROWS_AS(ws.synthesize(at::zeros({2, 15})), InputError);
  CHECK_THROWS_AS(ws.map_to_w(at::zeros({2, 16}), at::Tensor()), InputError);  // conditional: c needed
  // Across the plugin boundary (how interpolate finds it): the plugin's generators are WSpaces.
  auto reg = build_tree_registry();
  auto gan = reg.create_gan("stylegan", tiny_json(32, 0));
  CHECK(dynamic_cast<WSpace*>(&gan->generator()) != nullptr);
  auto made = gan->make_generator();
  CHECK(dynamic_cast<WSpace*>(made.get()) != nullptr);
}

TEST_CASE("style mixing at crossover k: layers below k read w1, the rest w2 (manual forward)", "[stylegan][mixing]") {
  at::manual_seed(7);
  StyleGanConfig cfg = tiny(64, 0);
  StyleGenerator G(cfg);
  auto& S = *G->synthesis;
  {
    at::NoGradGuard ng;  // noise on, so that every layer's noise path is exercised
    for (auto& c : S.convs) c->noise_strength.fill_(0.3);
    S.conv1->noise_strength.fill_(0.3);
  }
  at::NoGradGuard ng;
  const at::Tensor w1 = G->mapping->forward(at::randn({2, 16}), {});
  const at::Tensor w2 = G->mapping->forward(at::randn({2, 16}), {});
  const std::int64_t L = cfg.num_ws();  // 10 at 64px
  REQUIRE(L == 10);
  // The synthesis layers in order, each with the w it should read.
  auto manual = [&](std::int64_t k) {
    auto pick = [&](std::int64_t layer) { return layer < k ? w1 : w2; };
    at::Tensor x = S.const_input.unsqueeze(0).expand({2, -1, -1, -1});
    x = S.conv1->forward(x, pick(0), NoiseMode::constant);
    at::Tensor img = S.to_rgb1->forward(x, pick(1));
    std::int64_t last = 1;
    for (std::size_t b = 0; b < S.to_rgbs.size(); ++b) {
      // StyleGAN2's layout: the upsampling conv shares its w with the toRGB before it.
      const auto up = static_cast<std::int64_t>(1 + 2 * b), conv = up + 1, rgb = up + 2;
      x = S.convs[2 * b]->forward(x, pick(up), NoiseMode::constant);
      x = S.convs[2 * b + 1]->forward(x, pick(conv), NoiseMode::constant);
      img = at::upsample_bilinear2d(img, {x.size(2), x.size(3)}, false) + S.to_rgbs[b]->forward(x, pick(rgb));
      last = rgb;
    }
    CHECK(last == L - 1);
    return img;
  };
  const at::Tensor only1 = S.forward(G->broadcast(w1), NoiseMode::constant);
  const at::Tensor only2 = S.forward(G->broadcast(w2), NoiseMode::constant);
  CHECK(max_abs(S.forward(G->mix(w1, w2, L), NoiseMode::constant), only1) == 0.0);
  CHECK(max_abs(S.forward(G->mix(w1, w2, 0), NoiseMode::constant), only2) == 0.0);
  for (std::int64_t k : {1, 2, 4, 7}) {
    INFO("crossover " << k);
    const at::Tensor mixed = S.forward(G->mix(w1, w2, k), NoiseMode::constant);
    CHECK(max_abs(mixed, manual(k)) < 1e-5);
    CHECK(max_abs(mixed, only1) > 1e-4);
    CHECK(max_abs(mixed, only2) > 1e-4);
  }
  // Coarse styles come from w1: with k = 4 (4x4 and the first 8x8 conv from w1) the
  // mixed image's 8x8 mean colour is closer to w1's image than w2's is.
  const at::Tensor mixed = S.forward(G->mix(w1, w2, 4), NoiseMode::constant);
  auto coarse = [](const at::Tensor& img) { return at::adaptive_avg_pool2d(img, {4, 4}); };
  CHECK(max_abs(coarse(mixed), coarse(only1)) < max_abs(coarse(only2), coarse(only1)));
}

namespace {

// In-memory data: 4 classes, each a flat colour plus noise; shuffled per epoch.
struct ColourData : public engine::BatchSource {
  static constexpr std::int64_t kN = 32, kC = 4, kS = 32;
  at::Tensor images, conds;
  std::int64_t epoch = 0, cursor = 0;
  ColourData() {
    auto g = at::make_generator<at::CPUGeneratorImpl>(11);
    const at::Tensor labels = at::arange(kN) % kC;
    conds = at::one_hot(labels, kC).to(at::kFloat);
    const at::Tensor colours = at::rand({kC, 3, 1, 1}, g) * 2 - 1;
    images = (colours.index_select(0, labels) + 0.1 * at::randn({kN, 3, kS, kS}, g)).clamp(-1, 1);
  }
  std::vector<std::int64_t> take(std::int64_t n) {
    std::vector<std::int64_t> idx;
    while (static_cast<std::int64_t>(idx.size()) < n) {
      if (cursor == kN) {
        ++epoch;
        cursor = 0;
      }
      std::vector<std::int64_t> o(kN);
      std::iota(o.begin(), o.end(), 0);
      std::shuffle(o.begin(), o.end(), std::mt19937_64(static_cast<std::uint64_t>(epoch)));
      idx.push_back(o[cursor++]);
    }
    return idx;
  }
  engine::Batch next(std::int64_t n) override {
    auto idx = at::tensor(take(n));
    return {images.index_select(0, idx), conds.index_select(0, idx)};
  }
  at::Tensor sample_conditions(std::int64_t n) override { return conds.index_select(0, at::tensor(take(n))); }
  std::string state() const override { return std::to_string(epoch) + " " + std::to_string(cursor); }
  void restore(const std::string& s) override {
    std::istringstream in(s);
    in >> epoch >> cursor;
  }
};

// Every phase runs within a few steps: R1 and path length every 2nd step.
const std::string kTrainExtra = R"({"r1_interval": 2, "pl_interval": 2, "r1_gamma": 1.0, "mbstd_group": 2})";

engine::TrainOptions train_options(const fs::path& dir, std::int64_t steps, bool resume,
                                   std::vector<double>* losses) {
  engine::TrainOptions o;
  o.run_dir = dir;
  o.steps = steps;
  o.batch_size = 4;
  o.seed = 9;
  o.checkpoint_every = 0;
  o.sample_every = 0;
  o.log_every = 1;
  o.progress = false;
  o.resume = resume;
  o.sample_conditions = at::eye(ColourData::kC);
  o.samples_per_row = 2;
  if (losses)
    o.on_step = [losses](std::int64_t, const LossStats& s) {
      for (const auto& kv : s) losses->push_back(kv.second);
    };
  return o;
}

}  // namespace

TEST_CASE("stylegan trains through the engine: every phase logs finite losses, the run generates", "[stylegan][train]") {
  test::TempDir tmp;
  auto reg = build_tree_registry();
  at::manual_seed(1);
  auto model = reg.create_gan("stylegan", tiny_json(32, ColourData::kC, kTrainExtra));
  REQUIRE(model->plugin_name() == "stylegan");
  std::set<std::string> keys;
  ColourData data;
  auto o = train_options(tmp / "run", 4, false, nullptr);
  o.on_step = [&](std::int64_t, const LossStats& s) {
    for (const auto& [k, v] : s) {
      keys.insert(k);
      CHECK(std::isfinite(v));
    }
  };
  auto result = engine::Trainer(model, data, o).run();
  CHECK(result.steps_done == 4);
  for (const char* k : {"D.loss", "D.real", "D.fake", "D_r1.r1", "G.loss", "G_pl.pl", "G_pl.pl_mean"})
    CHECK(keys.count(k) == 1);
  // The lazy-regularisation correction is in the optimiser specs.
  auto specs = model->optimizers();
  CHECK(specs[0].name == "G");
  CHECK(specs[0].lr == Approx(0.002 * 2.0 / 3.0));
  CHECK(specs[1].beta2 == Approx(std::pow(0.99, 2.0 / 3.0)));
  // The saved generator loads through the registry and generates per genre.
  auto gen = generate::load_generator(tmp / "run", reg);
  GenerateOptions g;
  g.truncation = 0.7;
  const at::Tensor img = gen->generate(at::randn({4, 16}), at::eye(ColourData::kC), g);
  REQUIRE(img.sizes() == at::IntArrayRef({4, 3, 32, 32}));
  CHECK(img.isfinite().all().item<bool>());
  CHECK(fs::exists(tmp / "run" / "samples" / "latest.png"));
}

TEST_CASE("stylegan: N steps, resume for N more equals 2N steps straight", "[stylegan][resume]") {
  test::TempDir tmp;
  auto reg = build_tree_registry();
  const std::string cfg = tiny_json(32, ColourData::kC, kTrainExtra);
  at::manual_seed(2);
  auto straight = reg.create_gan("stylegan", cfg);
  at::manual_seed(2);
  auto first = reg.create_gan("stylegan", cfg);
  at::manual_seed(77);
  auto resumed = reg.create_gan("stylegan", cfg);  // other weights: all must come from the checkpoint

  std::vector<double> all, part;
  ColourData da, db, dc;
  engine::Trainer(straight, da, train_options(tmp / "straight", 6, false, &all)).run();
  engine::Trainer(first, db, train_options(tmp / "split", 3, false, &part)).run();
  engine::Trainer(resumed, dc, train_options(tmp / "split", 6, true, &part)).run();
  REQUIRE(all.size() == part.size());
  REQUIRE(all.size() > 20);
  for (std::size_t i = 0; i < all.size(); ++i) {
    INFO("loss " << i);
    CHECK(part[i] == Approx(all[i]).margin(1e-6));
  }
  auto a = straight->named_tensors(), b = resumed->named_tensors();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(max_abs(a[i].second, b[i].second) <= 1e-6);
  }
}
