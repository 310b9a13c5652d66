#include "covergen/latent/mapper.hpp"

#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>
#include <covergen/plugin_registry.hpp>

#include <nlohmann/json.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace covergen::latent {

namespace {

constexpr std::int64_t kMaxKnots = 2048;
constexpr double kPi = 3.14159265358979323846;

at::Tensor inverse_normal_cdf(const at::Tensor& p) { return std::sqrt(2.0) * at::erfinv(2.0 * p - 1.0); }

// Symmetric inverse square root of a covariance (eigenvalues floored).
at::Tensor inverse_sqrt(const at::Tensor& cov) {
  auto [evals, evecs] = at::linalg_eigh(cov);
  auto inv = evals.clamp_min(1e-10 * std::max(1e-300, evals.max().item<double>())).rsqrt();
  return at::matmul(evecs * inv.unsqueeze(0), evecs.t());
}

at::Tensor pairwise_upper(const at::Tensor& x) {
  const auto d = at::cdist(x, x);
  const auto n = x.size(0);
  auto idx = at::triu_indices(n, n, 1, at::TensorOptions().dtype(at::kLong));
  return d.index({idx[0], idx[1]});
}

at::Tensor average_ranks(const at::Tensor& v) {
  auto x = v.to(at::kDouble).contiguous();
  const auto n = x.numel();
  auto order = at::argsort(x).contiguous();
  const auto* o = order.data_ptr<std::int64_t>();
  const auto* xv = x.data_ptr<double>();
  auto ranks = at::empty({n}, at::kDouble);
  auto* r = ranks.data_ptr<double>();
  for (std::int64_t i = 0; i < n;) {
    std::int64_t j = i;
    while (j + 1 < n && xv[o[j + 1]] == xv[o[i]]) ++j;
    const double avg = 0.5 * static_cast<double>(i + j);
    for (std::int64_t k = i; k <= j; ++k) r[o[k]] = avg;
    i = j + 1;
  }
  return ranks;
}

at::Tensor get(const std::map<std::string, at::Tensor>& m, const std::string& name, const std::string& file) {
  auto it = m.find("mapper/" + name);
  if (it == m.end() || !it->second.defined())
    throw InputError(file, "is not a complete mapper: tensor mapper/" + name + " is missing");
  return it->second.to(at::kDouble).contiguous();
}

}  // namespace

LatentMapper LatentMapper::fit(const at::Tensor& phi_in, std::int64_t L, std::uint64_t seed) {
  if (!phi_in.defined() || phi_in.dim() != 2) throw InputError("mapper fit: embeddings must be [N, D]");
  if (L < 1) throw InputError("mapper fit: the generator's latent_dim must be positive");
  const auto phi = phi_in.to(at::kCPU, at::kDouble).contiguous();
  const auto N = phi.size(0), D = phi.size(1);
  if (N < 3) throw InputError("mapper fit: need at least 3 tracks, got " + std::to_string(N));
  if (!at::isfinite(phi).all().item<bool>()) throw InputError("mapper fit: the embeddings contain NaN or Inf");
  LatentMapper m;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);

  // 1. PCA whitening
  m.mean_ = phi.mean(0);
  const auto X = phi - m.mean_;
  auto [evals, evecs] = at::linalg_eigh(at::matmul(X.t(), X) / static_cast<double>(N - 1));
  evals = evals.flip(0);
  evecs = evecs.flip(1);
  const double top = evals[0].item<double>();
  if (!(top > 0.0)) throw InputError("mapper fit: every track has the same embedding; nothing to map");
  std::int64_t rank = (evals > 1e-9 * top).sum().item<std::int64_t>();
  const std::int64_t k = std::min({L, D, rank, N - 1});
  m.proj_ = evecs.narrow(1, 0, k) / evals.narrow(0, 0, k).sqrt().unsqueeze(0);
  const auto u = at::matmul(X, m.proj_);

  // 2. Random Fourier features for the dimensions Φ does not have
  const std::int64_t r = L - k;
  {
    const auto sub = u.narrow(0, 0, std::min<std::int64_t>(N, 1000));
    const double sigma = std::max(1e-6, pairwise_upper(sub).median().item<double>());
    m.rff_w_ = at::randn({r, k}, gen, at::TensorOptions().dtype(at::kDouble)) / sigma;
    m.rff_b_ = at::rand({r}, gen, at::TensorOptions().dtype(at::kDouble)) * (2.0 * kPi);
  }
  at::Tensor g = r > 0 ? at::cat({u, std::sqrt(2.0) * at::cos(at::matmul(u, m.rff_w_.t()) + m.rff_b_)}, 1) : u;

  // 3. Marginal Gaussianisation: knots are order statistics at CDF levels (i + 0.5) / N
  const auto sorted = std::get<0>(g.sort(0));
  const std::int64_t Q = std::min(N, kMaxKnots);
  auto pick = at::linspace(0, static_cast<double>(N - 1), Q, at::kDouble).round().to(at::kLong);
  m.knots_ = sorted.index_select(0, pick).contiguous();
  m.knot_p_ = (pick.to(at::kDouble) + 0.5) / static_cast<double>(N);
  m.tail_ = g.std(0).clamp_min(1e-12);
  m.zca_mean_ = at::zeros({L}, at::kDouble);
  m.zca_ = at::eye(L, at::kDouble);
  const auto h = m.map(phi).to(at::kDouble);  // steps 1-3 (ZCA is the identity so far)

  // 4. ZCA whitening
  m.zca_mean_ = h.mean(0);
  const auto Hc = h - m.zca_mean_;
  m.zca_ = inverse_sqrt(at::matmul(Hc.t(), Hc) / static_cast<double>(N - 1));
  return m;
}

