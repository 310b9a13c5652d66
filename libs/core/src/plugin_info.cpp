#include "covergen/plugin_info.hpp"

#include "covergen/errors.hpp"

#include <cstring>
#include <set>

namespace covergen {
namespace {

// A string field of the info record: non-null, bounded, printable (and, for
// identifiers, [a-z0-9_-]). Checked before anything else in the plugin runs.
std::string checked_field(const char* value, const char* field, std::size_t max_len, bool identifier) {
  if (value == nullptr) throw PluginError(std::string("info field '") + field + "' is null");
  std::size_t n = ::strnlen(value, max_len + 1);
  if (n == 0) throw PluginError(std::string("info field '") + field + "' is empty");
  if (n > max_len)
    throw PluginError(std::string("info field '") + field + "' is longer than " + std::to_string(max_len) +
                      " characters");
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char ch = static_cast<unsigned char>(value[i]);
    // ASCII ranges, not <cctype>: the result must not depend on the locale.
    bool ok = identifier ? ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-')
                         : (ch >= 0x20 && ch != 0x7f);
    if (!ok)
      throw PluginError(std::string("info field '") + field + "' has a character not allowed there (byte " +
                        std::to_string(ch) + ")");
  }
  return std::string(value, n);
}

std::string major_minor(const std::string& v) {
  auto first = v.find('.');
  if (first == std::string::npos) return v;
  auto second = v.find('.', first + 1);
  return v.substr(0, second);
}

}  // namespace

ValidatedPluginInfo validate_plugin_info(const PluginInfo* info, const std::string& file_plugin_name,
                                         const std::string& host_torch_version) {
  static const std::set<std::string> kKinds = {"encoder", "gan", "generator", "upscaler"};
  if (info == nullptr) throw PluginError("covergen_plugin_info() returned null");
  ValidatedPluginInfo out;
  out.abi_version = info->abi_version;
  if (info->abi_version != COVERGEN_PLUGIN_ABI_VERSION)
    throw PluginError("incompatible plugin ABI: the plugin has ABI " + std::to_string(info->abi_version) +
                      ", this CoverGen has ABI " + std::to_string(COVERGEN_PLUGIN_ABI_VERSION) +
                      "; rebuild the plugin against this CoverGen");
  try {
    out.kind = checked_field(info->kind, "kind", 16, true);
    out.name = checked_field(info->name, "name", 64, true);
    out.version = checked_field(info->version, "version", 64, false);
    out.torch_version = checked_field(info->torch_version, "torch_version", 32, false);
    out.description = checked_field(info->description, "description", 200, false);
  } catch (const PluginError& e) {
    throw PluginError(std::string("invalid info record: ") + e.what());
  }
  if (!kKinds.count(out.kind))
    throw PluginError("unknown plugin kind '" + out.kind + "' (expected encoder, gan, generator or upscaler)");
  if (!file_plugin_name.empty() && file_plugin_name != out.name)
    throw PluginError("the file is named for plugin '" + file_plugin_name + "' but the plugin says it is '" +
                      out.name + "'");
  if (major_minor(out.torch_version) != major_minor(host_torch_version))
    throw PluginError("built against torch " + out.torch_version + ", this CoverGen uses torch " +
                      host_torch_version + "; rebuild the plugin");
  return out;
}

}  // namespace covergen
