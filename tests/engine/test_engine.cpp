// The training engine with a small in-test GAN (MLP with BatchNorm over 4x4
// images): exact resume, NaN guard, atomic checkpoints under kill -9.
#include "../core/test_support.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/engine/trainer.hpp>
#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>

// torch (and the glog it pulls in) before Catch: glog's CHECK must not replace Catch's.
#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <catch2/catch.hpp>

#include <csignal>
#include <random>
#include <sys/wait.h>
#include <unistd.h>

using namespace covergen;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

constexpr int S = 4, Z = 8, C = 2;

struct Gen : public ConditionalGenerator {
  torch::nn::Sequential net{torch::nn::Linear(Z + C, 32), torch::nn::BatchNorm1d(32), torch::nn::ReLU(),
                            torch::nn::Linear(32, 3 * S * S), torch::nn::Tanh()};
  std::string config_json() const override { return "{}"; }
  NamedTensors named_tensors() override {
    NamedTensors out;
    for (auto& p : net->named_parameters()) out.emplace_back(p.key(), p.value());
    for (auto& b : net->named_buffers()) out.emplace_back(b.key(), b.value());
    return out;
  }
  void to(const c10::Device& d) override { net->to(d); }
  c10::Device device() const override { return c10::kCPU; }
  std::int64_t latent_dim() const override { return Z; }
  std::int64_t condition_dim() const override { return C; }
  std::int64_t image_size() const override { return S; }
  at::Tensor forward(const at::Tensor& z, const at::Tensor& c) { return net->forward(torch::cat({z, c}, 1)).view({-1, 3, S, S}); }
  at::Tensor generate(const at::Tensor& z, const at::Tensor& c, const GenerateOptions&) override {
    torch::NoGradGuard ng;
    bool was = net->is_training();
    net->eval();
    auto out = forward(z, c);
    net->train(was);
    return out;
  }
};

struct ToyGan : public GanModel {
  Gen g;
  torch::nn::Sequential d{torch::nn::Linear(3 * S * S + C, 32), torch::nn::LeakyReLU(), torch::nn::Linear(32, 1)};
  ConditionalGenerator& generator() override { return g; }
  std::unique_ptr<ConditionalGenerator> make_generator() const override { return std::make_unique<Gen>(); }
  std::vector<OptimizerSpec> optimizers() override {
    return {{"G", g.net->parameters(), 2e-3, 0.5, 0.999, 1e-8}, {"D", d->parameters(), 2e-3, 0.5, 0.999, 1e-8}};
  }
  std::vector<Phase> phases() const override { return {{"D", "D", 1, 2, true}, {"G", "G", 1, 1, false}}; }
  at::Tensor critic(const at::Tensor& x, const at::Tensor& c) { return d->forward(torch::cat({x.flatten(1), c}, 1)); }
  LossStats run_phase(std::size_t phase, const PhaseBatch& b, const PhaseContext&) override {
    if (phase == 0) {
      auto fake = g.forward(b.z, b.fake_cond).detach();
      auto real_logit = critic(b.real, b.real_cond), fake_logit = critic(fake, b.fake_cond);
      auto loss = torch::binary_cross_entropy_with_logits(real_logit, torch::ones_like(real_logit)) +
                  torch::binary_cross_entropy_with_logits(fake_logit, torch::zeros_like(fake_logit)) +
                  0.01 * torch::rand({1}).sum();  // global RNG use: resume must restore it
      loss.backward();
      return {{"D_loss", loss.item<double>()}};
    }
    auto logit = critic(g.forward(b.z, b.fake_cond), b.fake_cond);
    auto loss = torch::binary_cross_entropy_with_logits(logit, torch::ones_like(logit));
    loss.backward();
    return {{"G_loss", loss.item<double>()}};
  }
  std::string config_json() const override { return R"({"toy":1})"; }
  NamedTensors named_tensors() override {
    NamedTensors out;
    for (auto& [k, t] : g.named_tensors()) out.emplace_back("G." + k, t);
    for (auto& p : d->named_parameters()) out.emplace_back("D." + p.key(), p.value());
    return out;
  }
  void to(const c10::Device& dev) override {
    g.to(dev);
    d->to(dev);
  }
  c10::Device device() const override { return c10::kCPU; }
  void set_training(bool t) override {
    g.net->train(t);
    d->train(t);
  }
};

// Deterministic in-memory data: two classes of images, a shuffled order per epoch.
struct ToyData : public engine::BatchSource {
  at::Tensor images = torch::rand({40, 3, S, S}, torch::TensorOptions().dtype(torch::kFloat)) * 2 - 1;
  at::Tensor conds = torch::one_hot(torch::arange(40) % C, C).to(torch::kFloat);
  std::int64_t epoch = 0, cursor = 0;
  std::int64_t nan_at_batch = -1, batches = 0;
  std::vector<std::int64_t> order() const {
    std::vector<std::int64_t> o(40);
    std::iota(o.begin(), o.end(), 0);
    std::shuffle(o.begin(), o.end(), std::mt19937_64(static_cast<std::uint64_t>(epoch)));
    return o;
  }
  std::vector<std::int64_t> take(std::int64_t n) {
    std::vector<std::int64_t> idx;
    auto o = order();
    while (static_cast<std::int64_t>(idx.size()) < n) {
      if (cursor == 40) {
        ++epoch;
        cursor = 0;
        o = order();
      }
      idx.push_back(o[cursor++]);
    }
    return idx;
  }
  engine::Batch next(std::int64_t n) override {
    auto idx = torch::tensor(take(n));
    auto imgs = images.index_select(0, idx);
    if (batches++ == nan_at_batch) imgs[0][0][0][0] = std::numeric_limits<float>::quiet_NaN();
    return {imgs, conds.index_select(0, idx)};
  }
  at::Tensor sample_conditions(std::int64_t n) override { return conds.index_select(0, torch::tensor(take(n))); }
  std::string state() const override { return std::to_string(epoch) + " " + std::to_string(cursor); }
  void restore(const std::string& s) override {
    std::istringstream in(s);
    in >> epoch >> cursor;
  }
};

