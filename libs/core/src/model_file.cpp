#include "covergen/model_file.hpp"
#include "covergen/named_tensors.hpp"

#include "covergen/atomic_file.hpp"
#include "covergen/errors.hpp"
#include "covergen/plugin_registry.hpp"
#include "covergen/version.hpp"

#include <ATen/ATen.h>
#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>
#include <c10/util/Exception.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <ATen/core/grad_mode.h>

#include <fstream>
#include <map>

namespace fs = std::filesystem;

namespace covergen {
namespace {

std::string read_header_bytes(const fs::path& path) {
  // The header sits at the front; read at most what is needed to validate it.
  return read_file(path);
}

}  // namespace

void write_model_file(const fs::path& path, const ModelHeader& header, const NamedTensors& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, t] : tensors) {
    if (dict.contains(name)) throw Error(path.string() + ": duplicate tensor name '" + name + "'");
    dict.insert(name, t.detach().to(at::kCPU).contiguous());
  }
  std::vector<char> payload = torch::jit::pickle_save(c10::IValue(dict));
  const std::string out = encode_model_file(header, std::string_view(payload.data(), payload.size()), COVERGEN_VERSION_STRING);
  write_file_atomic(path, out);
}

ModelHeader read_model_header(const fs::path& path) {
  return parse_model_file_bytes(read_header_bytes(path), path.string()).header;
}

NamedTensors read_model_file(const fs::path& path, ModelHeader* header_out) {
  const std::string bytes = read_file(path);
  const ModelFileLayout p = parse_model_file_bytes(bytes, path.string());
  std::vector<char> payload(bytes.begin() + static_cast<std::ptrdiff_t>(p.payload_pos),
                            bytes.begin() + static_cast<std::ptrdiff_t>(p.payload_pos + p.payload_len));
  c10::IValue v;
  try {
    v = torch::jit::pickle_load(payload);
  } catch (const c10::Error& e) {  // without torch's C++ backtrace: this is a user-facing message
    throw InputError(path.string(), std::string("cannot decode the tensor payload: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw InputError(path.string(), std::string("cannot decode the tensor payload: ") + e.what());
  }
  if (!v.isGenericDict()) throw InputError(path.string(), "tensor payload is not a dictionary");
  NamedTensors out;
  for (const auto& item : v.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor())
      throw InputError(path.string(), "tensor payload holds a non-tensor entry");
    out.emplace_back(item.key().toStringRef(), item.value().toTensor());
  }
  if (header_out) *header_out = p.header;
  return out;
}

void save_plugin_object(const fs::path& path, const std::string& kind, PluginObject& object,
                        const std::string& meta_json) {
  ModelHeader h;
  h.kind = kind;
  h.plugin = object.plugin_name();
  h.plugin_version = object.plugin_version();
  h.config_json = object.config_json();
  h.meta_json = meta_json;
  write_model_file(path, h, object.named_tensors());
}

void load_named_tensors(PluginObject& object, const NamedTensors& tensors, const std::string& file) {
  std::map<std::string, at::Tensor> by_name(tensors.begin(), tensors.end());
  at::NoGradGuard no_grad;
  auto shape_str = [](at::IntArrayRef s) {
    std::string r = "[";
    for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + "]";
  };
  auto targets = object.named_tensors();
  for (auto& [name, dst] : targets) {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw InputError(file, "tensor '" + name + "' is missing from the model file");
    if (it->second.sizes() != dst.sizes())
      throw InputError(file, "tensor '" + name + "' has shape " + shape_str(it->second.sizes()) + " in the file but " +
                                 shape_str(dst.sizes()) + " in the " + object.plugin_name() +
                                 " model (wrong feature dimension or config?)");
    dst.copy_(it->second);
    by_name.erase(it);
  }
  if (!by_name.empty())
    throw InputError(file, "tensor '" + by_name.begin()->first + "' in the file is not part of the " +
                               object.plugin_name() + " model");
}

namespace {
// Reads a model file that must be of `kind` (made by `made_by`), naming the file otherwise.
NamedTensors read_model_of_kind(const fs::path& path, const std::string& kind, const std::string& made_by,
                                ModelHeader& h) {
  NamedTensors tensors = read_model_file(path, &h);
  if (h.kind != kind)
    throw InputError(path.string(), "is a " + h.kind + " model file, expected an " + kind + " model (from " + made_by + ")");
  return tensors;
}
}  // namespace

std::shared_ptr<Encoder> load_encoder(const fs::path& path, const PluginRegistry& registry) {
  ModelHeader h;
  const NamedTensors tensors = read_model_of_kind(path, "encoder", "covergen encoder fit", h);
  auto enc = registry.create_encoder(h.plugin, h.config_json);
  load_named_tensors(*enc, tensors, path.string());
  return enc;
}

std::shared_ptr<Upscaler> load_upscaler(const fs::path& path, const PluginRegistry& registry) {
  ModelHeader h;
  const NamedTensors tensors = read_model_of_kind(path, "upscaler", "covergen upscaler fit", h);
  auto up = registry.create_upscaler(h.plugin, h.config_json);
  load_named_tensors(*up, tensors, path.string());
  return up;
}

NamedTensors take_prefixed(const NamedTensors& all, const std::string& prefix) {
  NamedTensors out;
  const std::string p = prefix + "/";
  for (const auto& [k, t] : all)
    if (k.compare(0, p.size(), p) == 0) out.emplace_back(k.substr(p.size()), t);
  return out;
}

}  // namespace covergen
