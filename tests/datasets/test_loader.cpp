// ATen pulls in glog, whose CHECK(cond) would silently replace Catch's CHECK
// (aborting instead of reporting): include it first and let Catch define CHECK.
#include <ATen/ATen.h>
#undef CHECK

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <covergen/data/loader.hpp>
#include <covergen/errors.hpp>

#include <set>

using namespace covergen::data;
using covergen::test::make_image;
using covergen::test::TempDir;
using covergen::test::write_text;

namespace {

/// 60 tracks, 3 genres, attributes energy/tempo; track 4's cover is corrupt.
struct Fixture {
  TempDir dir{"loader"};
  Dataset ds;
  CoverCache cache;
  Fixture() {
    std::string csv = "id,genre,audio,cover,energy,tempo\n";
    for (int i = 0; i < 60; ++i) {
      const std::string id = "trk" + std::to_string(i);
      write_text(dir / ("audio/" + id + ".mp3"), "x");
      write_text(dir / ("covers/" + id + ".jpg"), i == 4 ? std::string("broken") : make_image(48, 40, ".jpg", 3, false, static_cast<std::uint32_t>(i)));
      csv += id + "," + (i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c") + ",audio/" + id + ".mp3,covers/" + id + ".jpg," +
             std::to_string(0.01 * i) + "," + std::to_string(100 + i % 7) + "\n";
    }
    write_text(dir / "tracks.csv", csv);
    write_text(dir / "dataset.json", R"({"attributes": ["energy", "tempo"], "split": {"val": 0.2, "test": 0.0}})");
    ds = Dataset::open(dir.path());
    CacheOptions o;
    o.size = 32;
    o.threads = 2;
    cache = CoverCache::open_or_build(ds, o);
  }
};

std::vector<std::int64_t> drain(Loader& loader, std::int64_t epoch, std::size_t from = 0) {
  std::vector<std::int64_t> ids;
  loader.start(epoch, from);
  Batch b;
  while (loader.next(b))
    for (std::int64_t k = 0; k < b.indices.size(0); ++k) ids.push_back(b.indices[k].item<std::int64_t>());
  return ids;
}

}  // namespace

TEST_CASE("loader: batch shapes, ranges and contents match the cache") {
  Fixture f;
  LoaderOptions o;
  o.batch_size = 8;
  o.split = Split::train;
  // One-hot genre rows, as generate::training_conditions makes them for --condition genre.
  auto genre = at::zeros({static_cast<std::int64_t>(f.ds.size()), 3});
  for (std::size_t i = 0; i < f.ds.size(); ++i) genre[static_cast<std::int64_t>(i)][f.ds.tracks()[i].genre] = 1.0;
  Loader loader(f.ds, f.cache, make_conditions(f.ds, genre), o);
  // Track 4 (bad cover) never appears.
  for (auto i : loader.pool()) CHECK(i != 4);
  CHECK(loader.batches_per_epoch() == loader.pool().size() / 8);
  loader.start(0);
  Batch b;
  std::size_t batches = 0;
  while (loader.next(b)) {
    ++batches;
    REQUIRE(b.images.sizes() == at::IntArrayRef({8, 3, 32, 32}));
    CHECK(b.images.scalar_type() == at::kFloat);
    CHECK(b.images.min().item<float>() >= -1.0f);
    CHECK(b.images.max().item<float>() <= 1.0f);
    REQUIRE(b.conditions.sizes() == at::IntArrayRef({8, 3}));
    CHECK(at::allclose(b.conditions.sum(1), at::ones({8})));
    const auto t = static_cast<std::size_t>(b.indices[0].item<std::int64_t>());
    CHECK(b.conditions[0][f.ds.tracks()[t].genre].item<float>() == 1.0f);
    const std::uint8_t* px = f.cache.image(t);
    CHECK(b.images[0][1][5][7].item<float>() == Approx(px[1 * 32 * 32 + 5 * 32 + 7] * 2.0 / 255.0 - 1.0));
    CHECK(b.position == batches - 1);
  }
  CHECK(batches == loader.batches_per_epoch());
}

TEST_CASE("loader: a batch (or a view of it) that the caller keeps is never overwritten") {
  Fixture f;
  LoaderOptions o;
  o.batch_size = 4;
  o.workers = 2;
  o.prefetch = 1;
  Loader loader(f.ds, f.cache, make_conditions(f.ds, {}), o);
  loader.start(0);
  Batch first;
  REQUIRE(loader.next(first));
  const at::Tensor view = first.images.slice(0, 0, 2);
  const at::Tensor snapshot = view.clone();
  const auto first_ids = first.indices.clone();
  first = Batch{};  // the batch itself is dropped, the view is kept
  Batch b;
  std::size_t n = 0;
  while (loader.next(b)) ++n;
  CHECK(n + 1 == loader.batches_per_epoch());
  CHECK(at::equal(view, snapshot));
}

TEST_CASE("loader: the order is determined by seed and epoch, resumable, whatever the workers") {
  Fixture f;
  LoaderOptions o;
  o.batch_size = 5;
  o.seed = 42;
  o.workers = 3;
  o.prefetch = 2;
  Loader a(f.ds, f.cache, make_conditions(f.ds, {}), o);
  o.workers = 0;
  Loader b(f.ds, f.cache, make_conditions(f.ds, {}), o);
  const auto e0 = drain(a, 0);
  CHECK(e0 == drain(b, 0));
  CHECK(e0 == drain(a, 0));
  CHECK(e0 != drain(a, 1));
  CHECK(e0.size() == a.batches_per_epoch() * 5);
  std::set<std::int64_t> unique(e0.begin(), e0.end());
  CHECK(unique.size() == e0.size());
  // Resume at batch 3 of epoch 0: the rest of the same sequence.
  const auto rest = drain(a, 0, 3);
  CHECK(std::vector<std::int64_t>(e0.begin() + 15, e0.end()) == rest);
  // Another seed, another order; no shuffle is file order.
  o.seed = 43;
  Loader c(f.ds, f.cache, make_conditions(f.ds, {}), o);
  CHECK(drain(c, 0) != e0);
  o.shuffle = false;
  Loader d(f.ds, f.cache, make_conditions(f.ds, {}), o);
  const auto plain = drain(d, 0);
  CHECK(std::is_sorted(plain.begin(), plain.end()));
}

TEST_CASE("loader: rank/world shards are disjoint, equal and cover the epoch") {
  Fixture f;
  LoaderOptions o;
  o.batch_size = 4;
  o.seed = 7;
  o.world = 3;
  o.drop_last = false;
  std::set<std::int64_t> seen;
  std::size_t total = 0, per = 0;
  for (int r = 0; r < 3; ++r) {
    o.rank = r;
    Loader l(f.ds, f.cache, make_conditions(f.ds, {}), o);
    const auto ids = drain(l, 2);
    if (r == 0) per = ids.size();
    CHECK(ids.size() == per);
    total += ids.size();
    for (auto i : ids) CHECK(seen.insert(i).second);
  }
  Loader any(f.ds, f.cache, make_conditions(f.ds, {}), o);
  CHECK(total == any.pool().size() - any.pool().size() % 3);
  o.rank = 3;
  CHECK_THROWS_AS(Loader(f.ds, f.cache, make_conditions(f.ds, {}), o), covergen::InputError);
}

TEST_CASE("loader: the condition table is the caller's [tracks, C] rows, checked against the dataset") {
  Fixture f;
  const auto n = static_cast<std::int64_t>(f.ds.size());
  const auto e = at::arange(n * 4, at::kDouble).reshape({n, 4});
  auto c = make_conditions(f.ds, e);
  CHECK(c.dim == 4);
  CHECK(c.row(3)[2] == 14.0f);
  CHECK(make_conditions(f.ds, at::Tensor()).dim == 0);
  CHECK_THROWS_AS(make_conditions(f.ds, e.slice(0, 0, 5)), covergen::InputError);
  CHECK_THROWS_AS(make_conditions(f.ds, e.reshape({-1})), covergen::InputError);
}
