// Learned upscaling: the srresnet plugin through covergen::upscale on a tiny synthetic
// dataset (covers at 64 px, x4 from 16 px), so every case runs in about a second.
#include "test_support.hpp"

#include <covergen/data/synth.hpp>
#include <covergen/engine/adam.hpp>
#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>
#include <covergen/plugin_registry.hpp>
#include <covergen/upscale/upscale.hpp>
#include <covergen/upscaler.hpp>

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sys/wait.h>

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

const char* kTiny = R"({"factor":4,"channels":8,"blocks":1,"up_channels":8})";

// 2 genres x 10 tracks, 64 px covers, half a second of audio each.
fs::path tiny_dataset(const fs::path& dir) {
  covergen::data::SynthOptions o;
  o.out = dir / "ds";
  o.genres = 2;
  o.per_genre = 10;
  o.cover_size = 64;
  o.seconds = 0.5;
  o.threads = 1;
  o.seed = 3;
  covergen::data::synthesize(o);
  return o.out;
}

covergen::upscale::FitOptions tiny_fit(const fs::path& data, const fs::path& out, std::int64_t steps) {
  covergen::upscale::FitOptions o;
  o.data = data;
  o.out = out;
  o.from = 16;
  o.to = 64;
  o.steps = steps;
  o.batch = 4;
  o.crop = 8;
  o.config = kTiny;
  o.judge_size = 32;
  o.judge_epochs = 1;
  o.checkpoint_every = 2;
  o.seed = 7;
  return o;
}

bool bit_equal(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes() == b.sizes() && a.dtype() == b.dtype() && at::equal(a, b);
}

}  // namespace

TEST_CASE("an untrained srresnet is exactly bicubic, and its output has the right shape and range", "[upscale]") {
  covergen::PluginRegistry registry;
  at::manual_seed(1);
  auto up = registry.create_upscaler("srresnet", R"({"factor":16,"channels":8,"blocks":1,"up_channels":8})");
  CHECK(up->factor() == 16);
  const at::Tensor x = at::rand({2, 3, 12, 12}) * 2 - 1;
  const at::Tensor y = up->upscale(x);
  REQUIRE(y.sizes() == at::IntArrayRef({2, 3, 192, 192}));
  CHECK(y.min().item<float>() >= -1.0f);
  CHECK(y.max().item<float>() <= 1.0f);
  const at::Tensor bicubic = at::upsample_bicubic2d(x, {192, 192}, false).clamp(-1, 1);
  CHECK(bit_equal(y, bicubic));
  CHECK_THROWS_AS(up->upscale(at::zeros({1, 4, 12, 12})), covergen::InputError);
  CHECK_THROWS_AS(registry.create_upscaler("srresnet", R"({"factor":3})"), covergen::PluginError);
}

TEST_CASE("training srresnet lowers L1 on a fixed batch", "[upscale]") {
  covergen::PluginRegistry registry;
  at::manual_seed(2);
  auto up = registry.create_upscaler("srresnet", kTiny);
  // A fixed batch with sharp edges: bicubic blurs them, the residual can sharpen them.
  at::Tensor hr = at::zeros({4, 3, 32, 32});
  hr.narrow(3, 0, 13).fill_(0.8);
  hr.narrow(2, 20, 12).fill_(-0.6);
  hr[1] = hr[1].flip({2});
  const at::Tensor lr = at::avg_pool2d(hr, {4, 4}, {4, 4});
  covergen::engine::Adam adam(covergen::OptimizerSpec{"up", up->parameters(), 2e-3, 0.9, 0.999, 1e-8});
  auto l1 = [&] { return (up->upscale(lr) - hr).abs().mean().item<double>(); };
  const double before = l1();
  for (int i = 0; i < 40; ++i) {
    adam.zero_grad();
    (up->forward(lr) - hr).abs().mean().backward();
    adam.step();
  }
  const double after = l1();
  INFO("L1 before " << before << ", after " << after);
  CHECK(after < 0.8 * before);
}

