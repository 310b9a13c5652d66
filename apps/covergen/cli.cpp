#include "cli.hpp"

#include <covergen/plugin_registry.hpp>

#include <algorithm>
#include <iostream>

namespace covergen::cli {
namespace {
std::vector<std::pair<std::string, CommandSetup>>& commands() {
  static std::vector<std::pair<std::string, CommandSetup>> list;
  return list;
}
}  // namespace

bool register_command(const char* name, CommandSetup setup) {
  commands().emplace_back(name, setup);
  return true;
}

std::vector<std::pair<std::string, CommandSetup>> registered_commands() {
  auto list = commands();
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return list;
}

void add_common_options(CLI::App& cmd, CommonOptions& opts, bool with_json) {
  if (with_json) cmd.add_flag("--json", opts.json, "Print one JSON document on stdout");
  cmd.add_flag("-q,--quiet", opts.quiet, "No logs or progress on stderr");
}

void log(const CommonOptions& opts, const std::string& line) {
  if (!opts.quiet) std::cerr << line << '\n';
}

GlobalOptions& global_options() {
  static GlobalOptions g;
  return g;
}

PluginSearchOptions plugin_search() {
  PluginSearchOptions o;
  for (const auto& d : global_options().plugin_dirs) o.extra_dirs.emplace_back(d);
  o.allow_untrusted = global_options().allow_untrusted_plugins;
  return o;
}

PluginRegistry make_registry() { return PluginRegistry(plugin_search()); }

std::function<void(const std::string&)> logger(const CommonOptions& opts) {
  return [opts](const std::string& line) { log(opts, line); };
}

bool shows_progress(const CommonOptions& opts) { return !opts.quiet && !opts.json; }

}  // namespace covergen::cli
