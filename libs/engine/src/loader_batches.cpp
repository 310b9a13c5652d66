#include "covergen/engine/loader_batches.hpp"

#include <covergen/data/dataset.hpp>
#include <covergen/data/hash.hpp>
#include <covergen/data/image_cache.hpp>
#include <covergen/data/loader.hpp>
#include <covergen/errors.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

using nlohmann::json;

namespace covergen::engine {

struct LoaderBatches::Impl {
  std::vector<std::size_t> items;
  at::Tensor cond;
  std::uint64_t seed;
  std::int64_t batch;
  std::unique_ptr<data::Loader> loader;
  std::int64_t epoch = 0;
  std::size_t position = 0;
  data::Rng cond_rng;
  std::uint64_t draws = 0;

  std::size_t pick() {
    ++draws;
    return static_cast<std::size_t>(cond_rng.below(items.size()));
  }
};

LoaderBatches::LoaderBatches(const data::Dataset& ds, const data::CoverCache& cache, const at::Tensor& per_track,
                             std::vector<std::size_t> train, std::int64_t batch, std::uint64_t seed,
                             c10::Device device, int rank, int world)
    : impl_(new Impl{std::move(train), per_track, seed, batch / world, nullptr, 0, 0,
                     data::Rng(data::derive_seed(seed, 0xC0DE)), 0}) {
  auto& m = *impl_;
  data::LoaderOptions lo;
  lo.batch_size = static_cast<std::size_t>(m.batch);
  lo.seed = seed;
  lo.rank = rank;
  lo.world = world;
  lo.device = device;
  m.loader = std::make_unique<data::Loader>(ds, cache, data::make_conditions(ds, per_track), lo);
  if (m.loader->batches_per_epoch() == 0)
    throw InputError(ds.csv_path().string(), "fewer training covers (" +
                                                 std::to_string(m.loader->samples_per_epoch() * world) +
                                                 ") than one batch (" + std::to_string(batch) + "); lower --batch");
  m.loader->start(m.epoch, m.position);
}

LoaderBatches::~LoaderBatches() = default;

Batch LoaderBatches::next(std::int64_t n) {
  auto& m = *impl_;
  if (n != m.batch) throw Error("internal: batch size changed during training");
  data::Batch b;
  while (!m.loader->next(b)) m.loader->start(++m.epoch, m.position = 0);
  ++m.position;
  Batch out;
  out.images = b.images;
  if (m.cond.defined()) out.conditions = b.conditions;
  return out;
}

at::Tensor LoaderBatches::sample_conditions(std::int64_t n) {
  auto& m = *impl_;
  if (!m.cond.defined()) return {};
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  for (auto& i : idx) i = static_cast<std::int64_t>(m.items[m.pick()]);
  return m.cond.index_select(0, at::tensor(idx));
}

std::string LoaderBatches::state() const {
  return json{{"epoch", impl_->epoch}, {"position", impl_->position}, {"draws", impl_->draws}}.dump();
}

void LoaderBatches::restore(const std::string& text) {
  auto& m = *impl_;
  auto j = json::parse(text);
  m.epoch = j.at("epoch");
  m.position = j.at("position");
  m.loader->start(m.epoch, m.position);
  m.cond_rng = data::Rng(data::derive_seed(m.seed, 0xC0DE));
  m.draws = 0;
  const std::uint64_t target = j.at("draws");
  while (m.draws < target) m.pick();
}

}  // namespace covergen::engine
