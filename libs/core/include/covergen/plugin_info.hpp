// Validation of a plugin's info record (plugin_abi.hpp), as a pure function with
// no dlopen and no torch: the registry calls it before looking up any factory, and
// tests/fuzz/fuzz_plugin_info.cpp fuzzes it.
#pragma once

#include "covergen/plugin_abi.hpp"

#include <cstdint>
#include <string>

namespace covergen {

/// The fields of a PluginInfo, copied out once validated.
struct ValidatedPluginInfo {
  std::uint32_t abi_version = 0;
  std::string kind, name, version, torch_version, description;
};

/// Checks `info` in order: non-null, ABI version, each string field (non-null,
/// NUL-terminated within its bound, non-empty, allowed characters: kind and name
/// [a-z0-9_-], the others printable), a known kind, the name against the file's
/// plugin name (`file_plugin_name`, skipped when empty), and the torch major.minor
/// against `host_torch_version`. Reads at most bound+1 bytes of each string.
/// Throws PluginError with the reason (without the file name: the caller adds it).
ValidatedPluginInfo validate_plugin_info(const PluginInfo* info, const std::string& file_plugin_name,
                                         const std::string& host_torch_version);

}  // namespace covergen
