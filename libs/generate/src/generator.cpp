#include "covergen/generate/generator.hpp"

#include <covergen/errors.hpp>
#include <covergen/gan.hpp>
#include <covergen/model_file.hpp>
#include <covergen/named_tensors.hpp>
#include <covergen/plugin_identity.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <vector>

namespace fs = std::filesystem;

namespace covergen::generate {

namespace {

// A run folder, generator.cvgn or checkpoint.cvgn: the GAN plugin from the header,
// its generator with the EMA weights (the live G's in a checkpoint without EMA).
std::shared_ptr<ConditionalGenerator> load_trained(const fs::path& run_or_file, const PluginRegistry& registry,
                                                   std::string* meta_json_out) {
  fs::path file = run_or_file;
  std::error_code ec;
  if (fs::is_directory(file, ec)) file /= "generator.cvgn";
  ModelHeader h;
  NamedTensors all = read_model_file(file, &h);
  if (h.kind != "generator" && h.kind != "checkpoint")
    throw InputError(file.string(), "is a " + h.kind + " model file, expected a trained generator (a run folder, "
                                    "generator.cvgn or checkpoint.cvgn from covergen train)");
  auto gan = registry.create_gan(h.plugin, h.config_json);
  std::unique_ptr<ConditionalGenerator> gen = gan->make_generator();
  inherit_plugin_identity(*gen, *gan);  // "dcgan", "stylegan", ... for the CLI's and serve's reports
  NamedTensors weights = h.kind == "checkpoint" ? take_prefixed(all, "ema") : all;
  if (weights.empty()) weights = take_prefixed(all, "model/G");  // checkpoint without EMA
  load_named_tensors(*gen, weights, file.string());
  if (meta_json_out) *meta_json_out = h.meta_json;
  // The generator's code lives in the plugin: keep the GAN (and its library) alive with it.
  ConditionalGenerator* raw = gen.release();
  return std::shared_ptr<ConditionalGenerator>(raw, [gan](ConditionalGenerator* p) { delete p; });
}

}  // namespace

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
  if (!is_torchscript_file(path)) return load_trained(path, registry, meta_json_out);
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

at::Tensor generate_covers(ConditionalGenerator& generator, const at::Tensor& condition, std::int64_t n,
                           at::Generator& rng, const GenerateOptions& options, c10::Device device) {
  auto z = at::randn({n, generator.latent_dim()}, rng).to(device);
  at::Tensor c;
  if (condition.defined()) c = condition.to(at::kFloat).unsqueeze(0).expand({n, -1}).contiguous().to(device);
  return generator.generate(z, c, options);
}

at::Tensor generate_for_conditions(ConditionalGenerator& generator, const at::Tensor& conditions,
                                   std::int64_t per_condition, std::uint64_t seed, c10::Device device) {
  auto rng = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<at::Tensor> out;
  for (std::int64_t k = 0; k < per_condition; ++k)
    for (std::int64_t s = 0; s < conditions.size(0); s += 256) {
      const std::int64_t b = std::min<std::int64_t>(256, conditions.size(0) - s);
      auto z = at::randn({b, generator.latent_dim()}, rng).to(device);
      out.push_back(generator.generate(z, conditions.narrow(0, s, b).to(device)).cpu().clamp(-1, 1));
    }
  return at::cat(out);
}

}  // namespace covergen::generate