at::Tensor LatentMapper::whiten(const at::Tensor& phi) const {
  const auto x = phi.dim() == 1 ? phi.unsqueeze(0) : phi;
  if (x.dim() != 2 || x.size(1) != input_dim())
    throw InputError("mapper: expected embeddings of size " + std::to_string(input_dim()) + ", got " +
                     std::to_string(x.size(-1)) + " (was the mapper fitted with this encoder?)");
  return at::matmul(x.to(at::kCPU, at::kDouble) - mean_, proj_);
}

at::Tensor LatentMapper::map(const at::Tensor& phi) const {
  const bool single = phi.dim() == 1;
  const auto u = whiten(phi);
  at::Tensor g = rff_dim() > 0 ? at::cat({u, std::sqrt(2.0) * at::cos(at::matmul(u, rff_w_.t()) + rff_b_)}, 1) : u;
  // empirical CDF, column by column
  const auto L = g.size(1), Q = knots_.size(0);
  auto out = at::empty_like(g);
  const auto q_knots = inverse_normal_cdf(knot_p_);  // [Q]
  for (std::int64_t j = 0; j < L; ++j) {
    const auto col = g.select(1, j).contiguous();
    const auto kn = knots_.select(1, j).contiguous();
    auto idx = at::searchsorted(kn, col).clamp(1, Q - 1);  // kn[idx-1] <= x < kn[idx]
    const auto x0 = kn.index_select(0, idx - 1), x1 = kn.index_select(0, idx);
    const auto p0 = knot_p_.index_select(0, idx - 1), p1 = knot_p_.index_select(0, idx);
    const auto t = ((col - x0) / (x1 - x0).clamp_min(1e-300)).clamp(0.0, 1.0);
    auto q = inverse_normal_cdf(p0 + t * (p1 - p0));
    // linear tails beyond the fitted range (slope 1 / column std)
    const double lo = kn[0].item<double>(), hi = kn[Q - 1].item<double>(), s = tail_[j].item<double>();
    q = at::where(col < lo, q_knots[0] + (col - lo) / s, q);
    q = at::where(col > hi, q_knots[Q - 1] + (col - hi) / s, q);
    out.select(1, j).copy_(q);
  }
  auto z = at::matmul(out - zca_mean_, zca_).to(at::kFloat);
  return single ? z.squeeze(0) : z;
}

std::int64_t LatentMapper::input_dim() const { return mean_.defined() ? mean_.size(0) : 0; }
std::int64_t LatentMapper::latent_dim() const { return zca_.defined() ? zca_.size(0) : 0; }
std::int64_t LatentMapper::pca_dim() const { return proj_.defined() ? proj_.size(1) : 0; }
std::int64_t LatentMapper::rff_dim() const { return latent_dim() - pca_dim(); }

NamedTensors LatentMapper::tensors() const {
  return {{"mapper/mean", mean_},       {"mapper/proj", proj_},     {"mapper/rff_w", rff_w_},
          {"mapper/rff_b", rff_b_},     {"mapper/knots", knots_},   {"mapper/knot_p", knot_p_},
          {"mapper/tail", tail_},       {"mapper/zca_mean", zca_mean_}, {"mapper/zca", zca_}};
}

