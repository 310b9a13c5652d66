// Running the covergen CLI from tests: spawn with output captured to a file,
// wait with a timeout, kill with a signal. POSIX only.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace covergen::test {

struct ProcessResult {
  bool exited = false;     ///< exited normally (exit_code valid)
  int exit_code = -1;
  int signal = 0;          ///< the signal that ended it, 0 when it exited
  bool timed_out = false;  ///< killed by run() after the timeout
  double seconds = 0.0;
  std::string output;      ///< stdout and stderr, interleaved
  std::string describe() const;  ///< "exit 3", "signal 9", "timed out after 30 s"
};

/// A started child process; killed (SIGKILL) and reaped on destruction if still running.
class Process {
 public:
  /// Starts `argv` with stdout+stderr to `log` (truncated) and stdin from /dev/null.
  Process(const std::vector<std::string>& argv, const std::filesystem::path& log,
          const std::vector<std::string>& env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /// Sends `sig` (no-op once reaped).
  void kill(int sig);
  /// Waits up to `timeout`; on timeout kills it with SIGKILL and reports timed_out.
  ProcessResult wait(std::chrono::milliseconds timeout);
  /// True while it has not exited (reaps it if it has).
  bool running();
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::filesystem::path log_;
  std::chrono::steady_clock::time_point start_;
};

/// Runs to completion (or timeout) and returns the result with its output.
ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::vector<std::string>& env = {});

std::string read_text(const std::filesystem::path& path);

/// A fresh folder under $TMPDIR (or /tmp), removed on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag);
  ~ScratchDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace covergen::test
