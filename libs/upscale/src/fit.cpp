// Fitting an upscaler: random aligned crops of (cover at `to` px, its area downscale),
// L1 plus a perceptual term in the judge's feature space, Adam, checkpoints that a
// resume continues bit for bit (each step's crops come from a generator seeded by
// (seed, step), so no RNG state needs saving).
#include "covergen/upscale/upscale.hpp"
#include "internal.hpp"

#include <covergen/engine/adam.hpp>
#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>
#include <covergen/named_tensors.hpp>
#include <covergen/plugin_registry.hpp>
#include <covergen/upscaler.hpp>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <cmath>
#include <cstdio>
#include <random>

namespace fs = std::filesystem;
using nlohmann::json;

namespace covergen::upscale {
namespace {

struct Crops {
  at::Tensor lr, hr;  // float [-1, 1]
};

// B aligned crops: crop px at `from` and crop·k at `to`; flips half of them.
Crops sample_crops(const at::Tensor& hr_u8, std::int64_t k, int crop, std::int64_t batch, std::mt19937_64& rng,
                   bool flips) {
  const std::int64_t n = hr_u8.size(0), from = hr_u8.size(2) / k, K = crop * k;
  std::uniform_int_distribution<std::int64_t> pick(0, n - 1), pos(0, from - crop);
  std::vector<at::Tensor> parts;
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t i = pick(rng), y = pos(rng) * k, x = pos(rng) * k;
    at::Tensor c = hr_u8[i].narrow(1, y, K).narrow(2, x, K);
    if (flips && (rng() & 1u)) c = c.flip({2});
    parts.push_back(c);
  }
  Crops out;
  out.hr = detail::to_unit(at::stack(parts));
  out.lr = detail::area_down(out.hr, k);
  return out;
}

double mean_abs(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().mean().item<double>(); }

void check_options(const FitOptions& o) {
  if (o.out.empty()) throw InputError("--out: name the model file to write");
  const fs::path dir = o.out.parent_path().empty() ? fs::path(".") : o.out.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(o.out.string(), "its folder " + dir.string() + " does not exist");
  if (o.steps < 1) throw InputError("--steps " + std::to_string(o.steps) + ": give at least 1");
  if (o.batch < 1 || o.batch > 256) throw InputError("--batch " + std::to_string(o.batch) + ": give 1..256");
  if (o.crop < 4 || o.crop > o.from)
    throw InputError("--crop " + std::to_string(o.crop) + ": give a side between 4 and --from (" + std::to_string(o.from) + ")");
  if (!(o.lr > 0 && std::isfinite(o.lr))) throw InputError("--lr: give a positive learning rate");
  if (!(o.perceptual_weight >= 0 && std::isfinite(o.perceptual_weight)))
    throw InputError("--perceptual: give a weight >= 0");
  if (o.checkpoint_every < 1) throw InputError("--checkpoint-every: give at least 1");
  if (o.judge_size < 16 || o.judge_size > o.to || o.to % o.judge_size != 0)
    throw InputError("judge size " + std::to_string(o.judge_size) + " must divide --to and be at least 16");
}

}  // namespace

