// Latent-space tools (issue 7): export -> torchscript plugin round trip, the mapper,
// slerp paths, frame writers, and the export/interpolate commands.
#include <covergen/engine/trainer.hpp>
#include <covergen/errors.hpp>
#include <covergen/latent/export.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/image.hpp>
#include <covergen/latent/mapper.hpp>
#include <covergen/latent/paths.hpp>
#include <covergen/latent/video.hpp>
#include <covergen/model_file.hpp>
#include <covergen/plugin_registry.hpp>
#include <covergen/w_space.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <gif_lib.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sys/wait.h>

namespace fs = std::filesystem;
using namespace covergen;
using nlohmann::json;

namespace {

PluginRegistry build_tree_registry() {
  PluginSearchOptions o;
  o.extra_dirs = {COVERGEN_BUILD_PLUGIN_DIR};
  o.use_environment = false;
  o.use_default_dirs = false;
  return PluginRegistry(o);
}

fs::path scratch(const std::string& name) {
  fs::path d = fs::path(COVERGEN_TEST_BINARY_DIR) / "latent_scratch" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A tiny generator file (as `covergen train` writes generator.cvgn) of a GAN plugin
// (dcgan, wgan-gp, stylegan) with non-trivial BatchNorm statistics (folded into the
// DCGAN family's generate, so the export must carry them) and StyleGAN noise strengths
// (its generate adds constant noise, which the export must reproduce).
fs::path tiny_generator(const PluginRegistry& reg, const fs::path& dir, std::int64_t condition_dim, const json& meta,
                        const std::string& plugin = "dcgan") {
  json cfg{{"image_size", 32}, {"latent_dim", 16}};
  if (plugin == "stylegan") {
    cfg.update({{"w_dim", 16}, {"mapping_layers", 2}, {"channel_base", 64}, {"channel_max", 16}, {"w_avg_samples", 64}});
  } else {
    cfg.update({{"ngf", 8}, {"ndf", 8}});
  }
  if (condition_dim > 0) cfg["condition_dim"] = condition_dim;
  auto gan = reg.create_gan(plugin, cfg.dump());
  auto gen = gan->make_generator();
  at::manual_seed(7);
  for (auto& [name, t] : gen->named_tensors()) {
    at::NoGradGuard ng;
    if (name.find("running_var") != std::string::npos) t.copy_(at::rand_like(t) + 0.5);
    else if (name.find("running_mean") != std::string::npos) t.copy_(at::randn_like(t) * 0.2);
    else if (name.find("noise_strength") != std::string::npos) t.fill_(0.5);
    else if (name.find("num_batches") == std::string::npos && t.is_floating_point()) t.add_(at::randn_like(t) * 0.01);
  }
  ModelHeader h;
  h.kind = "generator";
  h.plugin = plugin;
  h.config_json = gan->config_json();
  h.meta_json = meta.dump();
  const fs::path file = dir / "generator.cvgn";
  write_model_file(file, h, gen->named_tensors());
  return file;
}

int run_cli(const std::string& args, const fs::path& log) {
  const std::string cmd = std::string(COVERGEN_CLI) + " --plugin-dir " + COVERGEN_BUILD_PLUGIN_DIR + " " + args +
                          " > " + log.string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A readable GIF with `frames` images, `width` pixels wide.
void check_gif(const fs::path& path, int frames, int width) {
  INFO(path.string());
  int err = 0;
  GifFileType* g = DGifOpenFileName(path.c_str(), &err);
  REQUIRE(g != nullptr);
  REQUIRE(DGifSlurp(g) == GIF_OK);
  CHECK(g->ImageCount == frames);
  CHECK(g->SWidth == width);
  DGifCloseFile(g, &err);
}

}  // namespace

TEST_CASE("torchscript: bad TorchScript files are input errors naming the file", "[latent][export]") {
  auto reg = build_tree_registry();
  const auto dir = scratch("badpt");
  {
    std::ofstream(dir / "garbage.pt") << "this is not a zip archive";
  }
  try {
    generate::load_generator(dir / "garbage.pt", reg);
    FAIL("garbage accepted");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("garbage.pt") != std::string::npos);
    CHECK(std::string(e.what()).find("not a TorchScript module") != std::string::npos);
  }
  CHECK(run_cli("generate --model " + (dir / "garbage.pt").string() + " --out " + (dir / "out").string(),
                dir / "log.txt") == 3);
  CHECK(slurp(dir / "log.txt").find("garbage.pt") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "out" / "index.html"));
}

