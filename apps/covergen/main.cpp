// covergen: the command-line front end. A thin layer: each subcommand is its own
// cmd_<name>.cpp over the libraries.
#include "cli.hpp"

#include <covergen/cpu_kernels.hpp>
#include <covergen/device.hpp>
#include <covergen/errors.hpp>
#include <covergen/version.hpp>

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <cstdlib>
#include <thread>

#include <cstdio>
#include <iostream>
#include <malloc.h>

namespace {

std::string version_text() {
  std::string s = std::string("covergen ") + covergen::version() + " (torch " + covergen::torch_version() + ")\n";
  s += "devices: cpu";
  for (int i = 0; i < covergen::cuda_device_count(); ++i) s += ", cuda:" + std::to_string(i);
  return s + "\n" + covergen::describe_cpu_kernels();  // the machine every figure is taken on
}

}  // namespace

int main(int argc, char** argv) {
  // glibc would otherwise return and re-fault the large tensor buffers every step
  // (measured +8% training speed; see docs/performance.md).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  // LibTorch sizes its intra-op pool by physical cores (cpuinfo), which is 1 on
  // 2-vCPU VMs; use every logical CPU unless the user chose with OMP_NUM_THREADS.
  if (std::getenv("OMP_NUM_THREADS") == nullptr && std::getenv("MKL_NUM_THREADS") == nullptr) {
    const int hw = static_cast<int>(std::thread::hardware_concurrency());
    if (hw > 0 && at::get_num_threads() < hw) at::set_num_threads(hw);
  }

  CLI::App app{"covergen: album covers conditioned on music"};
  app.require_subcommand(1);
  app.fallthrough();  // root options (--plugin-dir, ...) may follow the subcommand
  app.footer(
      "Exit codes: 0 ok, 1 runtime failure, 2 plugin missing/incompatible/untrusted, 3 bad input; "
      "parse errors keep CLI11's codes (1xx).\n"
      "Plugins are searched in --plugin-dir, $COVERGEN_PLUGIN_PATH, then beside libcovergen_core.");
  app.set_version_flag("-V,--version", version_text, "Print the version, the torch version and visible devices");
  auto& g = covergen::cli::global_options();
  app.add_option("--plugin-dir", g.plugin_dirs, "Extra plugin folder searched first (repeatable)");
  app.add_flag("--allow-untrusted-plugins", g.allow_untrusted_plugins,
               "Load plugin files or folders that other users can write");
  for (const auto& [name, setup] : covergen::cli::registered_commands()) setup(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const covergen::Error& e) {
    std::cerr << "covergen: error: " << e.what() << '\n';
    return static_cast<int>(e.code());
  } catch (const c10::Error& e) {
    std::cerr << "covergen: error (torch): " << e.what_without_backtrace() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "covergen: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
