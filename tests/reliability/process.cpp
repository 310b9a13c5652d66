#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace covergen::test {

std::string ProcessResult::describe() const {
  if (timed_out) return "timed out after " + std::to_string(seconds) + " s";
  if (signal) return "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  return "exit " + std::to_string(exit_code);
}

Process::Process(const std::vector<std::string>& argv, const fs::path& log, const std::vector<std::string>& env)
    : log_(log), start_(std::chrono::steady_clock::now()) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) throw std::runtime_error("cannot open " + log.string());
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out);
}

Process::~Process() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
}

void Process::kill(int sig) {
  if (!reaped_ && pid_ > 0) ::kill(pid_, sig);
}

bool Process::running() {
  if (reaped_) return false;
  const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) reaped_ = true;
  return !reaped_;
}

ProcessResult Process::wait(std::chrono::milliseconds timeout) {
  ProcessResult r;
  const auto deadline = start_ + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      reaped_ = true;
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (!r.timed_out) {
    if (WIFEXITED(status_)) {
      r.exited = true;
      r.exit_code = WEXITSTATUS(status_);
    } else if (WIFSIGNALED(status_)) {
      r.signal = WTERMSIG(status_);
    }
  } else {
    r.signal = SIGKILL;
  }
  r.output = read_text(log_);
  return r;
}

ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::vector<std::string>& env) {
  static int counter = 0;
  const fs::path log = fs::temp_directory_path() /
                       ("covergen-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".log");
  ProcessResult r;
  {
    Process p(argv, log, env);
    r = p.wait(timeout);
  }
  std::error_code ec;
  fs::remove(log, ec);
  return r;
}

std::string read_text(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

ScratchDir::ScratchDir(const std::string& tag) {
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("covergen-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (std::getenv("COVERGEN_KEEP_TEST_DIRS") == nullptr) fs::remove_all(path_, ec);
}

}  // namespace covergen::test
