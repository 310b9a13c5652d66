// covergen::nn: the conv-as-transposed-conv path, BatchNorm folding, the architecture's
// shapes, conditioning, and the gradient penalty against float64 references.
#include <covergen/errors.hpp>
#include <covergen/nn/dcgan.hpp>
#include <covergen/nn/gan_model.hpp>

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <fstream>
#include <covergen/cpu_features.hpp>
#include <covergen/cpu_kernels.hpp>
#include <torch/csrc/autograd/autograd.h>

using namespace covergen::nn;

namespace {

double max_abs(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

GanConfig small_config(std::int64_t size, std::int64_t cdim = 0) {
  GanConfig c;
  c.image_size = size;
  c.latent_dim = 16;
  c.ngf = 8;
  c.ndf = 8;
  c.condition_dim = cdim;
  c.condition_embed = 8;
  return c;
}

struct ConvTCase {
  std::int64_t in, out, k, stride, pad, outpad, hw;
};

}  // namespace

TEST_CASE("convT via conv matches the native op and a float64 reference, forward and backward", "[gan][nn]") {
  torch::manual_seed(1);
  for (const ConvTCase& t : {ConvTCase{6, 5, 4, 2, 1, 0, 5}, ConvTCase{7, 4, 4, 1, 0, 0, 1},
                             ConvTCase{3, 4, 3, 2, 1, 1, 4}, ConvTCase{4, 3, 4, 2, 1, 0, 8}}) {
    const at::Tensor x64 = at::randn({3, t.in, t.hw, t.hw}, at::kDouble);
    const at::Tensor w64 = at::randn({t.in, t.out, t.k, t.k}, at::kDouble) * 0.2;
    const at::Tensor b64 = at::randn({t.out}, at::kDouble);
    // float64 reference through the native op
    const at::Tensor xr = x64.clone().requires_grad_(true), wr = w64.clone().requires_grad_(true);
    const at::Tensor yr = at::conv_transpose2d(xr, wr, b64, {t.stride, t.stride}, {t.pad, t.pad}, {t.outpad, t.outpad});
    const at::Tensor g64 = at::randn(yr.sizes(), at::kDouble);
    (yr * g64).sum().backward();
    for (ConvTMode mode : {ConvTMode::via_conv, ConvTMode::native}) {
      INFO("mode " << to_string(mode) << " stride " << t.stride << " k " << t.k << " outpad " << t.outpad);
      const at::Tensor x = x64.to(at::kFloat).requires_grad_(true), w = w64.to(at::kFloat).requires_grad_(true);
      const at::Tensor y = conv_transpose2d(x, w, b64.to(at::kFloat), {t.stride, t.stride}, {t.pad, t.pad},
                                            {t.outpad, t.outpad}, mode);
      REQUIRE(y.sizes() == yr.sizes());
      (y * g64.to(at::kFloat)).sum().backward();
      // ~1e-5 relative to each result's scale (float32 sums over N*H*W terms)
      CHECK(max_abs(y, yr) < 1e-5 * std::max(1.0, yr.abs().max().item<double>()));
      CHECK(max_abs(x.grad(), xr.grad()) < 1e-5 * std::max(1.0, xr.grad().abs().max().item<double>()));
      CHECK(max_abs(w.grad(), wr.grad()) < 1e-5 * std::max(1.0, wr.grad().abs().max().item<double>()));
    }
  }
}

TEST_CASE("convT via conv supports double backward (create_graph)", "[gan][nn]") {
  torch::manual_seed(2);
  const at::Tensor x0 = at::randn({2, 5, 4, 4}, at::kDouble), w0 = at::randn({5, 3, 4, 4}, at::kDouble) * 0.3;
  std::vector<at::Tensor> results[2];
  for (int m = 0; m < 2; ++m) {
    const at::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
    const at::Tensor y = conv_transpose2d(x, w, {}, {2, 2}, {1, 1}, {0, 0}, m == 0 ? ConvTMode::via_conv : ConvTMode::native);
    const auto g = torch::autograd::grad({y.pow(2).sum()}, {x, w}, {}, true, true);
    const at::Tensor s = g[0].pow(2).sum() + g[1].pow(3).sum();
    results[m] = torch::autograd::grad({s}, {x, w});
  }
  CHECK(max_abs(results[0][0], results[1][0]) < 1e-9);
  CHECK(max_abs(results[0][1], results[1][1]) < 1e-9);
}

TEST_CASE("the ConvTranspose2d module uses torch's parameter layout", "[gan][nn]") {
  ConvTranspose2dOptions o;
  o.in_channels = 6;
  o.out_channels = 3;
  o.stride = 2;
  o.padding = 1;
  o.bias = true;
  ConvTranspose2d m(o);
  REQUIRE(m->weight.sizes() == c10::IntArrayRef({6, 3, 4, 4}));
  REQUIRE(m->bias.sizes() == c10::IntArrayRef({3}));
  const at::Tensor x = at::randn({2, 6, 5, 5});
  CHECK(max_abs(m->forward(x), at::conv_transpose2d(x, m->weight, m->bias, 2, 1)) < 1e-5);
}

TEST_CASE("BatchNorm folded into the transposed convs matches eval-mode output", "[gan][nn]") {
  torch::manual_seed(3);
  for (std::int64_t cdim : {0, 5}) {
    GanConfig cfg = small_config(32, cdim);
    DcganGenerator g(cfg);
    {
      torch::NoGradGuard ng;
      for (auto& bn : g->norms) {  // non-trivial statistics
        bn->running_mean.normal_(0.0, 0.3);
        bn->running_var.uniform_(0.5, 2.0);
        bn->bias.normal_(0.0, 0.1);
      }
    }
    const at::Tensor z = at::randn({4, cfg.latent_dim});
    const at::Tensor c = cdim ? at::randn({4, cdim}) : at::Tensor();
    g->eval();
    at::Tensor ref;
    {
      torch::NoGradGuard ng;
      ref = g->forward(z, c);
    }
    DcganConditionalGenerator gen(cfg, g);
    const at::Tensor out = gen.generate(z, c);
    CHECK(max_abs(out, ref) < 1e-5);
    gen.channels_last = !gen.channels_last;
    CHECK(max_abs(gen.generate(z, c), ref) < 1e-5);
    gen.channels_last = !gen.channels_last;
    covergen::GenerateOptions lo;  // the same through the generation options (covergen generate --precision)
    lo.precision = covergen::precision_from_string("bfloat16");
    if (covergen::bf16_unavailable_reason().empty()) {
      gen.bf16 = true;  // bf16 convolutions: within a gray level of float32
      const at::Tensor lowp = gen.generate(z, c);
      CHECK(lowp.scalar_type() == at::kFloat);
      CHECK(max_abs(lowp, ref) < 2e-2);
      CHECK(max_abs(lowp, ref) > 0.0);  // really computed in bf16
      gen.bf16 = false;
      CHECK(max_abs(gen.generate(z, c, lo), lowp) == 0.0);
    } else {  // no bf16 instructions: refused (exit 3), never the emulated slow path
      gen.bf16 = true;
      CHECK_THROWS_AS(gen.generate(z, c), covergen::InputError);
      gen.bf16 = false;
      CHECK_THROWS_AS(gen.generate(z, c, lo), covergen::InputError);
    }
    CHECK(max_abs(gen.generate(z, c), ref) < 1e-5);
    // the folded cache notices weight changes
    {
      torch::NoGradGuard ng;
      g->convs[1]->weight.mul_(1.5);
      g->norms[0]->running_var.mul_(2.0);
      ref = g->forward(z, c);
    }
    const at::Tensor out2 = gen.generate(z, c);
    CHECK(max_abs(out2, ref) < 1e-5);
    CHECK(max_abs(out2, out) > 1e-5);
  }
}

TEST_CASE("generator and discriminator shapes at 32, 64 and 128", "[gan][nn]") {
  torch::manual_seed(4);
  for (std::int64_t size : {32, 64, 128}) {
    for (const char* mode : {"concat", "projection"}) {
      GanConfig cfg = small_config(size, 3);
      cfg.condition = mode;
      INFO("size " << size << " " << mode);
      DcganGenerator g(cfg);
      DcganDiscriminator d(cfg);
      CHECK(cfg.blocks() == (size == 32 ? 3 : size == 64 ? 4 : 5));
      CHECK(g->convs.front()->weight.size(1) == cfg.ngf << (cfg.blocks() - 1));
      const at::Tensor z = at::randn({2, cfg.latent_dim}), c = at::randn({2, 3});
      const at::Tensor x = g->forward(z, c);
      CHECK(x.sizes() == c10::IntArrayRef({2, 3, size, size}));
      CHECK(d->forward(x, c).sizes() == c10::IntArrayRef({2}));
    }
  }
}

TEST_CASE("the 64x64 unconditional architecture has the peer's parameter counts", "[gan][nn]") {
  GanConfig cfg;  // nz 100, ngf = ndf = 64
  auto count = [](const torch::nn::Module& m) {
    std::int64_t n = 0;
    for (const auto& p : m.parameters()) n += p.numel();
    return n;
  };
  // torch_gan_peer.py prints params G=3,576,704 D=2,765,568 for the BCE model
  CHECK(count(*DcganGenerator(cfg)) == 3576704);
  CHECK(count(*DcganDiscriminator(cfg)) == 2765568);
}

TEST_CASE("generate() gives images in [-1, 1]; truncation scales z; the condition matters", "[gan][nn]") {
  torch::manual_seed(5);
  GanConfig cfg = small_config(32, 4);
  DcganConditionalGenerator gen(cfg, nullptr);
  const at::Tensor z = at::randn({6, cfg.latent_dim}) * 3;
  const at::Tensor c1 = at::randn({6, 4}), c2 = at::randn({6, 4});
  const at::Tensor a = gen.generate(z, c1);
  CHECK(a.sizes() == c10::IntArrayRef({6, 3, 32, 32}));
  CHECK(a.scalar_type() == at::kFloat);
  CHECK(a.abs().max().item<double>() <= 1.0);
  CHECK(!a.requires_grad());
  CHECK(max_abs(gen.generate(z, c2), a) > 1e-4);
  CHECK(max_abs(gen.generate(z, c1), a) == 0.0);
  covergen::GenerateOptions o;
  o.truncation = 0.5;
  CHECK(max_abs(gen.generate(z, c1, o), gen.generate(z * 0.5, c1)) == 0.0);
  CHECK(covergen::precision_from_string("bf16") == covergen::GenerateOptions::Precision::bfloat16);
  CHECK(covergen::precision_from_string("float32") == covergen::GenerateOptions::Precision::float32);
  CHECK_THROWS_AS(covergen::precision_from_string("fp16"), covergen::InputError);
  // the discriminator also depends on the condition, both modes
  for (const char* mode : {"concat", "projection"}) {
    cfg.condition = mode;
    DcganDiscriminator d(cfg);
    torch::NoGradGuard ng;
    CHECK(max_abs(d->forward(a, c1), d->forward(a, c2)) > 1e-6);
  }
}

TEST_CASE("unconditional models ignore c", "[gan][nn]") {
  GanConfig cfg = small_config(32, 0);
  DcganConditionalGenerator gen(cfg, nullptr);
  const at::Tensor z = at::randn({2, cfg.latent_dim});
  const at::Tensor x = gen.generate(z, at::Tensor());
  CHECK(x.sizes() == c10::IntArrayRef({2, 3, 32, 32}));
  DcganDiscriminator d(cfg);
  CHECK(d->forward(x, at::Tensor()).sizes() == c10::IntArrayRef({2}));
}

TEST_CASE("the gradient penalty matches a hand computation (analytic critic)", "[gan][nn][gp]") {
  // critic(x) = sum_j v_j tanh(a_j . x): grad = sum_j v_j (1 - tanh^2(a_j . x)) a_j
  torch::manual_seed(6);
  const std::int64_t n = 5, dim = 12, hidden = 4;
  const at::Tensor A = at::randn({hidden, dim}, at::kDouble), v = at::randn({hidden}, at::kDouble);
  const at::Tensor real = at::randn({n, 3, 2, 2}, at::kDouble), fake = at::randn({n, 3, 2, 2}, at::kDouble);
  const at::Tensor eps = at::rand({n}, at::kDouble);
  const at::Tensor gp = gradient_penalty(
      [&](const at::Tensor& x, const at::Tensor&) { return at::tanh(x.flatten(1).matmul(A.t())).matmul(v); }, real,
      fake, eps);
  const at::Tensor xh = (eps.view({n, 1, 1, 1}) * real + (1 - eps.view({n, 1, 1, 1})) * fake).flatten(1);
  const at::Tensor t = at::tanh(xh.matmul(A.t()));            // [n, hidden]
  const at::Tensor grad = ((1 - t * t) * v).matmul(A);        // [n, dim]
  const double expect = (grad.norm(2, 1) - 1).pow(2).mean().item<double>();
  CHECK(gp.item<double>() == Approx(expect).epsilon(1e-12));
}

TEST_CASE("the gradient penalty and its weight gradient match float64 finite differences (real critic)",
          "[gan][nn][gp]") {
  torch::manual_seed(7);
  GanConfig cfg = small_config(32, 3);
  cfg.ndf = 2;
  cfg.d_norm = "layer";
  cfg.condition_embed = 2;
  DcganDiscriminator d(cfg);
  d->to(at::kDouble);
  const std::int64_t n = 2;
  const at::Tensor real = at::rand({n, 3, 32, 32}, at::kDouble) * 2 - 1;
  const at::Tensor fake = at::rand({n, 3, 32, 32}, at::kDouble) * 2 - 1;
  const at::Tensor cr = at::randn({n, 3}, at::kDouble), cf = at::randn({n, 3}, at::kDouble);
  const at::Tensor eps = at::rand({n}, at::kDouble);
  auto critic = [&](const at::Tensor& x, const at::Tensor& e) {
    const at::Tensor ee = e.view({-1, 1});
    return d->forward(x, ee * cr + (1 - ee) * cf);
  };
  const at::Tensor gp = gradient_penalty(critic, real, fake, eps);

  // finite-difference gradient of the critic wrt x_hat, per sample (central, h = 1e-6)
  at::Tensor x_hat = eps.view({n, 1, 1, 1}) * real + (1 - eps.view({n, 1, 1, 1})) * fake;
  at::Tensor fd = at::zeros_like(x_hat);
  {
    torch::NoGradGuard ng;
    const double h = 1e-6;
    auto flat = x_hat.view({n, -1});
    auto fdf = fd.view({n, -1});
    for (std::int64_t j = 0; j < flat.size(1); ++j) {
      const at::Tensor col = flat.select(1, j);
      const at::Tensor keep = col.clone();
      col.add_(h);
      const at::Tensor up = critic(x_hat, eps);
      col.copy_(keep).sub_(h);
      const at::Tensor down = critic(x_hat, eps);
      col.copy_(keep);
      fdf.select(1, j).copy_((up - down) / (2 * h));
    }
  }
  const double expect = (fd.flatten(1).norm(2, 1) - 1).pow(2).mean().item<double>();
  CHECK(gp.item<double>() == Approx(expect).epsilon(1e-6));

  // d gp / d (one head weight) through the double backward, vs finite differences of gp
  const at::Tensor gw = torch::autograd::grad({gp}, {d->head->weight})[0];
  torch::NoGradGuard ng;
  for (std::int64_t idx : {0, 5, 17}) {
    auto w = d->head->weight.view({-1});
    const double keep = w[idx].item<double>(), h = 1e-5;
    auto gp_at = [&](double value) {
      w[idx].fill_(value);
      torch::AutoGradMode on(true);
      return gradient_penalty(critic, real, fake, eps).item<double>();
    };
    const double num = (gp_at(keep + h) - gp_at(keep - h)) / (2 * h);
    w[idx].fill_(keep);
    CHECK(gw.view({-1})[idx].item<double>() == Approx(num).epsilon(1e-5).margin(1e-9));
  }
}

TEST_CASE("COVERGEN_CPU_ISA caps the features the kernels may use", "[nn][cpu]") {
  const auto native = covergen::detect_cpu_features("");
  CHECK(native.cap == "native");
  const auto v3 = covergen::detect_cpu_features("avx2");
  CHECK(v3.cap == "avx2");
  CHECK_FALSE(v3.avx512f);
  CHECK_FALSE(v3.native_bf16());
  CHECK(v3.avx2 == native.avx2);  // nothing at or below the cap is invented or dropped
  CHECK(v3.fma == native.fma);
  const auto v4 = covergen::detect_cpu_features("avx512");
  CHECK(v4.avx512f == native.avx512f);
  CHECK(v4.avx512_vnni == native.avx512_vnni);
  CHECK_FALSE(v4.avx512_bf16);
  CHECK_FALSE(v4.amx_bf16);
  CHECK_THROWS_AS(covergen::detect_cpu_features("avx9"), covergen::InputError);
  CHECK_THROWS_AS(covergen::detect_cpu_features("baseline"), covergen::InputError);
  // /proc/cpuinfo agrees with cpuid on the flags the kernels use (Linux names them the same).
  std::ifstream in("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      flags = line + " ";
      break;
    }
  if (!flags.empty()) {
    CHECK((flags.find(" avx2 ") != std::string::npos) == native.avx2);
    CHECK((flags.find(" avx512f ") != std::string::npos) == native.avx512f);
    CHECK((flags.find(" avx512_bf16 ") != std::string::npos) == native.avx512_bf16);
    CHECK((flags.find(" amx_bf16 ") != std::string::npos) == native.amx_bf16);
    CHECK((flags.find(" f16c ") != std::string::npos) == native.f16c);
  }
}
