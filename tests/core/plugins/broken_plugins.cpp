// Deliberately broken plugins, one per failure mode, selected by a define.
#include <covergen/plugin_abi.hpp>

#include <stdexcept>
#include <memory>
#include <string>

namespace covergen { class Encoder; }

#if defined(BROKEN_ABI)
COVERGEN_PLUGIN_EXPORT const covergen::PluginInfo* covergen_plugin_info() {
  static const covergen::PluginInfo info{999u, "encoder", "badabi", "1.0", "1.13.0", "ABI from the future"};
  return &info;
}
COVERGEN_PLUGIN_EXPORT std::unique_ptr<covergen::Encoder> covergen_create_encoder(const std::string&) {
  throw std::logic_error("must never be called: the ABI check comes first");
}
#elif defined(BROKEN_UNRESOLVED)
extern "C" int covergen_symbol_that_does_not_exist(int);
COVERGEN_PLUGIN_EXPORT const covergen::PluginInfo* covergen_plugin_info() {
  static const covergen::PluginInfo info{COVERGEN_PLUGIN_ABI_VERSION, "encoder", "unresolved", "1.0", "1.13.0", "x"};
  return covergen_symbol_that_does_not_exist(1) ? &info : nullptr;
}
#elif defined(BROKEN_THROWS)
COVERGEN_PLUGIN_EXPORT const covergen::PluginInfo* covergen_plugin_info() {
  static const covergen::PluginInfo info{COVERGEN_PLUGIN_ABI_VERSION, "encoder", "throws", "1.0", "1.13.0",
                                         "factory throws"};
  return &info;
}
COVERGEN_PLUGIN_EXPORT std::unique_ptr<covergen::Encoder> covergen_create_encoder(const std::string&) {
  throw std::runtime_error("the throwing factory refuses to build anything");
}
#elif defined(BROKEN_INFO)
COVERGEN_PLUGIN_EXPORT const covergen::PluginInfo* covergen_plugin_info() {
  static const covergen::PluginInfo info{COVERGEN_PLUGIN_ABI_VERSION, "encoder", "Bad Name!", "1.0", "1.13.0", "x"};
  return &info;
}
#elif defined(NO_INFO)
COVERGEN_PLUGIN_EXPORT int covergen_something_else() { return 42; }
#endif
