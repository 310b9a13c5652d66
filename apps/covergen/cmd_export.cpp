// covergen export --model RUN_OR_CHECKPOINT --out FILE.pt [--truncation PSI] [--json]
// Writes a trained generator (its EMA weights) as a TorchScript module with
// forward(z[, c]) -> image, which the torchscript generator plugin loads
// (`covergen generate --model FILE.pt`) and Python runs with torch.jit.load
// (docs/latent.md).
#include "cli.hpp"

#include <covergen/errors.hpp>
#include <covergen/latent/export.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/plugin_registry.hpp>

#include <nlohmann/json.hpp>

#include <iostream>

namespace {

struct ExportCliOptions {
  covergen::cli::CommonOptions common;
  std::string model, out;
  double truncation = 1.0;
};

void run(const ExportCliOptions& o) {
  if (!(o.truncation >= 0.0 && o.truncation <= 1.0)) throw covergen::InputError("--truncation must be in [0, 1]");
  if (covergen::generate::is_torchscript_file(o.model))
    throw covergen::InputError(o.model, "is already a TorchScript file; export takes a run folder, generator.cvgn "
                                        "or checkpoint.cvgn from covergen train");
  auto registry = covergen::cli::make_registry();
  std::string meta_text;
  auto gen = covergen::generate::load_generator(o.model, registry, &meta_text);
  covergen::latent::ExportOptions eo;
  eo.truncation = o.truncation;
  const auto report = covergen::latent::export_torchscript(*gen, meta_text, o.out, eo);
  if (o.common.json) {
    std::cout << nlohmann::json{{"schema_version", 1},
                                {"model", o.model},
                                {"out", o.out},
                                {"plugin", gen->plugin_name()},
                                {"latent_dim", gen->latent_dim()},
                                {"condition_dim", gen->condition_dim()},
                                {"image_size", gen->image_size()},
                                {"truncation", o.truncation},
                                {"check_max_abs_diff", report.check_max_abs_diff},
                                {"lifted_constants", report.lifted_constants}}
                     .dump(2)
              << '\n';
  } else {
    covergen::cli::log(o.common, "covergen: exported the " + gen->plugin_name() +
                                     " generator; traced vs original on fresh latents: max |diff| " +
                                     std::to_string(report.check_max_abs_diff));
    std::cout << o.out << '\n';
  }
}

void setup(CLI::App& root) {
  auto o = std::make_shared<ExportCliOptions>();
  auto* cmd = root.add_subcommand("export", "Write a trained generator as TorchScript (FILE.pt, forward(z[, c]) -> image)");
  cmd->add_option("--model", o->model, "Run folder, generator.cvgn or checkpoint.cvgn")->required();
  cmd->add_option("--out", o->out, "TorchScript file to write")->required();
  cmd->add_option("--truncation", o->truncation,
                  "Truncation psi baked into the file (StyleGAN: towards the condition's mean w; others scale z)")
      ->capture_default_str();
  covergen::cli::add_common_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
}

}  // namespace

COVERGEN_COMMAND("export", setup);
