#include "covergen/audio/cpu.hpp"

#include "covergen/errors.hpp"

#include <mpg123.h>

#include <dlfcn.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace covergen::audio {
namespace {

CpuIsaCap parse_cap() {
  const char* v = std::getenv("COVERGEN_CPU_ISA");
  const std::string s = v ? v : "";
  if (s.empty() || s == "native") return CpuIsaCap::native;
  if (s == "avx2") return CpuIsaCap::avx2;
  throw InputError("COVERGEN_CPU_ISA='" + s + "' is not supported: use native (default) or avx2");
}

#if defined(__x86_64__)
unsigned long long xcr0() {
  unsigned lo = 0, hi = 0;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}
#endif

}  // namespace

CpuIsaCap cpu_isa_cap() {
  static const CpuIsaCap cap = parse_cap();
  return cap;
}

namespace detail {
void mpg123_init_once();  // decoder.cpp
const char* forced_mp3_decoder() { return cpu_isa_cap() == CpuIsaCap::avx2 ? "AVX" : nullptr; }
}  // namespace detail

const CpuReport& cpu_report() {
  static const CpuReport r = [] {
    CpuReport o;
    o.cap = cpu_isa_cap() == CpuIsaCap::avx2 ? "avx2" : "native";
    o.model = "unknown";
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("model name", 0) == 0) {
        const auto c = line.find(':');
        if (c != std::string::npos) o.model = line.substr(line.find_first_not_of(' ', c + 1));
        break;
      }
#if defined(__x86_64__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    bool ymm = false, zmm = false;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
      const bool osxsave = (c >> 27) & 1u;
      if (osxsave) {
        const auto x = xcr0();
        ymm = (x & 6u) == 6u;
        zmm = ymm && (x & 0xe0u) == 0xe0u;
      }
      o.fma = ymm && ((c >> 12) & 1u);
      o.f16c = ymm && ((c >> 29) & 1u);
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
      o.avx2 = ymm && ((b >> 5) & 1u);
      o.avx512f = zmm && ((b >> 16) & 1u);
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) o.avx512_bf16 = o.avx512f && ((a >> 5) & 1u);
    // the condition GCC's target_clones resolver applies to arch=x86-64-v3
#if defined(__clang__)
    o.own_code = o.avx2 && o.fma && o.f16c ? "x86-64-v3" : "x86-64";
#else
    __builtin_cpu_init();
    o.own_code = __builtin_cpu_supports("x86-64-v3") ? "x86-64-v3" : "x86-64";
#endif
#else
    o.own_code = "generic";
#endif
    detail::mpg123_init_once();
    for (const char** dd = mpg123_supported_decoders(); dd && *dd; ++dd) o.mp3_decoders.emplace_back(*dd);
    int err = MPG123_OK;
    if (mpg123_handle* h = mpg123_new(detail::forced_mp3_decoder(), &err)) {
      o.mp3_decoder = mpg123_current_decoder(h);
      mpg123_delete(h);
    }
    // FFTW picks its codelets by cpuid at planning time among those it was built with;
    // which families exist is visible from its exported probes.
    for (const char* isa : {"sse2", "avx", "avx2", "avx2_128", "avx512", "avx_128_fma", "kcvi"}) {
      const std::string sym = std::string("fftw_have_simd_") + isa;
      if (dlsym(RTLD_DEFAULT, sym.c_str())) o.fftw_simd.emplace_back(isa);
    }
    return o;
  }();
  return r;
}

}  // namespace covergen::audio
