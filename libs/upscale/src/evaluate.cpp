// Measuring an upscaler against Lanczos and bicubic on held-out covers: each cover at
// from·k px is the truth, its area downscale to `from` px (rounded to 8 bits, as a
// generated cover would be) the input. PSNR and SSIM per cover; FID over fixed
// crops in the judge's feature space; 95% intervals by resampling covers.
#include "covergen/upscale/upscale.hpp"
#include "internal.hpp"

#include <cstdio>
#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>
#include <covergen/eval/distribution.hpp>
#include <covergen/eval/features.hpp>
#include <covergen/model_file.hpp>
#include <covergen/plugin_registry.hpp>
#include <covergen/upscaler.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

using nlohmann::json;

namespace covergen::upscale {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// uint8 [3, S, S] planar <-> interleaved cv::Mat.
cv::Mat to_mat(const at::Tensor& chw) {
  at::Tensor hwc = chw.permute({1, 2, 0}).contiguous();
  return cv::Mat(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3, hwc.data_ptr()).clone();
}
at::Tensor from_mat(const cv::Mat& m) {
  at::Tensor hwc = at::from_blob(m.data, {m.rows, m.cols, 3}, at::kByte);
  return hwc.permute({2, 0, 1}).contiguous();
}

// What finishing does without an upscaler: float Lanczos (or bicubic), clamped.
at::Tensor classic(const at::Tensor& lr, int side, int interpolation) {
  cv::Mat f, g, out;
  to_mat(lr).convertTo(f, CV_32FC3);
  cv::resize(f, g, cv::Size(side, side), 0, 0, interpolation);
  g.convertTo(out, CV_8UC3);  // saturating
  return from_mat(out);
}

double psnr(const at::Tensor& a, const at::Tensor& b) {
  const double mse = (a.to(at::kDouble) - b.to(at::kDouble)).pow(2).mean().item<double>();
  return mse <= 0 ? 100.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

// SSIM (Wang et al. 2004) on BT.601 luma: Gaussian window 11 / sigma 1.5, K = 0.01, 0.03.
double ssim(const at::Tensor& a, const at::Tensor& b) {
  auto luma = [](const at::Tensor& x) {
    at::Tensor f = x.to(at::kFloat);
    at::Tensor y = (f[0] * 0.299 + f[1] * 0.587 + f[2] * 0.114).contiguous();
    return cv::Mat(static_cast<int>(y.size(0)), static_cast<int>(y.size(1)), CV_32F, y.data_ptr()).clone();
  };
  const cv::Mat x = luma(a), y = luma(b);
  const double C1 = std::pow(0.01 * 255, 2), C2 = std::pow(0.03 * 255, 2);
  auto blur = [](const cv::Mat& m) {
    cv::Mat o;
    cv::GaussianBlur(m, o, cv::Size(11, 11), 1.5, 1.5, cv::BORDER_REFLECT);
    return o;
  };
  const cv::Mat mx = blur(x), my = blur(y);
  const cv::Mat sxx = blur(x.mul(x)) - mx.mul(mx), syy = blur(y.mul(y)) - my.mul(my), sxy = blur(x.mul(y)) - mx.mul(my);
  cv::Mat num = (2 * mx.mul(my) + C1).mul(2 * sxy + C2);
  cv::Mat den = (mx.mul(mx) + my.mul(my) + C1).mul(sxx + syy + C2);
  cv::Mat map;
  cv::divide(num, den, map);
  return cv::mean(map)[0];
}

void mean_std(const std::vector<double>& v, double& mean, double& sd) {
  mean = std::accumulate(v.begin(), v.end(), 0.0) / std::max<std::size_t>(1, v.size());
  double s = 0;
  for (double x : v) s += (x - mean) * (x - mean);
  sd = v.size() > 1 ? std::sqrt(s / (v.size() - 1)) : 0.0;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  const double f = pos - i;
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

// Rows of the covers picked by `sample` (each cover owns `per` consecutive rows).
eval::FeatureMatrix cover_rows(const eval::FeatureMatrix& m, const std::vector<std::int64_t>& sample, int per) {
  std::vector<std::int64_t> rows;
  for (std::int64_t c : sample)
    for (int j = 0; j < per; ++j) rows.push_back(c * per + j);
  return m.rows(rows);
}

// Input (nearest neighbour), Lanczos, learned, real: centre crops side by side, 8 px apart.
void write_picture(const std::filesystem::path& file, const at::Tensor& lr, const std::vector<at::Tensor>& panels_hr,
                   int crop) {
  const int side = static_cast<int>(panels_hr.front().size(1)), gap = 8;
  crop = std::min(crop, side);
  const int x0 = (side - crop) / 2;
  std::vector<cv::Mat> panels;
  cv::Mat nearest;
  cv::resize(to_mat(lr), nearest, cv::Size(side, side), 0, 0, cv::INTER_NEAREST);
  panels.push_back(nearest);
  for (const auto& p : panels_hr) panels.push_back(to_mat(p));
  const int n = static_cast<int>(panels.size());
  cv::Mat out(crop, n * crop + (n - 1) * gap, CV_8UC3, cv::Scalar(255, 255, 255));
  for (int i = 0; i < n; ++i) panels[i](cv::Rect(x0, x0, crop, crop)).copyTo(out(cv::Rect(i * (crop + gap), 0, crop, crop)));
  cv::Mat bgr;
  cv::cvtColor(out, bgr, cv::COLOR_RGB2BGR);
  std::vector<unsigned char> png;
  if (!cv::imencode(".png", bgr, png)) throw Error(file.string() + ": cannot encode the picture as PNG");
  write_file_atomic(file, std::string(png.begin(), png.end()));
}

}  // namespace

EvalReport evaluate(const EvalOptions& o, const PluginRegistry& registry) {
  auto log = [&o](const std::string& line) {
    if (o.log) o.log(line);
  };
  std::shared_ptr<Upscaler> model = load(o.model, registry);
  const std::int64_t k = model->factor();
  const int to = static_cast<int>(o.from * k);
  detail::check_factor(o.from, to);
  if (o.fid_crop < 16 || o.fid_crop > to) throw InputError("--fid-crop: give a side between 16 and " + std::to_string(to));
  if (o.crops_per_cover < 1) throw InputError("--crops-per-cover: give at least 1");
  if (o.judge_size < 16 || to % o.judge_size != 0) throw InputError("judge size must divide " + std::to_string(to));
  const data::Dataset dataset = data::Dataset::open(o.data);
  const data::Split split = data::split_from_string(o.split);
  detail::Covers held = detail::load_covers(dataset, split, to, o.max_covers, o.log);
  if (held.hr.size(0) < 2)
    throw InputError(o.data.string(), "the " + o.split + " split has " + std::to_string(held.hr.size(0)) +
                                          " readable covers; evaluation needs at least 2");

  EvalReport r;
  r.from = o.from;
  r.to = to;
  r.covers = held.hr.size(0);
  r.threads = at::get_num_threads();
  std::vector<MethodScores> m(3);
  m[0].name = "lanczos";
  m[1].name = "bicubic";
  m[2].name = "learned";
  // Upscaled covers, kept as uint8 for the FID crops.
  std::vector<at::Tensor> outputs(3);
  for (auto& t : outputs) t = at::empty_like(held.hr);
  for (std::int64_t i = 0; i < r.covers; ++i) {
    const at::Tensor truth = held.hr[i];
    const at::Tensor lr = detail::to_u8(detail::area_down(detail::to_unit(truth.unsqueeze(0)), k)).squeeze(0);
    std::array<at::Tensor, 3> up;
    double secs[3];
    auto t = Clock::now();
    up[0] = classic(lr, to, cv::INTER_LANCZOS4);
    secs[0] = since(t);
    t = Clock::now();
    up[1] = classic(lr, to, cv::INTER_CUBIC);
    secs[1] = since(t);
    t = Clock::now();
    up[2] = detail::to_u8(model->upscale(detail::to_unit(lr.unsqueeze(0)))).squeeze(0).cpu();
    secs[2] = since(t);
    if (!o.picture.empty() && i == std::min<std::int64_t>(o.picture_cover, r.covers - 1))
      write_picture(o.picture, lr, {up[0], up[2], truth}, o.picture_crop);
    for (int j = 0; j < 3; ++j) {
      m[j].psnr.push_back(psnr(up[j], truth));
      m[j].ssim.push_back(ssim(up[j], truth));
      m[j].seconds_per_image += secs[j] / static_cast<double>(r.covers);
      outputs[j][i].copy_(up[j]);
    }
  }
  for (auto& s : m) {
    mean_std(s.psnr, s.psnr_mean, s.psnr_std);
    mean_std(s.ssim, s.ssim_mean, s.ssim_std);
  }

  // FID over fixed crops (the same places in every method's covers and in the truth).
  std::vector<std::pair<int, int>> places;
  std::mt19937_64 rng(o.seed ^ 0xF1DULL);
  std::uniform_int_distribution<int> pos(0, to - o.fid_crop);
  for (std::int64_t i = 0; i < r.covers * o.crops_per_cover; ++i) places.emplace_back(pos(rng), pos(rng));
  auto crops = [&](const at::Tensor& covers) {
    std::vector<at::Tensor> parts;
    for (std::int64_t i = 0; i < r.covers; ++i)
      for (int j = 0; j < o.crops_per_cover; ++j) {
        const auto [y, x] = places[static_cast<std::size_t>(i * o.crops_per_cover + j)];
        parts.push_back(covers[i].narrow(1, y, o.fid_crop).narrow(2, x, o.fid_crop));
      }
    return detail::to_unit(at::stack(parts));
  };
  log("training the judge for FID on the train covers at " + std::to_string(o.judge_size) + " px");
  detail::Covers train = detail::load_covers(dataset, data::Split::train, to, o.judge_covers, o.log);
  auto judge = detail::train_judge(train, static_cast<int>(dataset.genres().size()), o.judge_size, o.judge_epochs,
                                   o.judge_covers, o.seed);
  train.hr = at::Tensor();
  if (!judge) throw InputError(o.data.string(), "FID needs a judge trained on genres; the dataset has fewer than two");
  r.features = "judge-cnn-128 (cover genre CNN trained on " + std::to_string(o.judge_covers) + " train covers at " +
               std::to_string(o.judge_size) + " px, " + std::to_string(o.judge_epochs) + " epochs), on " + std::to_string(o.crops_per_cover) + " fixed " + std::to_string(o.fid_crop) +
               " px crops per cover";
  auto features = [&](const at::Tensor& covers) { return eval::to_feature_matrix(judge->features(crops(covers))); };
  const eval::FeatureMatrix real = features(held.hr);
  std::vector<eval::FeatureMatrix> fx;
  for (int j = 0; j < 3; ++j) {
    fx.push_back(features(outputs[j]));
    m[j].fid = eval::fid(fx[j], real);
  }

  // Bootstrap over covers: FID of each method and the paired margins.
  std::vector<std::vector<double>> fid_boot(3);
  std::vector<double> psnr_gain_boot, ssim_gain_boot, fid_gain_boot;
  std::vector<double> psnr_gain, ssim_gain;
  for (std::int64_t i = 0; i < r.covers; ++i) {
    psnr_gain.push_back(m[2].psnr[i] - m[0].psnr[i]);
    ssim_gain.push_back(m[2].ssim[i] - m[0].ssim[i]);
  }
  std::mt19937_64 brng(o.seed ^ 0xB007ULL);
  std::uniform_int_distribution<std::int64_t> pick(0, r.covers - 1);
  for (std::int64_t b = 0; b < o.bootstrap; ++b) {
    std::vector<std::int64_t> sample(static_cast<std::size_t>(r.covers));
    for (auto& s : sample) s = pick(brng);
    const eval::FeatureMatrix rb = cover_rows(real, sample, o.crops_per_cover);
    double f[3];
    for (int j = 0; j < 3; ++j) {
      f[j] = eval::fid(cover_rows(fx[j], sample, o.crops_per_cover), rb);
      fid_boot[j].push_back(f[j]);
    }
    fid_gain_boot.push_back(f[0] - f[2]);
    double pg = 0, sg = 0;
    for (std::int64_t s : sample) {
      pg += psnr_gain[s];
      sg += ssim_gain[s];
    }
    psnr_gain_boot.push_back(pg / r.covers);
    ssim_gain_boot.push_back(sg / r.covers);
  }
  for (int j = 0; j < 3; ++j) {
    m[j].fid_lo = percentile(fid_boot[j], 0.025);
    m[j].fid_hi = percentile(fid_boot[j], 0.975);
  }
  auto margin = [&](const std::string& what, const std::vector<double>& per_cover, double point,
                    const std::vector<double>& boot) {
    Margin g;
    g.what = what;
    double mean = point, sd = 0;
    if (!per_cover.empty()) mean_std(per_cover, mean, sd);
    g.mean = mean;
    g.std = sd;
    g.lo = percentile(boot, 0.025);
    g.hi = percentile(boot, 0.975);
    return g;
  };
  r.margins.push_back(margin("psnr learned - lanczos (dB)", psnr_gain, 0, psnr_gain_boot));
  r.margins.push_back(margin("ssim learned - lanczos", ssim_gain, 0, ssim_gain_boot));
  r.margins.push_back(margin("fid lanczos - learned", {}, m[0].fid - m[2].fid, fid_gain_boot));
  r.methods = std::move(m);
  return r;
}

void write_comparison(const std::filesystem::path& image, const std::filesystem::path& model,
                      const std::filesystem::path& out, int crop, const PluginRegistry& registry) {
  const finish::Image art = finish::read_image(image);
  if (art.width != art.height)
    throw InputError(image.string(), "is " + std::to_string(art.width) + "x" + std::to_string(art.height) +
                                         " px; the comparison takes a square cover");
  std::shared_ptr<Upscaler> up = load(model, registry);
  const int side = static_cast<int>(art.width * up->factor());
  const at::Tensor lr =
      at::from_blob(const_cast<std::uint8_t*>(art.rgb.data()), {art.height, art.width, 3}, at::kByte)
          .permute({2, 0, 1})
          .contiguous();
  const at::Tensor learned = detail::to_u8(up->upscale(detail::to_unit(lr.unsqueeze(0)))).squeeze(0).cpu();
  write_picture(out, lr, {classic(lr, side, cv::INTER_LANCZOS4), learned}, crop);
}

std::string EvalReport::to_json() const {
  json j{{"from", from}, {"to", to}, {"covers", covers}, {"threads", threads}, {"features", features}};
  for (const auto& s : methods)
    j["methods"].push_back({{"name", s.name},
                            {"psnr", {{"mean", s.psnr_mean}, {"std", s.psnr_std}}},
                            {"ssim", {{"mean", s.ssim_mean}, {"std", s.ssim_std}}},
                            {"fid", {{"value", s.fid}, {"ci95", {s.fid_lo, s.fid_hi}}}},
                            {"seconds_per_image", s.seconds_per_image}});
  for (const auto& g : margins)
    j["margins"].push_back({{"what", g.what}, {"mean", g.mean}, {"std", g.std}, {"ci95", {g.lo, g.hi}}});
  return j.dump(2);
}

std::string EvalReport::to_text() const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%lld held-out covers, %d -> %d px, %d threads\nFID features: %s\n\n",
                static_cast<long long>(covers), from, to, threads, features.c_str());
  out += line;
  std::snprintf(line, sizeof line, "%-8s %17s %17s %26s %12s\n", "method", "PSNR dB (std)", "SSIM (std)", "FID [95% CI]",
                "s/image");
  out += line;
  for (const auto& m : methods) {
    std::snprintf(line, sizeof line, "%-8s %8.2f (%5.2f) %9.4f (%5.3f) %8.2f [%6.2f, %6.2f] %12.3f\n", m.name.c_str(),
                  m.psnr_mean, m.psnr_std, m.ssim_mean, m.ssim_std, m.fid, m.fid_lo, m.fid_hi, m.seconds_per_image);
    out += line;
  }
  out += "\n";
  for (const auto& g : margins) {
    std::snprintf(line, sizeof line, "%-30s %+.4f (per-cover std %.4f) 95%% CI [%+.4f, %+.4f]\n", g.what.c_str(), g.mean,
                  g.std, g.lo, g.hi);
    out += line;
  }
  return out;
}

}  // namespace covergen::upscale
