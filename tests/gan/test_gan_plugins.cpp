// The dcgan and wgan-gp plugins, loaded through covergen::PluginRegistry from the
// build tree's plugin folder and driven by hand the way the engine drives them.
#include <covergen/errors.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <torch/optim/adam.h>

#include <map>

using namespace covergen;

namespace {

PluginRegistry build_tree_registry() {
  PluginSearchOptions o;
  o.extra_dirs = {COVERGEN_BUILD_PLUGIN_DIR};
  o.use_environment = false;
  o.use_default_dirs = false;
  return PluginRegistry(o);
}

// A minimal engine: one Adam per OptimizerSpec, phases as gan.hpp describes.
struct MiniEngine {
  explicit MiniEngine(GanModel& m) : model(m) {
    for (const auto& s : m.optimizers()) {
      opts.emplace(s.name, std::make_unique<torch::optim::Adam>(
                               s.params, torch::optim::AdamOptions(s.lr).betas({s.beta1, s.beta2}).eps(s.eps)));
    }
  }
  // Runs one step; returns the last stats of each phase by phase name.
  std::map<std::string, LossStats> step(std::int64_t step_index, const std::function<at::Tensor()>& next_real,
                                        const std::function<at::Tensor(std::int64_t)>& cond) {
    std::map<std::string, LossStats> out;
    const auto phases = model.phases();
    for (std::size_t p = 0; p < phases.size(); ++p) {
      if (step_index % phases[p].interval != 0) continue;
      for (std::int64_t r = 0; r < phases[p].repeats; ++r) {
        PhaseBatch b;
        if (phases[p].needs_real) b.real = next_real();
        const std::int64_t n = b.real.defined() ? b.real.size(0) : 8;
        b.z = at::randn({n, model.generator().latent_dim()});
        b.real_cond = cond(n);
        b.fake_cond = cond(n);
        auto& opt = *opts.at(phases[p].optimizer);
        opt.zero_grad();
        PhaseContext ctx;
        ctx.step = step_index;
        out[phases[p].name] = model.run_phase(p, b, ctx);
        opt.step();
      }
    }
    return out;
  }
  GanModel& model;
  std::map<std::string, std::unique_ptr<torch::optim::Adam>> opts;
};

double stat(const LossStats& s, const std::string& key) {
  for (const auto& kv : s)
    if (kv.first == key) return kv.second;
  FAIL("no stat " << key);
  return 0;
}

const char* kSmall = R"({"image_size": 32, "latent_dim": 16, "ngf": 8, "ndf": 8, "condition_embed": 8)";

std::string small(const std::string& extra = "") { return std::string(kSmall) + extra + "}"; }

}  // namespace

TEST_CASE("the build tree's plugin folder holds dcgan and wgan-gp", "[gan][plugins]") {
  auto reg = build_tree_registry();
  std::map<std::string, PluginRecord> found;
  for (const auto& r : reg.list()) found[r.name] = r;
  for (const char* name : {"dcgan", "wgan-gp"}) {
    INFO(name);
    REQUIRE(found.count(name));
    CHECK(found[name].ok);
    CHECK(found[name].kind == "gan");
    CHECK(found[name].path.filename() == plugin_file_name(name));
  }
}

