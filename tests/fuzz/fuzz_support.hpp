// Helpers shared by the fuzz targets: bytes to a file the parsers can open.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace fuzz {

/// An anonymous in-memory file (memfd) holding `bytes`; path() opens it by name.
class MemFile {
 public:
  explicit MemFile(std::string_view bytes) {
    fd_ = ::memfd_create("covergen-fuzz", MFD_CLOEXEC);
    if (fd_ < 0) std::abort();
    std::size_t off = 0;
    while (off < bytes.size()) {
      ssize_t w = ::write(fd_, bytes.data() + off, bytes.size() - off);
      if (w <= 0) std::abort();
      off += static_cast<std::size_t>(w);
    }
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_ = -1;
};

/// A per-process scratch folder on tmpfs (/dev/shm when present), removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    auto d = base / ("covergen-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

inline void write_bytes(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Splits `data` at the first `parts-1` occurrences of `sep` (missing parts are empty).
template <std::size_t N>
void split(std::string_view data, char sep, std::string_view (&out)[N]) {
  for (std::size_t i = 0; i < N; ++i) {
    if (i + 1 == N) { out[i] = data; break; }
    auto p = data.find(sep);
    if (p == std::string_view::npos) { out[i] = data; data = {}; continue; }
    out[i] = data.substr(0, p);
    data.remove_prefix(p + 1);
  }
}

}  // namespace fuzz
