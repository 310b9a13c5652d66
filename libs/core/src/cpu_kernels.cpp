#include "covergen/cpu_kernels.hpp"

#include "covergen/cpu_features.hpp"
#include "covergen/errors.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

namespace covergen {

namespace {

// oneDNN's C API (libdnnl, loaded by LibTorch; statically linked builds hide it,
// then these lookups find nothing and the fields stay empty).
struct DnnlVersion {
  int major, minor, patch;
  const char* hash;
  unsigned cpu_runtime, gpu_runtime;
};
using DnnlIsaFn = int (*)();
using DnnlIsaNameFn = const char* (*)(int);
using DnnlVersionFn = const DnnlVersion* (*)();
using CorenameFn = char* (*)();
using BlasSetThreadsFn = void (*)(int);
using BlasGetThreadsFn = int (*)();

template <typename Fn>
Fn lookup(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

std::string onednn_isa_name() {
  const auto isa = lookup<DnnlIsaFn>("dnnl_get_effective_cpu_isa");
  const auto name = lookup<DnnlIsaNameFn>("dnnl_cpu_isa2str");
  if (!isa || !name) return {};
  const char* s = name(isa());
  std::string n = s ? s : "";
  if (n.rfind("cpu_isa_", 0) == 0) n.erase(0, 8);  // "cpu_isa_avx2" -> "avx2"
  return n;
}

// ATen picks its vectorised kernels from ATEN_CPU_CAPABILITY, else from cpuinfo:
// AVX-512 (F, BW, VL, DQ) first, then AVX2 with FMA (ATen/native/DispatchStub.cpp).
// `f` is the uncapped processor: COVERGEN_CPU_ISA does not reach ATen.
std::string aten_capability(const CpuFeatures& f) {
  if (const char* env = std::getenv("ATEN_CPU_CAPABILITY")) {
    const std::string v(env);
    if (v == "avx512" || v == "avx2" || v == "default") return v;
  }
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq) return "avx512";
  if (f.avx2 && f.fma) return "avx2";
  return "default";
}

}  // namespace

CpuKernels cpu_kernels() {
  const CpuFeatures& f = cpu_features();
  CpuKernels k;
  k.model = f.model;
  k.flags = f.flags();
  k.cap = f.cap;
  if (const auto version = lookup<DnnlVersionFn>("dnnl_version")) {
    const DnnlVersion* v = version();
    if (v) k.onednn_version = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  }
  k.onednn_isa = onednn_isa_name();
  k.aten_capability = aten_capability(detect_cpu_features("native"));
  if (const auto corename = lookup<CorenameFn>("openblas_get_corename")) {
    const char* s = corename();
    k.blas = s ? std::string("OpenBLAS ") + s : "OpenBLAS";
  }
  k.threads = at::get_num_threads();
  return k;
}

std::string bf16_unavailable_reason() {
  const CpuFeatures& f = cpu_features();
  const std::string cpu = f.model.empty() ? std::string("this CPU") : f.model;
  if (!f.native_bf16()) {
    if (f.cap != "native")
      return "COVERGEN_CPU_ISA=" + f.cap + " leaves no bf16 instructions (AVX512-BF16 or AMX-BF16) to " + cpu;
    return cpu + " has no bf16 instructions (AVX512-BF16 or AMX-BF16): oneDNN would emulate bf16, "
                 "several times slower than float32";
  }
  const std::string isa = onednn_isa_name();
  if (!isa.empty() && isa.find("bf16") == std::string::npos && isa.find("amx") == std::string::npos)
    return "oneDNN is limited to " + isa + " (DNNL_MAX_CPU_ISA/ONEDNN_MAX_CPU_ISA), below its bf16 kernels";
  return {};
}

void require_native_bf16(const std::string& what) {
  const std::string why = bf16_unavailable_reason();
  if (!why.empty()) throw InputError(what + ": " + why + "; use float32 precision here");
}

}  // namespace covergen