engine::TrainOptions options(const fs::path& dir, std::int64_t steps) {
  engine::TrainOptions o;
  o.run_dir = dir;
  o.steps = steps;
  o.batch_size = 8;
  o.seed = 7;
  o.checkpoint_every = 0;
  o.sample_every = 0;
  o.log_every = 1;
  o.progress = false;
  o.sample_conditions = torch::eye(C);
  o.samples_per_row = 3;
  return o;
}

std::vector<double> run(const fs::path& dir, std::int64_t steps, bool resume, ToyGan& gan, ToyData& data) {
  std::vector<double> losses;
  auto o = options(dir, steps);
  o.resume = resume;
  o.on_step = [&](std::int64_t, const LossStats& s) {
    for (const auto& kv : s) losses.push_back(kv.second);
  };
  std::shared_ptr<GanModel> model(&gan, [](GanModel*) {});
  engine::Trainer(model, data, o).run();
  return losses;
}

}  // namespace

TEST_CASE("N steps, stop, resume for N more equals 2N steps straight", "[engine][resume]") {
  test::TempDir tmp;
  torch::manual_seed(1);
  ToyData data_a;
  ToyData data_b = data_a;
  torch::manual_seed(2);
  ToyGan straight;
  torch::manual_seed(2);
  ToyGan first_half;
  torch::manual_seed(99);
  ToyGan resumed;  // other initial weights: everything must come from the checkpoint

  auto all = run(tmp / "straight", 12, false, straight, data_a);
  auto part1 = run(tmp / "split", 6, false, first_half, data_b);
  ToyData data_c;  // fresh data object: its position must come from the checkpoint
  data_c.images = data_a.images;
  data_c.conds = data_a.conds;
  auto part2 = run(tmp / "split", 12, true, resumed, data_c);

  REQUIRE(all.size() == 24);
  REQUIRE(part1.size() + part2.size() == 24);
  part1.insert(part1.end(), part2.begin(), part2.end());
  for (std::size_t i = 0; i < all.size(); ++i) {
    INFO("loss " << i);
    CHECK(part1[i] == Approx(all[i]).margin(1e-6));
  }
  auto a = straight.named_tensors(), b = resumed.named_tensors();
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK((a[i].second - b[i].second).abs().max().item<double>() <= 1e-6);
  }
  // The log reads as one run of 12 steps.
  std::ifstream log(tmp / "split" / "log.jsonl");
  int lines = 0;
  for (std::string l; std::getline(log, l);) ++lines;
  CHECK(lines == 12);
  CHECK(fs::exists(tmp / "split" / "samples" / "latest.png"));
}

TEST_CASE("a NaN in a batch stops training with a clear error and the last checkpoint loads", "[engine][nan]") {
  test::TempDir tmp;
  ToyGan gan;
  ToyData data;
  data.nan_at_batch = 13;  // 2 real batches per step: step 6
  auto o = options(tmp.path(), 20);
  o.checkpoint_every = 4;
  std::shared_ptr<GanModel> model(&gan, [](GanModel*) {});
  try {
    engine::Trainer(model, data, o).run();
    FAIL("training went on through a NaN");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Contains("step 6"));
    CHECK_THAT(e.what(), Contains("NaN"));
    CHECK_THAT(e.what(), Contains("checkpoint.cvgn"));
  }
  ModelHeader h;
  auto tensors = read_model_file(tmp / "checkpoint.cvgn", &h);
  CHECK(h.kind == "checkpoint");
  CHECK(nlohmann::json::parse(h.meta_json)["step"] == 4);
  for (const auto& [k, t] : tensors)
    if (t.is_floating_point()) CHECK(torch::isfinite(t).all().item<bool>());
}

TEST_CASE("kill -9 during checkpoint writes leaves the previous checkpoint loadable", "[engine][kill]") {
  test::TempDir tmp;
  const fs::path file = tmp / "checkpoint.cvgn";
  ModelHeader h;
  h.kind = "checkpoint";
  h.plugin = "toy";
  write_model_file(file, h, {{"w", torch::zeros({256, 1024})}});
  std::mt19937 rng(5);
  for (int round = 0; round < 10; ++round) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      for (int i = 1;; ++i) write_model_file(file, h, {{"w", torch::full({256, 1024}, static_cast<float>(i))}});
    }
    ::usleep(std::uniform_int_distribution<int>(2000, 60000)(rng));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    auto t = read_model_file(file);
    REQUIRE(t.size() == 1);
    auto w = t[0].second;
    CHECK(w.min().item<float>() == w.max().item<float>());  // one whole generation, never a mix
    for (auto& entry : fs::directory_iterator(tmp.path()))
      if (entry.path() != file) fs::remove(entry.path());  // the killed writer's temp file
  }
}
