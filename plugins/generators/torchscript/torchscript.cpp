// torchscript: a ConditionalGenerator over a user's TorchScript module (torch.jit.save
// in Python). The contract (docs/plugins.md):
//   forward(z[, c]) -> image, z [N, latent_dim] float32, c [N, condition_dim] float32,
//   image [N, 3, S, S] in [-1, 1] (NCHW).
// latent_dim / condition_dim / image_size come from the config, else from the
// "covergen.json" extra file, else from int attributes of the module (latent_dim or
// z_dim, condition_dim or c_dim, image_size or img_resolution). condition_dim is 0
// when forward takes only z. image_size is found by one probe call at load, which
// also checks that the module runs and returns an image of the promised shape.
//
// Config: {"path": "FILE.pt"} plus optional "latent_dim", "condition_dim", "image_size".
// generate()'s truncation scales z (no W space is known), except for files from
// `covergen export` whose covergen.json says "truncation_baked": those refuse one.
#include <covergen/plugin.hpp>

#include <torch/script.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using covergen::InputError;

// The first line of a torch error, without the C++ backtrace.
std::string short_error(const std::exception& e) {
  const auto* ce = dynamic_cast<const c10::Error*>(&e);
  std::string m = ce ? ce->what_without_backtrace() : e.what();
  const auto nl = m.find('\n');
  return nl == std::string::npos ? m : m.substr(0, nl);
}

std::optional<std::int64_t> int_attribute(const torch::jit::Module& m, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (!m.hasattr(n)) continue;
    auto v = m.attr(n);
    if (v.isInt()) return v.toInt();
  }
  return std::nullopt;
}

std::optional<std::int64_t> json_int(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_number_integer()) throw InputError(where, std::string("'") + key + "' must be an integer");
  return j[key].get<std::int64_t>();
}

class TorchScriptGenerator : public covergen::ConditionalGenerator {
 public:
  explicit TorchScriptGenerator(const std::string& json_config) {
    json cfg;
    try {
      cfg = json::parse(json_config);
    } catch (const json::exception& e) {
      throw covergen::PluginError("torchscript: config is not JSON: " + std::string(e.what()));
    }
    if (!cfg.is_object() || !cfg.contains("path") || !cfg["path"].is_string())
      throw covergen::PluginError("torchscript: config needs {\"path\": \"FILE.pt\"}");
    for (const auto& [k, v] : cfg.items())
      if (k != "path" && k != "latent_dim" && k != "condition_dim" && k != "image_size")
        throw covergen::PluginError("torchscript: unknown config key '" + k +
                                    "' (known: path, latent_dim, condition_dim, image_size)");
    path_ = cfg["path"].get<std::string>();
    std::error_code ec;
    if (!fs::is_regular_file(path_, ec)) throw InputError(path_, "no such file");
    torch::jit::ExtraFilesMap extra{{"covergen.json", ""}};
    try {
      module_ = torch::jit::load(path_, c10::kCPU, extra);
    } catch (const std::exception& e) {
      throw InputError(path_, "not a TorchScript module (" + short_error(e) +
                                  "); save one with torch.jit.save(torch.jit.script(G), path)");
    }
    module_.eval();
    json info = json::object();
    if (!extra["covergen.json"].empty()) {
      try {
        info = json::parse(extra["covergen.json"]);
      } catch (const json::exception& e) {
        throw InputError(path_, "its covergen.json extra file is not JSON: " + std::string(e.what()));
      }
      if (!info.is_object()) throw InputError(path_, "its covergen.json extra file must hold a JSON object");
      if (info.contains("meta")) meta_ = info["meta"];
      if (info.contains("truncation_baked")) {
        if (!info["truncation_baked"].is_number())
          throw InputError(path_, "its covergen.json 'truncation_baked' must be a number");
        truncation_baked_ = info["truncation_baked"].get<double>();
      }
    }
    auto forward = module_.find_method("forward");
    if (!forward) throw InputError(path_, "the module has no forward(z[, c]) method");
    const auto n_args = forward->function().getSchema().arguments().size();  // self, z[, c, ...]
    if (n_args < 2) throw InputError(path_, "forward() takes no latent; the contract is forward(z[, c]) -> image");
    takes_condition_ = n_args >= 3;
    condition_has_default_ = takes_condition_ && forward->function().getSchema().arguments()[2].default_value().has_value();

    auto pick = [&](const char* key, std::initializer_list<const char*> attrs) -> std::optional<std::int64_t> {
      if (auto v = json_int(cfg, key, "torchscript config")) return v;
      if (auto v = json_int(info, key, path_ + " (covergen.json)")) return v;
      return int_attribute(module_, attrs);
    };
    auto latent = pick("latent_dim", {"latent_dim", "z_dim"});
    if (!latent || *latent <= 0)
      throw InputError(path_, "latent_dim unknown: give the module an int attribute latent_dim (or z_dim), or save "
                              "it with _extra_files={\"covergen.json\": '{\"latent_dim\": 512}'}");
    latent_dim_ = *latent;
    auto cond = pick("condition_dim", {"condition_dim", "c_dim"});
    condition_dim_ = cond ? *cond : 0;
    if (condition_dim_ < 0) throw InputError(path_, "condition_dim must be >= 0");
    if (condition_dim_ > 0 && !takes_condition_)
      throw InputError(path_, "condition_dim is " + std::to_string(condition_dim_) + " but forward() takes only z");
    if (cond && !takes_condition_) condition_dim_ = 0;
    const auto declared_size = pick("image_size", {"image_size", "img_resolution"});

    // The probe: one image from z = 0 (and c = 0) shows the module runs and what it returns.
    at::Tensor img;
    try {
      img = call(at::zeros({1, latent_dim_}), condition_dim_ > 0 ? at::zeros({1, condition_dim_}) : at::Tensor());
    } catch (const InputError&) {
      throw;
    } catch (const std::exception& e) {
      throw InputError(path_, "the probe call forward(z [1, " + std::to_string(latent_dim_) + "]" +
                                  (takes_condition_ ? ", c [1, " + std::to_string(condition_dim_) + "]" : std::string()) +
                                  ") failed: " + short_error(e) + " (is latent_dim/condition_dim right?)");
    }
    image_size_ = img.size(2);
    if (declared_size && *declared_size != image_size_)
      throw InputError(path_, "declares image_size " + std::to_string(*declared_size) + " but returns " +
                                  std::to_string(image_size_) + "x" + std::to_string(image_size_) + " images");
  }

