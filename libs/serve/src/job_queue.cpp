#include "job_queue.hpp"

#include <covergen/errors.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace covergen::serve {

JobQueue::JobQueue(int workers, int capacity) : capacity_(std::max(0, capacity)) {
  workers = std::max(1, workers);
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

JobQueue::~JobQueue() {
  std::deque<std::packaged_task<void()>> abandoned;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    abandoned.swap(waiting_);
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
  // A task destroyed unrun gives its future std::future_error(broken_promise).
}

std::optional<std::future<void>> JobQueue::try_submit(std::function<void()> job) {
  std::packaged_task<void()> task(std::move(job));
  auto future = task.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // A job may wait only when every worker is busy and fewer than capacity_ wait.
    const int idle = static_cast<int>(threads_.size()) - running_;
    const int free_slots = capacity_ + std::max(0, idle) - static_cast<int>(waiting_.size());
    if (stopping_ || free_slots <= 0) {
      ++rejected_;
      return std::nullopt;
    }
    waiting_.push_back(std::move(task));
  }
  wake_.notify_one();
  return future;
}

void JobQueue::work() {
  for (;;) {
    std::packaged_task<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // stopping
      task = std::move(waiting_.front());
      waiting_.pop_front();
      ++running_;
    }
    const auto start = std::chrono::steady_clock::now();
    task();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::lock_guard<std::mutex> lock(mutex_);
    --running_;
    ++completed_;
    mean_seconds_ = completed_ == 1 ? s : 0.8 * mean_seconds_ + 0.2 * s;
  }
}

QueueStats JobQueue::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  QueueStats st;
  st.running = running_;
  st.waiting = static_cast<int>(waiting_.size());
  st.workers = static_cast<int>(threads_.size());
  st.capacity = capacity_;
  st.completed = completed_;
  st.rejected = rejected_;
  st.mean_job_seconds = mean_seconds_;
  return st;
}

int JobQueue::retry_after_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const double per_job = mean_seconds_ > 0 ? mean_seconds_ : 2.0;
  const double ahead = static_cast<double>(running_ + static_cast<int>(waiting_.size()));
  const double s = std::ceil(per_job * ahead / static_cast<double>(threads_.size()));
  return static_cast<int>(std::clamp(s, 1.0, 600.0));
}

}  // namespace covergen::serve
