// covergen_gpu: runs CoverGen's training engine and GAN plugins on a GPU machine that
// has LibTorch and nothing else (README.md). Three commands:
//
//   covergen_gpu check [--device cuda]
//       The StyleGAN generator and discriminator, forward and backward, on the CPU and
//       on the device from the same weights: prints the relative differences
//       ||gpu - cpu|| / ||cpu|| (TF32 off; the gradients as one vector, the worst single
//       tensor named beside it) and exits 1 if one passes 1e-3.
//   covergen_gpu bench --gan NAME --size S --batch B [--steps N] [--config JSON] [--device cuda]
//       Training throughput through the engine (the path `covergen train` takes) on
//       random images: one JSON line with images/s over the steps after the first 10%.
//   covergen_gpu train --covers covers.u8 --conditions cond.npy --run run.json
//                      --out RUN [--steps N] [--batch B] [--minutes M] [--sample-every K] [--device cuda]
//       Trains the GAN that run.json describes (covers.py export writes it from a
//       `covergen train --steps 0` run on the CPU: plugin, config, condition meta) on
//       covers given as raw uint8 [N, S, S, 3] and their conditions [N, C] (float32 .npy). With --minutes, the
//       step count is set from the speed of the first 20 steps (and never above --steps).
//       RUN ends up as `covergen train` leaves it: generator.cvgn, checkpoint.cvgn,
//       samples/, log.jsonl.
//   covergen_gpu npy --model FILE.cvgn --out DIR
//       Every tensor of a model file as DIR/<index>.npy (float32) and DIR/names.txt, so
//       the weights can cross to a LibTorch whose pickle reader is older.
#include "stylegan_arch.hpp"

#include <covergen/device.hpp>
#include <covergen/engine/batch_source.hpp>
#include <covergen/engine/trainer.hpp>
#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>
#include <covergen/npy.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/core/grad_mode.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace covergen;

namespace {

std::map<std::string, std::string> parse_flags(int argc, char** argv, int first) {
  std::map<std::string, std::string> f;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) throw InputError(a, "expected --flag value pairs");
    f[a.substr(2)] = argv[++i];
  }
  return f;
}

std::string flag(const std::map<std::string, std::string>& f, const std::string& k, const std::string& dflt) {
  auto it = f.find(k);
  return it == f.end() ? dflt : it->second;
}

// Every training example lives on the device as uint8; a batch is an index_select.
// The order is an epoch-wise permutation from a seeded CPU generator, so the state
// is (epoch, cursor, draws) and a resumed run reads the same batches.
class TensorBatches : public engine::BatchSource {
 public:
  TensorBatches(at::Tensor covers_u8, at::Tensor conditions, std::uint64_t seed, c10::Device device)
      : covers_(covers_u8.to(device)), conditions_(conditions.defined() ? conditions.to(device) : conditions),
        seed_(seed), device_(device) {
    reshuffle();
  }
  engine::Batch next(std::int64_t batch_size) override {
    std::vector<at::Tensor> parts;
    std::int64_t need = batch_size;
    while (need > 0) {
      const std::int64_t take = std::min(need, order_.size(0) - cursor_);
      parts.push_back(order_.narrow(0, cursor_, take));
      cursor_ += take;
      need -= take;
      if (cursor_ == order_.size(0)) {
        ++epoch_;
        cursor_ = 0;
        reshuffle();
      }
    }
    const at::Tensor idx = at::cat(parts).to(device_);
    engine::Batch b;
    b.images = covers_.index_select(0, idx).permute({0, 3, 1, 2}).to(at::kFloat).div(127.5).sub(1.0);
    if (conditions_.defined()) b.conditions = conditions_.index_select(0, idx);
    return b;
  }
  at::Tensor sample_conditions(std::int64_t n) override {
    if (!conditions_.defined()) return {};
    auto g = at::make_generator<at::CPUGeneratorImpl>(seed_ * 7919 + 1000003 + draws_++);
    return conditions_.index_select(0, at::randint(covers_.size(0), {n}, g).to(device_));
  }
  std::string state() const override {
    return std::to_string(epoch_) + " " + std::to_string(cursor_) + " " + std::to_string(draws_);
  }
  void restore(const std::string& s) override {
    std::istringstream in(s);
    if (!(in >> epoch_ >> cursor_ >> draws_)) throw InputError("checkpoint", "bad data state '" + s + "'");
    reshuffle();
  }

 private:
  void reshuffle() {
    auto g = at::make_generator<at::CPUGeneratorImpl>(seed_ * 1000003 + epoch_);
    order_ = at::randperm(covers_.size(0), g);
  }
  at::Tensor covers_, conditions_, order_;
  std::uint64_t seed_;
  c10::Device device_;
  std::int64_t epoch_ = 0, cursor_ = 0, draws_ = 0;
};

