#include "covergen/data/loader.hpp"

#include "covergen/data/hash.hpp"

#include <covergen/errors.hpp>

#include <ATen/ops/empty.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

namespace covergen::data {

// ---- conditions -------------------------------------------------------------

Conditions make_conditions(const Dataset& ds, const at::Tensor& e) {
  Conditions c;
  if (!e.defined()) return c;
  const std::size_t n = ds.size();
  if (e.dim() != 2 || static_cast<std::size_t>(e.size(0)) != n)
    throw InputError("the condition table must be [" + std::to_string(n) + ", C] (one row per track), got " +
                     (e.dim() == 2 ? "[" + std::to_string(e.size(0)) + ", " + std::to_string(e.size(1)) + "]"
                                   : std::string("another rank")));
  const at::Tensor f = e.to(at::kCPU).to(at::kFloat).contiguous();
  c.dim = static_cast<std::size_t>(f.size(1));
  c.values.assign(f.data_ptr<float>(), f.data_ptr<float>() + n * c.dim);
  return c;
}

// ---- loader ------------------------------------------------------------------

Loader::Loader(const Dataset& dataset, const CoverCache& cache, Conditions conditions, LoaderOptions options)
    : dataset_(dataset), cache_(cache), conditions_(std::move(conditions)), options_(options) {
  if (!cache.is_open()) throw Error("the loader needs an open cover cache");
  if (cache.count() != dataset.size())
    throw Error(cache.file().string() + ": the cache has " + std::to_string(cache.count()) + " covers, the dataset " +
                std::to_string(dataset.size()) + " tracks");
  if (options_.batch_size == 0) throw InputError("--batch-size must be at least 1");
  if (options_.world < 1 || options_.rank < 0 || options_.rank >= options_.world)
    throw InputError("rank " + std::to_string(options_.rank) + " is not in [0, world=" + std::to_string(options_.world) + ")");
  if (conditions_.dim && conditions_.values.size() != dataset.size() * conditions_.dim)
    throw Error("the condition table does not match the dataset");
  options_.prefetch = std::max(1, options_.prefetch);
  for (std::size_t i = 0; i < dataset.size(); ++i)
    if (dataset.tracks()[i].split == options_.split && cache.valid(i)) pool_.push_back(i);
  pin_ = options_.device.is_cuda();
}

Loader::~Loader() { stop(); }

std::size_t Loader::samples_per_epoch() const {
  const std::size_t w = static_cast<std::size_t>(options_.world);
  return pool_.size() / w;
}

std::size_t Loader::batches_per_epoch() const {
  const std::size_t n = samples_per_epoch();
  return options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
}

std::vector<std::size_t> Loader::epoch_order(std::int64_t epoch) const {
  std::vector<std::size_t> perm = pool_;
  if (options_.shuffle) {
    Rng rng(derive_seed(options_.seed, static_cast<std::uint64_t>(epoch)));
    for (std::size_t i = perm.size(); i > 1; --i) {
      const std::size_t j = static_cast<std::size_t>(rng.below(i));
      std::swap(perm[i - 1], perm[j]);
    }
  }
  const std::size_t w = static_cast<std::size_t>(options_.world);
  const std::size_t n = perm.size() - perm.size() % w;
  std::vector<std::size_t> mine;
  mine.reserve(n / w);
  for (std::size_t k = static_cast<std::size_t>(options_.rank); k < n; k += w) mine.push_back(perm[k]);
  return mine;
}

Batch Loader::build(std::size_t b) {
  const std::size_t begin = b * options_.batch_size;
  const std::size_t count = std::min(options_.batch_size, order_.size() - begin);
  const auto S = static_cast<std::int64_t>(cache_.size());
  const auto B = static_cast<std::int64_t>(count);
  const auto C = static_cast<std::int64_t>(conditions_.dim);
  Batch batch;
  if (!pin_) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = recycle_.begin(); it != recycle_.end(); ++it) {
      // Views (slices, reshapes) share the storage, not the tensor: check both.
      auto sole = [](const at::Tensor& t) { return t.use_count() == 1 && t.storage().use_count() == 1; };
      if (sole(it->images) && sole(it->conditions) && sole(it->indices) && it->images.size(0) == B) {
        batch = std::move(*it);
        recycle_.erase(it);
        break;
      }
    }
  }
  if (!batch.images.defined()) {
    auto opts = at::TensorOptions().dtype(at::kFloat).pinned_memory(pin_);
    batch.images = at::empty({B, 3, S, S}, opts);
    batch.conditions = at::empty({B, C}, opts);
    batch.indices = at::empty({B}, at::TensorOptions().dtype(at::kLong).pinned_memory(pin_));
  }
  batch.epoch = epoch_;
  batch.position = b;
  static const auto lut = [] {
    std::array<float, 256> t{};
    for (int v = 0; v < 256; ++v) t[static_cast<std::size_t>(v)] = static_cast<float>(v) * (2.0f / 255.0f) - 1.0f;
    return t;
  }();
  float* img = batch.images.data_ptr<float>();
  float* cond = batch.conditions.data_ptr<float>();
  std::int64_t* idx = batch.indices.data_ptr<std::int64_t>();
  const std::size_t per = cache_.image_bytes();
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t t = order_[begin + k];
    const std::uint8_t* src = cache_.image(t);
    float* dst = img + k * per;
    for (std::size_t p = 0; p < per; ++p) dst[p] = lut[src[p]];
    if (C) std::memcpy(cond + k * conditions_.dim, conditions_.row(t), conditions_.dim * sizeof(float));
    idx[k] = static_cast<std::int64_t>(t);
  }
  return batch;
}

void Loader::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = false;
  ready_.clear();
  error_ = nullptr;
}

void Loader::start(std::int64_t epoch, std::size_t position) {
  stop();
  order_ = epoch_order(epoch);
  epoch_ = epoch;
  end_ = batches_per_epoch();
  next_build_ = next_take_ = std::min(position, end_);
  for (int w = 0; w < options_.workers; ++w) threads_.emplace_back([this] { worker(); });
}

void Loader::worker() {
  while (true) {
    std::size_t b;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] {
        return stopping_ || next_build_ >= end_ || next_build_ < next_take_ + static_cast<std::size_t>(options_.prefetch);
      });
      if (stopping_ || next_build_ >= end_) return;
      b = next_build_++;
    }
    try {
      Batch batch = build(b);
      std::lock_guard<std::mutex> lock(mu_);
      ready_.emplace(b, std::move(batch));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
    cv_.notify_all();
  }
}

bool Loader::next(Batch& out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_take_ >= end_) return false;
  const std::size_t b = next_take_;
  const std::size_t keep = static_cast<std::size_t>(options_.prefetch + options_.workers) + 2;
  if (threads_.empty()) {
    ++next_take_;
    lock.unlock();
    out = build(b);
    lock.lock();
  } else {
    cv_.wait(lock, [&] { return error_ || ready_.count(b); });
    if (error_) std::rethrow_exception(error_);
    out = std::move(ready_[b]);
    ready_.erase(b);
    ++next_take_;
    cv_.notify_all();
  }
  if (!pin_) {
    if (recycle_.size() >= keep) recycle_.erase(recycle_.begin());
    Batch held;
    held.images = out.images;
    held.conditions = out.conditions;
    held.indices = out.indices;
    recycle_.push_back(std::move(held));
  }
  lock.unlock();
  if (options_.device.is_cuda()) {
    out.images = out.images.to(options_.device, /*non_blocking=*/true);
    out.conditions = out.conditions.to(options_.device, /*non_blocking=*/true);
  }
  return true;
}

}  // namespace covergen::data
