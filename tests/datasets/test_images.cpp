#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <covergen/data/dataset.hpp>
#include <covergen/data/image.hpp>
#include <covergen/data/image_cache.hpp>

#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <thread>
#include <vector>

using namespace covergen::data;
using covergen::test::make_cmyk_jpeg;
using covergen::test::make_image;
using covergen::test::TempDir;
using covergen::test::write_text;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

struct Result {
  bool ok;
  std::string error;
  std::vector<std::uint8_t> pixels;  // planar RGB
};

Result run(const std::string& bytes, int size = 32) {
  Result r;
  r.pixels.assign(3u * size * size, 0);
  r.ok = preprocess_image(bytes, size, r.pixels.data(), r.error);
  return r;
}

/// Mean of channel c (0 R, 1 G, 2 B) over columns [x0, x1) (and rows [y0, y1)) of a planar image.
double mean(const Result& r, int size, int c, int x0, int x1, int y0 = 0, int y1 = -1) {
  double s = 0;
  int n = 0;
  if (y1 < 0) y1 = size;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x, ++n) s += r.pixels[static_cast<std::size_t>(c * size * size + y * size + x)];
  return s / n;
}

/// A valid JPEG whose SOF claims w x h.
std::string jpeg_claiming(std::uint32_t w, std::uint32_t h) {
  std::string j = make_image(64, 64, ".jpg");
  for (std::size_t i = 2; i + 9 < j.size(); ++i) {
    if (static_cast<unsigned char>(j[i]) == 0xFF && (static_cast<unsigned char>(j[i + 1]) == 0xC0 ||
                                                      static_cast<unsigned char>(j[i + 1]) == 0xC2)) {
      j[i + 5] = static_cast<char>(h >> 8); j[i + 6] = static_cast<char>(h & 0xFF);
      j[i + 7] = static_cast<char>(w >> 8); j[i + 8] = static_cast<char>(w & 0xFF);
      return j;
    }
  }
  return {};
}

}  // namespace

TEST_CASE("images: the header probe reads JPEG, PNG and WebP dimensions") {
  ImageHeader h;
  std::string err;
  REQUIRE(probe_image(make_image(120, 80, ".jpg"), h, err));
  CHECK(h.format == ImageFormat::jpeg);
  CHECK(h.width == 120);
  CHECK(h.height == 80);
  CHECK(h.channels == 3);
  REQUIRE(probe_image(make_image(33, 44, ".png", 4), h, err));
  CHECK(h.format == ImageFormat::png);
  CHECK(h.width == 33);
  CHECK(h.height == 44);
  CHECK(h.channels == 4);
  REQUIRE(probe_image(make_image(50, 60, ".png", 3, true), h, err));
  CHECK(h.bit_depth == 16);
  if (const auto cmyk = make_cmyk_jpeg(40, 30); !cmyk.empty()) {
    REQUIRE(probe_image(cmyk, h, err));
    CHECK(h.cmyk);
    CHECK(h.width == 40);
  }
  if (cv::haveImageWriter(".webp")) {
    REQUIRE(probe_image(make_image(70, 90, ".webp"), h, err));
    CHECK(h.format == ImageFormat::webp);
    CHECK(h.width == 70);
    CHECK(h.height == 90);
  }
  CHECK_FALSE(probe_image("GIF89a........", h, err));
  CHECK(contains(err, "unrecognised"));
}

TEST_CASE("images: JPEG, PNG and WebP become square 8-bit RGB of the training size") {
  for (std::string ext : {".jpg", ".png", ".webp"}) {
    if (!cv::haveImageWriter(ext)) continue;
    INFO(ext);
    // 200x100: the centre 100x100 is kept; the disc (BGR 20,200,240 = RGB 240,200,20) is in the middle.
    auto r = run(make_image(200, 100, ext), 32);
    REQUIRE(r.ok);
    CHECK(mean(r, 32, 0, 14, 18, 14, 18) > 200);  // red of the disc centre
    CHECK(mean(r, 32, 2, 14, 18, 14, 18) < 80);
  }
  for (int size : {32, 64, 128, 256}) {
    auto r = run(make_image(640, 640, ".jpg"), size);
    CHECK(r.ok);
  }
}

TEST_CASE("images: grayscale, alpha, 16-bit and CMYK are converted") {
  auto gray = run(make_image(64, 64, ".png", 1));
  REQUIRE(gray.ok);
  CHECK(mean(gray, 32, 0, 0, 32) == Approx(mean(gray, 32, 1, 0, 32)));
  auto gray_jpeg = run(make_image(64, 64, ".jpg", 1));
  REQUIRE(gray_jpeg.ok);

  auto alpha = run(make_image(64, 64, ".png", 4));
  REQUIRE(alpha.ok);
  // Left half transparent -> white; right half opaque gradient (red channel 37).
  CHECK(mean(alpha, 32, 0, 0, 8) > 250);
  CHECK(mean(alpha, 32, 0, 28, 32) < 60);

  auto deep = run(make_image(64, 64, ".png", 3, true));
  REQUIRE(deep.ok);
  auto shallow = run(make_image(64, 64, ".png", 3, false));
  REQUIRE(shallow.ok);
  for (int c = 0; c < 3; ++c) CHECK(mean(deep, 32, c, 0, 32) == Approx(mean(shallow, 32, c, 0, 32)).margin(1.0));

  const std::string cmyk_bytes = make_cmyk_jpeg(64, 64);
  if (cmyk_bytes.empty()) {
    WARN("built without libjpeg (install libjpeg-dev): the CMYK JPEG check is skipped");
    return;
  }
  auto cmyk = run(cmyk_bytes);
  REQUIRE(cmyk.ok);
  // Left half cyan ink: R low, G and B high; right half paper white.
  CHECK(mean(cmyk, 32, 0, 0, 12) < 60);
  CHECK(mean(cmyk, 32, 2, 0, 12) > 200);
  CHECK(mean(cmyk, 32, 0, 20, 32) > 200);
}

