// `covergen export`: a ConditionalGenerator as a self-contained TorchScript file
// that the torchscript generator plugin (and Python's torch.jit.load) can run.
#pragma once

#include "covergen/generator.hpp"

#include <filesystem>
#include <string>

namespace covergen::latent {

struct ExportOptions {
  /// Truncation ψ baked into the file (what generate(z, c, {truncation}) does);
  /// 1 = none.
  double truncation = 1.0;
};

/// What was written.
struct ExportReport {
  /// Largest |exported - original| over the check batch (fresh z and c, batch 3).
  double check_max_abs_diff = 0.0;
  /// Tensors the trace met that were not the generator's (e.g. StyleGAN's fixed
  /// latents for the mean w), stored as buffers of the module.
  std::int64_t lifted_constants = 0;
};

/// Traces generator.generate(z, c, {options.truncation}) on the CPU and writes a
/// TorchScript module to `out` atomically:
///   forward(z [N, latent_dim], c: Optional[Tensor] = None) -> images [N, 3, S, S] in [-1, 1]
/// with int attributes latent_dim, condition_dim, image_size and an extra file
/// "covergen.json" {format, version, plugin, latent_dim, condition_dim, image_size,
/// meta: <meta_json>, and "truncation_baked": ψ where the plugin's own truncation
/// (scaling z) would not be the generator's (generators with a W space, or ψ < 1)}.
///
/// Every tensor of the graph is a parameter or buffer of the module (the generator's
/// tensors under their own names with '.' -> '_', plus lifted constants), so
/// .to(device) moves all of them. C++ tracing records sizes as constants, so the trace
/// is taken at batch 1 and forward (TorchScript) runs it once per row.
///
/// Before writing, the traced module is run on a fresh batch and compared with
/// generate(): a difference over 1e-4 (a forward whose path depends on the input
/// values, which a trace cannot record) is a covergen::Error and nothing is written.
/// The generator moves to the CPU and its tensors stop requiring grad.
ExportReport export_torchscript(ConditionalGenerator& generator, const std::string& meta_json,
                                const std::filesystem::path& out, const ExportOptions& options = {});

}  // namespace covergen::latent
