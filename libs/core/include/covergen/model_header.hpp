// The torch-free half of CoverGen's model file (model_file.hpp has the layout):
// the header record and the byte-level parser that validates everything up to
// the payload (magic, format version, lengths, header JSON, CRC) without torch.
// Split out so the parser can be fuzzed and sanitised without LibTorch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace covergen {

constexpr std::uint32_t kModelFormatVersion = 1;

struct ModelHeader {
  std::uint32_t format_version = kModelFormatVersion;
  std::string kind;            ///< "encoder", "generator", "gan", "checkpoint", ...
  std::string plugin;          ///< plugin name that recreates the object
  std::string plugin_version;
  std::string config_json;     ///< the object's config_json()
  std::string covergen_version;
  std::string meta_json = "{}";  ///< free-form extra data (metrics, step, ...)
};

/// A model file's bytes, validated: the header and where the payload lies.
struct ModelFileLayout {
  ModelHeader header;
  std::size_t payload_pos = 0, payload_len = 0;
};

/// Validates a whole model file held in `bytes` (everything but the torch pickle
/// itself, whose CRC is checked). Throws InputError(file, ...) on any damage.
ModelFileLayout parse_model_file_bytes(std::string_view bytes, const std::string& file);

/// The bytes of a model file: magic, version, header JSON, payload length, payload,
/// CRC. `covergen_version` defaults to `default_version` when empty.
std::string encode_model_file(const ModelHeader& header, std::string_view payload,
                              const char* default_version);

}  // namespace covergen