LatentMapper LatentMapper::from_tensors(const NamedTensors& tensors, const std::string& file) {
  std::map<std::string, at::Tensor> t(tensors.begin(), tensors.end());
  LatentMapper m;
  m.mean_ = get(t, "mean", file);
  m.proj_ = get(t, "proj", file);
  m.rff_w_ = get(t, "rff_w", file);
  m.rff_b_ = get(t, "rff_b", file);
  m.knots_ = get(t, "knots", file);
  m.knot_p_ = get(t, "knot_p", file);
  m.tail_ = get(t, "tail", file);
  m.zca_mean_ = get(t, "zca_mean", file);
  m.zca_ = get(t, "zca", file);
  const auto D = m.mean_.size(0), k = m.proj_.dim() == 2 ? m.proj_.size(1) : -1;
  const auto L = m.zca_.dim() == 2 ? m.zca_.size(0) : -1;
  const bool ok = m.mean_.dim() == 1 && m.proj_.dim() == 2 && m.proj_.size(0) == D && L >= k && k >= 1 &&
                  m.zca_.size(1) == L && m.rff_w_.dim() == 2 && m.rff_w_.size(0) == L - k &&
                  m.rff_w_.size(1) == k && m.rff_b_.numel() == L - k && m.knots_.dim() == 2 &&
                  m.knots_.size(1) == L && m.knots_.size(0) >= 2 && m.knot_p_.numel() == m.knots_.size(0) &&
                  m.tail_.numel() == L && m.zca_mean_.numel() == L;
  if (!ok) throw InputError(file, "the mapper's tensors have inconsistent shapes; refit it with covergen mapper fit");
  const auto p = m.knot_p_;
  if (!(p.gt(0).all().item<bool>() && p.lt(1).all().item<bool>()))
    throw InputError(file, "the mapper's CDF levels lie outside (0, 1); refit it with covergen mapper fit");
  for (const auto& x : {m.mean_, m.proj_, m.rff_w_, m.rff_b_, m.knots_, m.tail_, m.zca_mean_, m.zca_})
    if (!at::isfinite(x).all().item<bool>()) throw InputError(file, "the mapper holds NaN or Inf values");
  return m;
}

void save_mapper(const std::filesystem::path& path, const LatentMapper& mapper,
                 const std::filesystem::path& encoder_file, const std::string& meta_json) {
  ModelHeader eh;
  NamedTensors enc = read_model_file(encoder_file, &eh);
  if (eh.kind != "encoder")
    throw InputError(encoder_file.string(), "is a " + eh.kind + " model file, expected an encoder (covergen encoder fit)");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(meta_json);
  } catch (const nlohmann::json::exception& e) {
    throw Error("save_mapper: meta is not JSON: " + std::string(e.what()));
  }
  ModelHeader h;
  h.kind = "mapper";
  h.plugin = "latent-mapper";
  h.plugin_version = "1";
  h.config_json = nlohmann::json{
      {"method", "pca-whiten+rff+marginal-gaussianise+zca"},
      {"input_dim", mapper.input_dim()},
      {"latent_dim", mapper.latent_dim()},
      {"pca_dim", mapper.pca_dim()},
      {"rff_dim", mapper.rff_dim()},
      {"encoder", {{"plugin", eh.plugin}, {"plugin_version", eh.plugin_version},
                   {"config", nlohmann::json::parse(eh.config_json)}, {"meta", nlohmann::json::parse(eh.meta_json)}}}}
                      .dump();
  h.meta_json = meta.dump();
  NamedTensors all = mapper.tensors();
  for (auto& [name, t] : enc) all.emplace_back("encoder/" + name, t);
  write_model_file(path, h, all);
}

MapperFile load_mapper(const std::filesystem::path& path, const PluginRegistry& registry) {
  ModelHeader h;
  NamedTensors all = read_model_file(path, &h);
  if (h.kind != "mapper")
    throw InputError(path.string(), "is a " + h.kind + " model file, expected a mapper (from covergen mapper fit)");
  nlohmann::json cfg;
  try {
    cfg = nlohmann::json::parse(h.config_json);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path.string(), "the mapper's config is not JSON: " + std::string(e.what()));
  }
  if (!cfg.contains("encoder") || !cfg["encoder"].is_object() || !cfg["encoder"].contains("plugin") ||
      !cfg["encoder"]["plugin"].is_string())
    throw InputError(path.string(), "the mapper's header names no encoder plugin; refit it with covergen mapper fit");
  NamedTensors mine, enc;
  for (auto& [name, t] : all) {
    if (name.rfind("encoder/", 0) == 0) enc.emplace_back(name.substr(8), t);
    else mine.emplace_back(name, t);
  }
  MapperFile f{LatentMapper::from_tensors(mine, path.string()), nullptr, h.meta_json};
  f.encoder = registry.create_encoder(cfg["encoder"]["plugin"].get<std::string>(),
                                      cfg["encoder"].value("config", nlohmann::json::object()).dump());
  load_named_tensors(*f.encoder, enc, path.string());
  if (f.encoder->dim() != f.mapper.input_dim())
    throw InputError(path.string(), "the embedded encoder gives " + std::to_string(f.encoder->dim()) +
                                        "-d embeddings but the mapper expects " + std::to_string(f.mapper.input_dim()));
  return f;
}

