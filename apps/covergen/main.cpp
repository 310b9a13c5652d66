// covergen: the command-line front end. A thin layer: each subcommand is its own
// cmd_<name>.cpp over the libraries.
#include "cli.hpp"

#include <covergen/cpu_features.hpp>
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
  // The machine every figure is taken on: processor, its features, the kernels chosen.
  const auto k = covergen::cpu_kernels();
  s += "\ncpu: " + (k.model.empty() ? std::string("unknown") : k.model) + ", " +
       std::to_string(std::thread::hardware_concurrency()) + " logical CPUs";
  if (k.cap != "native") s += " (COVERGEN_CPU_ISA=" + k.cap + ")";
  s += "\ncpu features: " + k.flags;
  s += "\nkernels: oneDNN " + (k.onednn_version.empty() ? std::string("?") : k.onednn_version) + " " +
       (k.onednn_isa.empty() ? std::string("(isa unknown)") : k.onednn_isa) + ", ATen " + k.aten_capability;
  if (!k.blas.empty()) s += ", " + k.blas;
  s += ", " + std::to_string(k.threads) + " threads";
  // OpenBLAS 0.3.21 (bookworm) falls back to its generic Prescott (SSE3) kernels on
  // processors it does not know, e.g. Xeons of family 6 model 207: 3.8x slower sgemm.
  if (k.blas == "OpenBLAS Prescott" && std::getenv("OPENBLAS_CORETYPE") == nullptr) {
    const auto native = covergen::detect_cpu_features("native");
    if (native.avx2)
      s += std::string("\nhint: OpenBLAS does not know this CPU and runs generic SSE3 kernels; OPENBLAS_CORETYPE=") +
           (native.avx512f && native.avx512bw && native.avx512vl ? "SkylakeX" : "Haswell") +
           " selects its vector kernels (docs/performance.md)";
  }
  const std::string no_bf16 = covergen::bf16_unavailable_reason();
  s += "\nbfloat16: " + (no_bf16.empty() ? std::string("native (--precision bfloat16 available)") : "unavailable: " + no_bf16);
  return s;
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
