// A fixed pool of worker threads over a bounded FIFO: try_submit refuses a job
// when `capacity` jobs already wait, so callers can answer 503 at once.
#pragma once

#include "covergen/serve/server.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace covergen::serve {

class JobQueue {
 public:
  JobQueue(int workers, int capacity);
  /// Finishes the running jobs; jobs still waiting fail with a "server is stopping" error.
  ~JobQueue();

  /// Queues `job`; std::nullopt when the queue is full (or stopping). The future
  /// carries the job's exception, if it throws.
  std::optional<std::future<void>> try_submit(std::function<void()> job);
  QueueStats stats() const;
  /// Seconds until a new job would likely start, from the mean job time (>= 1).
  int retry_after_seconds() const;

 private:
  void work();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<void()>> waiting_;
  std::vector<std::thread> threads_;
  int capacity_;
  int running_ = 0;
  bool stopping_ = false;
  std::uint64_t completed_ = 0, rejected_ = 0;
  double mean_seconds_ = 0.0;
};

}  // namespace covergen::serve
