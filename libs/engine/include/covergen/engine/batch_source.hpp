// Where the training engine gets real images and their conditions from. The
// dataset loader implements it; tests use in-memory sources.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace covergen::engine {

struct Batch {
  at::Tensor images;      ///< [B, 3, S, S] float32 in [-1, 1]
  at::Tensor conditions;  ///< [B, C] float32, or undefined when unconditional
};

class BatchSource {
 public:
  virtual ~BatchSource();
  /// The next batch of `batch_size` examples (the engine moves it to the device).
  virtual Batch next(std::int64_t batch_size) = 0;
  /// Conditions to generate fakes for, drawn like the data's (e.g. the conditions
  /// of another random batch); [n, C] or undefined when unconditional.
  virtual at::Tensor sample_conditions(std::int64_t n) = 0;
  /// A compact description of the read position (epoch, cursor, RNG) so that a
  /// resumed run sees the same data order; restore() takes what state() gave.
  virtual std::string state() const = 0;
  virtual void restore(const std::string& state) = 0;
};

}  // namespace covergen::engine
