#include "covergen/engine/trainer.hpp"

#include "covergen/atomic_file.hpp"
#include "covergen/engine/adam.hpp"
#include "covergen/engine/gradient_sync.hpp"
#include "covergen/errors.hpp"
#include "covergen/image.hpp"
#include "covergen/model_file.hpp"
#include "covergen/named_tensors.hpp"
#include "covergen/plugin_identity.hpp"
#include "covergen/plugin_registry.hpp"
#include "covergen/progress.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace covergen::engine {

BatchSource::~BatchSource() = default;
GradientSync::~GradientSync() = default;

std::string broadcast_string(GradientSync& sync, const std::string& text) {
  at::Tensor n = at::tensor({static_cast<std::int64_t>(text.size())}, at::kLong);
  sync.broadcast({n});
  at::Tensor bytes = at::empty({n.item<std::int64_t>()}, at::kByte);
  if (sync.rank() == 0) std::memcpy(bytes.data_ptr(), text.data(), text.size());
  sync.broadcast({bytes});
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr()), static_cast<std::size_t>(bytes.numel()));
}

namespace {

constexpr const char* kCheckpoint = "checkpoint.cvgn";
constexpr const char* kGenerator = "generator.cvgn";
constexpr const char* kLog = "log.jsonl";

std::string format_losses(const LossStats& s) {
  std::ostringstream o;
  o.precision(4);
  for (const auto& [k, v] : s) o << k << "=" << v << " ";
  return o.str();
}

void append_prefixed(NamedTensors& out, const std::string& prefix, const NamedTensors& in) {
  for (const auto& [k, t] : in) out.emplace_back(prefix + "/" + k, t);
}

// Loads `src` into `dst` by name, requiring the same set of names and shapes.
void load_into(NamedTensors dst, const NamedTensors& src, const std::string& file, const std::string& what) {
  std::map<std::string, at::Tensor> by_name(src.begin(), src.end());
  at::NoGradGuard no_grad;
  for (auto& [name, t] : dst) {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw InputError(file, what + " tensor '" + name + "' is missing");
    if (it->second.sizes() != t.sizes()) throw InputError(file, what + " tensor '" + name + "' has another shape");
    t.copy_(it->second);
  }
  if (by_name.size() != dst.size()) throw InputError(file, what + " holds tensors this model does not have");
}

}  // namespace

struct Trainer::Impl {
  std::shared_ptr<GanModel> model;
  BatchSource& data;
  TrainOptions o;
  std::vector<Phase> phases;
  std::vector<Adam> optims;
  std::map<std::string, std::size_t> optim_index;
  std::unique_ptr<ConditionalGenerator> ema;
  at::Generator zgen;
  std::int64_t step = 0;
  at::Tensor grid_z;
  // Data parallelism (gradient_sync.hpp): this process's rank, the number of ranks,
  // and its share of the global batch.
  int rank = 0, world = 1;
  std::int64_t local_batch = 0;
  bool writer() const { return rank == 0; }

  Impl(std::shared_ptr<GanModel> m, BatchSource& d, TrainOptions opts)
      : model(std::move(m)), data(d), o(std::move(opts)) {
    if (o.batch_size <= 0) throw InputError("--batch must be positive");
    if (o.steps < 0) throw InputError("--steps must not be negative");
    if (o.sync) {
      rank = o.sync->rank();
      world = o.sync->world_size();
    }
    if (o.batch_size % world != 0)
      throw InputError("--batch " + std::to_string(o.batch_size) + " is the global batch: it must be a multiple of the " +
                       std::to_string(world) + " data-parallel workers");
    local_batch = o.batch_size / world;
    at::manual_seed(o.seed);  // plugin-internal randomness (noise, interpolates) uses the global generator
    zgen = at::make_generator<at::CPUGeneratorImpl>(o.seed ^ 0x9E3779B97F4A7C15ull);
    if (o.dtype != at::kFloat && o.dtype != at::kDouble)
      throw InputError(std::string("training dtype ") + c10::toString(o.dtype) + " is not supported (float32 or float64)");
    model->to(o.device);
    for (const auto& [name, t] : model->named_tensors())
      if (t.is_floating_point() && t.scalar_type() != o.dtype)
        throw Error("plugin '" + model->plugin_name() + "': tensor '" + name + "' is " + c10::toString(t.scalar_type()) +
                    ", the run trains in " + c10::toString(o.dtype) + " (create the model under that default dtype)");
    model->set_training(true);
    phases = model->phases();
    for (auto& spec : model->optimizers()) {
      optim_index[spec.name] = optims.size();
      optims.emplace_back(std::move(spec));
    }
    for (const auto& p : phases)
      if (!optim_index.count(p.optimizer))
        throw PluginError("plugin '" + model->plugin_name() + "': phase '" + p.name + "' uses unknown optimizer '" +
                          p.optimizer + "'");
    if (world > 1) broadcast_named(model->named_tensors());  // every rank starts from rank 0's weights and buffers
    if (model->ema_beta() > 0) {
      ema = model->make_generator();
      inherit_plugin_identity(*ema, *model);
      ema->to(o.device);
      copy_generator_to_ema();
    }
    // Fixed latents for the sample grid, independent of the training stream.
    auto g = at::make_generator<at::CPUGeneratorImpl>(o.seed + 12345);
    const std::int64_t rows = o.sample_conditions.defined() ? o.sample_conditions.size(0) : 1;
    grid_z = at::randn({rows * o.samples_per_row, model->generator().latent_dim()}, g);
  }

