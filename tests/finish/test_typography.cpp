// Typography: titles in Latin, Cyrillic, Japanese and Arabic, 1 to 120 characters,
// on calm, busy and mid-grey images. Checked on the rendered pixels, independently of
// the library's own measurement: every changed pixel lies inside the reported box,
// the box inside the image, and the WCAG contrast of the text colour against the
// pixels around the glyphs reaches 4.5.
#include <catch2/catch.hpp>

#include <covergen/errors.hpp>
#include <covergen/finish/finish.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace covergen::finish;

namespace {

// Float64 reference of WCAG 2 relative luminance.
double ref_luminance(const std::uint8_t* p) {
  auto lin = [](double v) {
    v /= 255.0;
    return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * lin(p[0]) + 0.7152 * lin(p[1]) + 0.0722 * lin(p[2]);
}

double ref_ratio(double a, double b) { return (std::max(a, b) + 0.05) / (std::min(a, b) + 0.05); }

// The first n code points of `text`, repeated as needed.
std::string take_code_points(const std::string& text, int n) {
  std::vector<std::string> cps;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t j = i + 1;
    while (j < text.size() && (static_cast<unsigned char>(text[j]) & 0xC0) == 0x80) ++j;
    cps.push_back(text.substr(i, j - i));
    i = j;
  }
  std::string out;
  for (int k = 0; k < n; ++k) out += cps[static_cast<std::size_t>(k) % cps.size()];
  return out;
}

Image busy_image(int size, std::uint64_t seed) {
  Image im(size, size);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> u(0, 255);
  // Large blocks of random colour: high local contrast everywhere.
  const int cell = std::max(2, size / 16);
  std::vector<std::uint8_t> colours(static_cast<std::size_t>(size / cell + 1) * (size / cell + 1) * 3);
  for (auto& c : colours) c = static_cast<std::uint8_t>(u(rng));
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const std::size_t k = (static_cast<std::size_t>(y / cell) * (size / cell + 1) + x / cell) * 3;
      std::copy_n(&colours[k], 3, im.pixel(x, y));
    }
  return im;
}

Image flat_image(int size, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  Image im(size, size);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      auto* p = im.pixel(x, y);
      p[0] = r;
      p[1] = g;
      p[2] = b;
    }
  return im;
}

struct Check {
  bool inside = true;
  double contrast = 0;
  std::size_t text_pixels = 0, ring_pixels = 0;
};

// The test's own measurement on the finished pixels.
Check check_rendered(const Finished& f) {
  const Image& a = f.background;
  const Image& b = f.image;
  const Typography& t = f.text;
  const int W = b.width, H = b.height;
  Check c;
  c.inside = t.box.x >= 0 && t.box.y >= 0 && t.box.width > 0 && t.box.height > 0 && t.box.x + t.box.width <= W &&
             t.box.y + t.box.height <= H;
  std::vector<std::uint8_t> text(static_cast<std::size_t>(W) * H, 0);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const bool changed = !std::equal(a.pixel(x, y), a.pixel(x, y) + 3, b.pixel(x, y));
      if (!changed) continue;
      if (x < t.box.x || y < t.box.y || x >= t.box.x + t.box.width || y >= t.box.y + t.box.height) c.inside = false;
      const auto* p = b.pixel(x, y);
      if (p[0] == t.colour.r && p[1] == t.colour.g && p[2] == t.colour.b) text[static_cast<std::size_t>(y) * W + x] = 1;
    }
  // Pixels 3 to 5 px (Chebyshev) from a text pixel: past the anti-aliased edges, the
  // ground the eye reads the letters against.
  std::vector<double> ring;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      if (text[static_cast<std::size_t>(y) * W + x]) {
        ++c.text_pixels;
        continue;
      }
      int d = 99;
      for (int dy = -5; dy <= 5 && d > 2; ++dy)
        for (int dx = -5; dx <= 5; ++dx) {
          const int xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= W || yy >= H || !text[static_cast<std::size_t>(yy) * W + xx]) continue;
          d = std::min(d, std::max(std::abs(dx), std::abs(dy)));
        }
      if (d >= 3 && d <= 5) ring.push_back(ref_luminance(b.pixel(x, y)));
    }
  c.ring_pixels = ring.size();
  if (ring.empty()) return c;
  std::sort(ring.begin(), ring.end());
  const double lt = ref_luminance(&t.colour.r);
  const double lo = ring[static_cast<std::size_t>(0.05 * (ring.size() - 1))];
  const double hi = ring[static_cast<std::size_t>(0.95 * (ring.size() - 1))];
  c.contrast = std::min(ref_ratio(lt, lo), ref_ratio(lt, hi));
  return c;
}

}  // namespace

