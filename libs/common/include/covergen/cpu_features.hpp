// What the processor offers the kernels, read once from cpuid (and the OS's
// saved-state mask, so AVX-512/AMX count only when the kernel enables them).
//
// COVERGEN_CPU_ISA caps what the project's own code and its bf16 guard may use,
// to reproduce a smaller machine on a larger one: `baseline` (x86-64: SSE2),
// `avx2` (x86-64-v3: AVX, AVX2, FMA, F16C), `avx512` (x86-64-v4 with VNNI, but no
// BF16/FP16/AMX) or `native` (the default: everything detected). Read once per
// process. It does not reach oneDNN or ATen: give them DNNL_MAX_CPU_ISA and
// ATEN_CPU_CAPABILITY as well (docs/performance.md).
#pragma once

#include <string>

namespace covergen {

struct CpuFeatures {
  std::string model;  ///< the brand string, e.g. "AMD EPYC 7B13"
  bool sse42 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool avx512_fp16 = false;
  bool amx_tile = false;
  bool amx_bf16 = false;
  std::string cap = "native";  ///< the COVERGEN_CPU_ISA level applied

  /// bf16 arithmetic in hardware: AVX512-BF16 or AMX-BF16.
  bool native_bf16() const noexcept { return avx512_bf16 || amx_bf16; }
  /// The feature names present, space-separated (avx2 fma f16c avx512f ... amx_bf16).
  std::string flags() const;
};

/// Detects the processor's features and applies `cap` (a COVERGEN_CPU_ISA value:
/// baseline, avx2, avx512, native; empty = native). Throws InputError naming the
/// variable for any other value.
CpuFeatures detect_cpu_features(const std::string& cap);

/// detect_cpu_features(getenv("COVERGEN_CPU_ISA")), computed once per process.
const CpuFeatures& cpu_features();

}  // namespace covergen