TwoSampleTest mmd_test(const at::Tensor& x_in, const at::Tensor& y_in, std::int64_t permutations, std::uint64_t seed) {
  const auto x = x_in.to(at::kCPU, at::kDouble), y = y_in.to(at::kCPU, at::kDouble);
  if (x.dim() != 2 || y.dim() != 2 || x.size(1) != y.size(1) || x.size(0) < 2 || y.size(0) < 2)
    throw InputError("mmd_test: need samples [n, d] and [m, d] with n, m >= 2");
  const auto n = x.size(0), m = y.size(0), T = n + m;
  const auto Z = at::cat({x, y}, 0);
  const auto D2 = at::cdist(Z, Z).pow(2);
  auto iu = at::triu_indices(T, T, 1, at::TensorOptions().dtype(at::kLong));
  const double med2 = D2.index({iu[0], iu[1]}).median().item<double>();
  TwoSampleTest r;
  r.bandwidth = std::sqrt(std::max(med2, 1e-300));
  r.n_x = n;
  r.n_y = m;
  r.permutations = permutations;
  const auto K = at::exp(-D2 / (2.0 * std::max(med2, 1e-300)));
  const double total = K.sum().item<double>();
  const auto rows = K.sum(1);  // [T]
  // labels: 1 for the x group; MMD² for many labelings at once (rows of Lm).
  auto stat = [&](const at::Tensor& Lm) {  // [P, T] double 0/1
    const auto KL = at::matmul(Lm, K);      // [P, T]
    const auto lkl = (KL * Lm).sum(1);      // l'Kl
    const auto lr = at::matmul(Lm, rows);   // l'K1
    const auto s_xx = lkl - static_cast<double>(n);
    const auto s_yy = total - 2.0 * lr + lkl - static_cast<double>(m);
    const auto s_xy = lr - lkl;
    return s_xx / static_cast<double>(n * (n - 1)) + s_yy / static_cast<double>(m * (m - 1)) -
           2.0 * s_xy / static_cast<double>(n * m);
  };
  auto l0 = at::cat({at::ones({n}, at::kDouble), at::zeros({m}, at::kDouble)}).unsqueeze(0);
  r.mmd2 = stat(l0).item<double>();
  if (permutations > 0) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    std::int64_t ge = 0;
    for (std::int64_t s = 0; s < permutations; s += 100) {
      const auto P = std::min<std::int64_t>(100, permutations - s);
      auto keys = at::rand({P, T}, gen, at::TensorOptions().dtype(at::kDouble));
      auto ranks = at::argsort(keys, /*dim=*/static_cast<std::int64_t>(1), /*descending=*/false);  // a random permutation per row
      auto Lm = ranks.lt(n).to(at::kDouble);
      ge += (stat(Lm) >= r.mmd2).sum().item<std::int64_t>();
    }
    r.p_value = static_cast<double>(1 + ge) / static_cast<double>(1 + permutations);
  }
  return r;
}

double spearman(const at::Tensor& a, const at::Tensor& b) {
  if (a.numel() != b.numel() || a.numel() < 2) throw InputError("spearman: need two vectors of equal length >= 2");
  auto ra = average_ranks(a.flatten()), rb = average_ranks(b.flatten());
  ra = ra - ra.mean();
  rb = rb - rb.mean();
  const double den = std::sqrt((ra * ra).sum().item<double>() * (rb * rb).sum().item<double>());
  return den > 0 ? (ra * rb).sum().item<double>() / den : 0.0;
}

double distance_rank_correlation(const at::Tensor& a, const at::Tensor& b) {
  if (a.size(0) != b.size(0) || a.size(0) < 3) throw InputError("distance_rank_correlation: need the same N >= 3 rows");
  return spearman(pairwise_upper(a.to(at::kDouble)), pairwise_upper(b.to(at::kDouble)));
}

}  // namespace covergen::latent
