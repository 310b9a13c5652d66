// Lists the plugins CoverGen can see, then creates one encoder by name.
#include <covergen/errors.hpp>
#include <covergen/plugin_registry.hpp>

#include <iostream>

int main(int argc, char** argv) {
  covergen::PluginRegistry registry;
  for (const auto& rec : registry.list())
    std::cout << (rec.ok ? "ok " : "broken ") << rec.kind << " " << rec.name << " " << rec.path.string() << "\n";
  if (argc > 1) {
    try {
      auto enc = registry.create_encoder(argv[1], "{}");
      std::cout << "created " << enc->plugin_name() << " input=" << covergen::to_string(enc->input_kind()) << "\n";
    } catch (const covergen::PluginError& e) {
      std::cerr << e.what() << "\n";
      return 2;
    }
  }
  return 0;
}
