#include "covergen/eval/run.hpp"

#include <covergen/text.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace covergen::eval {
namespace {

std::string esc(const std::string& s) { return html_escape(s); }

std::string fmt(double v, int digits = 3) {
  if (!std::isfinite(v)) return "–";
  char b[64];
  if (v != 0 && std::abs(v) < 1e-3)
    std::snprintf(b, sizeof b, "%.2e", v);
  else
    std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}
std::string fmt(const json& j, int digits = 3) { return j.is_number() ? fmt(j.get<double>(), digits) : "–"; }

std::string img(const std::string& png, const std::string& alt, const std::string& style = "") {
  if (png.empty()) return "<p class=note>(no picture)</p>";
  return "<img alt=\"" + esc(alt) + "\" style=\"" + style + "\" src=\"data:image/png;base64," + base64(png) + "\">";
}

// Loss curves: one small SVG per numeric column of log.jsonl (step on x).
std::string loss_curves(const fs::path& run) {
  const fs::path file = fs::is_directory(run) ? run / "log.jsonl" : run.parent_path() / "log.jsonl";
  std::ifstream in(file);
  if (!in) return "<p class=note>No " + esc(file.string()) + ": no loss curves.</p>";
  std::map<std::string, std::vector<std::pair<double, double>>> series;
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number()) continue;  // a torn last line
    const double step = j["step"].get<double>();
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "step" && it.value().is_number() && std::isfinite(it.value().get<double>()))
        series[it.key()].push_back({step, it.value().get<double>()});
  }
  if (series.empty()) return "<p class=note>" + esc(file.string()) + " has no logged steps.</p>";
  std::ostringstream s;
  s << "<div class=curves>";
  const int w = 380, h = 170, l = 48, r = 8, t = 22, b = 24;
  for (const auto& [name, pts] : series) {
    double x0 = pts.front().first, x1 = pts.back().first, y0 = INFINITY, y1 = -INFINITY;
    for (auto& p : pts) {
      y0 = std::min(y0, p.second);
      y1 = std::max(y1, p.second);
    }
    if (x1 <= x0) x1 = x0 + 1;
    if (y1 <= y0) y1 = y0 + 1e-9;
    auto X = [&](double x) { return l + (x - x0) / (x1 - x0) * (w - l - r); };
    auto Y = [&](double y) { return t + (y1 - y) / (y1 - y0) * (h - t - b); };
    s << "<svg width=" << w << " height=" << h << " viewBox=\"0 0 " << w << ' ' << h << "\" role=img><title>" << esc(name)
      << "</title><rect x=" << l << " y=" << t << " width=" << (w - l - r) << " height=" << (h - t - b)
      << " fill=#fafafa stroke=#ccc /><text x=" << l << " y=15 font-size=12 font-weight=bold>" << esc(name)
      << "</text><text x=2 y=" << t + 10 << " font-size=10>" << fmt(y1) << "</text><text x=2 y=" << h - b
      << " font-size=10>" << fmt(y0) << "</text><text x=" << l << " y=" << h - 6 << " font-size=10>step " << fmt(x0, 0)
      << "</text><text x=" << w - r - 70 << " y=" << h - 6 << " font-size=10>step " << fmt(x1, 0)
      << "</text><polyline fill=none stroke=#1f77b4 stroke-width=1.2 points=\"";
    for (auto& p : pts) s << fmt(X(p.first), 1) << ',' << fmt(Y(p.second), 1) << ' ';
    s << "\"/></svg>";
  }
  s << "</div>";
  return s.str();
}

}  // namespace