  void average_losses(LossStats& s) {
    at::Tensor v = at::empty({static_cast<std::int64_t>(s.size())}, at::kDouble);
    for (std::size_t i = 0; i < s.size(); ++i) v.data_ptr<double>()[i] = s[i].second;
    o.sync->sum(v);
    for (std::size_t i = 0; i < s.size(); ++i) s[i].second = v.data_ptr<double>()[i] / world;
  }

  ConditionalGenerator& sampler() { return ema ? *ema : model->generator(); }

  void broadcast_named(const NamedTensors& named) {
    std::vector<at::Tensor> ts;
    for (const auto& [k, t] : named) ts.push_back(t);
    at::NoGradGuard ng;
    o.sync->broadcast(ts);
  }

  // This rank's rows (rank, rank + world, ...) of a draw made for the global batch.
  at::Tensor rank_rows(const at::Tensor& global) const {
    if (world == 1 || !global.defined()) return global;
    return global.slice(0, rank, global.size(0), world).contiguous();
  }

  // n latents for this rank (n = its share of the batch). Drawn in float32 whatever
  // the run's dtype, so a float64 run sees the numbers of the float32 run it checks.
  at::Tensor sample_z(std::int64_t n) {
    return rank_rows(at::randn({n * world, model->generator().latent_dim()}, zgen, at::kFloat)).to(o.device, o.dtype);
  }
  at::Tensor sample_uniform(std::int64_t n) {
    return rank_rows(at::rand({n * world}, zgen, at::kFloat)).to(o.device, o.dtype);
  }

  void copy_generator_to_ema() {
    at::NoGradGuard ng;
    auto src = model->generator().named_tensors();
    load_into(ema->named_tensors(), src, "(in memory)", "generator");
  }

