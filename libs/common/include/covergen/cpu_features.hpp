// What the processor offers the kernels, read once from cpuid (and the OS's
// saved-state mask, so AVX-512/AMX count only when the kernel enables them).
//
// COVERGEN_CPU_ISA stands a smaller machine in on a larger one: `avx2` (no AVX-512,
// no BF16/FP16/AMX), `avx512` (AVX-512 with VNNI, but no BF16/FP16/AMX) or `native`
// (the default: everything detected). Read once per process. What it reaches: the bf16
// guard (covergen::bf16_unavailable_reason) and libmpg123's decoder choice
// (covergen/audio/cpu.hpp); CoverGen's own multiversioned code has no AVX-512 clones,
// so it already runs an AVX2 machine's code. It does not reach oneDNN, ATen or
// OpenBLAS: give them DNNL_MAX_CPU_ISA, ATEN_CPU_CAPABILITY and OPENBLAS_CORETYPE as
// well (docs/performance.md, "Machines").
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
/// avx2, avx512, native; empty = native). Throws InputError naming the
/// variable for any other value.
CpuFeatures detect_cpu_features(const std::string& cap);

/// detect_cpu_features(getenv("COVERGEN_CPU_ISA")), computed once per process.
const CpuFeatures& cpu_features();

}  // namespace covergen
