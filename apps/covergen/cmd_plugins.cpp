// covergen plugins [--json]: lists every plugin in the search path, broken ones
// with the reason, so a user can see what is installed and why something is not.
#include "cli.hpp"

#include <covergen/errors.hpp>
#include <covergen/plugin_abi.hpp>
#include <covergen/plugin_registry.hpp>
#include <covergen/version.hpp>

#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>

namespace {

struct PluginsOptions {
  covergen::cli::CommonOptions common;
  std::string inspect;
};

void run(const PluginsOptions& o) {
  auto registry = covergen::cli::make_registry();
  if (!o.inspect.empty()) {
    // Loads one plugin by name or path and validates it; fails with exit code 2.
    auto rec = registry.inspect(registry.find(o.inspect));
    if (o.common.json) {
      std::cout << nlohmann::json{{"schema_version", 1}, {"path", rec.path.string()}, {"kind", rec.kind},
                                  {"name", rec.name}, {"version", rec.version}, {"abi", rec.abi_version},
                                  {"torch_version", rec.torch_version}, {"description", rec.description}}
                       .dump(2)
                << '\n';
    } else {
      std::cout << rec.name << " (" << rec.kind << " " << rec.version << ", ABI " << rec.abi_version << ") "
                << rec.path.string() << '\n';
    }
    return;
  }
  auto records = registry.list();
  if (o.common.json) {
    nlohmann::json plugins = nlohmann::json::array(), broken = nlohmann::json::array(), dirs = nlohmann::json::array();
    for (const auto& d : registry.search_path()) dirs.push_back(d.string());
    for (const auto& r : records) {
      if (r.ok)
        plugins.push_back({{"kind", r.kind}, {"name", r.name}, {"version", r.version}, {"abi", r.abi_version},
                           {"torch_version", r.torch_version}, {"description", r.description},
                           {"path", r.path.string()}});
      else
        broken.push_back({{"path", r.path.string()}, {"error", r.error}});
    }
    nlohmann::json out{{"schema_version", 1},        {"covergen_version", covergen::version()},
                       {"abi", COVERGEN_PLUGIN_ABI_VERSION}, {"search_path", dirs},
                       {"plugins", plugins},         {"broken", broken}};
    std::cout << out.dump(2) << '\n';
    return;
  }
  std::size_t good = 0;
  for (const auto& r : records) {
    if (!r.ok) continue;
    ++good;
    std::cout << std::left << std::setw(10) << r.kind << std::setw(18) << r.name << std::setw(10) << r.version
              << r.description << '\n';
  }
  for (const auto& r : records)
    if (!r.ok) std::cerr << "covergen: warning: skipped " << r.error << '\n';
  if (good == 0) {
    std::string dirs;
    for (const auto& d : registry.search_path()) dirs += " " + d.string();
    std::cerr << "covergen: no plugins found; searched:" << (dirs.empty() ? " (nothing)" : dirs)
              << ". Set COVERGEN_PLUGIN_PATH or pass --plugin-dir.\n";
  }
}

void setup(CLI::App& root) {
  auto opts = std::make_shared<PluginsOptions>();
  auto* cmd = root.add_subcommand("plugins", "List the available plugins (broken ones with the reason)");
  covergen::cli::add_common_options(*cmd, opts->common);
  cmd->add_option("--inspect", opts->inspect, "Load and validate one plugin (name or path) and print its info");
  cmd->callback([opts] { run(*opts); });
}

}  // namespace

COVERGEN_COMMAND("plugins", setup);