TEST_CASE("export: each GAN family through the torchscript plugin gives the original's images", "[latent][export]") {
  auto reg = build_tree_registry();
  for (std::string plugin : {"dcgan", "wgan-gp", "stylegan"}) {
    for (std::int64_t cdim : {0, 3}) {
      INFO(plugin << ", condition_dim " << cdim);
      const auto dir = scratch("export-" + plugin + std::to_string(cdim));
      json meta{{"condition", cdim ? json{{"mode", "genre"}, {"names", {"a", "b", "c"}}} : json{{"mode", "none"}}}};
      const auto file = tiny_generator(reg, dir, cdim, meta, plugin);
      std::string meta_text;
      auto original = generate::load_generator(file, reg, &meta_text);
      const auto report = latent::export_torchscript(*original, meta_text, dir / "g.pt");
      CHECK(report.check_max_abs_diff <= 1e-5);
      REQUIRE(generate::is_torchscript_file(dir / "g.pt"));
      REQUIRE_FALSE(generate::is_torchscript_file(file));
      for (const auto& e : fs::directory_iterator(dir))  // written atomically: no temporary left
        CHECK(e.path().filename().string().find(".partial-") == std::string::npos);

      std::string ts_meta;
      auto ts = generate::load_generator(dir / "g.pt", reg, &ts_meta);
      CHECK(ts->plugin_name() == "torchscript");
      CHECK(ts->latent_dim() == 16);
      CHECK(ts->condition_dim() == cdim);
      CHECK(ts->image_size() == 32);
      CHECK(json::parse(ts_meta) == meta);

      auto fresh = generate::load_generator(file, reg);  // not touched by the export
      auto rng = at::make_generator<at::CPUGeneratorImpl>(11);
      auto z = at::randn({5, 16}, rng);
      at::Tensor c = cdim ? at::one_hot(at::arange(5) % 3, 3).to(at::kFloat) + 0.1 * at::randn({5, cdim}, rng)
                          : at::Tensor();
      auto want = fresh->generate(z, c);
      auto got = ts->generate(z, c);
      REQUIRE(got.sizes() == want.sizes());
      CHECK((got - want).abs().max().item<double>() <= 1e-5);
      // the images depend on z (by far more than the tolerance): the check above is not vacuous
      CHECK((want[0] - want[1]).abs().max().item<double>() > 3e-4);
      // every tensor of the module moves with it: parameters and buffers only, no graph constants
      auto named = ts->named_tensors();
      CHECK(named.size() >= fresh->named_tensors().size());
      GenerateOptions half;
      half.truncation = 0.5;
      if (plugin == "stylegan") {
        // The plugin's truncation (scale z) is not StyleGAN's (towards the mean w): it is refused,
        // and baked in by export instead.
        CHECK_THROWS_AS(ts->generate(z, c, half), InputError);
        latent::ExportOptions eo;
        eo.truncation = 0.5;
        latent::export_torchscript(*original, meta_text, dir / "g-half.pt", eo);
        auto ts_half = generate::load_generator(dir / "g-half.pt", reg);
        const auto want_half = fresh->generate(z, c, half);
        CHECK((ts_half->generate(z, c) - want_half).abs().max().item<double>() <= 1e-5);
        CHECK((want_half - want).abs().max().item<double>() > 1e-3);  // truncation changed the images
        CHECK(json::parse(ts_half->config_json())["truncation_baked"] == 0.5);
      } else {
        CHECK((ts->generate(z, c, half) - fresh->generate(z, c, half)).abs().max().item<double>() <= 1e-5);
      }
    }
  }
}