std::string report_html(const json& m, const EvaluationPictures& pic, const std::string& run) {
  std::ostringstream s;
  const auto& d = m["distribution"];
  const auto genres = m["genres"].get<std::vector<std::string>>();
  std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  s << "<!doctype html><html lang=en><head><meta charset=utf-8><title>CoverGen report: " << esc(run) << "</title><style>"
    << "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1220px;color:#222;padding:0 12px}"
    << "h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}"
    << "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}"
    << "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.note{color:#666;font-size:13px}"
    << ".curves{display:flex;flex-wrap:wrap;gap:8px}.grid{display:flex;flex-wrap:wrap;gap:18px}.grid div{font-size:13px}"
    << "img{image-rendering:pixelated;max-width:100%}.hot{background:#ffe2cc}</style></head><body>";
  s << "<h1>CoverGen evaluation report</h1><p>Run <b>" << esc(run) << "</b> on dataset <b>" << esc(m["dataset"].get<std::string>())
    << "</b>, condition <b>" << esc(m["condition"].get<std::string>()) << "</b>, " << m["image_size"].get<int>() << " px. "
    << m["test_tracks"].get<int>() << " test tracks × " << m["covers_per_track"].get<int>() << " covers; " << when << ".</p>"
    << "<p class=note>Feature extractor for FID, KID, diversity, memorisation and the cover map: <b>"
    << esc(m["feature_extractor"].get<std::string>()) << "</b>. Numbers from different extractors are not comparable.</p>";

  s << "<h2>Summary</h2><table><tr><th>metric</th><th>generated</th><th>reference</th><th>what the reference is</th></tr>"
    << "<tr><td>conditioning fidelity</td><td>" << fmt(m["fidelity"]) << "</td><td>" << fmt(m["classifier_real_test_accuracy"])
    << "</td><td>judge accuracy on real test covers (ceiling); shuffled conditions " << fmt(m["fidelity_shuffled"])
    << ", chance " << fmt(m["chance"]) << "</td></tr>"
    << "<tr><td>FID</td><td>" << fmt(m["fid"]) << "</td><td>" << fmt(d["real_test"]["fid"])
    << "</td><td>real test covers vs the same real training covers</td></tr>"
    << "<tr><td>KID</td><td>" << fmt(m["kid"], 5) << " ± " << fmt(m["kid_std"], 5) << "</td><td>" << fmt(d["real_test"]["kid"], 5)
    << " ± " << fmt(d["real_test"]["kid_std"], 5) << "</td><td>same; ± is the std over " << d["kid_subsets"].get<int>()
    << " subsets of " << d["kid_subset_size"].get<int>() << "</td></tr>"
    << "<tr><td>per-genre FID (mean)</td><td>" << fmt(d["per_genre_mean"]["fid"]) << "</td><td>"
    << fmt(d["per_genre_mean_real_test"]["fid"]) << "</td><td>real test; with shuffled conditions <b>"
    << fmt(d["per_genre_mean_shuffled"]["fid"]) << "</b></td></tr>"
    << "<tr><td>per-genre KID (mean)</td><td>" << fmt(d["per_genre_mean"]["kid"], 5) << "</td><td>"
    << fmt(d["per_genre_mean_real_test"]["kid"], 5) << "</td><td>real test; with shuffled conditions <b>"
    << fmt(d["per_genre_mean_shuffled"]["kid"], 5) << "</b></td></tr>"
    << "<tr><td>diversity</td><td>" << fmt(m["diversity"]["generated"]) << "</td><td>" << fmt(m["diversity"]["real"])
    << "</td><td>" << esc(m["diversity"]["measure"].get<std::string>()) << ", real training covers</td></tr>"
    << "<tr><td>nearest training cover (median)</td><td>" << fmt(m["memorisation"]["generated_to_train"]["median"])
    << "</td><td>" << fmt(m["memorisation"]["real_test_to_train"]["median"])
    << "</td><td>real test covers; far below the reference would mean copying</td></tr>"
    << "<tr><td>colour-cluster genre purity</td><td>" << fmt(m["clusters"]["generated"]["purity"]) << "</td><td>"
    << fmt(m["clusters"]["real"]["purity"]) << "</td><td>real covers; " << fmt(m["clusters"]["real"]["purity_if_unrelated"])
    << " if colour clusters ignored genre</td></tr></table>";

  s << "<h2>Loss curves</h2>" << loss_curves(run);

  s << "<h2>Samples per genre</h2><p class=note>Left: generated for test tracks of the genre. Right: real test covers.</p><div>";
  for (std::size_t g = 0; g < pic.genre_grids.size(); ++g)
    s << "<h3 style=\"font-size:15px;margin:10px 0 4px\">" << esc(pic.genre_grids[g].first) << "</h3><div class=grid><div>"
      << img(pic.genre_grids[g].second, "generated " + pic.genre_grids[g].first) << "</div><div>"
      << img(pic.real_grids[g].second, "real " + pic.real_grids[g].first) << "</div></div>";
  s << "</div>";

  s << "<h2>Per genre</h2><table><tr><th>genre</th><th>generated</th><th>FID</th><th>FID shuffled</th><th>FID real test</th>"
    << "<th>KID</th><th>KID shuffled</th><th>KID real test</th><th>diversity</th><th>diversity real</th></tr>";
  for (std::size_t g = 0; g < genres.size(); ++g) {
    const auto& r = d["per_genre"][g];
    const auto& v = m["diversity"]["per_genre"][g];
    s << "<tr><td>" << esc(genres[g]) << "</td><td>" << r["generated"].get<int>() << "</td><td>" << fmt(r["fid"]) << "</td><td>"
      << fmt(r["fid_shuffled"]) << "</td><td>" << fmt(r["fid_real_test"]) << "</td><td>" << fmt(r["kid"], 5) << "</td><td>"
      << fmt(r["kid_shuffled"], 5) << "</td><td>" << fmt(r["kid_real_test"], 5) << "</td><td>" << fmt(v["generated"])
      << "</td><td>" << fmt(v["real"]) << "</td></tr>";
  }
  s << "</table>";

  s << "<h2>Conditioning</h2><p>Confusion of the judge on generated covers (rows: the genre asked for; columns: the "
       "genre the judge sees).</p><table><tr><th></th>";
  for (const auto& g : genres) s << "<th>" << esc(g) << "</th>";
  s << "</tr>";
  for (std::size_t i = 0; i < genres.size(); ++i) {
    s << "<tr><th>" << esc(genres[i]) << "</th>";
    for (std::size_t j = 0; j < genres.size(); ++j)
      s << "<td" << (i == j ? " class=hot" : "") << ">" << m["confusion"][i][j].get<long long>() << "</td>";
    s << "</tr>";
  }
  s << "</table><p>Rank correlation (Spearman) between a track attribute and a statistic measured on the pixels of its "
       "cover; within-genre is the mean over genres.</p><table><tr><th>attribute ↔ statistic</th><th>generated</th>"
       "<th>generated, within genre</th><th>real test</th><th>real, within genre</th></tr>";
  for (const auto& c : m["attribute_correlations"])
    s << "<tr><td>" << esc(c["attribute"].get<std::string>()) << " ↔ " << esc(c["statistic"].get<std::string>()) << "</td><td>"
      << fmt(c["generated"]["overall"]) << "</td><td>" << fmt(c["generated"]["within_genre"]) << "</td><td>"
      << fmt(c["real_test"]["overall"]) << "</td><td>" << fmt(c["real_test"]["within_genre"]) << "</td></tr>";
  if (m["attribute_correlations"].empty()) s << "<tr><td colspan=5>the dataset has none of tempo, brightness, energy</td></tr>";
  s << "</table>";

  s << "<h2>Memorisation</h2><table><tr><th>distance to the nearest real training cover</th><th>mean</th><th>median</th>"
       "<th>5th percentile</th><th>min</th></tr>";
  for (const char* k : {"generated_to_train", "real_test_to_train"}) {
    const auto& r = m["memorisation"][k];
    s << "<tr><td>" << (std::string(k) == "generated_to_train" ? "generated covers" : "real test covers") << "</td><td>"
      << fmt(r["mean"]) << "</td><td>" << fmt(r["median"]) << "</td><td>" << fmt(r["p05"]) << "</td><td>" << fmt(r["min"])
      << "</td></tr>";
  }
  s << "</table><p class=note>Share of generated covers closer to a training cover than 99% of real test covers are: "
    << fmt(m["memorisation"]["share_closer_than_real_p01"]) << ".</p>";

  s << "<h2>Maps</h2>";
  if (m.contains("maps")) {
    const auto& c = m["maps"]["covers"];
    s << "<p>t-SNE (Barnes-Hut) of cover features, " << c["points"].get<int>() << " covers laid out as thumbnails; "
      << c["generated"].get<int>() << " generated covers framed in red. " << fmt(c["seconds"], 1)
      << " s, trustworthiness (k=10) " << fmt(c["trustworthiness_k10"]) << ".</p>"
      << img(pic.cover_mosaic_png, "t-SNE mosaic of covers", "width:1000px");
    if (!pic.music_map_png.empty())
      s << "<p>t-SNE of " << esc(pic.music_description) << ", coloured by genre. Trustworthiness (k=10) "
        << fmt(m["maps"]["music"]["trustworthiness_k10"]) << ".</p>" << img(pic.music_map_png, "t-SNE of music", "width:800px");
  }
  s << "<h2>Colour clusters</h2><p>k-means (k = " << m["clusters"]["k"].get<int>() << ") on "
    << esc(m["clusters"]["descriptor"].get<std::string>()) << ". Purity: share of a cluster's covers in its most common "
    << "genre. Real covers: " << fmt(m["clusters"]["real"]["purity"]) << " (" << fmt(m["clusters"]["real"]["purity_if_unrelated"])
    << " if clusters ignored genre); generated: " << fmt(m["clusters"]["generated"]["purity"]) << ".</p><table><tr><th>cluster</th>"
    << "<th>real covers</th><th>majority genre</th><th>purity</th><th>mean colour (top-left cell)</th></tr>";
  int ci = 0;
  for (const auto& c : m["clusters"]["real"]["clusters"]) {
    const auto lab = c["mean_lab"];
    s << "<tr><td>" << ci++ << "</td><td>" << c["size"].get<long long>() << "</td><td>"
      << (c["majority_genre"].is_string() ? esc(c["majority_genre"].get<std::string>()) : "–") << "</td><td>"
      << fmt(c["purity"]) << "</td><td>L*a*b* " << fmt(lab[0], 0) << ", " << fmt(lab[1], 0) << ", " << fmt(lab[2], 0)
      << "</td></tr>";
  }
  s << "</table><p class=note>Evaluation took " << fmt(m["seconds"], 1) << " s. Generated by covergen report.</p></body></html>\n";
  return s.str();
}

}  // namespace covergen::eval
