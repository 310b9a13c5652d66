// covergen bench features CLIP: time the audio front end on one clip.
//  - single thread: decode, resample and every feature stage, median of --runs runs
//    after one warm-up (the process start-up and FFTW planning are excluded);
//  - batch: --copies copies of the clip through extract_batch (store writes included)
//    with 1 thread and with --threads threads, in tracks per second, the two alternating
//    for --batch-rounds rounds (medians).
#include "cli.hpp"

#include <covergen/audio/batch.hpp>
#include <covergen/audio/cpu.hpp>
#include <covergen/cpu_kernels.hpp>
#include <covergen/errors.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <thread>
#include <ctime>
#include <unistd.h>

namespace fs = std::filesystem;
namespace audio = covergen::audio;

namespace {

struct BenchOptions {
  covergen::cli::CommonOptions common;
  std::string clip;
  int runs = 5, threads = 0, copies = 0, batch_rounds = 3;
  bool no_batch = false;
  bool mp3_mono_mix = false;  // DecodeOptions::mp3_mono_mix (speed option, not librosa's samples)
};

// CPU time of the calling thread: robust against other processes on a busy machine.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

double batch_rate(const fs::path& clip, int threads, int copies, bool mp3_mono_mix, double* wall) {
  const fs::path dir = fs::temp_directory_path() /
                       ("covergen-bench-" + std::to_string(::getpid()) + "-" + std::to_string(threads));
  std::error_code ec;
  fs::remove_all(dir, ec);
  audio::BatchOptions o;
  o.threads = threads;
  o.load.decode.mp3_mono_mix = mp3_mono_mix;
  std::vector<audio::BatchItem> items;
  for (int i = 0; i < copies; ++i) items.push_back({"copy" + std::to_string(i), clip});
  double rate = 0;
  try {
    auto store = audio::FeatureStore::open_or_create(dir, audio::store_layout(o));
    const auto r = audio::extract_batch(items, store, o);
    if (!r.failures.empty()) throw covergen::InputError(r.failures.front().error);
    *wall = r.wall_seconds;
    rate = copies / r.wall_seconds;
  } catch (...) {
    fs::remove_all(dir, ec);
    throw;
  }
  fs::remove_all(dir, ec);
  return rate;
}

void run(const BenchOptions& o) {
  using clock = std::chrono::steady_clock;
  const fs::path clip(o.clip);
  audio::FeatureExtractor fx;
  std::vector<std::string> order{"decode", "resample"};
  std::map<std::string, std::vector<double>> stage;
  std::vector<double> totals, cpu_totals;
  double audio_s = 0;
  audio::LoadOptions lo;
  lo.decode.mp3_mono_mix = o.mp3_mono_mix;
  audio::AudioInfo source;
  for (int r = -1; r < std::max(1, o.runs); ++r) {  // r = -1: warm-up
    const auto t0 = clock::now();
    const double c0 = thread_cpu_seconds();
    audio::Audio a = audio::load(clip, lo);
    source = a.source;
    audio::Features f = fx.compute(a.samples);
    const double total = std::chrono::duration<double>(clock::now() - t0).count();
    const double cpu = thread_cpu_seconds() - c0;
    audio_s = static_cast<double>(a.samples.size()) / a.sample_rate;
    if (r < 0) {
      for (const auto& s : f.times.stages) order.push_back(s.first);
      continue;
    }
    stage["decode"].push_back(a.decode_seconds);
    stage["resample"].push_back(a.resample_seconds);
    for (const auto& s : f.times.stages) stage[s.first].push_back(s.second);
    totals.push_back(total);
    cpu_totals.push_back(cpu);
  }
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // A batch pays a fixed cost (the store's creation, its final fdatasync and index, ~40 ms
  // here): 16 copies a thread keep it a few percent of the run, as in a real dataset.
  const int copies = o.copies > 0 ? o.copies : std::max(32, 16 * threads);
  // 1-thread and N-thread batches alternate for --batch-rounds rounds and the medians are
  // compared, so a slow moment of a shared machine does not land on one side only.
  double wall1 = 0, wallN = 0, rate1 = 0, rateN = 0;
  std::vector<double> rates1, ratesN, walls1, wallsN;
  if (!o.no_batch) {
    for (int r = 0; r < std::max(1, o.batch_rounds); ++r) {
      double w1 = 0, wN = 0;
      rates1.push_back(batch_rate(clip, 1, copies, o.mp3_mono_mix, &w1));
      walls1.push_back(w1);
      ratesN.push_back(threads == 1 ? rates1.back() : batch_rate(clip, threads, copies, o.mp3_mono_mix, &wN));
      wallsN.push_back(threads == 1 ? w1 : wN);
    }
    rate1 = median(rates1);
    rateN = median(ratesN);
    wall1 = median(walls1);
    wallN = median(wallsN);
  }
  const double tmed = median(totals);
  const audio::CpuReport& cpu = audio::cpu_report();
  std::string flags = std::string(cpu.avx512f ? "AVX-512" : cpu.avx2 ? "AVX2" : "no AVX2") + (cpu.avx512_bf16 ? " BF16" : "");
  if (o.common.json) {
    nlohmann::json st = nlohmann::json::object();
    for (const auto& n : order) st[n] = median(stage[n]);
    nlohmann::json j{{"schema_version", 1}, {"clip", o.clip}, {"audio_seconds", audio_s}, {"runs", totals.size()},
                     {"single_thread", {{"median_total_s", tmed}, {"min_total_s", *std::min_element(totals.begin(), totals.end())},
                                        {"median_cpu_s", median(cpu_totals)},
                                        {"stages_median_s", st}, {"realtime_factor", audio_s / tmed}}},
                     {"decode", {{"mp3_mono_mix", o.mp3_mono_mix}, {"mp3_mono_mixed", source.mp3_mono_mixed},
                                 {"mp3_decoder", source.mp3_decoder}, {"channels", source.channels},
                                 {"sample_rate", source.sample_rate}}},
                     {"cpu", {{"model", cpu.model}, {"flags", flags}, {"avx2", cpu.avx2}, {"avx512f", cpu.avx512f},
                              {"avx512_bf16", cpu.avx512_bf16}, {"covergen_cpu_isa", cpu.cap},
                              {"own_code", cpu.own_code}, {"mp3_decoders", cpu.mp3_decoders},
                              {"fftw_simd", cpu.fftw_simd}, {"nproc", std::thread::hardware_concurrency()}}}};
    if (!o.no_batch)
      j["batch"] = {{"copies", copies}, {"threads", threads}, {"rounds", rates1.size()},
                    {"tracks_per_s_1_thread", rate1}, {"tracks_per_s_n_threads", rateN}, {"speedup", rateN / rate1},
                    {"rounds_tracks_per_s_1_thread", rates1}, {"rounds_tracks_per_s_n_threads", ratesN},
                    {"wall_s_1_thread", wall1}, {"wall_s_n_threads", wallN}};
    std::cout << j.dump(2) << '\n';
    return;
  }
  std::printf("cpu %s (%s), COVERGEN_CPU_ISA=%s: own code %s, libmpg123 decoder %s, FFTW codelets", cpu.model.c_str(),
              flags.c_str(), cpu.cap.c_str(), cpu.own_code.c_str(), source.mp3_decoder.empty() ? "-" : source.mp3_decoder.c_str());
  for (const auto& f : cpu.fftw_simd) std::printf(" %s", f.c_str());
  std::printf("\n");
  std::printf("clip %s (%.1f s of audio, %d channels, mp3 mono mix %s), single thread, median of %zu runs after 1 warm-up:\n",
              o.clip.c_str(), audio_s, source.channels,
              source.mp3_mono_mixed ? "taken" : o.mp3_mono_mix ? "asked for, not taken" : "off (exact)", totals.size());
  for (const auto& n : order) std::printf("  %-36s %8.2f ms\n", n.c_str(), 1e3 * median(stage[n]));
  std::printf("  %-36s %8.2f ms  (%.0fx realtime)\n", "total", 1e3 * tmed, audio_s / tmed);
  std::printf("  %-36s %8.2f ms\n", "total, thread CPU time", 1e3 * median(cpu_totals));
  if (!o.no_batch) {
    std::printf("batch of %d copies (extract_batch, store writes included), median of %zu alternating rounds:\n",
                copies, rates1.size());
    std::printf("  1 thread:   %7.2f tracks/s\n", rate1);
    std::printf("  %d threads: %7.2f tracks/s  (%.2fx)\n", threads, rateN, rateN / rate1);
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
  f->add_option("--runs", opts->runs, "Timed single-thread runs (after one warm-up)");
  f->add_option("-j,--threads", opts->threads, "Threads for the batch figure (default: all cores)");
  f->add_option("--copies", opts->copies, "Copies of the clip in the batch (default: max(32, 16 x threads))");
  f->add_option("--batch-rounds", opts->batch_rounds, "Alternating 1-thread / N-thread batch rounds (default: 3)");
  f->add_flag("--no-batch", opts->no_batch, "Only the single-thread figures");
  f->add_flag("--mp3-mono-mix", opts->mp3_mono_mix,
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