TEST_CASE("export command: writes FILE.pt that generate reads, bad input exits 3 and writes nothing", "[latent][export]") {
  auto reg = build_tree_registry();
  const auto dir = scratch("export-cli");
  const auto file = tiny_generator(reg, dir, 0, json{{"condition", {{"mode", "none"}}}});
  CHECK(run_cli("export --model " + file.string() + " --out " + (dir / "g.pt").string() + " --json",
                dir / "log.txt") == 0);
  const auto out = json::parse(slurp(dir / "log.txt"));
  CHECK(out["plugin"] == "dcgan");
  CHECK(out["check_max_abs_diff"].get<double>() <= 1e-5);
  REQUIRE(generate::is_torchscript_file(dir / "g.pt"));
  CHECK(run_cli("generate --model " + (dir / "g.pt").string() + " -n 2 --out " + (dir / "covers").string(),
                dir / "gen.txt") == 0);
  // a missing model, a TorchScript file as the model, a bad truncation: exit 3, no output
  CHECK(run_cli("export --model " + (dir / "missing.cvgn").string() + " --out " + (dir / "x.pt").string(),
                dir / "e1.txt") == 3);
  CHECK(slurp(dir / "e1.txt").find("missing.cvgn") != std::string::npos);
  CHECK(run_cli("export --model " + (dir / "g.pt").string() + " --out " + (dir / "x.pt").string(), dir / "e2.txt") == 3);
  CHECK(slurp(dir / "e2.txt").find("already a TorchScript file") != std::string::npos);
  CHECK(run_cli("export --model " + file.string() + " --truncation 2 --out " + (dir / "x.pt").string(),
                dir / "e3.txt") == 3);
  CHECK_FALSE(fs::exists(dir / "x.pt"));
}

TEST_CASE("slerp: known answers", "[latent][paths]") {
  auto e1 = at::tensor({1.0, 0.0}, at::kDouble), e2 = at::tensor({0.0, 1.0}, at::kDouble);
  auto mid = latent::slerp(e1, e2, 0.5);
  CHECK(mid[0].item<double>() == Approx(std::sqrt(0.5)).margin(1e-12));
  CHECK(mid[1].item<double>() == Approx(std::sqrt(0.5)).margin(1e-12));
  auto third = latent::slerp(e1, 2.0 * e2, 1.0 / 3.0);  // angle pi/6 along the arc, norm interpolated by weights
  CHECK(third[0].item<double>() == Approx(std::sin(M_PI / 3) / 1.0).margin(1e-12));
  CHECK(third[1].item<double>() == Approx(2.0 * std::sin(M_PI / 6)).margin(1e-12));
  auto path = latent::slerp_path(e1.to(at::kFloat), e2.to(at::kFloat), 5);
  CHECK(path.size(0) == 5);
  CHECK(at::equal(path[0], e1.to(at::kFloat)));
  CHECK(at::equal(path[4], e2.to(at::kFloat)));
  CHECK((path.norm(2, 1) - 1.0).abs().max().item<double>() < 1e-6);
  // parallel vectors fall back to lerp
  auto par = latent::slerp(e1, 3.0 * e1, 0.5);
  CHECK(par[0].item<double>() == Approx(2.0));
}

TEST_CASE("frame writers: PNG frames exact, MP4 and GIF readable with the right frame count", "[latent][video]") {
  auto reg = build_tree_registry();
  const auto dir = scratch("video");
  const auto file = tiny_generator(reg, dir, 0, json{{"condition", {{"mode", "none"}}}});
  auto gen = generate::load_generator(file, reg);
  auto rng = at::make_generator<at::CPUGeneratorImpl>(3);
  auto za = at::randn({16}, rng), zb = at::randn({16}, rng);
  const std::int64_t frames = 12;
  std::vector<at::Tensor> rendered;
  for (std::string out : {(dir / "frames/").string(), (dir / "v.mp4").string(), (dir / "v.gif").string()}) {
    latent::FrameWriter w(out, 12.0, out.back() == '/' ? 0 : 64);
    rendered.clear();
    latent::render_interpolation(*gen, za, zb, {}, {}, frames, latent::PathSpace::z, {},
                                 [&](const at::Tensor& x) { w.write(x); rendered.push_back(x); }, 5);
    CHECK(w.finish() == frames);
  }
  // The path's ends are the generator's images of the endpoints (float, 1e-5: another batch size)
  auto path = at::cat(rendered);
  REQUIRE(path.size(0) == frames);
  CHECK((path[0] - gen->generate(za.unsqueeze(0), {})[0]).abs().max().item<double>() < 1e-5);
  CHECK((path[frames - 1] - gen->generate(zb.unsqueeze(0), {})[0]).abs().max().item<double>() < 1e-5);
  const auto ends = covergen::to_rgb8(at::stack({path[0], path[frames - 1]}));  // [2, S, S, 3]
  // PNG frames: first and last hold exactly those images' pixels
  for (auto [i, name] : {std::pair<int, const char*>{0, "frame_00000.png"}, {1, "frame_00011.png"}}) {
    cv::Mat bgr = cv::imread((dir / "frames" / name).string(), cv::IMREAD_COLOR), rgb;
    REQUIRE(!bgr.empty());
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    auto t = at::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, at::kByte).clone();
    CHECK(at::equal(t, ends[i]));
  }
  CHECK_FALSE(fs::exists(dir / "frames" / "frame_00012.png"));
  // MP4: opens, 12 frames of 64x64, the first near the first endpoint (lossy codec)
  cv::VideoCapture cap((dir / "v.mp4").string());
  REQUIRE(cap.isOpened());
  CHECK(cap.get(cv::CAP_PROP_FRAME_COUNT) == frames);
  CHECK(cap.get(cv::CAP_PROP_FPS) == Approx(12.0));
  int read = 0;
  cv::Mat f, first;
  while (cap.read(f)) {
    if (read == 0) first = f.clone();
    ++read;
  }
  CHECK(read == frames);
  REQUIRE(first.cols == 64);
  cv::Mat small, rgb;
  cv::resize(first, small, cv::Size(32, 32), 0, 0, cv::INTER_AREA);
  cv::cvtColor(small, rgb, cv::COLOR_BGR2RGB);
  auto t = at::from_blob(rgb.data, {32, 32, 3}, at::kByte).to(at::kDouble);
  const double mae = (t - ends[0].to(at::kDouble)).abs().mean().item<double>();
  CHECK(mae < 12.0);
  // GIF: a GIF89a with 12 images
  check_gif(dir / "v.gif", frames, 64);
  // no temporary left behind
  for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().filename().string().find(".partial-") == std::string::npos);
  CHECK_THROWS_AS(latent::FrameWriter((dir / "v.webm").string(), 10.0), InputError);
}

