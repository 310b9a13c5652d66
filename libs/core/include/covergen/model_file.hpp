// CoverGen's model file: one file holds a fitted encoder, a generator or a whole
// training checkpoint.
//
//   bytes 0-7   magic "CVGNMODL"
//   bytes 8-11  format version (uint32 LE), currently 1
//   bytes 12-19 header length H (uint64 LE)
//   H bytes     header: JSON {kind, plugin, plugin_version, config, covergen_version, meta}
//   8 bytes     payload length P (uint64 LE)
//   P bytes     payload: torch pickle of {name: tensor} (the object's named_tensors)
//   4 bytes     CRC-32 of the payload
//
// Everything up to the payload is checked (magic, version, lengths against the
// file size, JSON, kind, plugin) before any torch deserialisation runs; a mismatch
// throws InputError naming the file, what was expected and what was found.
#pragma once

#include "covergen/encoder.hpp"
#include "covergen/generator.hpp"
#include "covergen/model_header.hpp"
#include "covergen/plugin_object.hpp"
#include "covergen/upscaler.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace covergen {

class PluginRegistry;

/// Writes header + tensors atomically (temp file + rename).
void write_model_file(const std::filesystem::path& path, const ModelHeader& header, const NamedTensors& tensors);

/// Reads and validates the header only (cheap; no torch deserialisation).
ModelHeader read_model_header(const std::filesystem::path& path);

/// Reads header and tensors (on CPU). Throws InputError on any damage.
NamedTensors read_model_file(const std::filesystem::path& path, ModelHeader* header_out = nullptr);

/// Saves a plugin object under `kind` with its plugin name, version and config.
void save_plugin_object(const std::filesystem::path& path, const std::string& kind, PluginObject& object,
                        const std::string& meta_json = "{}");

/// Copies `tensors` into `object`'s named tensors: names and shapes must match
/// exactly; throws InputError(file, which tensor and what differs) otherwise.
void load_named_tensors(PluginObject& object, const NamedTensors& tensors, const std::string& file);

/// Loads an encoder model file through the plugin named in its header.
std::shared_ptr<Encoder> load_encoder(const std::filesystem::path& path, const PluginRegistry& registry);

/// Loads an upscaler model file (from `covergen upscaler fit`) through its plugin.
std::shared_ptr<Upscaler> load_upscaler(const std::filesystem::path& path, const PluginRegistry& registry);

}  // namespace covergen
