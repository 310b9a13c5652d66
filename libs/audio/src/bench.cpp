#include "covergen/audio/bench.hpp"

#include "covergen/audio/batch.hpp"

#include <covergen/audio/cpu.hpp>
#include <covergen/errors.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <thread>
#include <unistd.h>

namespace covergen::audio {

namespace fs = std::filesystem;

namespace {

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
  BatchOptions o;
  o.threads = threads;
  o.load.decode.mp3_mono_mix = mp3_mono_mix;
  std::vector<BatchItem> items;
  for (int i = 0; i < copies; ++i) items.push_back({"copy" + std::to_string(i), clip});
  double rate = 0;
  try {
    auto store = FeatureStore::open_or_create(dir, store_layout(o));
    const auto r = extract_batch(items, store, o);
    if (!r.failures.empty()) throw InputError(r.failures.front().error);
    *wall = r.wall_seconds;
    rate = copies / r.wall_seconds;
  } catch (...) {
    fs::remove_all(dir, ec);
    throw;
  }
  fs::remove_all(dir, ec);
  return rate;
}

}  // namespace

FeatureBench bench_features(const FeatureBenchOptions& o) {
  using clock = std::chrono::steady_clock;
  FeatureBench b;
  b.options = o;
  FeatureExtractor fx;
  std::vector<std::string> order{"decode", "resample"};
  std::map<std::string, std::vector<double>> stage;
  std::vector<double> totals, cpu_totals;
  LoadOptions lo;
  lo.decode.mp3_mono_mix = o.mp3_mono_mix;
  for (int r = -1; r < std::max(1, o.runs); ++r) {  // r = -1: warm-up
    const auto t0 = clock::now();
    const double c0 = thread_cpu_seconds();
    Audio a = load(o.clip, lo);
    b.source = a.source;
    Features f = fx.compute(a.samples);
    const double total = std::chrono::duration<double>(clock::now() - t0).count();
    const double cpu = thread_cpu_seconds() - c0;
    b.audio_seconds = static_cast<double>(a.samples.size()) / a.sample_rate;
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
  for (const auto& n : order) b.stages_median_s.emplace_back(n, median(stage[n]));
  b.runs = totals.size();
  b.median_total_s = median(totals);
  b.min_total_s = *std::min_element(totals.begin(), totals.end());
  b.median_cpu_s = median(cpu_totals);
  b.threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // A batch pays a fixed cost (the store's creation, its final fdatasync and index, ~40 ms
  // here): 16 copies a thread keep it a few percent of the run, as in a real dataset.
  b.copies = o.copies > 0 ? o.copies : std::max(32, 16 * b.threads);
  if (!o.batch) return b;
  std::vector<double> walls1, wallsN;
  for (int r = 0; r < std::max(1, o.batch_rounds); ++r) {
    double w1 = 0, wN = 0;
    b.rates_1_thread.push_back(batch_rate(o.clip, 1, b.copies, o.mp3_mono_mix, &w1));
    walls1.push_back(w1);
    b.rates_n_threads.push_back(b.threads == 1 ? b.rates_1_thread.back()
                                               : batch_rate(o.clip, b.threads, b.copies, o.mp3_mono_mix, &wN));
    wallsN.push_back(b.threads == 1 ? w1 : wN);
  }
  b.rate_1_thread = median(b.rates_1_thread);
  b.rate_n_threads = median(b.rates_n_threads);
  b.wall_1_thread = median(walls1);
  b.wall_n_threads = median(wallsN);
  return b;
}

namespace {
std::string cpu_flags(const CpuReport& cpu) {
  return std::string(cpu.avx512f ? "AVX-512" : cpu.avx2 ? "AVX2" : "no AVX2") + (cpu.avx512_bf16 ? " BF16" : "");
}
}  // namespace

std::string FeatureBench::to_json() const {
  const CpuReport& cpu = cpu_report();
  nlohmann::json st = nlohmann::json::object();
  for (const auto& [n, v] : stages_median_s) st[n] = v;
  nlohmann::json j{
      {"schema_version", 1},
      {"clip", options.clip.string()},
      {"audio_seconds", audio_seconds},
      {"runs", runs},
      {"single_thread",
       {{"median_total_s", median_total_s}, {"min_total_s", min_total_s}, {"median_cpu_s", median_cpu_s},
        {"stages_median_s", st}, {"realtime_factor", audio_seconds / median_total_s}}},
      {"decode",
       {{"mp3_mono_mix", options.mp3_mono_mix}, {"mp3_mono_mixed", source.mp3_mono_mixed},
        {"mp3_decoder", source.mp3_decoder}, {"channels", source.channels}, {"sample_rate", source.sample_rate}}},
      {"cpu",
       {{"model", cpu.model}, {"flags", cpu_flags(cpu)}, {"avx2", cpu.avx2}, {"avx512f", cpu.avx512f},
        {"avx512_bf16", cpu.avx512_bf16}, {"covergen_cpu_isa", cpu.cap}, {"own_code", cpu.own_code},
        {"mp3_decoders", cpu.mp3_decoders}, {"fftw_simd", cpu.fftw_simd},
        {"nproc", std::thread::hardware_concurrency()}}}};
  if (options.batch)
    j["batch"] = {{"copies", copies}, {"threads", threads}, {"rounds", rates_1_thread.size()},
                  {"tracks_per_s_1_thread", rate_1_thread}, {"tracks_per_s_n_threads", rate_n_threads},
                  {"speedup", rate_n_threads / rate_1_thread}, {"rounds_tracks_per_s_1_thread", rates_1_thread},
                  {"rounds_tracks_per_s_n_threads", rates_n_threads}, {"wall_s_1_thread", wall_1_thread},
                  {"wall_s_n_threads", wall_n_threads}};
  return j.dump(2);
}

std::string FeatureBench::to_text() const {
  const CpuReport& cpu = cpu_report();
  std::string out;
  char line[512];
  auto add = [&](int n) { out.append(line, static_cast<std::size_t>(std::clamp(n, 0, static_cast<int>(sizeof line) - 1))); };
  add(std::snprintf(line, sizeof line, "cpu %s (%s), COVERGEN_CPU_ISA=%s: own code %s, libmpg123 decoder %s, FFTW codelets",
                    cpu.model.c_str(), cpu_flags(cpu).c_str(), cpu.cap.c_str(), cpu.own_code.c_str(),
                    source.mp3_decoder.empty() ? "-" : source.mp3_decoder.c_str()));
  for (const auto& f : cpu.fftw_simd) out += " " + f;
  out += "\n";
  add(std::snprintf(line, sizeof line,
                    "clip %s (%.1f s of audio, %d channels, mp3 mono mix %s), single thread, median of %zu runs after 1 warm-up:\n",
                    options.clip.string().c_str(), audio_seconds, source.channels,
                    source.mp3_mono_mixed ? "taken" : options.mp3_mono_mix ? "asked for, not taken" : "off (exact)", runs));
  for (const auto& [n, v] : stages_median_s) add(std::snprintf(line, sizeof line, "  %-36s %8.2f ms\n", n.c_str(), 1e3 * v));
  add(std::snprintf(line, sizeof line, "  %-36s %8.2f ms  (%.0fx realtime)\n", "total", 1e3 * median_total_s,
                    audio_seconds / median_total_s));
  add(std::snprintf(line, sizeof line, "  %-36s %8.2f ms\n", "total, thread CPU time", 1e3 * median_cpu_s));
  if (options.batch) {
    add(std::snprintf(line, sizeof line,
                      "batch of %d copies (extract_batch, store writes included), median of %zu alternating rounds:\n",
                      copies, rates_1_thread.size()));
    add(std::snprintf(line, sizeof line, "  1 thread:   %7.2f tracks/s\n", rate_1_thread));
    add(std::snprintf(line, sizeof line, "  %d threads: %7.2f tracks/s  (%.2fx)\n", threads, rate_n_threads,
                      rate_n_threads / rate_1_thread));
  }
  return out;
}

}  // namespace covergen::audio
