// covergen bench features CLIP: the audio front end's timings on one clip, single thread
// per stage and batch throughput (audio::bench_features, covergen/audio/bench.hpp).
// covergen bench cpu: the machine's float32 peak (covergen/cpu_kernels.hpp).
#include "cli.hpp"

#include <covergen/audio/bench.hpp>
#include <covergen/audio/cpu.hpp>
#include <covergen/cpu_kernels.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

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
  const auto& source = b.source;
  const audio::CpuReport& cpu = audio::cpu_report();
  std::string flags = std::string(cpu.avx512f ? "AVX-512" : cpu.avx2 ? "AVX2" : "no AVX2") + (cpu.avx512_bf16 ? " BF16" : "");
  if (o.common.json) {
    nlohmann::json st = nlohmann::json::object();
    for (const auto& [n, v] : b.stages_median_s) st[n] = v;
    nlohmann::json j{{"schema_version", 1}, {"clip", o.clip}, {"audio_seconds", b.audio_seconds}, {"runs", b.runs},
                     {"single_thread", {{"median_total_s", b.median_total_s}, {"min_total_s", b.min_total_s},
                                        {"median_cpu_s", b.median_cpu_s},
                                        {"stages_median_s", st}, {"realtime_factor", b.audio_seconds / b.median_total_s}}},
                     {"decode", {{"mp3_mono_mix", o.bench.mp3_mono_mix}, {"mp3_mono_mixed", source.mp3_mono_mixed},
                                 {"mp3_decoder", source.mp3_decoder}, {"channels", source.channels},
                                 {"sample_rate", source.sample_rate}}},
                     {"cpu", {{"model", cpu.model}, {"flags", flags}, {"avx2", cpu.avx2}, {"avx512f", cpu.avx512f},
                              {"avx512_bf16", cpu.avx512_bf16}, {"covergen_cpu_isa", cpu.cap},
                              {"own_code", cpu.own_code}, {"mp3_decoders", cpu.mp3_decoders},
                              {"fftw_simd", cpu.fftw_simd}, {"nproc", std::thread::hardware_concurrency()}}}};
    if (!o.no_batch)
      j["batch"] = {{"copies", b.copies}, {"threads", b.threads}, {"rounds", b.rates_1_thread.size()},
                    {"tracks_per_s_1_thread", b.rate_1_thread}, {"tracks_per_s_n_threads", b.rate_n_threads},
                    {"speedup", b.rate_n_threads / b.rate_1_thread},
                    {"rounds_tracks_per_s_1_thread", b.rates_1_thread}, {"rounds_tracks_per_s_n_threads", b.rates_n_threads},
                    {"wall_s_1_thread", b.wall_1_thread}, {"wall_s_n_threads", b.wall_n_threads}};
    std::cout << j.dump(2) << '\n';
    return;
  }
  std::printf("cpu %s (%s), COVERGEN_CPU_ISA=%s: own code %s, libmpg123 decoder %s, FFTW codelets", cpu.model.c_str(),
              flags.c_str(), cpu.cap.c_str(), cpu.own_code.c_str(), source.mp3_decoder.empty() ? "-" : source.mp3_decoder.c_str());
  for (const auto& f : cpu.fftw_simd) std::printf(" %s", f.c_str());
  std::printf("\n");
  std::printf("clip %s (%.1f s of audio, %d channels, mp3 mono mix %s), single thread, median of %zu runs after 1 warm-up:\n",
              o.clip.c_str(), b.audio_seconds, source.channels,
              source.mp3_mono_mixed ? "taken" : o.bench.mp3_mono_mix ? "asked for, not taken" : "off (exact)", b.runs);
  for (const auto& [n, v] : b.stages_median_s) std::printf("  %-36s %8.2f ms\n", n.c_str(), 1e3 * v);
  std::printf("  %-36s %8.2f ms  (%.0fx realtime)\n", "total", 1e3 * b.median_total_s, b.audio_seconds / b.median_total_s);
  std::printf("  %-36s %8.2f ms\n", "total, thread CPU time", 1e3 * b.median_cpu_s);
  if (!o.no_batch) {
    std::printf("batch of %d copies (extract_batch, store writes included), median of %zu alternating rounds:\n",
                b.copies, b.rates_1_thread.size());
    std::printf("  1 thread:   %7.2f tracks/s\n", b.rate_1_thread);
    std::printf("  %d threads: %7.2f tracks/s  (%.2fx)\n", b.threads, b.rate_n_threads, b.rate_n_threads / b.rate_1_thread);
  }
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
                        {"sgemm_gflops", p.sgemm_nt}, {"conv_gflops_1t", p.conv_1t}, {"conv_gflops", p.conv_nt}};
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
