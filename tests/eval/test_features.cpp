// Feature extractors: the TorchScript contract (299 x 299 input in [-1, 1], [N, D] or
// [N, D, 1, 1] output, clear errors), and FID/KID in the built-in judge feature space
// on real synthetic covers: held-out real covers score better than noise images (an
// untrained generator's kind of output), and per-genre distances single out covers
// whose genres were shuffled.
#include <torch/script.h>
#include <torch/torch.h>

#include <covergen/data/image.hpp>
#include <covergen/data/synth.hpp>
#include <covergen/errors.hpp>
#include <covergen/eval/cover_classifier.hpp>
#include <covergen/eval/distribution.hpp>
#include <covergen/eval/features.hpp>

#include <catch2/catch.hpp>

#include <filesystem>

namespace fs = std::filesystem;
using namespace covergen::eval;

namespace {
fs::path temp_dir(const std::string& name) {
  auto d = fs::path(COVERGEN_TEST_BINARY_DIR) / "eval-tmp" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
}  // namespace

TEST_CASE("A TorchScript feature network gets 299 x 299 inputs in [-1, 1] and its features come back", "[eval][features]") {
  const auto dir = temp_dir("torchscript");
  torch::jit::Module m("Pool");
  m.register_parameter("w", torch::arange(3 * 2048, torch::kFloat).reshape({3, 2048}) / 6144.0, false);
  m.define(R"JIT(
def forward(self, x):
    assert x.size(2) == 299 and x.size(3) == 299
    assert bool(x.min() >= -1.0) and bool(x.max() <= 1.0)
    return torch.matmul(x.mean([2, 3]), self.w).unsqueeze(2).unsqueeze(3)
)JIT");
  m.save((dir / "pool.pt").string());
  auto fx = torchscript_feature_extractor(dir / "pool.pt", torch::kCPU);
  CHECK(fx->name().find("pool.pt") != std::string::npos);
  CHECK(fx->name().find("2048-d") != std::string::npos);
  // Flat images keep their value through the bilinear resize: features = colour . w.
  auto images = torch::ones({5, 3, 32, 32});
  images.select(1, 0).fill_(0.5);
  images.select(1, 1).fill_(-1.0);
  images.select(1, 2).fill_(0.25);
  const auto f = fx->extract(images);
  REQUIRE(f.n == 5);
  REQUIRE(f.d == 2048);
  for (int j : {0, 7, 2047}) {
    const double expected = (0.5 * j - 1.0 * (2048 + j) + 0.25 * (4096 + j)) / 6144.0;
    CHECK(f.row(3)[j] == Approx(expected).epsilon(1e-5));
  }
}

TEST_CASE("TorchScript feature files that break the contract are refused by name", "[eval][features]") {
  const auto dir = temp_dir("torchscript-bad");
  CHECK_THROWS_AS(torchscript_feature_extractor(dir / "missing.pt", torch::kCPU), covergen::InputError);
  {
    std::ofstream(dir / "junk.pt") << "not a zip archive";
  }
  try {
    torchscript_feature_extractor(dir / "junk.pt", torch::kCPU);
    FAIL("junk accepted");
  } catch (const covergen::InputError& e) {
    CHECK(std::string(e.what()).find("junk.pt") != std::string::npos);
  }
  torch::jit::Module m("Wrong");
  m.define(R"JIT(
def forward(self, x):
    return x
)JIT");
  m.save((dir / "wrong.pt").string());
  try {
    torchscript_feature_extractor(dir / "wrong.pt", torch::kCPU);
    FAIL("4-D image output accepted as features");
  } catch (const covergen::InputError& e) {
    CHECK(std::string(e.what()).find("[N, D]") != std::string::npos);
  }
}

TEST_CASE("Judge features rank real covers above noise and correct genres above shuffled ones", "[eval][features]") {
  // 4 genres x 60 synthetic covers at 32 px: 30 per genre train the judge and are the
  // real reference, 30 are the held-out "good generator".
  const int genres = 4, per = 60, size = 32;
  auto images = torch::empty({genres * per, 3, size, size}, torch::kByte);
  std::vector<int> labels;
  for (int g = 0; g < genres; ++g)
    for (int i = 0; i < per; ++i) {
      const auto tp = covergen::data::sample_track(0, g, i);
      std::string error;
      REQUIRE(covergen::data::preprocess_image(covergen::data::render_cover_jpeg(tp, 96), size,
                                               images[g * per + i].data_ptr<std::uint8_t>(), error));
      labels.push_back(g);
    }
  auto x = images.to(torch::kFloat).div(127.5).sub(1.0);
  std::vector<std::int64_t> train_idx, test_idx;
  for (int k = 0; k < genres * per; ++k) ((k % per) < per / 2 ? train_idx : test_idx).push_back(k);
  auto ti = torch::tensor(train_idx), vi = torch::tensor(test_idx);
  auto lab = torch::tensor(std::vector<std::int64_t>(labels.begin(), labels.end()));
  ClassifierOptions co;
  co.epochs = 8;
  auto judge = std::make_shared<CoverClassifier>(x.index_select(0, ti), lab.index_select(0, ti), genres, co);
  CHECK(judge->accuracy(x.index_select(0, vi), lab.index_select(0, vi)) > 0.8);
  auto fx = judge_feature_extractor(judge, "judge");
  const auto real = fx->extract(x.index_select(0, ti));
  const auto good = fx->extract(x.index_select(0, vi));
  torch::manual_seed(3);
  const auto noise = fx->extract(torch::randn({genres * per / 2, 3, size, size}).tanh());
  std::vector<int> real_l, good_l, shuffled_l;
  for (auto k : train_idx) real_l.push_back(labels[static_cast<std::size_t>(k)]);
  for (auto k : test_idx) {
    good_l.push_back(labels[static_cast<std::size_t>(k)]);
    shuffled_l.push_back((labels[static_cast<std::size_t>(k)] + 1) % genres);
  }
  KidOptions o;
  o.subsets = 50;
  o.subset_size = 100;
  const double fid_good = fid(good, real), fid_noise = fid(noise, real);
  const auto kid_good = kid(good, real, o), kid_noise = kid(noise, real, o);
  INFO("FID good " << fid_good << " noise " << fid_noise << "; KID good " << kid_good.mean << " +- " << kid_good.std
                   << " noise " << kid_noise.mean);
  CHECK(fid_good < 0.5 * fid_noise);
  CHECK(kid_good.mean < 0.2 * kid_noise.mean);
  CHECK(kid_noise.mean > 5 * kid_noise.std);
  o.subset_size = 30;
  const auto cond_good = per_class_distances(good, good_l, real, real_l, genres, o);
  const auto cond_shuffled = per_class_distances(good, shuffled_l, real, real_l, genres, o);
  INFO("per-genre FID good " << cond_good.mean_fid << " shuffled " << cond_shuffled.mean_fid);
  CHECK(cond_good.mean_fid < 0.5 * cond_shuffled.mean_fid);
  CHECK(cond_good.mean_kid < 0.5 * cond_shuffled.mean_kid);
}
