#include "covergen/progress.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/ioctl.h>
#include <unistd.h>

namespace covergen {

bool Progress::stderr_is_terminal() {
  if (!::isatty(STDERR_FILENO)) return false;
  const char* term = std::getenv("TERM");
  return term == nullptr || std::strcmp(term, "dumb") != 0;
}

Progress::Progress(std::string label, std::int64_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled && stderr_is_terminal()),
      start_(std::chrono::steady_clock::now()), last_draw_() {}

Progress::~Progress() { finish(); }

void Progress::update(std::int64_t done, const std::string& status) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  bool last = total_ > 0 && done >= total_;
  if (drawn_ && !last && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  char buf[256];
  std::string text = label_;
  if (total_ > 0) {
    double rate = secs > 0 ? done / secs : 0.0;
    double eta = rate > 0 ? (total_ - done) / rate : 0.0;
    std::snprintf(buf, sizeof buf, " [%lld/%lld] %.1f/s ETA %.0fs", static_cast<long long>(done),
                  static_cast<long long>(total_), rate, eta);
  } else {
    std::snprintf(buf, sizeof buf, " [%lld] %.0fs", static_cast<long long>(done), secs);
  }
  text += buf;
  if (!status.empty()) text += " " + status;
  draw(text);
}

void Progress::draw(const std::string& text) {
  struct winsize ws {};
  std::size_t width = 80;
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) width = ws.ws_col;
  std::string line = text.size() >= width ? text.substr(0, width - 1) : text;
  std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (enabled_ && drawn_) {
    std::fprintf(stderr, "\r\x1b[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace covergen
