// Which instruction sets the audio front end's vector paths use, and a switch that
// caps them to emulate a smaller machine for measurements.
//
// COVERGEN_CPU_ISA (read once per process):
//   unset / "native"  everything picks its path from cpuid (the default);
//   "avx2"            behave as on an AVX2 machine without AVX-512: libmpg123's decoder
//                     is forced to the one an AVX2 CPU gets ("AVX", via mpg123_decoder).
//                     CoverGen's own multiversioned functions have no AVX-512 clone
//                     (x86-64-v3 = AVX2+FMA+F16C, or the x86-64 default) and Debian's
//                     FFTW 3.3.10 has SSE2 and AVX codelets only, so both already run the
//                     AVX2 machine's code here; cpu_report() says so from the library
//                     itself. glibc's own string/memory routines are capped separately
//                     with GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,... (docs/performance.md).
//   "avx512"          hides only BF16/FP16/AMX, which no audio path uses: as native here.
// One parser for the variable, covergen::cpu_features() (libs/common), which also
// drives the bf16 guard; any other value is refused with an InputError naming the
// accepted ones.
#pragma once

#include <string>
#include <vector>

namespace covergen::audio {

enum class CpuIsaCap { native, avx2 };

/// COVERGEN_CPU_ISA, parsed once. Throws covergen::InputError on an unknown value.
CpuIsaCap cpu_isa_cap();

struct CpuReport {
  std::string model;  ///< /proc/cpuinfo "model name" ("unknown" elsewhere)
  bool avx2 = false, fma = false, f16c = false;  ///< cpuid (with the OS saving YMM state)
  bool avx512f = false, avx512_bf16 = false;     ///< cpuid (with the OS saving ZMM state)
  std::string cap;  ///< "native" or "avx2" (COVERGEN_CPU_ISA)
  /// The vector width CoverGen's multiversioned code runs at: "x86-64-v3" (AVX2+FMA) or
  /// "x86-64" (the default clones); never AVX-512 (no such clones exist).
  std::string own_code;
  std::string mp3_decoder;                  ///< libmpg123's decoder for new handles (after the cap)
  std::vector<std::string> mp3_decoders;    ///< the decoders libmpg123 supports on this CPU
  std::vector<std::string> fftw_simd;       ///< SIMD codelet families FFTW has ("sse2", "avx", ...)
};

/// What this process runs on; cheap after the first call.
const CpuReport& cpu_report();

namespace detail {
/// The libmpg123 decoder to force for COVERGEN_CPU_ISA, or nullptr for libmpg123's own choice.
const char* forced_mp3_decoder();
}  // namespace detail

}  // namespace covergen::audio
