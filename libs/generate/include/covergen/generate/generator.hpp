// A trained generator, whatever the file, and covers from it.
//  - load_generator: a run folder, generator.cvgn or checkpoint.cvgn from `covergen
//    train` (the GAN plugin named in the file's header, with the EMA weights), or a
//    TorchScript file (FILE.pt from `covergen export` or torch.jit.save) through the
//    torchscript generator plugin.
//  - generate_covers: n covers for one condition, the covers `covergen generate`,
//    `covergen serve` and the downstream examples write for a seed.
#pragma once

#include <covergen/generator.hpp>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace covergen {
class PluginRegistry;
}

namespace covergen::generate {

/// True when `path` names a TorchScript file: a file that is not a CoverGen model
/// file and either ends in .pt/.pth/.ts or is a zip archive (TorchScript's format).
bool is_torchscript_file(const std::filesystem::path& path);

/// Loads a generator. `meta_json_out` receives the run's meta (its "condition" is
/// what RunCondition reads; for an exported TorchScript file the "meta" of its
/// covergen.json, "{}" for a foreign one). Throws InputError naming the file when it
/// is not a generator, PluginError when its plugin cannot be loaded.
std::shared_ptr<ConditionalGenerator> load_generator(const std::filesystem::path& path, const PluginRegistry& registry,
                                                     std::string* meta_json_out = nullptr);

/// n covers for one condition: z [n, latent_dim] drawn from N(0, 1) with `rng` (on
/// the CPU, so a seed gives the same covers on every device), the condition [C]
/// (undefined for unconditional models) repeated n times, both moved to `device`.
/// Returns images [n, 3, S, S] in [-1, 1] on `device`.
at::Tensor generate_covers(ConditionalGenerator& generator, const at::Tensor& condition, std::int64_t n,
                           at::Generator& rng, const GenerateOptions& options, c10::Device device);

/// `per_condition` covers for each row of `conditions` [N, C], as evaluation draws
/// them: for copy k, z for the rows in chunks of 256 from one CPU generator seeded
/// with `seed`. Returns [per_condition * N, 3, S, S] on the CPU clamped to [-1, 1]
/// (copy k of row i at k * N + i).
at::Tensor generate_for_conditions(ConditionalGenerator& generator, const at::Tensor& conditions,
                                   std::int64_t per_condition, std::uint64_t seed, c10::Device device);

}  // namespace covergen::generate
