#include "covergen/latent/load.hpp"

#include <covergen/engine/trainer.hpp>
#include <covergen/errors.hpp>
#include <covergen/plugin_registry.hpp>

#include <nlohmann/json.hpp>

#include <fstream>

namespace fs = std::filesystem;

namespace covergen::latent {

bool is_torchscript_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  char head[8] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(head, sizeof head);
  const std::string magic(head, static_cast<std::size_t>(in.gcount()));
  const std::string ext = path.extension().string();
  // Our own container, even when damaged, is read (and refused) by the model-file reader.
  if (magic == "CVGNMODL" || ext == ".cvgn") return false;
  return ext == ".pt" || ext == ".pth" || ext == ".ts" || magic.rfind("PK\x03\x04", 0) == 0;
}

std::shared_ptr<ConditionalGenerator> load_generator(const fs::path& path, const PluginRegistry& registry,
                                                     std::string* meta_json_out) {
  if (!is_torchscript_file(path)) return engine::load_generator(path, registry, meta_json_out);
  {  // a TorchScript file is a zip archive: say so as bad input, before the plugin (whose errors are plugin errors)
    char head[4] = {};
    std::ifstream in(path, std::ios::binary);
    in.read(head, sizeof head);
    if (in.gcount() != 4 || std::string(head, 4) != std::string("PK\x03\x04", 4))
      throw InputError(path.string(), "not a TorchScript module (not a zip archive); save one with torch.jit.save");
  }
  auto gen = registry.create_generator("torchscript", nlohmann::json{{"path", path.string()}}.dump());
  if (meta_json_out) {
    auto cfg = nlohmann::json::parse(gen->config_json());
    *meta_json_out = cfg.value("meta", nlohmann::json::object()).dump();
  }
  return gen;
}

}  // namespace covergen::latent
