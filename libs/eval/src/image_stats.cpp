#include "covergen/eval/image_stats.hpp"

#include "covergen/errors.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace covergen::eval {

ImageStats image_stats(const std::uint8_t* rgb, int size) {
  const std::size_t plane = static_cast<std::size_t>(size) * static_cast<std::size_t>(size);
  const std::uint8_t *r = rgb, *g = rgb + plane, *b = rgb + 2 * plane;
  std::vector<double> light(plane);
  ImageStats s;
  for (std::size_t i = 0; i < plane; ++i) {
    const double mx = std::max({r[i], g[i], b[i]}) / 255.0, mn = std::min({r[i], g[i], b[i]}) / 255.0;
    const double l = (mx + mn) / 2;
    const double denom = 1.0 - std::abs(2 * l - 1);
    light[i] = l;
    s.lightness += l;
    s.saturation += denom > 1e-9 ? std::min(1.0, (mx - mn) / denom) : 0.0;
  }
  s.lightness /= static_cast<double>(plane);
  s.saturation /= static_cast<double>(plane);
  // Edges: Sobel on lightness over the interior pixels.
  std::int64_t edges = 0, interior = 0;
  for (int y = 1; y + 1 < size; ++y)
    for (int x = 1; x + 1 < size; ++x) {
      auto L = [&](int yy, int xx) { return light[static_cast<std::size_t>(yy) * static_cast<std::size_t>(size) + static_cast<std::size_t>(xx)]; };
      const double gx = (L(y - 1, x + 1) + 2 * L(y, x + 1) + L(y + 1, x + 1)) - (L(y - 1, x - 1) + 2 * L(y, x - 1) + L(y + 1, x - 1));
      const double gy = (L(y + 1, x - 1) + 2 * L(y + 1, x) + L(y + 1, x + 1)) - (L(y - 1, x - 1) + 2 * L(y - 1, x) + L(y - 1, x + 1));
      edges += std::hypot(gx, gy) / 8.0 > 0.06;
      ++interior;
    }
  s.edge_density = interior ? static_cast<double>(edges) / static_cast<double>(interior) : 0.0;
  // Regions of near-equal colour (neighbours within 24 levels per channel).
  std::vector<int> label(plane, -1), stack;
  int regions = 0;
  for (std::size_t seed = 0; seed < plane; ++seed) {
    if (label[seed] >= 0) continue;
    int count = 0;
    stack.assign(1, static_cast<int>(seed));
    label[seed] = static_cast<int>(seed);
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      ++count;
      const int py = p / size, px = p % size;
      const int nb[4][2] = {{py - 1, px}, {py + 1, px}, {py, px - 1}, {py, px + 1}};
      for (const auto& q : nb) {
        if (q[0] < 0 || q[0] >= size || q[1] < 0 || q[1] >= size) continue;
        const int o = q[0] * size + q[1];
        if (label[static_cast<std::size_t>(o)] >= 0) continue;
        if (std::abs(r[o] - r[p]) > 24 || std::abs(g[o] - g[p]) > 24 || std::abs(b[o] - b[p]) > 24) continue;
        label[static_cast<std::size_t>(o)] = static_cast<int>(seed);
        stack.push_back(o);
      }
    }
    regions += count >= 4;
  }
  s.regions = regions;
  return s;
}

namespace {
std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double r = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (std::size_t t = i; t <= j; ++t) rank[order[t]] = r;
    i = j + 1;
  }
  return rank;
}
}  // namespace

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw InputError("spearman: the two samples differ in length");
  if (a.size() < 3) return std::numeric_limits<double>::quiet_NaN();
  const auto ra = average_ranks(a), rb = average_ranks(b);
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n, mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  if (saa == 0 || sbb == 0) return std::numeric_limits<double>::quiet_NaN();
  return sab / std::sqrt(saa * sbb);
}

std::vector<float> colour_layout(const std::uint8_t* rgb, int size) {
  const std::size_t plane = static_cast<std::size_t>(size) * static_cast<std::size_t>(size);
  std::vector<double> acc(48, 0.0);
  std::vector<int> count(16, 0);
  auto lin = [](double c) { c /= 255.0; return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); };
  auto f = [](double t) { return t > 216.0 / 24389.0 ? std::cbrt(t) : (24389.0 / 27.0 * t + 16.0) / 116.0; };
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * static_cast<std::size_t>(size) + static_cast<std::size_t>(x);
      const double R = lin(rgb[i]), G = lin(rgb[plane + i]), B = lin(rgb[2 * plane + i]);
      // sRGB (D65) -> XYZ -> L*a*b*.
      const double X = (0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047;
      const double Y = 0.2126 * R + 0.7152 * G + 0.0722 * B;
      const double Z = (0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883;
      const double fx = f(X), fy = f(Y), fz = f(Z);
      const int cell = (y * 4 / size) * 4 + (x * 4 / size);
      acc[static_cast<std::size_t>(cell * 3)] += 116 * fy - 16;
      acc[static_cast<std::size_t>(cell * 3 + 1)] += 500 * (fx - fy);
      acc[static_cast<std::size_t>(cell * 3 + 2)] += 200 * (fy - fz);
      count[static_cast<std::size_t>(cell)] += 1;
    }
  std::vector<float> out(48);
  for (std::size_t c = 0; c < 48; ++c) out[c] = static_cast<float>(acc[c] / std::max(1, count[c / 3]));
  return out;
}

