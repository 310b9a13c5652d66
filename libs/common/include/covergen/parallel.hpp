// A bounded parallel loop without a thread-pool dependency.
#pragma once

#include <cstddef>
#include <functional>

namespace covergen {

/// Runs fn(i) for i in [0, n) on `threads` threads (<= 0: all cores; never more
/// threads than items). The first exception thrown by fn stops handing out work and
/// is rethrown here after every thread has finished.
void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& fn);

}  // namespace covergen
