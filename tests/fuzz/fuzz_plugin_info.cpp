// Plugin info record validation (validate_plugin_info), which runs on whatever a
// plugin's covergen_plugin_info() returns before any factory is looked up.
// Input: 4 bytes ABI version, then '\0'-separated: kind, name, version,
// torch_version, description, the file's plugin name, the host torch version. A
// string that is exactly "\x01" becomes a null pointer. Strings are NUL-terminated
// copies: the ABI promises C strings, the validator reads at most bound+1 bytes.
#include "fuzz_support.hpp"

#include <covergen/errors.hpp>
#include <covergen/plugin_info.hpp>

#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace covergen;
  if (size < 4) return 0;
  PluginInfo info{};
  std::memcpy(&info.abi_version, data, 4);
  std::string_view parts[7];
  fuzz::split(std::string_view(reinterpret_cast<const char*>(data) + 4, size - 4), '\0', parts);
  std::string s[7];
  for (int i = 0; i < 7; ++i) s[i] = std::string(parts[i]);
  auto ptr = [&](int i) -> const char* { return s[i] == "\x01" ? nullptr : s[i].c_str(); };
  info.kind = ptr(0);
  info.name = ptr(1);
  info.version = ptr(2);
  info.torch_version = ptr(3);
  info.description = ptr(4);
  const PluginInfo* p = (size & 1) && s[0] == "\x02" ? nullptr : &info;
  try {
    ValidatedPluginInfo v = validate_plugin_info(p, s[5], s[6]);
    // What passes must satisfy the documented rules.
    if (v.name.empty() || v.name.size() > 64 || v.description.size() > 200) std::abort();
    for (char c : v.name)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) std::abort();
    if (v.kind != "encoder" && v.kind != "gan" && v.kind != "generator") std::abort();
    if (v.abi_version != COVERGEN_PLUGIN_ABI_VERSION) std::abort();
  } catch (const PluginError&) {
  }
  return 0;
}