TEST_CASE("plugin configs resolve, round-trip and reject mistakes", "[gan][plugins]") {
  auto reg = build_tree_registry();
  auto dc = reg.create_gan("dcgan", "{}");
  CHECK(dc->plugin_name() == "dcgan");
  CHECK(dc->generator().image_size() == 64);
  CHECK(dc->generator().latent_dim() == 100);
  CHECK(dc->generator().condition_dim() == 0);
  const auto opt = dc->optimizers();
  REQUIRE(opt.size() == 2);
  CHECK(opt[0].lr == 2e-4);
  CHECK(opt[0].beta1 == 0.5);
  CHECK(opt[0].beta2 == 0.999);
  REQUIRE(dc->phases().size() == 2);
  CHECK(dc->phases()[0].repeats == 1);

  auto wg = reg.create_gan("wgan-gp", small(R"(, "condition_dim": 3, "condition": "projection")"));
  const auto wopt = wg->optimizers();
  CHECK(wopt[1].lr == 1e-4);
  CHECK(wopt[1].beta1 == 0.0);
  CHECK(wopt[1].beta2 == 0.9);
  CHECK(wg->phases()[0].name == "D");
  CHECK(wg->phases()[0].repeats == 5);
  CHECK(!wg->phases()[1].needs_real);

  // config_json() recreates the same tensors
  auto again = reg.create_gan("wgan-gp", wg->config_json());
  const auto a = wg->named_tensors(), b = again->named_tensors();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].first == b[i].first);
    CHECK(a[i].second.sizes() == b[i].second.sizes());
  }
  CHECK_THROWS_AS(reg.create_gan("dcgan", R"({"image_size": 48})"), PluginError);
  CHECK_THROWS_AS(reg.create_gan("dcgan", R"({"ngf_typo": 3})"), PluginError);
  CHECK_THROWS_AS(reg.create_gan("wgan-gp", R"({"d_norm": "batch"})"), PluginError);
  CHECK_THROWS_AS(reg.create_gan("dcgan", R"({"condition": "sideways"})"), PluginError);
}

TEST_CASE("named tensors: G./D. prefixes, make_generator() shares the generator's names", "[gan][plugins]") {
  auto reg = build_tree_registry();
  auto m = reg.create_gan("dcgan", small(R"(, "condition_dim": 4)"));
  const auto all = m->named_tensors();
  std::size_t g_count = 0;
  for (const auto& t : all) {
    CHECK((t.first.rfind("G.", 0) == 0 || t.first.rfind("D.", 0) == 0));
    g_count += t.first.rfind("G.", 0) == 0;
  }
  auto own = m->generator().named_tensors();
  auto fresh = m->make_generator();
  auto fresh_t = fresh->named_tensors();
  REQUIRE(own.size() == g_count);
  REQUIRE(fresh_t.size() == own.size());
  for (std::size_t i = 0; i < own.size(); ++i) {
    CHECK(own[i].first == fresh_t[i].first);
    CHECK(("G." + own[i].first) == all[i].first);
    CHECK(at::equal(own[i].second, fresh_t[i].second));  // starts as a copy
    CHECK(own[i].second.data_ptr() != fresh_t[i].second.data_ptr());
  }
  // loading by name (what the engine's EMA does) makes the outputs equal
  {
    torch::NoGradGuard ng;
    for (auto& t : own)
      if (t.second.is_floating_point()) t.second.add_(0.01);
    for (std::size_t i = 0; i < own.size(); ++i) fresh_t[i].second.copy_(own[i].second);
  }
  const at::Tensor z = at::randn({3, 16}), c = at::randn({3, 4});
  CHECK(at::allclose(m->generator().generate(z, c), fresh->generate(z, c)));
  m.reset();  // the generator outlives its model and plugin
  CHECK(fresh->generate(z, c).sizes() == c10::IntArrayRef({3, 3, 32, 32}));
}