TEST_CASE("WCAG contrast ratio matches known values", "[finish]") {
  CHECK(contrast_ratio({0, 0, 0}, {255, 255, 255}) == Approx(21.0));
  CHECK(contrast_ratio({255, 255, 255}, {255, 255, 255}) == Approx(1.0));
  // #777777 on white is the classic 4.48 (fails AA), #767676 is 4.54 (passes).
  CHECK(contrast_ratio({0x77, 0x77, 0x77}, {255, 255, 255}) == Approx(4.48).margin(0.01));
  CHECK(contrast_ratio({0x76, 0x76, 0x76}, {255, 255, 255}) == Approx(4.54).margin(0.01));
}

TEST_CASE("titles in four scripts, 1 to 120 characters, stay inside and reach contrast 4.5", "[finish]") {
  const std::vector<std::pair<std::string, std::string>> scripts{
      {"latin", "Midnight Over the Harbour Lights "},
      {"cyrillic", "Полночь над огнями гавани "},
      {"japanese", "港の灯りに真夜中が降りる"},
      {"arabic", "منتصف الليل فوق أضواء الميناء "},
  };
  const std::vector<std::pair<std::string, Image>> images{
      {"busy", busy_image(600, 7)},
      {"mid-grey", flat_image(600, 118, 118, 118)},  // white gives only ~4.6, black ~4.6
      {"light", flat_image(600, 235, 228, 210)},
  };
  const int lengths[] = {1, 3, 12, 30, 60, 90, 120};
  for (const auto& [script, text] : scripts) {
    for (const auto& [bg_name, bg] : images) {
      for (int n : lengths) {
        FinishOptions o;
        o.size = 0;  // keep 600 px: the test is about layout, not resampling
        o.title = take_code_points(text, n);
        o.artist = script == "arabic" ? "فرقة الميناء" : script == "japanese" ? "港バンド" : "The Harbour Band";
        const Finished f = finish(bg, o);
        INFO(script << " on " << bg_name << ", " << n << " characters: placement " << f.text.placement << ", colour "
                    << to_hex(f.text.colour) << ", backing " << f.text.backing_alpha << ", library contrast " << f.text.contrast);
        REQUIRE(f.text.present);
        CHECK(f.text.unknown_glyphs == 0);  // a font for the script is installed and used
        CHECK(f.text.contrast >= 4.5);      // the library's own measure
        const Check c = check_rendered(f);
        CHECK(c.inside);
        CHECK(c.text_pixels > 30);
        CHECK(c.ring_pixels > 30);
        CHECK(c.contrast >= 4.5);
        for (const auto& b : f.text.blocks) CHECK(b.lines <= 4);
      }
    }
  }
}

TEST_CASE("text goes where the image is calm", "[finish]") {
  // Busy top half, flat bottom half, and the mirror image.
  Image busy = busy_image(400, 3), calm_bottom = busy, calm_top = busy;
  for (int y = 200; y < 400; ++y)
    for (int x = 0; x < 400; ++x) std::fill_n(calm_bottom.pixel(x, y), 3, std::uint8_t{40});
  for (int y = 0; y < 200; ++y)
    for (int x = 0; x < 400; ++x) std::fill_n(calm_top.pixel(x, y), 3, std::uint8_t{40});
  FinishOptions o;
  o.size = 0;
  o.title = "Calm";
  o.artist = "Placement";
  CHECK(finish(calm_bottom, o).text.placement.rfind("bottom", 0) == 0);
  CHECK(finish(calm_top, o).text.placement.rfind("top", 0) == 0);
  // On a flat image no panel is needed and the chosen colour alone passes.
  const Finished flat = finish(flat_image(400, 20, 30, 60), o);
  CHECK_FALSE(flat.text.backing);
  CHECK(flat.text.contrast >= 4.5);
}

TEST_CASE("long titles shrink, wrap and are ellipsized after four lines", "[finish]") {
  FinishOptions o;
  o.size = 0;
  o.title = "Short";
  const Image im = flat_image(600, 30, 30, 30);
  const double big = finish(im, o).text.blocks.at(0).px;
  o.title = take_code_points("A title that goes on and on without any end in sight ", 120);
  const Finished f = finish(im, o);
  CHECK(f.text.blocks.at(0).px < big);
  CHECK(f.text.blocks.at(0).lines >= 2);
  o.title = take_code_points("Word ", 600);
  const Finished g = finish(im, o);
  CHECK(g.text.blocks.at(0).lines == 4);
  CHECK(g.text.blocks.at(0).ellipsized);
  CHECK(check_rendered(g).inside);
}

TEST_CASE("bad typography options are input errors", "[finish]") {
  FinishOptions o;
  o.title = "x";
  o.font = "No Such Font Family 123";
  CHECK_THROWS_AS(finish(flat_image(100, 0, 0, 0), o), covergen::InputError);
  o.font = "DejaVu Sans";
  o.title = std::string("\xff\xfe bad", 6);
  CHECK_THROWS_AS(finish(flat_image(100, 0, 0, 0), o), covergen::InputError);
  o.title = "ok";
  o.size = 10;
  CHECK_THROWS_AS(finish(flat_image(100, 0, 0, 0), o), covergen::InputError);
  CHECK_THROWS_AS(finish(Image{}, FinishOptions{}), covergen::InputError);
}
