// The binary interface between libcovergen_core and its plugins.
//
// A plugin is a shared object named libcovergen_<name>.so that exports, with C
// linkage, exactly:
//   const covergen::PluginInfo* covergen_plugin_info();
//   <kind factory>  covergen_create_<kind>(const std::string& json_config);
// where <kind> is encoder, gan, generator or upscaler. The host reads the info record first,
// validates it (ABI version, lengths, characters, torch version) and only then
// looks up and calls the factory. Use the COVERGEN_*_PLUGIN macros below rather
// than writing the exports by hand.
//
// ABI changelog (bump COVERGEN_PLUGIN_ABI_VERSION on any change to PluginInfo, the
// factory signatures, or the vtables of Encoder / ConditionalGenerator / GanModel):
//   1  initial: PluginInfo{abi_version, kind, name, version, torch_version, description}
//      (the kind "upscaler" was added later without a bump: no existing vtable or
//      factory changed, and an older host refuses it as an unknown kind)
#pragma once

#include <cstdint>

#define COVERGEN_PLUGIN_ABI_VERSION 1u

namespace covergen {

struct PluginInfo {
  std::uint32_t abi_version;  ///< must equal COVERGEN_PLUGIN_ABI_VERSION of the host
  const char* kind;           ///< "encoder", "gan", "generator" or "upscaler"
  const char* name;           ///< [a-z0-9_-]{1,64}; the file is libcovergen_<name>.so
  const char* version;        ///< the plugin's own version, printable, <= 64 chars
  const char* torch_version;  ///< TORCH_VERSION it was built against (major.minor must match)
  const char* description;    ///< one line, <= 200 chars
};

}  // namespace covergen

#define COVERGEN_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))
