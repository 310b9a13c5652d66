// Finding, validating and loading plugins.
//
// Search order: an explicit path (anything containing '/' or ending in .so), then
// each folder of $COVERGEN_PLUGIN_PATH (colon-separated, in order), then the
// folder beside libcovergen_core (<libdir>/covergen/plugins — the build tree's
// plugins when run from a build tree, the installed ones after install), then the
// compiled-in install folder. The first file named libcovergen_<name>.so wins.
//
// Every object handed out holds its library loaded (the deleter owns it), so it
// may outlive the registry. Failures throw covergen::PluginError naming the path,
// the reason and the plugins that are available.
#pragma once

#include "covergen/encoder.hpp"
#include "covergen/gan.hpp"
#include "covergen/generator.hpp"
#include "covergen/upscaler.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace covergen {

/// What the registry knows about one plugin file (valid or not).
struct PluginRecord {
  std::filesystem::path path;
  bool ok = false;
  std::string error;  ///< why it cannot be used (when !ok)
  std::uint32_t abi_version = 0;
  std::string kind, name, version, torch_version, description;
};

struct PluginSearchOptions {
  /// Folders searched before the environment (e.g. from a --plugin-dir flag).
  std::vector<std::filesystem::path> extra_dirs;
  bool use_environment = true;   ///< read $COVERGEN_PLUGIN_PATH
  bool use_default_dirs = true;  ///< beside libcovergen_core, then the install folder
  /// Load plugin files (or folders) writable by other users. Off by default:
  /// such a file could have been replaced by anyone on the machine.
  bool allow_untrusted = false;
};

class PluginRegistry {
 public:
  explicit PluginRegistry(PluginSearchOptions options = {});
  ~PluginRegistry();

  /// The folders searched, in order (only those that exist).
  std::vector<std::filesystem::path> search_path() const;

  /// Every libcovergen_*.so in the search path, valid ones and broken ones (with
  /// the reason). A name found again in a later folder is reported as shadowed.
  std::vector<PluginRecord> list() const;

  /// Loads and validates one file without creating anything; throws PluginError.
  PluginRecord inspect(const std::filesystem::path& file) const;

  /// Creates an object from plugin `name_or_path` with a JSON config string.
  std::shared_ptr<Encoder> create_encoder(const std::string& name_or_path,
                                          const std::string& json_config = "{}") const;
  std::shared_ptr<GanModel> create_gan(const std::string& name_or_path,
                                       const std::string& json_config = "{}") const;
  std::shared_ptr<ConditionalGenerator> create_generator(const std::string& name_or_path,
                                                         const std::string& json_config = "{}") const;
  std::shared_ptr<Upscaler> create_upscaler(const std::string& name_or_path,
                                            const std::string& json_config = "{}") const;

  /// Resolves a name to a plugin file using the search order; throws PluginError
  /// listing the available plugins when none matches.
  std::filesystem::path find(const std::string& name_or_path) const;

  const PluginSearchOptions& options() const noexcept { return options_; }

 private:
  struct Loaded;
  Loaded load(const std::filesystem::path& file, const char* expected_kind) const;
  std::string available_summary() const;
  PluginSearchOptions options_;
};

/// The plugin file name for a plugin name: "pca" -> "libcovergen_pca.so".
std::string plugin_file_name(const std::string& name);

}  // namespace covergen
