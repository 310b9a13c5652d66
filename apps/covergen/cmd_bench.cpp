// covergen bench features CLIP: the audio front end's timings on one clip, single thread
// per stage and batch throughput (audio::bench_features, covergen/audio/bench.hpp).
// covergen bench cpu: the machine's float32 peak (covergen/cpu_kernels.hpp).
#include "cli.hpp"

#include <covergen/audio/bench.hpp>
#include <covergen/cpu_kernels.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace audio = covergen::audio;

namespace {

struct BenchOptions {
  covergen::cli::CommonOptions common;
  audio::FeatureBenchOptions bench;
  std::string clip;
  bool no_batch = false;
};

void run(BenchOptions& o) {
  o.bench.clip = o.clip;
  o.bench.batch = !o.no_batch;
  const auto b = audio::bench_features(o.bench);
  std::cout << (o.common.json ? b.to_json() + '\n' : b.to_text());
}

void run_cpu(double seconds, bool json) {
  const auto k = covergen::cpu_kernels();
  const auto p = covergen::measure_cpu_peak(seconds);
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) < 1) load[0] = -1;
  if (json) {
    nlohmann::json j = {{"cpu", k.model},          {"cpu_features", k.flags},    {"onednn", k.onednn_version},
                        {"onednn_isa", k.onednn_isa}, {"aten", k.aten_capability}, {"blas", k.blas},
                        {"threads", p.threads},     {"load_1min", load[0]},       {"sgemm_gflops_1t", p.sgemm_1t},
                        {"sgemm_gflops", p.sgemm_nt}, {"conv_gflops_1t", p.conv_1t}, {"conv_gflops", p.conv_nt},
                        {"blas_threads_1t", p.blas_threads_1t}};
    std::cout << j.dump(2) << '\n';
    return;
  }
  std::printf("cpu: %s (%s)\nkernels: oneDNN %s %s, ATen %s, %s; load %.2f\n", k.model.c_str(), k.flags.c_str(),
              k.onednn_version.c_str(), k.onednn_isa.c_str(), k.aten_capability.c_str(), k.blas.c_str(), load[0]);
  std::printf("sgemm 1024^3 (BLAS):           %7.1f GFLOP/s on 1 thread, %7.1f on %d\n", p.sgemm_1t, p.sgemm_nt,
              p.threads);
  std::printf("conv 3x3 128->128 16x16 (oneDNN): %7.1f GFLOP/s on 1 thread, %7.1f on %d\n", p.conv_1t, p.conv_nt,
              p.threads);
}

void setup(CLI::App& root) {
  auto* bench = root.add_subcommand("bench", "Benchmarks of CoverGen's stages");
  bench->require_subcommand(1);
  auto opts = std::make_shared<BenchOptions>();
  auto* f = bench->add_subcommand("features", "Time decoding, resampling and every audio feature on one clip");
  f->add_option("clip", opts->clip, "Audio file")->required();
  f->add_option("--runs", opts->bench.runs, "Timed single-thread runs (after one warm-up)");
  f->add_option("-j,--threads", opts->bench.threads, "Threads for the batch figure (default: all cores)");
  f->add_option("--copies", opts->bench.copies, "Copies of the clip in the batch (default: max(32, 16 x threads))");
  f->add_option("--batch-rounds", opts->bench.batch_rounds, "Alternating 1-thread / N-thread batch rounds (default: 3)");
  f->add_flag("--no-batch", opts->no_batch, "Only the single-thread figures");
  f->add_flag("--mp3-mono-mix", opts->bench.mp3_mono_mix,
              "Speed option: mix stereo mp3 inside libmpg123 (not librosa's samples bit for bit)");
  covergen::cli::add_common_options(*f, opts->common);
  f->callback([opts] { run(*opts); });

  // The machine's float32 peak, to quote throughput as a share of it (docs/performance.md).
  auto* cpu = bench->add_subcommand("cpu", "Measure the machine's float32 peak: sgemm (BLAS) and convolution (oneDNN)");
  auto seconds = std::make_shared<double>(1.0);
  auto json = std::make_shared<bool>(false);
  cpu->add_option("--seconds", *seconds, "Seconds per kernel and thread setting (default 1)")->check(CLI::PositiveNumber);
  cpu->add_flag("--json", *json, "JSON on stdout");
  cpu->callback([seconds, json] { run_cpu(*seconds, *json); });
}

COVERGEN_COMMAND("bench", setup);

}  // namespace
