#include "covergen/audio/cpu.hpp"

#include "covergen/cpu_features.hpp"
#include "covergen/errors.hpp"

#include <mpg123.h>

#include <dlfcn.h>

#include <string>

namespace covergen::audio {

CpuIsaCap cpu_isa_cap() {
  // One parser for the variable: covergen::cpu_features() (libs/common) also drives the
  // bf16 guard. avx512 hides only BF16/FP16/AMX, which no audio path uses.
  return covergen::cpu_features().cap == "avx2" ? CpuIsaCap::avx2 : CpuIsaCap::native;
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
    const CpuFeatures f = detect_cpu_features("native");  // the processor itself, uncapped
    if (!f.model.empty()) o.model = f.model;
    o.avx2 = f.avx2;
    o.fma = f.fma;
    o.f16c = f.f16c;
    o.avx512f = f.avx512f;
    o.avx512_bf16 = f.avx512_bf16;
#if defined(__x86_64__)
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
