#include "covergen/model_file.hpp"

#include "covergen/atomic_file.hpp"
#include "covergen/errors.hpp"
#include "covergen/plugin_registry.hpp"
#include "covergen/version.hpp"

#include <ATen/ATen.h>
#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <boost/crc.hpp>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <map>

namespace fs = std::filesystem;
using nlohmann::json;

namespace covergen {
namespace {

constexpr char kMagic[8] = {'C', 'V', 'G', 'N', 'M', 'O', 'D', 'L'};
constexpr std::uint64_t kMaxHeader = 16u << 20;  // 16 MiB of JSON is already absurd

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
  out.append(b, sizeof(T));
}

template <class T>
T get(const std::string& in, std::size_t& pos) {
  T v;
  std::memcpy(&v, in.data() + pos, sizeof(T));
  pos += sizeof(T);
  return v;
}

std::uint32_t crc32(const char* data, std::size_t n) {
  boost::crc_32_type crc;
  crc.process_bytes(data, n);
  return crc.checksum();
}

std::string header_to_json(const ModelHeader& h) {
  json j;
  j["kind"] = h.kind;
  j["plugin"] = h.plugin;
  j["plugin_version"] = h.plugin_version;
  j["config"] = json::parse(h.config_json.empty() ? "{}" : h.config_json);
  j["covergen_version"] = h.covergen_version.empty() ? std::string(COVERGEN_VERSION_STRING) : h.covergen_version;
  j["meta"] = json::parse(h.meta_json.empty() ? "{}" : h.meta_json);
  return j.dump();
}

struct Parsed {
  ModelHeader header;
  std::size_t payload_pos = 0, payload_len = 0;
};

// Validates everything before the payload is handed to torch.
Parsed parse(const std::string& bytes, const std::string& file) {
  auto bad = [&](const std::string& why) { return InputError(file, "not a valid CoverGen model file: " + why); };
  if (bytes.size() < sizeof kMagic + 4 + 8) throw bad("too short (" + std::to_string(bytes.size()) + " bytes)");
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) throw bad("wrong magic (expected CVGNMODL)");
  std::size_t pos = sizeof kMagic;
  Parsed p;
  p.header.format_version = get<std::uint32_t>(bytes, pos);
  if (p.header.format_version != kModelFormatVersion)
    throw InputError(file, "model file format version " + std::to_string(p.header.format_version) +
                               ", this CoverGen reads version " + std::to_string(kModelFormatVersion));
  auto hlen = get<std::uint64_t>(bytes, pos);
  if (hlen > kMaxHeader || hlen > bytes.size() - pos) throw bad("header length " + std::to_string(hlen) + " runs past the end (truncated?)");
  std::string hjson = bytes.substr(pos, hlen);
  pos += hlen;
  json j = json::parse(hjson, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw bad("header is not a JSON object");
  for (const char* key : {"kind", "plugin", "plugin_version", "covergen_version"})
    if (!j.contains(key) || !j[key].is_string()) throw bad(std::string("header lacks string field '") + key + "'");
  if (!j.contains("config") || !j["config"].is_object()) throw bad("header lacks object field 'config'");
  p.header.kind = j["kind"];
  p.header.plugin = j["plugin"];
  p.header.plugin_version = j["plugin_version"];
  p.header.covergen_version = j["covergen_version"];
  p.header.config_json = j["config"].dump();
  p.header.meta_json = j.contains("meta") ? j["meta"].dump() : "{}";
  if (bytes.size() - pos < 8) throw bad("truncated before the payload");
  auto plen = get<std::uint64_t>(bytes, pos);
  if (plen > bytes.size() - pos || bytes.size() - pos - plen < 4)
    throw bad("payload of " + std::to_string(plen) + " bytes runs past the end of the file (truncated?)");
  p.payload_pos = pos;
  p.payload_len = plen;
  pos += plen;
  auto crc = get<std::uint32_t>(bytes, pos);
  if (crc != crc32(bytes.data() + p.payload_pos, plen)) throw bad("payload checksum mismatch (file damaged)");
  if (pos != bytes.size()) throw bad(std::to_string(bytes.size() - pos) + " trailing bytes after the payload");
  return p;
}

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
  std::string hjson = header_to_json(header);
  std::string out;
  out.reserve(payload.size() + hjson.size() + 64);
  out.append(kMagic, sizeof kMagic);
  put<std::uint32_t>(out, kModelFormatVersion);
  put<std::uint64_t>(out, hjson.size());
  out += hjson;
  put<std::uint64_t>(out, payload.size());
  out.append(payload.data(), payload.size());
  put<std::uint32_t>(out, crc32(payload.data(), payload.size()));
  write_file_atomic(path, out);
}

ModelHeader read_model_header(const fs::path& path) { return parse(read_header_bytes(path), path.string()).header; }

NamedTensors read_model_file(const fs::path& path, ModelHeader* header_out) {
  const std::string bytes = read_file(path);
  Parsed p = parse(bytes, path.string());
  std::vector<char> payload(bytes.begin() + static_cast<std::ptrdiff_t>(p.payload_pos),
                            bytes.begin() + static_cast<std::ptrdiff_t>(p.payload_pos + p.payload_len));
  c10::IValue v;
  try {
    v = torch::jit::pickle_load(payload);
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

std::shared_ptr<Encoder> load_encoder(const fs::path& path, const PluginRegistry& registry) {
  ModelHeader h;
  NamedTensors tensors = read_model_file(path, &h);
  if (h.kind != "encoder")
    throw InputError(path.string(), "is a " + h.kind + " model file, expected an encoder model (from covergen encoder fit)");
  auto enc = registry.create_encoder(h.plugin, h.config_json);
  load_named_tensors(*enc, tensors, path.string());
  return enc;
}

}  // namespace covergen