FitReport fit(const FitOptions& o, const PluginRegistry& registry) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const std::int64_t k = detail::check_factor(o.from, o.to);
  check_options(o);
  auto log = [&o](const std::string& line) {
    if (o.log) o.log(line);
  };

  const data::Dataset dataset = data::Dataset::open(o.data);
  if (dataset.size() == 0) throw InputError(o.data.string(), "the dataset has no usable tracks");
  detail::Covers train = detail::load_covers(dataset, data::Split::train, o.to, o.max_covers, o.log);
  if (train.hr.size(0) == 0)
    throw InputError(o.data.string(), "no readable cover in the train split (" + std::to_string(train.skipped) + " skipped)");
  detail::Covers val = detail::load_covers(dataset, data::Split::val, o.to, 16, o.log);
  FitReport report;
  report.train_covers = train.hr.size(0);
  report.val_covers = val.hr.size(0);
  report.skipped_covers = train.skipped + val.skipped;
  log("upscaler fit: " + std::to_string(report.train_covers) + " train covers, " + std::to_string(report.val_covers) +
      " val covers at " + std::to_string(o.to) + " px; x" + std::to_string(k) + " from " + std::to_string(o.from) + " px");

  json config;
  try {
    config = json::parse(o.config.empty() ? "{}" : o.config);
  } catch (const std::exception& e) {
    throw InputError(std::string("--config: not JSON: ") + e.what());
  }
  if (!config.is_object()) throw InputError("--config: expected a JSON object");
  if (!config.contains("factor")) config["factor"] = k;
  at::manual_seed(o.seed);
  std::shared_ptr<Upscaler> model = registry.create_upscaler(o.plugin, config.dump());
  if (model->factor() != k)
    throw InputError("--config: factor " + std::to_string(model->factor()) + " does not match --to/--from = " +
                     std::to_string(k));

  std::shared_ptr<eval::CoverClassifier> judge;
  if (o.perceptual_weight > 0) {
    judge = detail::train_judge(train, static_cast<int>(dataset.genres().size()), o.judge_size, o.judge_epochs, o.judge_covers,
                                o.seed);
    if (judge)
      log("perceptual term: judge CNN trained on the train covers at " + std::to_string(o.judge_size) + " px (" +
          std::to_string(o.judge_epochs) + " epochs)");
    else
      log("perceptual term off: the dataset has fewer than two genres to train the judge on");
  }
  report.perceptual = judge != nullptr;
  log("data and judge ready after " + std::to_string(std::chrono::duration<double>(Clock::now() - t0).count()) + " s");

  engine::Adam adam(OptimizerSpec{"upscaler", model->parameters(), o.lr, 0.9, 0.999, 1e-8});
  report.model = o.out;
  report.state = fs::path(o.out.string() + ".state");

  std::int64_t start = 0;
  if (o.resume) {
    std::error_code ec;
    if (!fs::exists(report.state, ec))
      throw InputError(report.state.string(), "no fitting state to resume (run upscaler fit without --resume first)");
    ModelHeader h;
    const NamedTensors saved = read_model_file(report.state, &h);
    if (h.kind != "upscaler-state")
      throw InputError(report.state.string(), "is a " + h.kind + " file, not an upscaler fitting state");
    if (h.plugin != model->plugin_name() || json::parse(h.config_json) != json::parse(model->config_json()))
      throw InputError(report.state.string(), "was fitted with plugin " + h.plugin + " " + h.config_json +
                                                  ", not " + model->plugin_name() + " " + model->config_json() +
                                                  "; give the same --plugin and --config");
    const json meta = json::parse(h.meta_json);
    if (meta.value("from", 0) != o.from || meta.value("to", 0) != o.to)
      throw InputError(report.state.string(), "was fitted for --from " + std::to_string(meta.value("from", 0)) +
                                                  " --to " + std::to_string(meta.value("to", 0)));
    load_named_tensors(*model, take_prefixed(saved, "model"), report.state.string());
    at::NoGradGuard no_grad;
    const NamedTensors adam_saved = take_prefixed(saved, "adam");
    NamedTensors adam_live = adam.state();
    if (adam_saved.size() != adam_live.size())
      throw InputError(report.state.string(), "its optimiser state does not match the model");
    std::map<std::string, at::Tensor> by_name(adam_saved.begin(), adam_saved.end());
    for (auto& [name, t] : adam_live) {
      auto it = by_name.find(name);
      if (it == by_name.end() || it->second.sizes() != t.sizes())
        throw InputError(report.state.string(), "optimiser tensor '" + name + "' is missing or has another shape");
      t.copy_(it->second);
    }
    start = meta.value("step", std::int64_t{0});
    if (start >= o.steps)
      throw InputError(report.state.string(), "already has " + std::to_string(start) + " steps; give --steps above that");
    log("resuming at step " + std::to_string(start));
  }
  report.resumed_from = start;

  // Fixed val crops: the same every run and every resume.
  const detail::Covers& held = val.hr.size(0) > 0 ? val : train;
  std::mt19937_64 val_rng(o.seed ^ 0x5eedULL);
  const Crops val_crops = sample_crops(held.hr, k, o.crop, std::min<std::int64_t>(16, 2 * held.hr.size(0) + 8), val_rng, false);
  auto val_l1 = [&] { return mean_abs(model->upscale(val_crops.lr), val_crops.hr); };
  {
    at::NoGradGuard no_grad;
    const auto size = val_crops.hr.size(2);
    report.val_l1_bicubic =
        mean_abs(at::upsample_bicubic2d(val_crops.lr, {size, size}, false).clamp(-1, 1), val_crops.hr);
    report.val_l1_initial = report.val_l1 = val_l1();
  }

  auto save = [&](std::int64_t step) {
    const json meta{{"from", o.from}, {"to", o.to}, {"step", step}, {"val_l1", report.val_l1},
                    {"val_l1_bicubic", report.val_l1_bicubic}, {"perceptual", report.perceptual},
                    {"perceptual_weight", o.perceptual_weight}, {"lr", o.lr}, {"batch", o.batch}, {"crop", o.crop},
                    {"seed", o.seed}, {"dataset", o.data.string()}};
    NamedTensors state;
    for (const auto& [name, t] : model->named_tensors()) state.emplace_back("model/" + name, t);
    for (const auto& [name, t] : adam.state()) state.emplace_back("adam/" + name, t);
    ModelHeader h;
    h.kind = "upscaler-state";
    h.plugin = model->plugin_name();
    h.plugin_version = model->plugin_version();
    h.config_json = model->config_json();
    h.meta_json = meta.dump();
    write_model_file(report.state, h, state);  // each file: temp + rename
    save_plugin_object(o.out, "upscaler", *model, meta.dump());
  };

  std::int64_t last_saved = start;
  for (std::int64_t step = start; step < o.steps; ++step) {
    std::mt19937_64 rng(o.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(step));
    const Crops b = sample_crops(train.hr, k, o.crop, o.batch, rng, true);
    adam.zero_grad();
    const at::Tensor sr = model->forward(b.lr);
    const at::Tensor l1 = (sr - b.hr).abs().mean();
    at::Tensor loss = l1;
    double perceptual = 0;
    if (judge) {
      at::Tensor real;
      {
        at::NoGradGuard no_grad;
        real = judge->feature_maps(b.hr);
      }
      const at::Tensor p = (judge->feature_maps(sr) - real).abs().mean();
      loss = loss + o.perceptual_weight * p;
      perceptual = p.item<double>();
    }
    const double l = loss.item<double>();
    if (!std::isfinite(l))
      throw Error("upscaler fit: the loss is not finite at step " + std::to_string(step) +
                  "; stopped. The files from the checkpoint at step " + std::to_string(last_saved) +
                  " are intact: lower --lr and resume with --resume, or start again");
    loss.backward();
    adam.step();
    FitProgress p;
    p.step = step + 1;
    p.steps = o.steps;
    p.l1 = l1.item<double>();
    p.perceptual = perceptual;
    p.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if ((step + 1) % o.checkpoint_every == 0 || step + 1 == o.steps) {
      report.val_l1 = val_l1();
      p.val_l1 = report.val_l1;
      save(step + 1);
      last_saved = step + 1;
    }
    if (o.on_progress) o.on_progress(p);
  }
  report.steps = o.steps;
  report.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return report;
}

std::string FitReport::to_json() const {
  return json{{"schema_version", 1},   {"model", model.string()},
              {"state", state.string()}, {"steps", steps},
              {"resumed_from", resumed_from}, {"train_covers", train_covers},
              {"val_covers", val_covers}, {"skipped_covers", skipped_covers},
              {"perceptual", perceptual}, {"val_l1", val_l1},
              {"val_l1_initial", val_l1_initial}, {"val_l1_bicubic", val_l1_bicubic},
              {"seconds", seconds}}
      .dump(2);
}

std::string FitReport::to_text() const {
  char line[512];
  std::snprintf(line, sizeof line, "%s  (%lld steps, val L1 %.4f; bicubic %.4f; %.0f s)", model.string().c_str(),
                static_cast<long long>(steps), val_l1, val_l1_bicubic, seconds);
  return line;
}

}  // namespace covergen::upscale