TEST_CASE("interpolate command: a StyleGAN walk in W, frame count and frame content checked", "[latent][video]") {
  auto reg = build_tree_registry();
  const auto dir = scratch("interp-cli");
  const auto file = tiny_generator(reg, dir, 0, json{{"condition", {{"mode", "none"}}}}, "stylegan");
  auto gen = generate::load_generator(file, reg);
  auto* ws = dynamic_cast<WSpace*>(gen.get());
  REQUIRE(ws != nullptr);
  CHECK(latent::path_space_for(*gen) == latent::PathSpace::w);
  const std::int64_t frames = 7;
  const std::string common = "interpolate --model " + file.string() + " --from seed:1 --to seed:2 --frames 7 --json";
  REQUIRE(run_cli(common + " --out " + (dir / "frames").string() + "/", dir / "png.txt") == 0);
  const auto info = json::parse(slurp(dir / "png.txt"));
  CHECK(info["frames"] == frames);
  CHECK(info["space"] == "w");
  // the CLI's seed:N endpoint is randn(L) from a CPU generator seeded with N
  auto z_of = [](std::uint64_t seed) {
    auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
    return at::randn({16}, g);
  };
  const auto za = z_of(1), zb = z_of(2);
  const auto w = ws->map_to_w(at::stack({za, zb}), {});
  // frame i is synthesize(lerp(w_a, w_b, i / 6)): the ends are the endpoints' covers
  const auto want = covergen::to_rgb8(at::cat({gen->generate(za.unsqueeze(0), {}), ws->synthesize(w.narrow(0, 0, 1).lerp(w.narrow(0, 1, 1), 0.5)),
                                             gen->generate(zb.unsqueeze(0), {})}));
  for (auto [k, name] : {std::pair<int, const char*>{0, "frame_00000.png"}, {1, "frame_00003.png"}, {2, "frame_00006.png"}}) {
    cv::Mat bgr = cv::imread((dir / "frames" / name).string(), cv::IMREAD_COLOR), rgb;
    REQUIRE(!bgr.empty());
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    auto t = at::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, at::kByte).to(at::kInt);
    INFO(name);
    CHECK((t - want[k].to(at::kInt)).abs().max().item<int>() <= 1);  // 8-bit rounding of float ties
  }
  CHECK_FALSE(fs::exists(dir / "frames" / "frame_00007.png"));
  // The middle of a W walk is not the middle of the Z slerp (the paths differ).
  auto zmid = latent::slerp(za, zb, 0.5).unsqueeze(0);
  CHECK((gen->generate(zmid, {}) - ws->synthesize(w.narrow(0, 0, 1).lerp(w.narrow(0, 1, 1), 0.5))).abs().max().item<double>() > 1e-3);
  // GIF: 7 images at the requested size
  REQUIRE(run_cli(common + " --size 64 --out " + (dir / "walk.gif").string(), dir / "gif.txt") == 0);
  check_gif(dir / "walk.gif", frames, 64);
}

