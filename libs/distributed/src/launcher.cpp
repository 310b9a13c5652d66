// torchrun's environment conventions and the local launcher (`covergen train --nproc N`).
#include "covergen/distributed/distributed.hpp"

#include "covergen/errors.hpp"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace covergen::distributed {

namespace {

const char* env_or_null(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

long env_int(const char* name, long fallback, long lo, long hi) {
  const char* v = env_or_null(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi)
    throw InputError(std::string("environment variable ") + name + "=" + v + ": expected an integer in [" +
                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

volatile std::sig_atomic_t g_stop_signal = 0;
void on_stop_signal(int sig) { g_stop_signal = sig; }

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  return "status " + std::to_string(status);
}

}  // namespace

WorkerEnv worker_env_from_environment() {
  WorkerEnv e;
  e.world_size = static_cast<int>(env_int("WORLD_SIZE", 1, 1, 1 << 20));
  e.rank = static_cast<int>(env_int("RANK", 0, 0, e.world_size - 1));
  e.local_rank = static_cast<int>(env_int("LOCAL_RANK", e.rank, 0, 1 << 20));
  if (const char* a = env_or_null("MASTER_ADDR")) e.master_addr = a;
  e.master_port = static_cast<int>(env_int("MASTER_PORT", 29500, 1, 65535));
  e.store_hosted = env_int("COVERGEN_STORE_HOSTED", 0, 0, 1) == 1;
  // torchrun's agent hosts the store at MASTER_ADDR:MASTER_PORT itself (--no-python runs covergen under it).
  if (const char* agent = env_or_null("TORCHELASTIC_USE_AGENT_STORE"); agent && std::string(agent) == "True")
    e.store_hosted = true;
  e.timeout = std::chrono::seconds(env_int("COVERGEN_DIST_TIMEOUT_S", 120, 1, 86400));
  if (e.world_size > 1 && !env_or_null("RANK"))
    throw InputError("environment: WORLD_SIZE=" + std::to_string(e.world_size) +
                     " but RANK is not set (a data-parallel worker needs RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)");
  return e;
}

void launch_local_workers(int nproc, const std::vector<std::string>& argv) {
  if (nproc < 1) throw InputError("--nproc " + std::to_string(nproc) + ": expected at least 1");
  if (env_or_null("WORLD_SIZE") && std::atoi(std::getenv("WORLD_SIZE")) > 1)
    throw InputError("--nproc: this process is already a data-parallel worker (WORLD_SIZE is set); use one or the other");
  // The store lives here, so it outlives any one worker and a dead rank 0 is named as such.
  c10d::TCPStoreOptions so;
  so.port = 0;  // a free port, picked by the kernel
  so.isServer = true;
  so.waitWorkers = false;
  so.timeout = std::chrono::seconds(env_int("COVERGEN_DIST_TIMEOUT_S", 120, 1, 86400));
  c10::intrusive_ptr<c10d::TCPStore> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", so);
  } catch (const std::exception& e) {
    throw Error(std::string("--nproc: cannot host the rendezvous store on 127.0.0.1: ") + e.what());
  }
  const int port = store->getPort();
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const std::string omp = std::to_string(std::max(1u, cores / static_cast<unsigned>(nproc)));

  // Everything exec needs is built before fork (only async-signal-safe calls after it).
  std::vector<std::string> base_env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    if (key == "RANK" || key == "LOCAL_RANK" || key == "WORLD_SIZE" || key == "LOCAL_WORLD_SIZE" ||
        key == "MASTER_ADDR" || key == "MASTER_PORT" || key == "COVERGEN_STORE_HOSTED")
      continue;
    base_env.push_back(kv);
  }
  if (!env_or_null("OMP_NUM_THREADS")) base_env.push_back("OMP_NUM_THREADS=" + omp);
  base_env.push_back("WORLD_SIZE=" + std::to_string(nproc));
  base_env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
  base_env.push_back("MASTER_ADDR=127.0.0.1");
  base_env.push_back("MASTER_PORT=" + std::to_string(port));
  base_env.push_back("COVERGEN_STORE_HOSTED=1");
  std::vector<std::string> args = argv;
  if (args.empty()) args.push_back("covergen");
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  static const char kSelf[] = "/proc/self/exe";