namespace covergen {

namespace {

template <typename Fn>
double best_gflops(double flop, double seconds, Fn&& fn) {
  using clock = std::chrono::steady_clock;
  fn();  // warm-up: plans, packing buffers, thread pool
  double best = 0.0;
  const auto end = clock::now() + std::chrono::duration<double>(seconds);
  int runs = 0;
  do {
    const auto t0 = clock::now();
    fn();
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    if (s > 0.0) best = std::max(best, flop / s * 1e-9);
    ++runs;
  } while (clock::now() < end || runs < 3);
  return best;
}

}  // namespace

namespace {

void set_blas_threads(int n) {
  if (const auto set = lookup<BlasSetThreadsFn>("openblas_set_num_threads")) set(n);
}

}  // namespace

int blas_threads() {
  const auto get = lookup<BlasGetThreadsFn>("openblas_get_num_threads");
  return get ? get() : -1;
}

void set_compute_threads(int threads) {
  at::set_num_threads(threads);
  set_blas_threads(threads);
}

CpuPeak measure_cpu_peak(double seconds) {
  at::NoGradGuard no_grad;
  const int threads = at::get_num_threads();
  const auto gen = at::detail::createCPUGenerator(1);
  const int64_t n = 1024;
  const at::Tensor a = at::randn({n, n}, gen), b = at::randn({n, n}, gen);
  at::Tensor c = at::empty({n, n});
  const double gemm_flop = 2.0 * n * n * n;
  const at::Tensor x = at::randn({64, 128, 16, 16}, gen), w = at::randn({128, 128, 3, 3}, gen);
  const double conv_flop = 2.0 * 64 * 128 * 16 * 16 * 128 * 9;
  const auto sgemm = [&] { at::mm_out(c, a, b); };
  const auto conv = [&] { (void)at::conv2d(x, w, {}, 1, 1); };
  // One thread means one OpenBLAS thread too (set_compute_threads): otherwise "one
  // thread" of sgemm silently runs on every core (on a 2-vCPU EPYC: 177 GFLOP/s "on
  // one thread", more than one Zen 3 core's FMA units can do).
  const int blas_before = blas_threads();
  const auto set_threads = [&](int torch_n, int blas_n) {
    at::set_num_threads(torch_n);
    if (blas_n > 0) set_blas_threads(blas_n);
  };
  CpuPeak p;
  p.threads = threads;
  try {
    set_compute_threads(1);
    p.blas_threads_1t = blas_threads();
    p.sgemm_1t = best_gflops(gemm_flop, seconds, sgemm);
    p.conv_1t = best_gflops(conv_flop, seconds, conv);
    set_threads(threads, blas_before);
    p.sgemm_nt = best_gflops(gemm_flop, seconds, sgemm);
    p.conv_nt = best_gflops(conv_flop, seconds, conv);
  } catch (...) {
    set_threads(threads, blas_before);
    throw;
  }
  return p;
}

std::string describe_cpu_kernels() {
  const auto k = cpu_kernels();
  std::string s = "cpu: " + (k.model.empty() ? std::string("unknown") : k.model) + ", " +
                  std::to_string(std::thread::hardware_concurrency()) + " logical CPUs";
  if (k.cap != "native") s += " (COVERGEN_CPU_ISA=" + k.cap + ")";
  s += "\ncpu features: " + k.flags;
  s += "\nkernels: oneDNN " + (k.onednn_version.empty() ? std::string("?") : k.onednn_version) + " " +
       (k.onednn_isa.empty() ? std::string("(isa unknown)") : k.onednn_isa) + ", ATen " + k.aten_capability;
  if (!k.blas.empty()) s += ", " + k.blas;
  s += ", " + std::to_string(k.threads) + " threads";
  // OpenBLAS 0.3.21 (bookworm) falls back to its generic Prescott (SSE3) kernels on
  // processors it does not know, e.g. Xeons of family 6 model 207: 3.8x slower sgemm.
  if (k.blas == "OpenBLAS Prescott" && std::getenv("OPENBLAS_CORETYPE") == nullptr) {
    const auto native = detect_cpu_features("native");
    if (native.avx2)
      s += std::string("\nhint: OpenBLAS does not know this CPU and runs generic SSE3 kernels; OPENBLAS_CORETYPE=") +
           (native.avx512f && native.avx512bw && native.avx512vl ? "SkylakeX" : "Haswell") +
           " selects its vector kernels (docs/performance.md)";
  }
  const std::string no_bf16 = bf16_unavailable_reason();
  return s + "\nbfloat16: " + (no_bf16.empty() ? std::string("native (--precision bfloat16 available)") : "unavailable: " + no_bf16);
}

}  // namespace covergen
