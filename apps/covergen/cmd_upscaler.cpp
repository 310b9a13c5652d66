// covergen upscaler fit|eval (docs/upscaling.md): learned upscaling of cover art.
//   covergen upscaler fit --data DATASET --from 64 --to 1024 --out sr.cvgn [--steps N] [--resume] [--json]
//   covergen upscaler eval --data DATASET --model sr.cvgn [--json]
// The work is covergen::upscale's; this file parses options and prints.
#include "cli.hpp"

#include <covergen/errors.hpp>
#include <covergen/plugin_registry.hpp>
#include <covergen/progress.hpp>
#include <covergen/upscale/upscale.hpp>

#include <cstdio>
#include <iostream>

namespace {

namespace up = covergen::upscale;

struct FitCli {
  covergen::cli::CommonOptions common;
  up::FitOptions fit;
  std::string data, out;
};

void run_fit(FitCli& c) {
  c.fit.data = c.data;
  c.fit.out = c.out;
  c.fit.log = covergen::cli::logger(c.common);
  covergen::Progress progress("upscaler fit", c.fit.steps, covergen::cli::shows_progress(c.common));
  c.fit.on_progress = [&](const up::FitProgress& p) {
    char line[160];
    std::snprintf(line, sizeof line, "L1 %.4f  perceptual %.4f", p.l1, p.perceptual);
    progress.update(p.step, line);
    if (p.val_l1 >= 0 && !progress.active())
      covergen::cli::log(c.common, "step " + std::to_string(p.step) + "/" + std::to_string(p.steps) + ": val L1 " +
                                       std::to_string(p.val_l1) + " (" + std::to_string(static_cast<int>(p.seconds)) +
                                       " s)");
  };
  const up::FitReport r = up::fit(c.fit, covergen::cli::make_registry());
  progress.finish();
  std::cout << (c.common.json ? r.to_json() : r.to_text()) << '\n';
}

struct EvalCli {
  covergen::cli::CommonOptions common;
  up::EvalOptions eval;
  std::string data, model;
};

void run_eval(EvalCli& c) {
  c.eval.data = c.data;
  c.eval.model = c.model;
  c.eval.log = covergen::cli::logger(c.common);
  const up::EvalReport r = up::evaluate(c.eval, covergen::cli::make_registry());
  std::cout << (c.common.json ? r.to_json() + '\n' : r.to_text());
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand("upscaler", "Learned upscaling of cover art: fit on a dataset, evaluate");
  cmd->require_subcommand(1);

  auto f = std::make_shared<FitCli>();
  auto* fit = cmd->add_subcommand("fit", "Fit an upscaler on a dataset's own covers (random crop pairs)");
  fit->add_option("--data", f->data, "Dataset folder or dataset.json")->required();
  fit->add_option("--out", f->out, "Model file to write (its resumable state goes to <out>.state)")->required();
  fit->add_option("--from", f->fit.from, "Side of the art to enlarge (px)")->capture_default_str();
  fit->add_option("--to", f->fit.to, "Side to reach (2, 4, 8 or 16 times --from)")->capture_default_str();
  fit->add_option("--steps", f->fit.steps, "Training steps in all (a resume continues to this)")->capture_default_str();
  fit->add_option("--batch", f->fit.batch, "Crops per step")->capture_default_str();
  fit->add_option("--crop", f->fit.crop, "Crop side at --from px")->capture_default_str();
  fit->add_option("--lr", f->fit.lr, "Adam learning rate")->capture_default_str();
  fit->add_option("--perceptual", f->fit.perceptual_weight, "Weight of the judge-feature term (0: L1 only)")
      ->capture_default_str();
  fit->add_option("--plugin", f->fit.plugin, "Upscaler plugin")->capture_default_str();
  fit->add_option("--config", f->fit.config, "Plugin config JSON, e.g. '{\"channels\":48}'")->capture_default_str();
  fit->add_option("--seed", f->fit.seed, "Seed (init, crops, judge)")->capture_default_str();
  fit->add_option("--checkpoint-every", f->fit.checkpoint_every, "Steps between checkpoints")->capture_default_str();
  fit->add_option("--max-covers", f->fit.max_covers, "Use at most this many train covers (0: all)")
      ->capture_default_str();
  fit->add_option("--judge-size", f->fit.judge_size, "Side the perceptual judge learns covers at")->capture_default_str();
  fit->add_option("--judge-epochs", f->fit.judge_epochs, "Judge training epochs")->capture_default_str();
  fit->add_option("--judge-covers", f->fit.judge_covers, "Train covers the judge learns from (0: all)")
      ->capture_default_str();
  fit->add_flag("--resume", f->fit.resume, "Continue from <out>.state");
  covergen::cli::add_common_options(*fit, f->common);
  fit->callback([f] { run_fit(*f); });

  auto e = std::make_shared<EvalCli>();
  auto* ev = cmd->add_subcommand("eval", "PSNR, SSIM and FID of the upscaler vs Lanczos and bicubic on held-out covers");
  ev->add_option("--data", e->data, "Dataset folder or dataset.json")->required();
  ev->add_option("--model", e->model, "Upscaler model file")->required();
  ev->add_option("--from", e->eval.from, "Side the held-out covers are reduced to (px)")->capture_default_str();
  ev->add_option("--split", e->eval.split, "Held-out split: test or val")->capture_default_str();
  ev->add_option("--max-covers", e->eval.max_covers, "At most this many covers (0: all)")->capture_default_str();
  ev->add_option("--crops-per-cover", e->eval.crops_per_cover, "FID crops per cover")->capture_default_str();
  ev->add_option("--fid-crop", e->eval.fid_crop, "FID crop side (px)")->capture_default_str();
  ev->add_option("--bootstrap", e->eval.bootstrap, "Resamples for the 95% intervals")->capture_default_str();
  ev->add_option("--seed", e->eval.seed, "Seed (judge, crops, resamples)")->capture_default_str();
  ev->add_option("--picture", e->eval.picture,
                 "Write a PNG: input (nearest), Lanczos, learned and real, centre crops side by side");
  ev->add_option("--picture-cover", e->eval.picture_cover, "Which held-out cover the picture shows")
      ->capture_default_str();
  ev->add_option("--picture-crop", e->eval.picture_crop, "Crop side of each panel (px)")->capture_default_str();
  ev->add_option("--judge-size", e->eval.judge_size, "Side the FID judge learns covers at")->capture_default_str();
  ev->add_option("--judge-epochs", e->eval.judge_epochs, "Judge training epochs")->capture_default_str();
  ev->add_option("--judge-covers", e->eval.judge_covers, "Train covers the judge learns from (0: all)")
      ->capture_default_str();
  covergen::cli::add_common_options(*ev, e->common);
  ev->callback([e] { run_eval(*e); });

  struct CompareCli {
    std::string image, model, out;
    int crop = 320;
  };
  auto c = std::make_shared<CompareCli>();
  auto* cmp = cmd->add_subcommand("compare", "A PNG of one square cover enlarged: nearest, Lanczos, learned, side by side");
  cmp->add_option("image", c->image, "The cover (e.g. a generated 64 px PNG)")->required();
  cmp->add_option("--model", c->model, "Upscaler model file")->required();
  cmp->add_option("--out", c->out, "PNG to write")->required();
  cmp->add_option("--crop", c->crop, "Centre crop side of each panel (px)")->capture_default_str();
  cmp->callback([c] {
      up::write_comparison(c->image, c->model, c->out, c->crop, covergen::cli::make_registry());
    std::cout << c->out << '\n';
  });
}

}  // namespace

COVERGEN_COMMAND("upscaler", setup);
