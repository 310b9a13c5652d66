// The one exception hierarchy of CoverGen. Every error carries the process exit
// code the CLI maps it to, and its message names the file and what to do.
#pragma once

#include <stdexcept>
#include <string>

namespace covergen {

/// Exit codes of the `covergen` CLI (parse errors keep CLI11's own 1xx codes).
enum class ExitCode : int {
  ok = 0,
  runtime = 1,   ///< a failure while running (training diverged, out of disk, ...)
  plugin = 2,    ///< a plugin is missing, incompatible, untrusted or broken
  bad_input = 3, ///< an input file or argument is unusable (names the file)
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ExitCode code = ExitCode::runtime);
  ~Error() override;  // out of line: the key function keeps typeinfo in one place
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

/// A plugin could not be found, loaded, validated or created.
class PluginError : public Error {
 public:
  explicit PluginError(const std::string& message);
  ~PluginError() override;
};

/// An input (file, dataset row, model file, argument value) is unusable.
class InputError : public Error {
 public:
  explicit InputError(const std::string& message);
  /// "<path>: <problem>", the form every file-related message takes.
  InputError(const std::string& path, const std::string& problem);
  ~InputError() override;
};

}  // namespace covergen
