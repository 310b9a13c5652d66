// Which CPU kernels the tensor backend runs here, so every figure can say which
// machine it is (covergen --version), and whether bf16 convolutions run in hardware.
#pragma once

#include <string>

namespace covergen {

struct CpuKernels {
  std::string model;            ///< processor brand string
  std::string flags;            ///< CpuFeatures::flags() after COVERGEN_CPU_ISA
  std::string cap;              ///< the COVERGEN_CPU_ISA level ("native" unless set)
  std::string onednn_version;   ///< e.g. "2.6.3"; empty when oneDNN is not visible
  std::string onednn_isa;       ///< oneDNN's effective ISA (after DNNL_MAX_CPU_ISA), e.g. "avx512_core_bf16"
  std::string aten_capability;  ///< ATen's vectorised kernels by its own rules: default, avx2 or avx512
  std::string blas;             ///< OpenBLAS's core, e.g. "SkylakeX"; empty when not OpenBLAS
  int threads = 0;              ///< intra-op threads
};

CpuKernels cpu_kernels();

/// The machine as `covergen --version` prints it, one "key: value" line each: the
/// processor and its logical CPUs, its features, the kernels chosen (oneDNN ISA,
/// ATen capability, BLAS, threads), a hint when OpenBLAS runs generic kernels, and bf16.
std::string describe_cpu_kernels();

/// Empty when bf16 convolutions run in hardware on this CPU (AVX512-BF16 or AMX
/// present, allowed by COVERGEN_CPU_ISA, and used by oneDNN); otherwise the reason,
/// naming the processor and what it lacks. Without them oneDNN emulates bf16:
/// measured ~8.7x slower than float32 on an AVX2 EPYC (docs/performance.md).
std::string bf16_unavailable_reason();

/// Throws InputError (exit 3) with `what` and bf16_unavailable_reason() unless bf16 runs in hardware.
void require_native_bf16(const std::string& what);


/// Sets the tensor backend's intra-op thread count and, where the BLAS is OpenBLAS
/// (Debian's LibTorch), OpenBLAS's own thread pool, which at::set_num_threads does not
/// reach: matrix products (Linear, GRU, PCA) would otherwise still use every core.
void set_compute_threads(int threads);
/// OpenBLAS's thread count; -1 when the BLAS is not OpenBLAS.
int blas_threads();

/// The machine's practical float32 peak, measured through the tensor backend, so a
/// throughput figure can be quoted as a share of it (covergen bench cpu).
struct CpuPeak {
  int threads = 0;          ///< the intra-op thread count of the "all threads" figures
  double sgemm_1t = 0.0;    ///< GFLOP/s, 1024^3 float32 matrix product (BLAS), one thread
  double sgemm_nt = 0.0;    ///< the same, all threads
  double conv_1t = 0.0;     ///< GFLOP/s, 3x3 convolution 128->128 at 16x16, batch 64 (oneDNN), one thread
  double conv_nt = 0.0;     ///< the same, all threads
  /// OpenBLAS's own thread count during the one-thread sgemm (it keeps its own pool,
  /// which at::set_num_threads does not reach); -1 when the BLAS is not OpenBLAS.
  int blas_threads_1t = -1;
};

/// Runs each kernel for about `seconds` per thread setting and keeps its best rate.
/// Restores the thread count it found.
CpuPeak measure_cpu_peak(double seconds = 1.0);

}  // namespace covergen
