// Torch-free model file parsing (see model_header.hpp). Fuzzed by
// tests/fuzz/fuzz_model_header.cpp.
#include "covergen/model_header.hpp"

#include "covergen/errors.hpp"

#include <boost/crc.hpp>
#include <nlohmann/json.hpp>

#include <cstring>

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
T get(std::string_view in, std::size_t& pos) {
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

std::string header_to_json(const ModelHeader& h, const char* default_version) {
  json j;
  j["kind"] = h.kind;
  j["plugin"] = h.plugin;
  j["plugin_version"] = h.plugin_version;
  j["config"] = json::parse(h.config_json.empty() ? "{}" : h.config_json);
  j["covergen_version"] = h.covergen_version.empty() ? std::string(default_version) : h.covergen_version;
  j["meta"] = json::parse(h.meta_json.empty() ? "{}" : h.meta_json);
  return j.dump();
}

}  // namespace

std::string encode_model_file(const ModelHeader& header, std::string_view payload, const char* default_version) {
  std::string hjson = header_to_json(header, default_version);
  std::string out;
  out.reserve(payload.size() + hjson.size() + 64);
  out.append(kMagic, sizeof kMagic);
  put<std::uint32_t>(out, kModelFormatVersion);
  put<std::uint64_t>(out, hjson.size());
  out += hjson;
  put<std::uint64_t>(out, payload.size());
  out.append(payload.data(), payload.size());
  put<std::uint32_t>(out, crc32(payload.data(), payload.size()));
  return out;
}

// Validates everything before the payload is handed to torch.
ModelFileLayout parse_model_file_bytes(std::string_view bytes, const std::string& file) {
  auto bad = [&](const std::string& why) { return InputError(file, "not a valid CoverGen model file: " + why); };
  if (bytes.size() < sizeof kMagic + 4 + 8) throw bad("too short (" + std::to_string(bytes.size()) + " bytes)");
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) throw bad("wrong magic (expected CVGNMODL)");
  std::size_t pos = sizeof kMagic;
  ModelFileLayout p;
  p.header.format_version = get<std::uint32_t>(bytes, pos);
  if (p.header.format_version != kModelFormatVersion)
    throw InputError(file, "model file format version " + std::to_string(p.header.format_version) +
                               ", this CoverGen reads version " + std::to_string(kModelFormatVersion));
  auto hlen = get<std::uint64_t>(bytes, pos);
  if (hlen > kMaxHeader || hlen > bytes.size() - pos) throw bad("header length " + std::to_string(hlen) + " runs past the end (truncated?)");
  std::string_view hjson = bytes.substr(pos, hlen);
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

}  // namespace covergen
