// Data-parallel training across processes and machines on torch's c10d: rendezvous
// through a TCPStore, ProcessGroupGloo on the CPU, ProcessGroupNCCL for CUDA devices
// when LibTorch was built with it. Launcher conventions are torchrun's (RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT); `launch_local_workers` is
// `covergen train --nproc N`. docs/distributed.md has the how and the why.
#pragma once

#include "covergen/engine/gradient_sync.hpp"

#include <c10/core/Device.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace covergen::distributed {

/// Where this process sits in the group, from the launcher's environment.
struct WorkerEnv {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// The TCPStore is hosted by the launcher (COVERGEN_STORE_HOSTED=1, or torchrun's
  /// TORCHELASTIC_USE_AGENT_STORE=True), not by rank 0, so it outlives any one worker.
  bool store_hosted = false;
  /// Collective and rendezvous timeout (COVERGEN_DIST_TIMEOUT_S, default 120 s): the
  /// longest a rank waits for a live but silent peer. A peer whose process died is
  /// noticed at once (its sockets close).
  std::chrono::seconds timeout{120};
  bool distributed() const { return world_size > 1; }
};

/// Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (and the two
/// COVERGEN_ variables above). Without WORLD_SIZE: one process. Throws InputError
/// naming the variable when a value is malformed or inconsistent.
WorkerEnv worker_env_from_environment();

/// Joins the group (blocks until all world_size ranks have joined or the timeout):
/// Gloo for a CPU device, NCCL for CUDA (when built with USE_C10D_NCCL). Installs
/// synchronised BatchNorm (covergen/nn/batch_norm_sync.hpp) for the group's life and
/// starts a heartbeat, so that when a collective fails the error names the rank that
/// is gone. Errors are covergen::Error.
std::shared_ptr<engine::GradientSync> join_group(const WorkerEnv& env, c10::Device device);

/// Runs `argv` (argv[0] is ignored; this executable runs) as `nproc` local workers
/// with RANK/LOCAL_RANK 0..nproc-1, WORLD_SIZE nproc, MASTER_ADDR 127.0.0.1 and a free
/// MASTER_PORT, hosting their TCPStore itself; OMP_NUM_THREADS, unless set, becomes
/// cores / nproc. Waits for all; when one fails, stops the others (SIGTERM, then
/// SIGKILL after 10 s) and throws covergen::Error with that worker's exit code.
void launch_local_workers(int nproc, const std::vector<std::string>& argv);

}  // namespace covergen::distributed
