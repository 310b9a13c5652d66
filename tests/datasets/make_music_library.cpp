// Writes a music library for timing `covergen dataset import` (docs/datasets.md):
//   covergen_make_music_library OUT [--tracks 1000] [--per-album 10] [--seconds 5] [--threads 2]
// Albums rotate mp3 (lame --ti), FLAC (flac + metaflac --import-picture-from) and Ogg
// Vorbis (oggenc + vorbiscomment METADATA_BLOCK_PICTURE); every fourth album has no
// embedded picture but a cover.jpg in its folder. Covers are 500x500 JPEGs, one per album.
#include "music_library.hpp"
#include "test_support.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT [--tracks N] [--per-album N] [--seconds S] [--threads N]\n", argv[0]);
    return 3;
  }
  const fs::path out = argv[1];
  int tracks = 1000, per_album = 10, threads = 2;
  double seconds = 5.0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--tracks")) tracks = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--per-album")) per_album = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 3;
    }
  }
  const auto tools = covergen::test::music_tools();
  if (!tools.complete()) {
    std::fprintf(stderr, "missing tools: %s\n", tools.missing().c_str());
    return 3;
  }
  static const char* genres[] = {"Rock", "Jazz", "Electronic", "Hip-Hop", "Folk", "(17)", "Pop; Dance", "classical"};
  const int albums = (tracks + per_album - 1) / per_album;
  std::atomic<int> next{0}, failed{0};
  auto work = [&] {
    for (int a; (a = next++) < albums;) {
      const std::string cover = covergen::test::make_image(500, 500, ".jpg", 3, false, static_cast<std::uint32_t>(a + 1));
      const char* exts[] = {".mp3", ".flac", ".ogg"};
      const std::string ext = exts[a % 3];
      const bool folder_art = a % 4 == 3;
      const fs::path dir = out / ("Artist " + std::to_string(a % 37)) / ("Album " + std::to_string(a));
      if (folder_art) covergen::test::write_text(dir / "cover.jpg", cover);
      for (int t = 0; t < per_album && a * per_album + t < tracks; ++t) {
        char name[32];
        std::snprintf(name, sizeof name, "%02d%s", t + 1, ext.c_str());
        covergen::test::TrackSpec s{dir / name, "Artist " + std::to_string(a % 37), "", "Album " + std::to_string(a),
                                    "Track " + std::to_string(t + 1), genres[a % 8], std::to_string(1970 + a % 50),
                                    t + 1, folder_art ? std::string() : cover, seconds, 110.0 + 20.0 * (a % 17) + 5.0 * t};
        try {
          covergen::test::make_track(tools, s);
        } catch (const std::exception& e) {
          std::cerr << e.what() << '\n';
          ++failed;
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < std::max(1, threads); ++i) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  std::printf("%d tracks in %d albums written to %s (%d failed)\n", tracks, albums, out.c_str(), failed.load());
  return failed ? 1 : 0;
}