TEST_CASE("images: corrupt, truncated, empty and tiny images are refused with a reason") {
  const std::string jpg = make_image(128, 128, ".jpg");
  auto zero = run("");
  CHECK_FALSE(zero.ok);
  CHECK(contains(zero.error, "0 bytes"));

  auto truncated = run(jpg.substr(0, jpg.size() / 2));
  CHECK_FALSE(truncated.ok);
  CHECK(contains(truncated.error, "truncated"));
  auto header_only = run(jpg.substr(0, 40));
  CHECK_FALSE(header_only.ok);

  std::string corrupt = jpg;
  for (std::size_t i = 3; i < 200 && i < corrupt.size(); ++i) corrupt[i] = static_cast<char>(0x5A);
  auto c1 = run(corrupt);
  CHECK_FALSE(c1.ok);
  INFO(c1.error);
  CHECK(contains(c1.error, "JPEG"));
  auto garbage = run(std::string(5000, 'z'));
  CHECK_FALSE(garbage.ok);

  std::string png = make_image(64, 64, ".png");
  std::string bad_png = png;
  for (std::size_t i = png.size() / 2; i < png.size() / 2 + 64; ++i) bad_png[i] = static_cast<char>(~bad_png[i]);
  auto c2 = run(bad_png);
  CHECK_FALSE(c2.ok);
  auto c3 = run(png.substr(0, png.size() - 30));
  CHECK_FALSE(c3.ok);

  auto tiny = run(make_image(1, 1, ".png"));
  CHECK_FALSE(tiny.ok);
  CHECK(contains(tiny.error, "1x1"));
  auto tiny_jpeg = run(make_image(1, 1, ".jpg"));
  CHECK_FALSE(tiny_jpeg.ok);
}

TEST_CASE("images: a 30000x30000 image is refused before decoding") {
  auto j = jpeg_claiming(30000, 30000);
  REQUIRE_FALSE(j.empty());
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run(j);
  CHECK_FALSE(r.ok);
  CHECK(contains(r.error, "30000x30000"));
  CHECK(contains(r.error, "refused before decoding"));
  // A PNG header claiming the same, with no pixel data at all.
  std::string png = make_image(64, 64, ".png");
  for (int k = 0; k < 2; ++k) {
    const std::uint32_t v = 30000;
    for (int b = 0; b < 4; ++b) png[static_cast<std::size_t>(16 + 4 * k + b)] = static_cast<char>((v >> (24 - 8 * b)) & 0xFF);
  }
  auto p = run(png);
  CHECK_FALSE(p.ok);
  CHECK(contains(p.error, "refused before decoding"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
}

TEST_CASE("cache: built once with threads, memory-mapped, bad covers reported, rebuilt when covers change") {
  TempDir dir("cache");
  std::string csv = "id,audio,cover\n";
  for (int i = 0; i < 12; ++i) {
    const std::string id = "t" + std::to_string(i);
    write_text(dir / ("audio/" + id + ".mp3"), "x");
    std::string bytes = make_image(96 + 8 * i, 80, i % 2 ? ".png" : ".jpg", 3, false, static_cast<std::uint32_t>(i));
    if (i == 5) bytes = bytes.substr(0, bytes.size() / 3);  // truncated
    if (i == 7) bytes.clear();                              // zero bytes
    write_text(dir / ("covers/" + id + ".img"), bytes);
    csv += id + ",audio/" + id + ".mp3,covers/" + id + ".img\n";
  }
  write_text(dir / "tracks.csv", csv);
  auto ds = Dataset::open(dir.path());
  REQUIRE(ds.size() == 12);
  CacheOptions opt;
  opt.size = 32;
  opt.threads = 3;
  std::size_t last = 0;
  opt.on_progress = [&](std::size_t done, std::size_t) { last = std::max(last, done); };
  auto cache = CoverCache::open_or_build(ds, opt);
  CHECK(cache.was_built());
  CHECK(last == 12);
  CHECK(cache.count() == 12);
  CHECK(cache.valid_count() == 10);
  CHECK_FALSE(cache.valid(5));
  CHECK_FALSE(cache.valid(7));
  auto bad = cache.bad_images(ds);
  REQUIRE(bad.size() == 2);
  CHECK(bad[0].line == 7);
  CHECK(contains(bad[0].to_string(), "tracks.csv:7"));
  CHECK(contains(bad[1].problem, "0 bytes"));

  // Same pixels as preprocessing directly, single-threaded.
  std::vector<std::uint8_t> direct(3 * 32 * 32);
  std::string err;
  REQUIRE(preprocess_image_file(ds.tracks()[3].cover, 32, direct.data(), err));
  CHECK(std::equal(direct.begin(), direct.end(), cache.image(3)));

  // Reopening does not rebuild; touching a cover does.
  auto again = CoverCache::open_or_build(ds, opt);
  CHECK_FALSE(again.was_built());
  CHECK(again.bad_images(ds).size() == 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  write_text(dir / "covers/t5.img", make_image(64, 64, ".jpg"));
  auto ds2 = Dataset::open(dir.path());
  auto rebuilt = CoverCache::open_or_build(ds2, opt);
  CHECK(rebuilt.was_built());
  CHECK(rebuilt.valid(5));
  CHECK(rebuilt.valid_count() == 11);
  // No temp file is left behind.
  for (const auto& e : std::filesystem::directory_iterator(dir / ".covergen-cache"))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
}
