// Output formats, palettes, filters and resampling. The PDF and SVG are rasterised by
// the reference tools (pdftoppm from poppler-utils, rsvg-convert from librsvg2-bin;
// .ci/install-deps installs both) and compared with the PNG pixel by pixel.
#include <catch2/catch.hpp>

#include <covergen/errors.hpp>
#include <covergen/finish/finish.hpp>
#include <covergen/finish/opencv.hpp>

#include <opencv2/imgcodecs.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace covergen::finish;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("covergen-finish-test-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A small "generated" cover: soft colour gradients with a few blobs.
Image synthetic_cover(int size) {
  Image im(size, size);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double u = x / double(size), v = y / double(size);
      const double blob = std::exp(-((u - 0.6) * (u - 0.6) + (v - 0.35) * (v - 0.35)) * 30);
      auto* p = im.pixel(x, y);
      p[0] = static_cast<std::uint8_t>(40 + 150 * u + 60 * blob);
      p[1] = static_cast<std::uint8_t>(30 + 90 * v + 40 * blob);
      p[2] = static_cast<std::uint8_t>(90 + 100 * (1 - u) * v);
    }
  return im;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  REQUIRE(a.size() == b.size());
  REQUIRE(a.type() == b.type());
  cv::Mat d;
  cv::absdiff(a, b, d);
  const cv::Scalar m = cv::mean(d);
  return (m[0] + m[1] + m[2]) / 3.0;
}

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

}  // namespace

TEST_CASE("all four formats are written and PDF and SVG look as the PNG does", "[finish]") {
  TempDir tmp;
  FinishOptions o;
  o.size = 600;
  o.artist = "Северный ветер";
  o.title = "Harbour Lights at Midnight";
  o.palette = parse_palette("dusk");
  o.filters = parse_filters("vignette:0.3");
  const Finished f = finish(synthetic_cover(64), o);
  REQUIRE(f.image.width == 600);
  REQUIRE(f.image.height == 600);
  const auto files = write_files(f, tmp.path, "cover", parse_formats("png,jpg,svg,pdf"));
  REQUIRE(files.size() == 4);
  for (const auto& p : files) REQUIRE(fs::file_size(p) > 1000);

  const cv::Mat png = cv::imread((tmp.path / "cover.png").string(), cv::IMREAD_COLOR);
  REQUIRE(!png.empty());
  CHECK(mean_abs_diff(png, to_mat(f.image)) == 0.0);  // lossless
  const std::string png_bytes = read_bytes(tmp.path / "cover.png");
  CHECK(png_bytes.find("sRGB") != std::string::npos);
  CHECK(png_bytes.find("pHYs") != std::string::npos);

  const cv::Mat jpg = cv::imread((tmp.path / "cover.jpg").string(), cv::IMREAD_COLOR);
  REQUIRE(!jpg.empty());
  CHECK(mean_abs_diff(jpg, png) < 2.0);

  REQUIRE(run("command -v pdftoppm") == 0);      // poppler-utils (.ci/install-deps)
  REQUIRE(run("command -v rsvg-convert") == 0);  // librsvg2-bin
  // PDF: 600 px at 300 dpi = 2 inches; pdftoppm at 300 dpi gives the PNG's grid back.
  REQUIRE(run("pdftoppm -r 300 -png -singlefile '" + (tmp.path / "cover.pdf").string() + "' '" +
              (tmp.path / "from_pdf").string() + "'") == 0);
  const cv::Mat from_pdf = cv::imread((tmp.path / "from_pdf.png").string(), cv::IMREAD_COLOR);
  REQUIRE(!from_pdf.empty());
  REQUIRE(from_pdf.cols == 600);
  const double pdf_diff = mean_abs_diff(from_pdf, png);
  INFO("PDF vs PNG mean abs diff " << pdf_diff);
  CHECK(pdf_diff < 3.0);

  REQUIRE(run("rsvg-convert -w 600 -h 600 -o '" + (tmp.path / "from_svg.png").string() + "' '" +
              (tmp.path / "cover.svg").string() + "'") == 0);
  const cv::Mat from_svg = cv::imread((tmp.path / "from_svg.png").string(), cv::IMREAD_COLOR);
  REQUIRE(!from_svg.empty());
  const double svg_diff = mean_abs_diff(from_svg, png);
  INFO("SVG vs PNG mean abs diff " << svg_diff);
  CHECK(svg_diff < 3.0);

  // The text is in the vector files as glyph outlines / fonts, not in the raster: the
  // text area differs from the bare background there as much as in the PNG.
  const Box& b = f.text.box;
  const cv::Rect r(b.x, b.y, b.width, b.height);
  const cv::Mat bare = to_mat(f.background);
  const double text_png = mean_abs_diff(png(r), bare(r));
  CHECK(text_png > 10.0);
  CHECK(mean_abs_diff(from_pdf(r), png(r)) < text_png / 4);
  CHECK(mean_abs_diff(from_svg(r), png(r)) < text_png / 4);
  const std::string svg = read_bytes(tmp.path / "cover.svg");
  CHECK(svg.find("<image") != std::string::npos);
  CHECK(svg.find("image/jpeg") != std::string::npos);
  CHECK(svg.find("<path") != std::string::npos);
}