void synchronize(const c10::Device& d) {
  if (d.is_cuda()) at::ones({1}, at::TensorOptions().device(d)).sum().item<float>();
}

// ||a - b|| / ||b||: the size of the difference against the size of the tensor, so a
// few near-zero entries summed in another order do not dominate.
double max_rel(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a.detach().to(at::kCPU, at::kDouble), y = b.detach().to(at::kCPU, at::kDouble);
  return (x - y).norm().item<double>() / std::max(1e-30, y.norm().item<double>());
}

int cmd_check(const std::map<std::string, std::string>& f) {
  const c10::Device dev = parse_device(flag(f, "device", "cuda"));
  // Exact float32 on the device: no TF32 in convolutions or matrix products.
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setDeterministicCuDNN(true);
  stylegan::StyleGanConfig cfg;
  cfg.image_size = 64;
  cfg.latent_dim = cfg.w_dim = 64;
  cfg.channel_base = 2048;
  cfg.channel_max = 128;
  cfg.condition_dim = 8;
  at::manual_seed(3);
  stylegan::StyleGanModel cpu(cfg.to_json()), gpu(cfg.to_json());
  {
    at::NoGradGuard ng;
    auto src = cpu.named_tensors();
    auto dst = gpu.named_tensors();
    for (std::size_t i = 0; i < src.size(); ++i) dst[i].second.copy_(src[i].second);
  }
  gpu.to(dev);
  auto g = at::make_generator<at::CPUGeneratorImpl>(11);
  const at::Tensor z = at::randn({8, cfg.latent_dim}, g);
  const at::Tensor c = at::eye(8);
  const at::Tensor x = at::rand({8, 3, 64, 64}, g) * 2 - 1;
  json out{{"device", device_string(dev)}};
  double worst = 0;
  auto report = [&](const std::string& what, double r) {
    out[what] = r;
    worst = std::max(worst, r);
  };
  // Generator output (constant noise, as covers are generated).
  report("generate", max_rel(gpu.generator().generate(z.to(dev), c.to(dev)), cpu.generator().generate(z, c)));
  // Discriminator logits and the gradients of a loss through both networks.
  std::vector<std::string> grad_names;
  auto run = [&](stylegan::StyleGanModel& m, const c10::Device& d) {
    grad_names.clear();
    for (auto& [n, t] : m.named_tensors())
      if (t.grad().defined()) t.mutable_grad() = at::Tensor();
    const at::Tensor ws = m.G()->broadcast(m.G()->mapping->forward(z.to(d), c.to(d)));
    const at::Tensor img = m.G()->synthesis->forward(ws, stylegan::NoiseMode::constant);
    const at::Tensor logits = m.D()->forward(at::cat({img, x.to(d)}), at::cat({c, c}).to(d));
    at::softplus(logits).mean().backward();
    std::vector<at::Tensor> r{img.detach(), logits.detach()};
    for (auto& [n, t] : m.named_tensors())
      if (t.grad().defined()) {
        r.push_back(t.grad().clone());
        grad_names.push_back(n);
      }
    return r;
  };
  const auto a = run(gpu, dev), b = run(cpu, c10::Device(c10::kCPU));
  report("synthesis", max_rel(a[0], b[0]));
  report("d_logits", max_rel(a[1], b[1]));
  if (a.size() != b.size()) throw Error("the two devices produced gradients for different tensors");
  // All gradients as one vector (a 0-d tensor such as a noise strength is a sum that
  // cancels: alone, its relative difference says little); the worst tensor is shown too.
  std::vector<at::Tensor> ga, gb;
  double worst_tensor = 0;
  std::string worst_name;
  for (std::size_t i = 2; i < a.size(); ++i) {
    ga.push_back(a[i].reshape(-1).to(at::kCPU));
    gb.push_back(b[i].reshape(-1));
    const double r = max_rel(a[i], b[i]);
    if (r > worst_tensor) {
      worst_tensor = r;
      worst_name = grad_names[i - 2];
    }
  }
  report("gradients", max_rel(at::cat(ga), at::cat(gb)));
  out["gradient_tensors"] = static_cast<std::int64_t>(a.size()) - 2;
  out["worst_gradient_tensor"] = {{"name", worst_name}, {"relative_difference", worst_tensor}};
  out["max_relative_difference"] = worst;
  out["ok"] = worst < 1e-3;
  std::cout << out.dump() << std::endl;
  return worst < 1e-3 ? 0 : 1;
}

