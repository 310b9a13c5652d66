// Helpers shared by the dataset tests: temp folders and generated images.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace covergen::test {

/// A fresh folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_text(const std::filesystem::path& path, const std::string& text);
std::string read_bytes(const std::filesystem::path& path);

/// A w x h image with a gradient and a disc, encoded by OpenCV. `ext` is ".jpg",
/// ".png" or ".webp"; `channels` 1, 3 or 4; `depth16` writes 16-bit PNG.
std::string make_image(int w, int h, const std::string& ext, int channels = 3, bool depth16 = false,
                       std::uint32_t seed = 1);
/// A CMYK JPEG (libjpeg, Adobe inverted convention as Photoshop writes it); empty
/// when the tests were built without libjpeg.
std::string make_cmyk_jpeg(int w, int h);

}  // namespace covergen::test
