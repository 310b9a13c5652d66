// Shared plumbing for the `covergen` subcommands. Each subcommand lives in its own
// cmd_<name>.cpp, defines `void setup(CLI::App& root)` in an anonymous namespace and
// registers it with COVERGEN_COMMAND(setup). Commands report failure by throwing
// covergen::Error (or a subclass); main() maps it to the documented exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace covergen::cli {

using CommandSetup = void (*)(CLI::App& root);

/// Called by COVERGEN_COMMAND at static-initialisation time.
bool register_command(const char* name, CommandSetup setup);
/// All registered setups, sorted by name so --help lists subcommands stably.
std::vector<std::pair<std::string, CommandSetup>> registered_commands();

/// Options shared by many commands.
struct CommonOptions {
  bool json = false;
  bool quiet = false;
};
void add_common_options(CLI::App& cmd, CommonOptions& opts, bool with_json = true);

/// Log a line to stderr unless quiet.
void log(const CommonOptions& opts, const std::string& line);
/// log() as a callback for library functions that report progress lines.
std::function<void(const std::string&)> logger(const CommonOptions& opts);
/// Whether a progress line may be drawn (not --quiet, not --json).
bool shows_progress(const CommonOptions& opts);

}  // namespace covergen::cli

#define COVERGEN_CLI_CAT2(a, b) a##b
#define COVERGEN_CLI_CAT(a, b) COVERGEN_CLI_CAT2(a, b)
#define COVERGEN_COMMAND(name, setup_fn)                                              \
  static const bool COVERGEN_CLI_CAT(covergen_cmd_registered_, __LINE__) =           \
      ::covergen::cli::register_command(name, setup_fn)

#include <covergen/plugin_registry.hpp>

namespace covergen::cli {

/// Options on the root command that every subcommand honours.
struct GlobalOptions {
  std::vector<std::string> plugin_dirs;  ///< --plugin-dir, searched first
  bool allow_untrusted_plugins = false;  ///< --allow-untrusted-plugins
};
GlobalOptions& global_options();

/// Where plugins are searched, from the global options (for library functions).
PluginSearchOptions plugin_search();
/// A plugin registry configured from the global options.
PluginRegistry make_registry();

}  // namespace covergen::cli