  std::int64_t latent_dim() const override { return latent_dim_; }
  std::int64_t condition_dim() const override { return condition_dim_; }
  std::int64_t image_size() const override { return image_size_; }

  at::Tensor generate(const at::Tensor& z, const at::Tensor& c, const covergen::GenerateOptions& options) override {
    if (!(options.truncation >= 0.0 && options.truncation <= 1.0))
      throw InputError("generate: truncation must lie in [0, 1]");
    if (!z.defined() || z.dim() != 2 || z.size(1) != latent_dim_)
      throw InputError("torchscript generator " + path_ + ": expected z [N, " + std::to_string(latent_dim_) + "]");
    if (condition_dim_ > 0 && (!c.defined() || c.dim() != 2 || c.size(0) != z.size(0) || c.size(1) != condition_dim_))
      throw InputError("torchscript generator " + path_ + ": expected c [" + std::to_string(z.size(0)) + ", " +
                       std::to_string(condition_dim_) + "]");
    if (truncation_baked_ && options.truncation != 1.0)
      throw InputError(path_, "was exported with truncation " + std::to_string(*truncation_baked_) +
                                  " baked in (covergen export --truncation); export it again with the truncation "
                                  "wanted instead of asking for one here");
    at::Tensor zz = z.to(device_, at::kFloat);
    if (options.truncation != 1.0) zz = zz * options.truncation;  // no W space known: scale z
    at::Tensor out = call(zz, condition_dim_ > 0 ? c.to(device_, at::kFloat) : at::Tensor());
    if (out.size(0) != z.size(0))
      throw covergen::Error(path_ + ": forward returned " + std::to_string(out.size(0)) + " images for " +
                            std::to_string(z.size(0)) + " latents");
    return out;
  }

  std::string config_json() const override {
    json j{{"path", path_}, {"latent_dim", latent_dim_}, {"condition_dim", condition_dim_},
           {"image_size", image_size_}, {"meta", meta_}};
    if (truncation_baked_) j["truncation_baked"] = *truncation_baked_;
    return j.dump();
  }

  covergen::NamedTensors named_tensors() override {
    covergen::NamedTensors out;
    for (const auto& p : module_.named_parameters(true)) out.emplace_back(p.name, p.value);
    for (const auto& b : module_.named_buffers(true)) out.emplace_back(b.name, b.value);
    return out;
  }

  void to(const c10::Device& device) override {
    module_.to(device);
    device_ = device;
  }
  c10::Device device() const override { return device_; }

 private:
  // forward(z[, c]) under no_grad, checked to be one float image batch [N, 3, S, S].
  at::Tensor call(const at::Tensor& z, const at::Tensor& c) {
    torch::NoGradGuard no_grad;
    std::vector<c10::IValue> args{z};
    if (takes_condition_ && (c.defined() || !condition_has_default_))
      args.emplace_back(c.defined() ? c10::IValue(c) : c10::IValue(at::zeros({z.size(0), 0}, z.options())));
    c10::IValue r = module_.forward(args);
    if (r.isTuple() && !r.toTupleRef().elements().empty()) r = r.toTupleRef().elements()[0];  // (image, ...) is allowed
    if (!r.isTensor()) throw InputError(path_, "forward() must return an image tensor, returned " + r.tagKind());
    at::Tensor img = r.toTensor();
    if (img.dim() != 4 || img.size(1) != 3 || img.size(2) != img.size(3) || img.size(2) < 1) {
      std::ostringstream s;
      s << img.sizes();
      throw InputError(path_, "forward() must return images [N, 3, S, S] (NCHW, square); returned " + s.str());
    }
    return img.to(at::kFloat).contiguous();
  }

  std::string path_;
  torch::jit::Module module_;
  json meta_ = json::object();
  std::optional<double> truncation_baked_;  // from covergen export: generate() then takes no truncation
  bool takes_condition_ = false, condition_has_default_ = false;
  std::int64_t latent_dim_ = 0, condition_dim_ = 0, image_size_ = 0;
  c10::Device device_{c10::kCPU};
};

}  // namespace

COVERGEN_GENERATOR_PLUGIN(TorchScriptGenerator, "torchscript", "1.0.0",
                          "a TorchScript generator forward(z[, c]) -> image, from torch.jit.save")