TEST_CASE("mapper: unit covariance, Gaussian marginals, passes MMD against N(0, I), keeps distance ranks", "[latent][mapper]") {
  // Skewed, correlated 6-d "embeddings" (exponential and squared Gaussian mixtures)
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  auto make = [&](std::int64_t n) {
    auto a = at::randn({n, 6}, gen, at::TensorOptions().dtype(at::kDouble));
    auto e = -at::log(at::rand({n, 2}, gen, at::TensorOptions().dtype(at::kDouble)));
    auto mix = at::cat({a.narrow(1, 0, 2) * 3.0 + e, a.narrow(1, 2, 2).pow(2), a.narrow(1, 4, 2) + a.narrow(1, 0, 2)}, 1);
    return mix;
  };
  auto train = make(600), test = make(300);
  auto m = latent::LatentMapper::fit(train, 16, 1);
  CHECK(m.pca_dim() == 6);
  CHECK(m.rff_dim() == 10);
  auto z = m.map(train).to(at::kDouble);
  CHECK(z.mean(0).abs().max().item<double>() < 1e-6);
  auto cov = at::matmul((z - z.mean(0)).t(), z - z.mean(0)) / 599.0;
  CHECK((cov - at::eye(16, at::kDouble)).abs().max().item<double>() < 1e-4);
  // held-out tracks against a N(0, I) sample
  auto zt = m.map(test);
  auto ref = at::randn({300, 16}, gen);
  auto t = latent::mmd_test(zt, ref, 500, 2);
  CHECK(t.p_value > 0.01);
  // the raw embeddings (whitened only linearly) are clearly not N(0, I)
  auto u = m.whiten(test).to(at::kFloat);
  auto padded = at::cat({u, at::zeros({300, 10})}, 1);
  CHECK(latent::mmd_test(padded, ref, 500, 2).p_value < 0.01);
  const double rho = latent::distance_rank_correlation(test, zt);
  CHECK(rho > 0.5);
  // round trip through tensors
  auto again = latent::LatentMapper::from_tensors(m.tensors(), "x");
  CHECK(at::equal(again.map(test), zt));
  CHECK_THROWS_AS(m.map(at::zeros({2, 5})), InputError);
}

TEST_CASE("two-sample statistics: known answers", "[latent][mapper]") {
  CHECK(latent::spearman(at::tensor({1.0, 2.0, 3.0, 4.0}), at::tensor({1.0, 3.0, 2.0, 4.0})) == Approx(0.8));
  CHECK(latent::spearman(at::tensor({1.0, 2.0, 3.0}), at::tensor({3.0, 2.0, 1.0})) == Approx(-1.0));
  // ties: average ranks [1.5, 1.5, 3] vs [1, 2, 3] -> r = 0.866025
  CHECK(latent::spearman(at::tensor({5.0, 5.0, 7.0}), at::tensor({1.0, 2.0, 3.0})) == Approx(std::sqrt(0.75)));
  // MMD²: x = {0, 1}, y = {0, 3} in 1-d with the median bandwidth, computed by hand
  auto x = at::tensor({0.0, 1.0}, at::kDouble).unsqueeze(1), y = at::tensor({0.0, 3.0}, at::kDouble).unsqueeze(1);
  auto r = latent::mmd_test(x, y, 0);
  // pooled squared distances {1, 0, 9, 1, 4, 9}: torch's median is the lower middle one, 1
  const double s2 = 1.0;
  auto k = [&](double d) { return std::exp(-d * d / (2 * s2)); };
  const double want = k(1) + k(3) - 2.0 * (k(0) + k(3) + k(1) + k(2)) / 4.0;
  CHECK(r.mmd2 == Approx(want).margin(1e-12));
  CHECK(r.bandwidth == Approx(1.0));
  auto g = at::make_generator<at::CPUGeneratorImpl>(9);
  auto a = at::randn({200, 8}, g), b = at::randn({200, 8}, g);
  CHECK(latent::mmd_test(a, b, 300, 1).p_value > 0.05);
  CHECK(latent::mmd_test(a + 0.5, b, 300, 1).p_value < 0.01);
}