TEST_CASE("upscaler fit saves a model that reloads bit for bit, and a resume matches a straight run", "[upscale]") {
  covergen::test::TempDir tmp;
  const fs::path data = tiny_dataset(tmp.path());
  covergen::PluginRegistry registry;

  // Straight: 4 steps.
  const auto straight = covergen::upscale::fit(tiny_fit(data, tmp / "a.cvgn", 4), registry);
  CHECK(straight.steps == 4);
  CHECK(straight.perceptual);
  CHECK(straight.train_covers > 10);
  CHECK(fs::exists(tmp / "a.cvgn"));
  CHECK(fs::exists(tmp / "a.cvgn.state"));
  CHECK(std::isfinite(straight.val_l1));
  const auto header = covergen::read_model_header(tmp / "a.cvgn");
  CHECK(header.kind == "upscaler");
  CHECK(header.plugin == "srresnet");

  // The same fit in two parts: 2 steps, then --resume to 4.
  covergen::upscale::fit(tiny_fit(data, tmp / "b.cvgn", 2), registry);
  auto resumed_options = tiny_fit(data, tmp / "b.cvgn", 4);
  resumed_options.resume = true;
  const auto resumed = covergen::upscale::fit(resumed_options, registry);
  CHECK(resumed.resumed_from == 2);

  auto a = covergen::upscale::load(tmp / "a.cvgn", registry);
  auto b = covergen::upscale::load(tmp / "b.cvgn", registry);
  const auto ta = a->named_tensors(), tb = b->named_tensors();
  REQUIRE(ta.size() == tb.size());
  for (std::size_t i = 0; i < ta.size(); ++i) {
    INFO(ta[i].first);
    CHECK(bit_equal(ta[i].second, tb[i].second));
  }
  // Training moved the weights away from the all-zero tail of the untrained net.
  bool tail_moved = false;
  for (const auto& [name, t] : ta)
    if (name == "tail.w") tail_moved = t.abs().max().item<float>() > 0;
  CHECK(tail_moved);

  // In memory vs reloaded: the same model, bit for bit.
  at::manual_seed(5);
  const at::Tensor x = at::rand({1, 3, 16, 16}) * 2 - 1;
  auto c = registry.create_upscaler("srresnet", kTiny);
  covergen::load_named_tensors(*c, covergen::read_model_file(tmp / "a.cvgn"), "a.cvgn");
  const at::Tensor y = a->upscale(x);
  CHECK(y.sizes() == at::IntArrayRef({1, 3, 64, 64}));
  CHECK(bit_equal(y, c->upscale(x)));

  // A resume past the end, or of a missing state, is refused by name.
  auto again = tiny_fit(data, tmp / "b.cvgn", 4);
  again.resume = true;
  CHECK_THROWS_WITH(covergen::upscale::fit(again, registry), Contains("already has 4 steps"));
  auto missing = tiny_fit(data, tmp / "c.cvgn", 4);
  missing.resume = true;
  CHECK_THROWS_WITH(covergen::upscale::fit(missing, registry), Contains("c.cvgn.state"));
}

TEST_CASE("finishing goes through the upscaler when the art must grow", "[upscale]") {
  covergen::PluginRegistry registry;
  at::manual_seed(3);
  std::shared_ptr<covergen::Upscaler> up = registry.create_upscaler("srresnet", kTiny);
  int calls = 0;
  auto art = covergen::upscale::art_upscaler(up);
  covergen::finish::FinishOptions o;
  o.size = 256;
  o.upscaler = [&](const covergen::finish::Image& im, int side) {
    ++calls;
    auto out = art(im, side);
    CHECK(out.width == im.width * 4);
    return out;
  };
  covergen::finish::Image cover(32, 32);
  for (std::size_t i = 0; i < cover.rgb.size(); ++i) cover.rgb[i] = static_cast<std::uint8_t>((i * 37) % 251);
  const auto finished = covergen::finish::finish(cover, o);
  CHECK(calls == 1);
  CHECK(finished.image.width == 256);
  CHECK(finished.image.height == 256);
  covergen::finish::Image larger(40, 40);  // to 64 px: less than twice the art, Lanczos alone
  o.size = 64;
  CHECK(covergen::finish::finish(larger, o).image.width == 64);
  CHECK(calls == 1);
}

TEST_CASE("covergen upscaler fit on a missing dataset exits 3 naming it", "[upscale][cli]") {
  covergen::test::TempDir tmp;
  const std::string missing = (tmp / "no-such-dataset").string();
  const std::string cmd = "'" + std::string(COVERGEN_CLI) + "' upscaler fit --data '" + missing + "' --out '" +
                          (tmp / "sr.cvgn").string() + "' 2>'" + (tmp / "err").string() + "' >/dev/null </dev/null";
  const int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  std::ifstream in(tmp / "err");
  const std::string err(std::istreambuf_iterator<char>(in), {});
  CHECK_THAT(err, Contains(missing));
  CHECK_FALSE(fs::exists(tmp / "sr.cvgn"));

  // compare: a missing cover is named too, and no picture is written.
  const std::string cover = (tmp / "no-such-cover.png").string();
  const std::string cmd2 = "'" + std::string(COVERGEN_CLI) + "' upscaler compare '" + cover + "' --model '" +
                           (tmp / "sr.cvgn").string() + "' --out '" + (tmp / "p.png").string() + "' 2>'" +
                           (tmp / "err2").string() + "' >/dev/null </dev/null";
  const int status2 = std::system(cmd2.c_str());
  REQUIRE(WIFEXITED(status2));
  CHECK(WEXITSTATUS(status2) == 3);
  std::ifstream in2(tmp / "err2");
  CHECK_THAT(std::string(std::istreambuf_iterator<char>(in2), {}), Contains(cover));
  CHECK_FALSE(fs::exists(tmp / "p.png"));
}
