// Loading "a generator" whatever the file: a run folder, generator.cvgn or
// checkpoint.cvgn from `covergen train` (engine::load_generator), or a TorchScript
// file (FILE.pt, from torch.jit.save) through the torchscript
// generator plugin.
#pragma once

#include "covergen/generator.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace covergen {
class PluginRegistry;
}

namespace covergen::latent {

/// True when `path` names a TorchScript file: a file that is not a CoverGen model
/// file and either ends in .pt/.pth/.ts or is a zip archive (TorchScript's format).
bool is_torchscript_file(const std::filesystem::path& path);

/// Loads a generator; `meta_json_out` receives the condition meta (the run's, or the
/// "meta" of an exported file's covergen.json; "{}" for a foreign TorchScript file).
std::shared_ptr<ConditionalGenerator> load_generator(const std::filesystem::path& path, const PluginRegistry& registry,
                                                     std::string* meta_json_out = nullptr);

}  // namespace covergen::latent