TEST_CASE("dcgan: hand-driven steps lower the D loss on a separable toy set", "[gan][plugins][train]") {
  torch::manual_seed(11);
  auto reg = build_tree_registry();
  for (const char* cond : {"", R"(, "condition_dim": 3)", R"(, "condition_dim": 3, "condition": "projection")"}) {
    INFO("config " << small(cond));
    auto m = reg.create_gan("dcgan", small(cond));
    m->set_training(true);
    MiniEngine e(*m);
    const bool conditional = m->generator().condition_dim() > 0;
    // real images: bright top half, dark bottom half, little noise; G starts near 0
    auto next_real = [] {
      at::Tensor x = at::full({16, 3, 32, 32}, -0.8);
      x.narrow(2, 0, 16).fill_(0.8);
      return x + 0.05 * at::randn_like(x);
    };
    auto c = [&](std::int64_t n) { return conditional ? at::randn({n, 3}) : at::Tensor(); };
    double first = 0, last = 0;
    for (int s = 0; s < 20; ++s) {
      auto st = e.step(s, next_real, c);
      const double d = stat(st.at("D"), "loss");
      CHECK(std::isfinite(stat(st.at("G"), "loss")));
      UNSCOPED_INFO("step " << s << " D " << d << " G " << stat(st.at("G"), "loss"));
      if (s == 0) first = d;
      last = d;
    }
    CHECK(last < 0.7 * first);  // from ~2 ln 2
  }
}

TEST_CASE("dcgan: the G phase reuses the D phase's fakes and builds no D weight grads", "[gan][plugins][train]") {
  torch::manual_seed(12);
  auto reg = build_tree_registry();
  auto m = reg.create_gan("dcgan", small());
  m->set_training(true);
  PhaseBatch b;
  b.real = at::rand({4, 3, 32, 32}) * 2 - 1;
  b.z = at::randn({4, 16});
  PhaseContext ctx;
  m->run_phase(0, b, ctx);
  const auto specs = m->optimizers();
  for (auto& p : specs[1].params) p.mutable_grad() = at::Tensor();  // zero D
  PhaseBatch gb;
  gb.z = at::randn({4, 16});
  const auto st = m->run_phase(1, gb, ctx);
  CHECK(std::isfinite(stat(st, "loss")));
  for (auto& p : specs[1].params) {
    CHECK(!p.grad().defined());
    CHECK(p.requires_grad());  // restored
  }
  std::size_t with_grad = 0;
  for (auto& p : specs[0].params) with_grad += p.grad().defined();
  CHECK(with_grad == specs[0].params.size());
}

TEST_CASE("wgan-gp: phases run, the penalty is reported, the critic learns", "[gan][plugins][train]") {
  torch::manual_seed(13);
  auto reg = build_tree_registry();
  for (const char* cond : {"", R"(, "condition_dim": 2, "d_norm": "none")"}) {
    INFO("config " << small(cond));
    auto m = reg.create_gan("wgan-gp", small(cond));
    m->set_training(true);
    MiniEngine e(*m);
    const bool conditional = m->generator().condition_dim() > 0;
    auto next_real = [] {
      at::Tensor x = at::full({8, 3, 32, 32}, 0.7);
      return x + 0.05 * at::randn_like(x);
    };
    auto c = [&](std::int64_t n) { return conditional ? at::randn({n, 2}) : at::Tensor(); };
    double first_w = 0, last_w = 0;
    for (int s = 0; s < 4; ++s) {
      auto st = e.step(s, next_real, c);
      CHECK(std::isfinite(stat(st.at("D"), "gp")));
      CHECK(std::isfinite(stat(st.at("G"), "loss")));
      if (s == 0) first_w = stat(st.at("D"), "w_dist");
      last_w = stat(st.at("D"), "w_dist");
    }
    CHECK(last_w > first_w);  // the critic separates real from fake better
  }
}

TEST_CASE("convt native and viaconv plugins compute the same generator", "[gan][plugins]") {
  auto reg = build_tree_registry();
  auto a = reg.create_gan("dcgan", small(R"(, "convt": "viaconv")"));
  auto b = reg.create_gan("dcgan", small(R"(, "convt": "native")"));
  auto ta = a->generator().named_tensors(), tb = b->generator().named_tensors();
  {
    torch::NoGradGuard ng;
    for (std::size_t i = 0; i < ta.size(); ++i) tb[i].second.copy_(ta[i].second);
  }
  const at::Tensor z = at::randn({4, 16});
  CHECK((a->generator().generate(z, {}) - b->generator().generate(z, {})).abs().max().item<double>() < 1e-5);
}
