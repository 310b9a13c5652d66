#include "fft.hpp"

#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace covergen::audio::detail {
namespace {

std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}

struct PlanPair {
  fftw_plan r2c = nullptr;
  fftw_plan c2r = nullptr;
};

// Plans live until exit (they are tiny); FFTW itself is not torn down so that
// other static destructors can still execute plans safely.
std::map<int, PlanPair>& plan_cache() {
  static auto* cache = new std::map<int, PlanPair>();
  return *cache;
}

}  // namespace

RealFft::RealFft(int n) : n_(n) {
  if (n < 2) throw std::invalid_argument("RealFft: size must be >= 2");
  std::lock_guard<std::mutex> lock(planner_mutex());
  auto& cache = plan_cache();
  auto it = cache.find(n);
  if (it == cache.end()) {
    // Plan on fftw_malloc'd arrays: new-array execution needs the same alignment.
    FftwBuffer<double> in(static_cast<std::size_t>(n));
    FftwBuffer<fftw_complex> out(static_cast<std::size_t>(n / 2 + 1));
    PlanPair p;
    // FFTW_ESTIMATE: deterministic plans (FFTW_MEASURE may pick a different
    // algorithm per run, changing the last bits of results between runs), and
    // no planning time; for power-of-two sizes it is within a few % of MEASURE.
    p.r2c = fftw_plan_dft_r2c_1d(n, in.p, out.p, FFTW_ESTIMATE | FFTW_PRESERVE_INPUT);  // the default for r2c; callers rely on it
    p.c2r = fftw_plan_dft_c2r_1d(n, out.p, in.p, FFTW_ESTIMATE);
    if (!p.r2c || !p.c2r) throw std::runtime_error("FFTW planning failed");
    it = cache.emplace(n, p).first;
  }
  r2c_ = it->second.r2c;
  c2r_ = it->second.c2r;
}

}  // namespace covergen::audio::detail