TEST_CASE("palette recolouring maps dark to the darkest and light to the lightest colour", "[finish]") {
  Image ramp(256, 4);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 256; ++x) std::fill_n(ramp.pixel(x, y), 3, static_cast<std::uint8_t>(x));
  FinishOptions o;
  o.size = 0;
  o.palette = parse_palette("#102030,#f0e0d0");
  o.palette_amount = 1.0;
  const Image out = finish(ramp, o).image;
  const auto* dark = out.pixel(0, 0);
  const auto* light = out.pixel(255, 0);
  CHECK(int(dark[0]) == 0x10);
  CHECK(int(dark[2]) == 0x30);
  CHECK(int(light[0]) == 0xf0);
  CHECK(int(light[2]) == 0xd0);
  const auto* mid = out.pixel(128, 0);  // half way along the gradient
  CHECK(std::abs(int(mid[0]) - (0x10 + 0xf0) / 2) <= 3);
  o.palette_amount = 0.0;
  CHECK(finish(ramp, o).image.rgb == ramp.rgb);
  CHECK(palette_for_condition("rock") == parse_palette("ember"));
  CHECK(palette_for_condition("genre ambient") == parse_palette("ocean"));
  CHECK(palette_for_condition("some-track.flac") == palette_for_condition("some-track.flac"));
}

TEST_CASE("filters are deterministic by seed and do what they say", "[finish]") {
  const Image cover = synthetic_cover(128);
  FinishOptions o;
  o.size = 0;
  o.filters = parse_filters("grain:0.2");
  o.seed = 1;
  const Image a = finish(cover, o).image, b = finish(cover, o).image;
  CHECK(a.rgb == b.rgb);
  o.seed = 2;
  CHECK(finish(cover, o).image.rgb != a.rgb);

  // Vignette: corners darker, centre untouched.
  const Image grey(64, 64);
  Image flat = grey;
  std::fill(flat.rgb.begin(), flat.rgb.end(), std::uint8_t{200});
  o.filters = parse_filters("vignette:0.5");
  const Image v = finish(flat, o).image;
  CHECK(int(v.pixel(32, 32)[0]) >= 198);
  CHECK(int(v.pixel(0, 0)[0]) <= 101);  // 200 * (1 - 0.5)

  // Duotone: every pixel on the segment shadow..highlight.
  o.filters = parse_filters("duotone:#000080:#ffff00");
  const Image d = finish(cover, o).image;
  for (int y = 0; y < d.height; y += 7)
    for (int x = 0; x < d.width; x += 7) {
      const auto* p = d.pixel(x, y);
      CHECK(int(p[0]) == int(p[1]));  // r and g go 0 -> 255 together
    }
}

TEST_CASE("upscaling is Lanczos in float, downscaling area averaging", "[finish]") {
  // A flat image stays exactly flat (no ringing), a 2x2 checker upscaled keeps its mean.
  Image flat(8, 8);
  std::fill(flat.rgb.begin(), flat.rgb.end(), std::uint8_t{77});
  FinishOptions o;
  o.size = 300;
  const Image up = finish(flat, o).image;
  CHECK(up.width == 300);
  CHECK(std::all_of(up.rgb.begin(), up.rgb.end(), [](std::uint8_t v) { return v == 77; }));
  // Aspect ratio kept: longer side = size.
  Image wide(40, 20);
  o.size = 200;
  const Image w = finish(wide, o).image;
  CHECK(w.width == 200);
  CHECK(w.height == 100);
}

TEST_CASE("bad finishing inputs are input errors naming what to fix", "[finish]") {
  CHECK_THROWS_AS(parse_palette("nope"), covergen::InputError);
  CHECK_THROWS_AS(parse_palette("#123456"), covergen::InputError);  // one colour is not a palette
  CHECK_THROWS_AS(parse_filters("blur"), covergen::InputError);
  CHECK_THROWS_AS(parse_filters("grain:2"), covergen::InputError);
  CHECK_THROWS_AS(parse_filters("grain:#000000:#ffffff"), covergen::InputError);
  CHECK_THROWS_AS(parse_formats("gif"), covergen::InputError);
  CHECK_THROWS_AS(parse_formats(""), covergen::InputError);
  TempDir tmp;
  const fs::path junk = tmp.path / "junk.png";
  std::ofstream(junk) << "not an image";
  try {
    read_image(junk);
    FAIL("read_image accepted junk");
  } catch (const covergen::InputError& e) {
    CHECK(std::string(e.what()).find(junk.string()) != std::string::npos);
  }
  CHECK_THROWS_AS(read_image(tmp.path / "missing.png"), covergen::InputError);
}
