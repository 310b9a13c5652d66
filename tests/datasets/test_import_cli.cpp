// Issue 19 end to end through the CLI, on a music library made here with the real
// tools: dataset import -> features (the recorded excerpts are what is read) ->
// encoder fit (PCA) -> 5 training steps conditioned on the encoder -> generate from a
// track of the library. Tiny settings: well under two minutes on two cores.
#include "music_library.hpp"
#include "test_support.hpp"

#include <covergen/data/dataset.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cmath>

namespace fs = std::filesystem;
namespace data = covergen::data;
using covergen::test::make_image;
using covergen::test::TempDir;

namespace {

std::string cli(std::vector<std::string> args, int expect = 0) {
  args.insert(args.begin(), COVERGEN_CLI);
  std::string out;
  const int rc = covergen::test::run_command(args, &out);
  std::string cmd;
  for (const auto& a : args) cmd += a + " ";
  INFO(cmd << "\n" << out);
  REQUIRE(rc == expect);
  return out;
}

// The JSON document at the end of stdout (logs may precede it).
nlohmann::json last_json(const std::string& out) {
  const auto b = out.find("{\n");
  REQUIRE(b != std::string::npos);
  return nlohmann::json::parse(out.substr(b));
}

}  // namespace

TEST_CASE("import -> features -> encoder fit -> train -> generate on an imported music library", "[import][cli]") {
  const auto tools = covergen::test::music_tools();
  if (!tools.complete()) {
    WARN("skipped: the import tests need " << tools.missing() << " (bash .ci/install-deps)");
    return;
  }
  TempDir tmp("import-cli");
  const fs::path music = tmp / "music", ds = tmp / "ds", enc = tmp / "pca.cvgn", run = tmp / "run",
                 covers = tmp / "covers";
  // Four albums of four tracks: three whose album key falls in train, one outside it,
  // so training has 12 tracks and the split provably goes by album.
  int train_albums = 0, other_albums = 0;
  const char* exts[] = {".mp3", ".flac", ".ogg"};
  std::vector<fs::path> tracks;
  for (int k = 0; train_albums < 3 || other_albums < 1; ++k) {
    const std::string album = "Album " + std::to_string(k);
    const bool train = data::split_of("artist - album " + std::to_string(k)) == data::Split::train;
    if (train ? train_albums >= 3 : other_albums >= 1) continue;
    (train ? train_albums : other_albums)++;
    const int n = train_albums + other_albums;
    const std::string cover = make_image(240, 240, ".jpg", 3, false, static_cast<std::uint32_t>(k + 1));
    for (int t = 0; t < 4; ++t) {
      covergen::test::TrackSpec s{music / album / ("0" + std::to_string(t + 1) + exts[n % 3]), "Artist", "", album,
                                  "T" + std::to_string(t), n % 2 ? "Rock" : "Jazz", "2000", t + 1, cover, 6.0,
                                  150.0 + 40.0 * n + 10.0 * t};
      covergen::test::make_track(tools, s);
      tracks.push_back(s.file);
    }
  }

  const auto imp = last_json(cli({"dataset", "import", music.string(), "--out", ds.string(), "--excerpt", "4",
                                  "--threads", "2", "--json", "-q"}));
  CHECK(imp.at("tracks") == 16);
  CHECK(imp.at("albums") == 4);
  CHECK(imp.at("covers") == 4);
  CHECK(imp.at("problems").empty());
  CHECK(imp.at("splits").at("train") == 12);

  // Features read the recorded excerpt (the middle 4 s of each 6 s track), not the whole file.
  const fs::path store = ds / ".covergen-cache" / "features";
  const auto feats = last_json(cli({"features", ds.string(), "--out", store.string(), "-j", "2", "--json", "-q"}));
  CHECK(feats.at("extracted") == 16);
  CHECK(feats.at("failed") == 0);
  CHECK(feats.at("audio_seconds").get<double>() == Approx(16 * 4.0).margin(0.5));

  cli({"encoder", "fit", "--plugin", "pca", "--data", ds.string(), "--out", enc.string(), "--dim", "3", "-j", "2", "-q"});
  REQUIRE(fs::exists(enc));
  cli({"train", "--data", ds.string(), "--condition", enc.string(), "--out", run.string(), "--image-size", "32",
       "--batch", "4", "--steps", "5", "--gan-config", R"({"ngf":8,"ndf":8})", "--device", "cpu", "-q"});
  REQUIRE(fs::exists(run / "generator.cvgn"));
  cli({"generate", "--model", run.string(), tracks.front().string(), "-n", "2", "--out", covers.string(), "--device",
       "cpu", "-q"});
  int pngs = 0;
  for (const auto& e : fs::directory_iterator(covers))
    if (e.path().extension() == ".png") {
      const cv::Mat img = cv::imread(e.path().string());
      REQUIRE(!img.empty());
      ++pngs;
    }
  CHECK(pngs >= 2);

  // A rerun with nothing changed reads nothing again.
  const auto again = last_json(cli({"dataset", "import", music.string(), "--out", ds.string(), "--excerpt", "4", "--json", "-q"}));
  CHECK(again.at("reused") == 16);
  CHECK(again.at("added") == 0);
}