int cmd_bench(const std::map<std::string, std::string>& f) {
  const c10::Device dev = parse_device(flag(f, "device", "cuda"));
  const std::string gan = flag(f, "gan", "dcgan");
  const std::int64_t size = std::stoll(flag(f, "size", "64")), batch = std::stoll(flag(f, "batch", "64"));
  const std::int64_t steps = std::stoll(flag(f, "steps", "60"));
  json cfg = json::parse(flag(f, "config", "{}"));
  cfg["image_size"] = size;
  cfg["condition_dim"] = 8;
  at::manual_seed(0);
  PluginRegistry registry;
  auto model = registry.create_gan(gan, cfg.dump());
  auto g = at::make_generator<at::CPUGeneratorImpl>(5);
  const std::int64_t n = std::max<std::int64_t>(4 * batch, 256);
  TensorBatches data(at::randint(256, {n, size, size, 3}, g).to(at::kByte),
                     at::one_hot(at::randint(8, {n}, g), 8).to(at::kFloat), 1, dev);
  engine::TrainOptions t;
  t.run_dir = fs::temp_directory_path() / ("covergen_gpu_bench_" + gan + "_" + std::to_string(size));
  fs::remove_all(t.run_dir);
  t.steps = steps;
  t.batch_size = batch;
  t.device = dev;
  t.checkpoint_every = 0;
  t.sample_every = 0;
  t.progress = false;
  t.sample_conditions = at::eye(8);
  const std::int64_t warm = std::max<std::int64_t>(1, steps / 10);
  std::chrono::steady_clock::time_point t_warm, t_end;
  t.on_step = [&](std::int64_t step, const LossStats&) {
    if (step == warm || step == steps) synchronize(dev);
    if (step == warm) t_warm = std::chrono::steady_clock::now();
    if (step == steps) t_end = std::chrono::steady_clock::now();
  };
  // run() also writes the final grid and checkpoint: only the steps are timed.
  const auto r = engine::Trainer(model, data, t).run();
  const double secs = std::chrono::duration<double>(t_end - t_warm).count();
  json out{{"gan", gan}, {"size", size}, {"batch", batch}, {"steps", r.steps_done}, {"device", device_string(dev)},
           {"timed_steps", steps - warm}, {"generator_images_per_second", (steps - warm) * batch / secs},
           {"seconds_per_step", secs / (steps - warm)}};
  std::cout << out.dump() << std::endl;
  fs::remove_all(t.run_dir);
  return 0;
}

at::Tensor read_covers(const fs::path& file, std::int64_t size) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string(), "cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::int64_t per = size * size * 3;
  if (bytes.empty() || static_cast<std::int64_t>(bytes.size()) % per != 0)
    throw InputError(file.string(), std::to_string(bytes.size()) + " bytes is not a whole number of " +
                                        std::to_string(size) + "x" + std::to_string(size) + " RGB covers");
  const std::int64_t n = static_cast<std::int64_t>(bytes.size()) / per;
  return at::from_blob(bytes.data(), {n, size, size, 3}, at::kByte).clone();
}