  void update_ema() {
    if (!ema) return;
    at::NoGradGuard ng;
    // Ramp-up (as StyleGAN2-ADA does): early on the average follows the live
    // weights closely, so short runs and early sample grids are not stuck near
    // the random initialisation. step is the number of steps already done.
    const double ramp = (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step));
    const double beta = std::min(model->ema_beta(), ramp);
    auto live = model->generator().named_tensors();
    auto avg = ema->named_tensors();
    for (std::size_t i = 0; i < avg.size(); ++i) {
      auto& a = avg[i].second;
      const auto& l = live[i].second;
      if (a.is_floating_point()) a.lerp_(l, 1.0 - beta);
      else a.copy_(l);
    }
  }

  NamedTensors checkpoint_tensors() {
    NamedTensors all;
    append_prefixed(all, "model", model->named_tensors());
    if (ema) append_prefixed(all, "ema", ema->named_tensors());
    for (auto& opt : optims) append_prefixed(all, "optim/" + opt.name(), opt.state());
    all.emplace_back("rng/z", zgen.get_state());
    all.emplace_back("rng/global", at::detail::getDefaultCPUGenerator().get_state());
    return all;
  }

  json meta(bool with_data_state) const {
    json m{{"step", step},
           {"batch_size", o.batch_size},
           {"seed", o.seed},
           {"image_size", model->generator().image_size()},
           {"latent_dim", model->generator().latent_dim()},
           {"condition_dim", model->generator().condition_dim()},
           {"condition", json::parse(o.condition_meta_json)}};
    if (with_data_state) m["data_state"] = data.state();
    return m;
  }

  void save() {
    fs::create_directories(o.run_dir);
    ModelHeader h;
    h.kind = "checkpoint";
    h.plugin = model->plugin_name();
    h.plugin_version = model->plugin_version();
    h.config_json = model->config_json();
    h.meta_json = meta(true).dump();
    // Generator first: a kill between the two leaves a generator newer than the
    // checkpoint, never a checkpoint without its generator.
    ModelHeader g = h;
    g.kind = "generator";
    g.meta_json = meta(false).dump();
    write_model_file(o.run_dir / kGenerator, g, sampler().named_tensors());
    write_model_file(o.run_dir / kCheckpoint, h, checkpoint_tensors());
  }

  void resume() {
    const fs::path file = o.run_dir / kCheckpoint;
    ModelHeader h;
    NamedTensors all = read_model_file(file, &h);
    if (h.kind != "checkpoint") throw InputError(file.string(), "is a " + h.kind + " file, not a checkpoint");
    if (h.plugin != model->plugin_name())
      throw InputError(file.string(), "was written by GAN plugin '" + h.plugin + "', this run uses '" +
                                          model->plugin_name() + "'");
    if (json::parse(h.config_json) != json::parse(model->config_json()))
      throw InputError(file.string(), "was trained with another model config: " + h.config_json);
    load_into(model->named_tensors(), take_prefixed(all, "model"), file.string(), "model");
    if (ema) load_into(ema->named_tensors(), take_prefixed(all, "ema"), file.string(), "EMA");
    for (auto& opt : optims) load_into(opt.state(), take_prefixed(all, "optim/" + opt.name()), file.string(), "optimizer");
    for (const auto& [k, t] : all) {
      if (k == "rng/z") zgen.set_state(t);
      if (k == "rng/global") {
        at::Generator global = at::detail::getDefaultCPUGenerator();
        global.set_state(t);
      }
    }
    try {
      json m = json::parse(h.meta_json);
      step = m.at("step").get<std::int64_t>();
      data.restore(m.at("data_state").get<std::string>());
    } catch (const json::exception& e) {
      throw InputError(file.string(), std::string("checkpoint metadata is unreadable: ") + e.what() +
                                          " (delete the run folder or train without --resume)");
    }
    truncate_log();
  }

  // After rank 0 resumed: every rank takes its weights, EMA, optimiser state, RNG
  // state, step and data position (in global terms, so N ranks resume M's run).
  void share_resumed_state() {
    NamedTensors live = model->named_tensors();
    if (ema) append_prefixed(live, "ema", ema->named_tensors());
    for (auto& opt : optims) append_prefixed(live, "optim/" + opt.name(), opt.state());
    broadcast_named(live);
    at::Generator global = at::detail::getDefaultCPUGenerator();
    at::Tensor zs = zgen.get_state(), gs = global.get_state();
    o.sync->broadcast({zs, gs});
    zgen.set_state(zs);
    global.set_state(gs);
    json m = json::parse(broadcast_string(*o.sync, json{{"step", step}, {"data_state", data.state()}}.dump()));
    if (!writer()) {
      step = m.at("step").get<std::int64_t>();
      data.restore(m.at("data_state").get<std::string>());
    }
  }

  // Drops log lines past the checkpoint's step, so a resumed log reads as one run.
  void truncate_log() {
    const fs::path log = o.run_dir / kLog;
    std::ifstream in(log);
    if (!in) return;
    std::string line, kept;
    while (std::getline(in, line)) {
      auto j = json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("step", std::int64_t{0}) <= step) kept += line + "\n";
    }
    write_file_atomic(log, kept);
  }

  // Generators generate from float32 weights: a run in another dtype draws its grid
  // with a float32 copy of the sampling generator.
  std::unique_ptr<ConditionalGenerator> float32_sampler() {
    std::unique_ptr<ConditionalGenerator> g = model->make_generator();
    {
      at::NoGradGuard ng;
      for (auto& [k, t] : g->named_tensors())
        if (t.is_floating_point()) t.set_data(t.to(at::kFloat));
    }
    load_into(g->named_tensors(), sampler().named_tensors(), "(in memory)", "generator");
    g->to(o.device);
    return g;
  }

  void write_samples() {
    at::Tensor cond;
    if (o.sample_conditions.defined())
      cond = o.sample_conditions.repeat_interleave(o.samples_per_row, 0).to(o.device);
    std::unique_ptr<ConditionalGenerator> copy = o.dtype == at::kFloat ? nullptr : float32_sampler();
    auto images = (copy ? *copy : sampler()).generate(grid_z.to(o.device), cond);
    fs::create_directories(o.run_dir / "samples");
    char name[64];
    std::snprintf(name, sizeof name, "step_%07lld.png", static_cast<long long>(step));
    write_image_grid(o.run_dir / "samples" / name, images, o.samples_per_row);
    write_image_grid(o.run_dir / "samples" / "latest.png", images, o.samples_per_row);
  }

  TrainResult run() {
    if (writer()) fs::create_directories(o.run_dir);
    if (o.resume) {
      if (writer()) {
        if (!fs::exists(o.run_dir / kCheckpoint))
          throw InputError((o.run_dir / kCheckpoint).string(), "no checkpoint to resume from");
        resume();
      }
      if (world > 1) share_resumed_state();
    } else if (writer()) {
      std::error_code ec;
      fs::remove(o.run_dir / kLog, ec);
    }
    std::ofstream log;
    if (writer()) log.open(o.run_dir / kLog, std::ios::app);
    Progress progress("train", o.steps, o.progress && writer());
    const bool conditional = model->generator().condition_dim() > 0;
    PhaseContext ctx;
    ctx.device = o.device;
    ctx.sample_z = [this](std::int64_t n) { return sample_z(n); };
    ctx.sample_uniform = [this](std::int64_t n) { return sample_uniform(n); };

    TrainResult result;
    std::int64_t real_images = 0;
    auto t0 = std::chrono::steady_clock::now();
    const std::int64_t first_step = step;
    while (step < o.steps) {
      ctx.step = step;
      LossStats stats;
      for (std::size_t pi = 0; pi < phases.size(); ++pi) {
        const Phase& phase = phases[pi];
        if (phase.interval > 1 && step % phase.interval != 0) continue;
        Adam& opt = optims[optim_index[phase.optimizer]];
        for (std::int64_t r = 0; r < std::max<std::int64_t>(1, phase.repeats); ++r) {
          PhaseBatch b;
          if (phase.needs_real) {
            Batch real = data.next(local_batch);
            b.real = real.images.to(o.device, o.dtype);
            if (real.conditions.defined()) b.real_cond = real.conditions.to(o.device, o.dtype);
            real_images += b.real.size(0) * world;
          }
          if (conditional) b.fake_cond = rank_rows(data.sample_conditions(o.batch_size)).to(o.device, o.dtype);
          b.z = sample_z(local_batch);
          opt.zero_grad();
          LossStats s = model->run_phase(pi, b, ctx);
          if (world > 1) {
            // The hook point: gradients (and the logged losses) become the global batch's.
            std::vector<at::Tensor> grads;
            for (const auto& p : opt.params())
              if (p.grad().defined()) grads.push_back(p.grad());
            o.sync->average_gradients(grads);
            average_losses(s);
          }
          for (const auto& [k, v] : s) {
            if (!std::isfinite(v)) {
              progress.finish();
              throw Error("step " + std::to_string(step) + ", phase " + phase.name + ": loss '" + k + "' is " +
                          (std::isnan(v) ? "NaN" : "Inf") + "; training stopped. " +
                          (fs::exists(o.run_dir / kCheckpoint)
                               ? "The last good checkpoint is " + (o.run_dir / kCheckpoint).string() +
                                     "; resume from it with --resume (a lower learning rate may help)."
                               : "No checkpoint was written yet; check the data for NaN/Inf values."));
            }
          }
          opt.step();
          if (r + 1 == std::max<std::int64_t>(1, phase.repeats))
            for (const auto& [k, v] : s) stats.emplace_back(phase.name + "." + k, v);
        }
      }
      update_ema();
      ++step;
      result.last_losses = stats;
      if (o.on_step) o.on_step(step, stats);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (writer() && o.log_every > 0 && (step % o.log_every == 0 || step == o.steps)) {
        json line{{"step", step}, {"images_per_second", secs > 0 ? real_images / secs : 0.0}};
        for (const auto& [k, v] : stats) line[k] = v;
        log << line.dump() << "\n";
        log.flush();
      }
      progress.update(step, format_losses(stats) + (secs > 0 ? std::to_string(static_cast<int>(real_images / secs)) + " img/s" : ""));
      if (writer() && o.checkpoint_every > 0 && step % o.checkpoint_every == 0 && step < o.steps) save();
      if (writer() && o.sample_every > 0 && step % o.sample_every == 0 && step < o.steps) write_samples();
    }
    progress.finish();
    if (writer()) {
      save();
      write_samples();
    }
    result.steps_done = step - first_step;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    result.images_per_second = result.seconds > 0 ? real_images / result.seconds : 0.0;
    return result;
  }
};

Trainer::Trainer(std::shared_ptr<GanModel> model, BatchSource& data, TrainOptions options)
    : impl_(std::make_unique<Impl>(std::move(model), data, std::move(options))) {}
Trainer::~Trainer() = default;
TrainResult Trainer::run() { return impl_->run(); }
ConditionalGenerator& Trainer::sampling_generator() { return impl_->sampler(); }

}  // namespace covergen::engine
