// A one-line progress display on stderr, in the style of ninja's line printer:
// overwritten in place on a terminal, silent otherwise (logs stay quiet when
// redirected; data goes to stdout).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace covergen {

class Progress {
 public:
  /// `total` may be 0 when unknown. `enabled=false` forces silence (--quiet/--json).
  Progress(std::string label, std::int64_t total, bool enabled = true);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Sets the done count and an optional status text; redraws at most ~10x/s.
  void update(std::int64_t done, const std::string& status = {});
  /// Clears the line (prints nothing if nothing was drawn).
  void finish();
  bool active() const noexcept { return enabled_; }

  /// True when stderr is a terminal that understands "\r\x1b[K".
  static bool stderr_is_terminal();

 private:
  void draw(const std::string& text);
  std::string label_;
  std::int64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace covergen