  struct sigaction sa {}, old_int {}, old_term {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  std::vector<pid_t> pids(static_cast<std::size_t>(nproc), -1);
  std::vector<int> status(static_cast<std::size_t>(nproc), 0);
  // Waits up to `grace` for the workers to end on their own, then SIGTERM, 5 s, SIGKILL.
  auto reap_until = [&](std::chrono::steady_clock::time_point until) {
    for (;;) {
      bool any = false;
      for (std::size_t i = 0; i < pids.size(); ++i) {
        if (pids[i] <= 0) continue;
        if (::waitpid(pids[i], &status[i], WNOHANG) == pids[i]) pids[i] = -1;
        else any = true;
      }
      if (!any || std::chrono::steady_clock::now() > until) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  auto stop_all = [&](std::chrono::seconds grace) {
    reap_until(std::chrono::steady_clock::now() + grace);
    for (pid_t p : pids)
      if (p > 0) ::kill(p, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      bool any = false;
      for (std::size_t i = 0; i < pids.size(); ++i) {
        if (pids[i] <= 0) continue;
        if (::waitpid(pids[i], &status[i], WNOHANG) == pids[i]) pids[i] = -1;
        else any = true;
      }
      if (!any) return;
      if (std::chrono::steady_clock::now() > until) {
        for (std::size_t i = 0; i < pids.size(); ++i)
          if (pids[i] > 0) {
            ::kill(pids[i], SIGKILL);
            ::waitpid(pids[i], &status[i], 0);
            pids[i] = -1;
          }
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };

  for (int r = 0; r < nproc; ++r) {
    std::vector<std::string> env = base_env;
    env.push_back("RANK=" + std::to_string(r));
    env.push_back("LOCAL_RANK=" + std::to_string(r));
    std::vector<char*> cenv;
    for (auto& kv : env) cenv.push_back(kv.data());
    cenv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      stop_all(std::chrono::seconds(0));
      throw Error(std::string("--nproc: cannot start worker ") + std::to_string(r) + ": " + std::strerror(errno));
    }
    if (pid == 0) {
      ::execve(kSelf, cargv.data(), cenv.data());
      ::_exit(127);
    }
    pids[static_cast<std::size_t>(r)] = pid;
  }

  int failed_rank = -1, failed_status = 0;
  int running = nproc;
  while (running > 0) {
    if (g_stop_signal != 0) {
      stop_all(std::chrono::seconds(0));
      sigaction(SIGINT, &old_int, nullptr);
      sigaction(SIGTERM, &old_term, nullptr);
      throw Error("--nproc: stopped by signal " + std::to_string(g_stop_signal) + "; workers stopped");
    }
    int st = 0;
    const pid_t p = ::waitpid(-1, &st, WNOHANG);
    if (p <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    for (int r = 0; r < nproc; ++r) {
      if (pids[static_cast<std::size_t>(r)] != p) continue;
      pids[static_cast<std::size_t>(r)] = -1;
      --running;
      if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0) && failed_rank < 0) {
        failed_rank = r;
        failed_status = st;
        std::cerr << "covergen: worker rank " << r << " ended with " << describe_status(st)
                  << "; stopping the other workers\n";
        // The others notice the lost rank themselves within seconds (heartbeat): let
        // them say so, then stop them.
        stop_all(std::chrono::seconds(10));
        running = 0;
      }
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (failed_rank >= 0) {
    int code = WIFEXITED(failed_status) ? WEXITSTATUS(failed_status) : 1;
    if (code < 1 || code > 3) code = 1;
    throw Error("--nproc: worker rank " + std::to_string(failed_rank) + " failed (" + describe_status(failed_status) +
                    "); the last checkpoint in the run folder stays loadable (rerun with --resume)",
                static_cast<ExitCode>(code));
  }
}

}  // namespace covergen::distributed
