// Crash-safe file writing: everything CoverGen writes goes to a temporary file in
// the destination folder and is renamed over the target only once complete, so a
// reader (or a rerun after kill -9) sees either the old file or the new one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace covergen {

/// Writes `bytes` to `path` atomically (temp file, fsync, rename, fsync dir).
/// Throws covergen::Error naming the path on failure; the target is untouched then.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

/// Streams into a temp file through `writer`, then renames it over `path`.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& writer);

/// Reads a whole file; throws InputError("<path>: ...") when it cannot.
std::string read_file(const std::filesystem::path& path);

/// The temp name used for `path` by this process (exposed for tests/cleanup).
std::filesystem::path temp_path_for(const std::filesystem::path& path);

}  // namespace covergen
