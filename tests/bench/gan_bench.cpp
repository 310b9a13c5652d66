// gan_bench: CPU throughput of the DCGAN-family plugins, measured the way
// ../shared/bench/torch_gan_peer.py measures its PyTorch peer (same model, batch 64,
// synthetic images held in RAM, 2 threads), so the two can run side by side.
//
//   gan_bench --loss bce|wgangp [--iters N] [--warmup 2] [--gen-iters 20] [--batch 64]
//             [--threads 2] [--convt viaconv|native] [--no-fold] [--nchw]
//             [--bf16] [--skip-train] [--skip-gen] [--profile] [--conv-rate]
//             [--print-times] [--train-channels-last]
//
// Figures printed (the peer's definitions): train real img/s = real images fed to D per
// second (n_critic x batch per G step for WGAN-GP); gen img/s = G forward only, eval.
// --profile adds the time per phase and per optimiser step; --conv-rate the measured
// GFLOP/s of the 64x64 D's convolutions (the FLOP floor of docs/performance.md);
// --print-times every step's and batch's time; --train-channels-last trains with NHWC
// parameters and images (a measured and rejected lever, docs/performance.md).
#include <covergen/gan.hpp>
#include <covergen/nn/dcgan.hpp>
#include <covergen/nn/gan_model.hpp>
#include <covergen/engine/trainer.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/image.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/optim/adam.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <malloc.h>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Args {
  std::string loss = "bce", convt = "viaconv";
  int iters = -1, warmup = 2, gen_iters = 20, batch = 64, threads = 2, pool = 8;
  bool fold = true, channels_last = true, bf16 = false, skip_train = false, skip_gen = false, profile = false, conv_rate = false;
  bool mallopt = true, print_times = false, train_channels_last = false;
  std::string generator;  ///< a trained run or generator file for the generation figures
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << k << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--loss") a.loss = next();
    else if (k == "--convt") a.convt = next();
    else if (k == "--iters") a.iters = std::stoi(next());
    else if (k == "--warmup") a.warmup = std::stoi(next());
    else if (k == "--gen-iters") a.gen_iters = std::stoi(next());
    else if (k == "--batch") a.batch = std::stoi(next());
    else if (k == "--threads") a.threads = std::stoi(next());
    else if (k == "--no-fold") a.fold = false;
    else if (k == "--channels-last") a.channels_last = true;
    else if (k == "--nchw") a.channels_last = false;
    else if (k == "--bf16") a.bf16 = true;
    else if (k == "--skip-train") a.skip_train = true;
    else if (k == "--skip-gen") a.skip_gen = true;
    else if (k == "--profile") a.profile = true;
    else if (k == "--conv-rate") a.conv_rate = true;
    else if (k == "--no-mallopt") a.mallopt = false;
    else if (k == "--print-times") a.print_times = true;
    else if (k == "--train-channels-last") a.train_channels_last = true;
    else if (k == "--generator") a.generator = next();
    else {
      std::cerr << "unknown argument " << k << "\n";
      std::exit(2);
    }
  }
  if (a.loss != "bce" && a.loss != "wgangp") {
    std::cerr << "--loss bce|wgangp\n";
    std::exit(2);
  }
  if (a.iters < 0) a.iters = a.loss == "bce" ? 20 : 4;
  return a;
}

struct Timer {
  std::map<std::string, double> total;
  template <class F>
  auto operator()(const std::string& name, F&& f) {
    const auto t = Clock::now();
    auto r = f();
    total[name] += seconds_since(t);
    return r;
  }
};

