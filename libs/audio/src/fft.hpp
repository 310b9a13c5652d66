// FFTW plans made once and reused. FFTW's planner is not thread-safe, so plan
// creation (and destruction) is serialised by one process-wide mutex; executing
// a plan on new arrays (fftw_execute_dft_r2c / _c2r) is thread-safe.
#pragma once

#include <fftw3.h>

#include <complex>
#include <cstddef>
#include <memory>

namespace covergen::audio::detail {

/// fftw_malloc'd storage (SIMD-aligned, as the plans expect).
template <typename T>
struct FftwBuffer {
  T* p = nullptr;
  std::size_t n = 0;
  FftwBuffer() = default;
  explicit FftwBuffer(std::size_t count) : p(static_cast<T*>(fftw_malloc(sizeof(T) * count))), n(count) {
    if (!p) throw std::bad_alloc();
  }
  ~FftwBuffer() {
    if (p) fftw_free(p);
  }
  FftwBuffer(FftwBuffer&& o) noexcept : p(o.p), n(o.n) { o.p = nullptr; o.n = 0; }
  FftwBuffer& operator=(FftwBuffer&& o) noexcept {
    if (this != &o) {
      if (p) fftw_free(p);
      p = o.p; n = o.n; o.p = nullptr; o.n = 0;
    }
    return *this;
  }
  T& operator[](std::size_t i) { return p[i]; }
  const T& operator[](std::size_t i) const { return p[i]; }
};

/// A real-to-complex / complex-to-real pair of double-precision plans of size n.
/// Plans are cached per size for the life of the process and shared by all users.
class RealFft {
 public:
  explicit RealFft(int n);
  int size() const { return n_; }
  /// out[0..n/2] = rfft(in[0..n-1]); both arrays from FftwBuffer.
  void forward(double* in, fftw_complex* out) const { fftw_execute_dft_r2c(r2c_, in, out); }
  /// out[0..n-1] = n * irfft(in) (unnormalised, destroys `in`).
  void inverse(fftw_complex* in, double* out) const { fftw_execute_dft_c2r(c2r_, in, out); }

 private:
  int n_;
  fftw_plan r2c_;
  fftw_plan c2r_;
};

}  // namespace covergen::audio::detail