int cmd_train(const std::map<std::string, std::string>& f) {
  const c10::Device dev = parse_device(flag(f, "device", "cuda"));
  const fs::path run_json = flag(f, "run", "");
  std::ifstream rin(run_json);
  if (!rin) throw InputError(run_json.string(), "cannot open (--run: the run.json of covers.py export)");
  json run;
  try {
    run = json::parse(rin);
  } catch (const json::exception& e) {
    throw InputError(run_json.string(), std::string("not valid JSON: ") + e.what());
  }
  const std::string plugin = run.at("plugin").get<std::string>();
  const json cfg = run.at("config");
  const std::int64_t size = cfg.at("image_size").get<std::int64_t>();
  const at::Tensor covers = read_covers(flag(f, "covers", ""), size);
  at::Tensor cond;
  if (cfg.value("condition_dim", 0) > 0) {
    const auto a = npy::load(flag(f, "conditions", ""));
    if (a.shape.size() != 2 || a.shape[0] != covers.size(0) || a.shape[1] != cfg.at("condition_dim").get<std::int64_t>())
      throw InputError(flag(f, "conditions", ""), "expected [" + std::to_string(covers.size(0)) + ", " +
                                                     std::to_string(cfg.at("condition_dim").get<std::int64_t>()) + "] conditions");
    auto v = a.as_float();
    cond = at::from_blob(v.data(), {a.shape[0], a.shape[1]}, at::kFloat).clone();
  }
  at::manual_seed(0);
  PluginRegistry registry;
  auto model = registry.create_gan(plugin, cfg.dump());
  TensorBatches data(covers, cond, 0, dev);

  engine::TrainOptions t;
  t.run_dir = flag(f, "out", "run-gpu");
  t.steps = std::stoll(flag(f, "steps", "1000"));
  t.batch_size = std::stoll(flag(f, "batch", "32"));
  t.device = dev;
  t.checkpoint_every = std::stoll(flag(f, "checkpoint-every", "1000"));
  t.sample_every = std::stoll(flag(f, "sample-every", "500"));
  t.progress = false;
  t.condition_meta_json = run.value("condition", json::object()).dump();
  if (cond.defined() && run.value("condition", json::object()).value("mode", "") == "genre") {
    t.sample_conditions = at::eye(cond.size(1));  // one row per genre, in the run's order, as covergen train does
  } else if (cond.defined()) {  // one grid row per distinct condition, in order of first appearance (at most 8)
    std::vector<at::Tensor> rows;
    for (std::int64_t i = 0; i < cond.size(0) && rows.size() < 8; ++i) {
      bool seen = false;
      for (const auto& r : rows) seen = seen || at::equal(r, cond[i]);
      if (!seen) rows.push_back(cond[i]);
    }
    t.sample_conditions = at::stack(rows);
  }
  const double minutes = std::stod(flag(f, "minutes", "0"));
  auto t0 = std::chrono::steady_clock::now();
  json report{{"device", device_string(dev)}, {"covers", covers.size(0)}, {"size", size}, {"batch", t.batch_size}};
  if (minutes > 0) {
    // A first leg of 20 steps measures the speed; the run then resumes to the step
    // count that fits the time (the engine resumes exactly from its checkpoint).
    // Steps 5..20 are timed (after a device synchronisation), not the first steps'
    // warm-up or the leg's final checkpoint and grid.
    engine::TrainOptions first = t;
    first.steps = std::min<std::int64_t>(20, t.steps);
    std::chrono::steady_clock::time_point t5, t20;
    first.on_step = [&](std::int64_t step, const LossStats&) {
      if (step == 5 || step == first.steps) synchronize(dev);
      if (step == 5) t5 = std::chrono::steady_clock::now();
      if (step == first.steps) t20 = std::chrono::steady_clock::now();
    };
    const auto r1 = engine::Trainer(model, data, first).run();
    const double per_step = first.steps > 5 ? std::chrono::duration<double>(t20 - t5).count() / (first.steps - 5)
                                            : r1.seconds / std::max<std::int64_t>(1, r1.steps_done);
    report["first_leg_seconds_per_step"] = per_step;
    const double left = minutes * 60 - std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t.steps = std::min(t.steps, first.steps + static_cast<std::int64_t>(std::max(0.0, left * 0.95) / per_step));
    t.resume = true;
    report["first_leg_images_per_second"] = r1.images_per_second;
    model = registry.create_gan(plugin, cfg.dump());
  }
  const auto r = engine::Trainer(model, data, t).run();
  report["steps"] = t.steps;
  report["images_per_second"] = r.images_per_second;
  report["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& [k, v] : r.last_losses) report["loss"][k] = v;
  std::cout << report.dump() << std::endl;
  return 0;
}

int cmd_npy(const std::map<std::string, std::string>& f) {
  const fs::path model = flag(f, "model", ""), out = flag(f, "out", "");
  if (model.empty() || out.empty()) throw InputError("npy", "give --model FILE.cvgn and --out DIR");
  const NamedTensors tensors = read_model_file(model);
  fs::create_directories(out);
  std::ofstream names(out / "names.txt");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const at::Tensor t = tensors[i].second.to(at::kCPU, at::kFloat).contiguous();
    npy::save(out / (std::to_string(i) + ".npy"), npy::DType::f4, t.sizes().vec(), t.data_ptr<float>());
    names << tensors[i].first << "\n";
  }
  std::cout << tensors.size() << " tensors -> " << out.string() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2) throw InputError("usage", "covergen_gpu check|bench|train|npy [--flag value ...] (see gpu_harness.cpp)");
    const std::string cmd = argv[1];
    const auto f = parse_flags(argc, argv, 2);
    if (cmd == "check") return cmd_check(f);
    if (cmd == "bench") return cmd_bench(f);
    if (cmd == "train") return cmd_train(f);
    if (cmd == "npy") return cmd_npy(f);
    throw InputError(cmd, "unknown command (check, bench, train, npy)");
  } catch (const InputError& e) {
    std::cerr << "covergen_gpu: " << e.what() << "\n";
    return 3;
  } catch (const c10::Error& e) {
    std::cerr << "covergen_gpu: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "covergen_gpu: " << e.what() << "\n";
    return 1;
  }
}