// The engine's step: per phase, zero that optimiser's grads, run_phase, step it.
struct Trainer {
  Trainer(covergen::GanModel& m, int batch, int pool_size, bool cl) : model(m), batch(batch) {
    // channels_last training (an experiment, not what the engine does): oneDNN then
    // reads and writes NHWC directly and the NCHW <-> blocked reorders disappear.
    if (cl)
      for (const auto& s : m.optimizers())
        for (auto p : s.params)
          if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
    for (const auto& s : m.optimizers())
      opts.emplace(s.name, std::make_unique<torch::optim::Adam>(
                               s.params, torch::optim::AdamOptions(s.lr).betas({s.beta1, s.beta2}).eps(s.eps)));
    pool = at::rand({pool_size, batch, 3, m.generator().image_size(), m.generator().image_size()}) * 2 - 1;
    if (cl)
      pool = pool.view({pool_size * batch, 3, m.generator().image_size(), m.generator().image_size()})
                 .contiguous(at::MemoryFormat::ChannelsLast)
                 .view_as(pool);
    phases = m.phases();
  }
  covergen::LossStats step(std::int64_t index, Timer* timer) {
    covergen::LossStats last;
    for (std::size_t p = 0; p < phases.size(); ++p) {
      if (index % phases[p].interval) continue;
      for (std::int64_t r = 0; r < phases[p].repeats; ++r) {
        covergen::PhaseBatch b;
        if (phases[p].needs_real) {
          b.real = pool[cursor++ % pool.size(0)];
          real_images += batch;
        }
        b.z = at::randn({batch, model.generator().latent_dim()});
        auto& opt = *opts.at(phases[p].optimizer);
        covergen::PhaseContext ctx;
        ctx.step = index;
        const auto t0 = Clock::now();
        opt.zero_grad();
        last = model.run_phase(p, b, ctx);
        const auto t1 = Clock::now();
        opt.step();
        if (timer) {
          timer->total["phase " + phases[p].name] += std::chrono::duration<double>(t1 - t0).count();
          timer->total["adam " + phases[p].optimizer] += seconds_since(t1);
        }
      }
    }
    return last;
  }
  covergen::GanModel& model;
  int batch;
  std::map<std::string, std::unique_ptr<torch::optim::Adam>> opts;
  std::vector<covergen::Phase> phases;
  at::Tensor pool;
  std::int64_t cursor = 0, real_images = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Every step's or batch's time: the machine's drift shows here (a VM's speed can move
// 2x within a minute), which medians alone hide.
void print_times(const char* what, const std::vector<double>& per) {
  std::printf("%s times (ms):", what);
  for (double v : per) std::printf(" %.1f", v * 1e3);
  std::printf("\n");
}

void conv_rate(int batch) {
  // D's 2nd..4th convolutions at 64x64 (67.1 MFLOP per image each, forward).
  struct L {
    int cin, cout, hw;
  };
  for (const L& l : {L{64, 128, 32}, L{128, 256, 16}, L{256, 512, 8}}) {
    const at::Tensor x = at::randn({batch, l.cin, l.hw, l.hw});
    const at::Tensor w = at::randn({l.cout, l.cin, 4, 4}) * 0.02;
    const double flop = 2.0 * batch * l.cout * l.cin * 16 * (l.hw / 2) * (l.hw / 2);
    std::vector<double> t;
    for (int i = 0; i < 7; ++i) {
      const auto t0 = Clock::now();
      at::conv2d(x, w, {}, 2, 1);
      t.push_back(seconds_since(t0));
    }
    std::printf("conv-rate %dx%d %d->%d: forward %.1f GFLOP/s (%.1f ms for batch %d)\n", l.hw, l.hw, l.cin, l.cout,
                flop / median(t) / 1e9, median(t) * 1e3, batch);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (a.mallopt) {  // as apps/covergen/main.cpp
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
  }
  at::set_num_threads(a.threads);
  torch::manual_seed(0);

  covergen::PluginSearchOptions so;
  so.extra_dirs = {COVERGEN_BUILD_PLUGIN_DIR};
  so.use_environment = false;
  covergen::PluginRegistry reg(so);
  const std::string plugin = a.loss == "bce" ? "dcgan" : "wgan-gp";
  const std::string cfg = std::string(R"({"image_size": 64, "latent_dim": 100, "ngf": 64, "ndf": 64, "convt": ")") +
                          a.convt + "\"}";
  auto model = reg.create_gan(plugin, cfg);
  std::printf("# gan_bench %s threads=%d batch=%d convt=%s fold=%d channels_last=%d bf16=%d mallopt=%d\n",
              plugin.c_str(), at::get_num_threads(), a.batch, a.convt.c_str(), a.fold, a.channels_last, a.bf16,
              a.mallopt);
  if (a.conv_rate) conv_rate(a.batch);

  std::string result = "{";
  if (!a.skip_train) {
    model->set_training(true);
    Trainer tr(*model, a.batch, a.pool, a.train_channels_last);
    Timer timer;
    for (int i = 0; i < a.warmup; ++i) tr.step(i, nullptr);
    tr.real_images = 0;
    std::vector<double> per;
    covergen::LossStats last;
    const auto t0 = Clock::now();
    for (int i = 0; i < a.iters; ++i) {
      const auto t = Clock::now();
      last = tr.step(a.warmup + i, a.profile ? &timer : nullptr);
      per.push_back(seconds_since(t));
    }
    const double total = seconds_since(t0);
    if (a.print_times) print_times("train", per);
    const double real_per_step = static_cast<double>(tr.real_images) / a.iters;
    const double best = real_per_step / *std::min_element(per.begin(), per.end());
    std::printf("train[%s] %d G steps in %.2fs: %.1f real img/s (median %.3f s/step, best %.1f real img/s)\n",
                a.loss.c_str(), a.iters, total, tr.real_images / total, median(per), best);
    if (a.profile)
      for (const auto& kv : timer.total)
        std::printf("  profile %-10s %7.1f ms/step (%4.1f%%)\n", kv.first.c_str(), 1e3 * kv.second / a.iters,
                    100 * kv.second / total);
    char buf[256];
    std::snprintf(buf, sizeof buf, R"("train_real_img_per_s": %.3f, "train_best_real_img_per_s": %.3f, "sec_per_g_step": %.4f)",
                  tr.real_images / total, best, total / a.iters);
    result += buf;
  }
  if (!a.skip_gen) {
    // A trained generator when given (its BatchNorm statistics and weights are what
    // bf16 rounding meets in practice), else the fresh model above.
    std::shared_ptr<covergen::ConditionalGenerator> trained;
    if (!a.generator.empty()) trained = covergen::generate::load_generator(a.generator, reg);
    covergen::ConditionalGenerator& g = trained ? *trained : model->generator();
    auto* gen = dynamic_cast<covergen::nn::DcganConditionalGenerator*>(&g);
    if (gen) {
      gen->fold_batchnorm = a.fold;
      gen->channels_last = a.channels_last;
      gen->bf16 = a.bf16;
    }
    if (!trained) model->set_training(false);
    const at::Tensor z = at::randn({a.batch, g.latent_dim()});
    const at::Tensor c = g.condition_dim() > 0
                             ? at::one_hot(at::arange(a.batch) % g.condition_dim(), g.condition_dim()).to(at::kFloat)
                             : at::Tensor();
    for (int i = 0; i < std::max(a.warmup, 1); ++i) g.generate(z, c);
    std::vector<double> per;
    const auto t0 = Clock::now();
    for (int i = 0; i < a.gen_iters; ++i) {
      const auto t = Clock::now();
      g.generate(z, c);
      per.push_back(seconds_since(t));
    }
    const double total = seconds_since(t0);
    if (a.print_times) print_times("gen", per);
    const double img_s = a.batch * a.gen_iters / total;
    const double best = a.batch / *std::min_element(per.begin(), per.end());
    std::printf("gen   %d x %d in %.2fs: %.1f img/s (median %.1f ms/batch, best %.1f img/s)\n", a.gen_iters, a.batch,
                total, img_s, 1e3 * median(per), best);
    if (gen && a.bf16) {  // image error of the bf16 path against float32, same z
      const at::Tensor low = g.generate(z, c);
      gen->bf16 = false;
      const at::Tensor ref = g.generate(z, c);
      gen->bf16 = true;
      std::printf("bf16 vs float32 image error: max %.2e, mean %.2e (one 8-bit level = %.2e)\n",
                  (low - ref).abs().max().item<double>(), (low - ref).abs().mean().item<double>(), 2.0 / 255);
      // As the PNG writer quantises (covergen::to_rgb8, libs/image): the 8-bit values that differ.
      const auto to8 = [](const at::Tensor& x) { return covergen::to_rgb8(x).to(at::kInt); };
      const at::Tensor d8 = (to8(low) - to8(ref)).abs();
      std::printf("bf16 vs float32 in 8-bit PNG values: %.3f%% differ, max %d level(s)\n",
                  100.0 * d8.gt(0).sum().item<double>() / static_cast<double>(d8.numel()), d8.max().item<int>());
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, R"(%s"gen_img_per_s": %.3f, "gen_best_img_per_s": %.3f)",
                  a.skip_train ? "" : ", ", img_s, best);
    result += buf;
  }
  std::printf("RESULT %s}\n", result.c_str());
  return 0;
}