KMeansResult kmeans(const std::vector<float>& pts, std::int64_t d, int k, std::uint64_t seed, int restarts) {
  if (d < 1 || pts.size() % static_cast<std::size_t>(d) != 0) throw InputError("k-means: bad point dimensions");
  const auto n = static_cast<std::int64_t>(pts.size()) / d;
  if (k < 1 || k > n) throw InputError("k-means: k must be in [1, number of points]");
  auto dist2 = [&](const float* a, const float* b) {
    double s = 0;
    for (std::int64_t c = 0; c < d; ++c) s += (static_cast<double>(a[c]) - b[c]) * (static_cast<double>(a[c]) - b[c]);
    return s;
  };
  KMeansResult best;
  best.inertia = INFINITY;
  std::mt19937_64 rng(seed);
  for (int run = 0; run < std::max(1, restarts); ++run) {
    // k-means++ seeding.
    std::vector<float> centres;
    std::vector<double> closest(static_cast<std::size_t>(n), INFINITY);
    std::int64_t first = std::uniform_int_distribution<std::int64_t>(0, n - 1)(rng);
    centres.insert(centres.end(), pts.begin() + first * d, pts.begin() + (first + 1) * d);
    for (int c = 1; c < k; ++c) {
      double total = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        closest[static_cast<std::size_t>(i)] = std::min(closest[static_cast<std::size_t>(i)], dist2(&pts[static_cast<std::size_t>(i * d)], &centres[static_cast<std::size_t>((c - 1) * d)]));
        total += closest[static_cast<std::size_t>(i)];
      }
      double u = std::uniform_real_distribution<double>(0, total)(rng);
      std::int64_t pick = n - 1;
      for (std::int64_t i = 0; i < n; ++i) {
        u -= closest[static_cast<std::size_t>(i)];
        if (u <= 0) {
          pick = i;
          break;
        }
      }
      centres.insert(centres.end(), pts.begin() + pick * d, pts.begin() + (pick + 1) * d);
    }
    std::vector<int> assign(static_cast<std::size_t>(n), -1);
    double inertia = 0;
    for (int iter = 0; iter < 300; ++iter) {
      bool changed = false;
      inertia = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        int arg = 0;
        double bd = INFINITY;
        for (int c = 0; c < k; ++c) {
          const double dd = dist2(&pts[static_cast<std::size_t>(i * d)], &centres[static_cast<std::size_t>(c * d)]);
          if (dd < bd) {
            bd = dd;
            arg = c;
          }
        }
        inertia += bd;
        if (assign[static_cast<std::size_t>(i)] != arg) {
          assign[static_cast<std::size_t>(i)] = arg;
          changed = true;
        }
      }
      if (!changed) break;
      std::vector<double> sum(static_cast<std::size_t>(k * d), 0.0);
      std::vector<std::int64_t> cnt(static_cast<std::size_t>(k), 0);
      for (std::int64_t i = 0; i < n; ++i) {
        const int c = assign[static_cast<std::size_t>(i)];
        ++cnt[static_cast<std::size_t>(c)];
        for (std::int64_t t = 0; t < d; ++t) sum[static_cast<std::size_t>(c * d + t)] += pts[static_cast<std::size_t>(i * d + t)];
      }
      for (int c = 0; c < k; ++c)
        if (cnt[static_cast<std::size_t>(c)] > 0)  // an emptied cluster keeps its centre
          for (std::int64_t t = 0; t < d; ++t)
            centres[static_cast<std::size_t>(c * d + t)] = static_cast<float>(sum[static_cast<std::size_t>(c * d + t)] / static_cast<double>(cnt[static_cast<std::size_t>(c)]));
    }
    if (inertia < best.inertia) {
      best.inertia = inertia;
      best.assignment = assign;
      best.centres = centres;
    }
  }
  return best;
}

Purity cluster_purity(const std::vector<int>& assignment, const std::vector<int>& labels, int k) {
  if (assignment.size() != labels.size()) throw InputError("cluster purity: assignments and labels differ in length");
  int classes = 0;
  for (int l : labels) classes = std::max(classes, l + 1);
  std::vector<std::vector<std::int64_t>> counts(static_cast<std::size_t>(k), std::vector<std::int64_t>(static_cast<std::size_t>(std::max(1, classes)), 0));
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= 0 && assignment[i] >= 0 && assignment[i] < k) ++counts[static_cast<std::size_t>(assignment[i])][static_cast<std::size_t>(labels[i])];
  Purity p;
  std::int64_t hit = 0, total = 0;
  for (const auto& c : counts) {
    const auto it = std::max_element(c.begin(), c.end());
    const std::int64_t size = std::accumulate(c.begin(), c.end(), std::int64_t{0});
    p.size.push_back(size);
    p.majority.push_back(size ? static_cast<int>(it - c.begin()) : -1);
    p.share.push_back(size ? static_cast<double>(*it) / static_cast<double>(size) : 0.0);
    hit += size ? *it : 0;
    total += size;
  }
  p.overall = total ? static_cast<double>(hit) / static_cast<double>(total) : 0.0;
  return p;
}

}  // namespace covergen::eval
