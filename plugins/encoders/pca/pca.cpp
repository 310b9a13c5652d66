// pca: standardise the summary vector, project on the principal components
// (Eigen, float64), optionally whiten. Agrees with scikit-learn's
// PCA(StandardScaler().fit_transform(X)): explained_variance_ratio_ and components_
// up to sign (tests/encoders/data/pca_reference.*). Sign convention here: the
// largest-magnitude entry of each component is positive.
//
// Config: {"dim": k} (0 = choose by "variance"), {"variance": 0.95} (smallest k whose
// cumulative explained variance ratio exceeds it, as sklearn's n_components=0.95),
// {"whiten": false}. Resolved after fit: input_dim, dim, explained_variance_ratio.
#include "../common/encoder_common.hpp"

#include <covergen/plugin.hpp>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <ATen/core/grad_mode.h>

namespace {

using covergen::InputError;
using covergen::encoders::json;

class PcaEncoder : public covergen::Encoder {
 public:
  explicit PcaEncoder(const std::string& text) {
    auto cfg = covergen::encoders::parse_config("pca", text);
    namespace ce = covergen::encoders;
    input_dim_ = ce::get<std::int64_t>(cfg, "input_dim", 0, "pca");
    dim_ = ce::get<std::int64_t>(cfg, "dim", 0, "pca");
    variance_ = ce::get<double>(cfg, "variance", 0.95, "pca");
    whiten_ = ce::get<bool>(cfg, "whiten", false, "pca");
    fitted_ = ce::get<bool>(cfg, "fitted", false, "pca");
    ratio_ = ce::get<std::vector<double>>(cfg, "explained_variance_ratio", {}, "pca");
    if (input_dim_ < 0 || dim_ < 0) throw InputError("pca encoder config: input_dim and dim must be >= 0");
    if (!(variance_ > 0.0 && variance_ <= 1.0)) throw InputError("pca encoder config: 'variance' must be in (0, 1]");
    if (fitted_ && (input_dim_ <= 0 || dim_ <= 0 || dim_ > input_dim_))
      throw InputError("pca encoder config: a fitted model needs 0 < dim <= input_dim");
    allocate();
  }

  std::string config_json() const override {
    return json{{"input_dim", input_dim_}, {"dim", dim_}, {"variance", variance_}, {"whiten", whiten_},
                {"fitted", fitted_}, {"explained_variance_ratio", ratio_}}
        .dump();
  }
  covergen::NamedTensors named_tensors() override {
    return {{"mean", mean_}, {"scale", scale_}, {"components", components_}, {"explained_variance", variance_t_}};
  }
  void to(const c10::Device& d) override {
    mean_ = mean_.to(d);
    scale_ = scale_.to(d);
    components_ = components_.to(d);
    variance_t_ = variance_t_.to(d);
  }
  c10::Device device() const override { return mean_.device(); }
  covergen::EncoderInput input_kind() const override { return covergen::EncoderInput::summary; }
  std::int64_t input_dim() const override { return input_dim_; }
  std::int64_t dim() const override { return dim_; }
  bool fitted() const override { return fitted_; }

  covergen::FitReport fit(const covergen::EncoderData& train, const covergen::EncoderData& val,
                          const covergen::FitOptions& options) override {
    const auto& x = train.inputs;
    if (!x.defined() || x.dim() != 2) throw InputError("pca encoder: expected [N, F] summary vectors to fit on");
    const std::int64_t n = x.size(0), f = x.size(1);
    if (n < 2) throw InputError("pca encoder: need at least 2 training examples, got " + std::to_string(n));
    if (!at::isfinite(x).all().item<bool>()) throw InputError("pca encoder: the training data contains NaN or Inf");
    auto xd = x.to(at::kCPU, at::kDouble).contiguous();
    Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> X(xd.data_ptr<double>(), n, f);
    Eigen::RowVectorXd mu = X.colwise().mean();
    Eigen::MatrixXd Xc = X.rowwise() - mu;
    Eigen::RowVectorXd sd = (Xc.array().square().colwise().sum() / static_cast<double>(n)).sqrt();
    for (Eigen::Index j = 0; j < f; ++j)
      if (!(sd(j) > 1e-12)) sd(j) = 1.0;
    Eigen::MatrixXd Z = Xc.array().rowwise() / sd.array();
    // Covariance (ddof = 1, as sklearn's explained_variance_) and its eigenvectors.
    Eigen::MatrixXd C = (Z.transpose() * Z) / static_cast<double>(n - 1);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(C);
    if (es.info() != Eigen::Success) throw covergen::Error("pca encoder: eigendecomposition failed");
    const Eigen::Index m = std::min<Eigen::Index>(f, n);  // rank bound, as sklearn's min(n, f)
    Eigen::VectorXd ev = es.eigenvalues().reverse().head(m).cwiseMax(0.0);
    Eigen::MatrixXd V = es.eigenvectors().rowwise().reverse().leftCols(m);  // [f, m]
    const double total = es.eigenvalues().cwiseMax(0.0).sum();
    std::vector<double> ratio(static_cast<std::size_t>(m));
    for (Eigen::Index i = 0; i < m; ++i) ratio[static_cast<std::size_t>(i)] = total > 0 ? ev(i) / total : 0.0;

    std::int64_t k = options.dim > 0 ? options.dim : dim_;
    if (k <= 0) {  // by explained variance: first k with cumsum > target (sklearn: searchsorted side=right, +1)
      double c = 0;
      k = m;
      for (Eigen::Index i = 0; i < m; ++i) {
        c += ratio[static_cast<std::size_t>(i)];
        if (c > variance_) {
          k = i + 1;
          break;
        }
      }
    }
    if (k > m)
      throw InputError("pca encoder: asked for " + std::to_string(k) + " components but the data has at most " +
                       std::to_string(m) + " (" + std::to_string(n) + " examples, " + std::to_string(f) + " features)");
    input_dim_ = f;
    dim_ = k;
    allocate();
    ratio_.assign(ratio.begin(), ratio.begin() + k);
    auto comp = at::empty({k, f}, at::kDouble);
    auto* cp = comp.data_ptr<double>();
    for (std::int64_t i = 0; i < k; ++i) {
      Eigen::Index arg = 0;
      V.col(i).cwiseAbs().maxCoeff(&arg);
      const double s = V(arg, i) < 0 ? -1.0 : 1.0;
      for (std::int64_t j = 0; j < f; ++j) cp[i * f + j] = s * V(j, i);
    }
    at::NoGradGuard ng;
    to(c10::kCPU);
    mean_.copy_(at::from_blob(mu.data(), {f}, at::kDouble).to(at::kFloat));
    scale_.copy_(at::from_blob(sd.data(), {f}, at::kDouble).to(at::kFloat));
    components_.copy_(comp.to(at::kFloat));
    variance_t_.copy_(at::from_blob(ev.data(), {k}, at::kDouble).to(at::kFloat));
    to(options.device);
    fitted_ = true;

    covergen::FitReport rep;
    rep.epochs = 1;
    double kept = 0;
    for (double r : ratio_) kept += r;
    rep.metrics = {{"components", static_cast<double>(k)}, {"explained_variance_ratio", kept}};
    if (val.size() > 0) {  // reconstruction error of the standardised validation data
      auto zv = (val.inputs.to(mean_.device()) - mean_) / scale_;
      auto p = at::matmul(zv, components_.t());
      auto rec = at::matmul(p, components_);
      rep.metrics.emplace_back("val_reconstruction_mse", (rec - zv).pow(2).mean().item<double>());
    }
    return rep;
  }

  at::Tensor encode_batch(const at::Tensor& x) const override {
    covergen::encoders::require_fitted("pca", fitted_);
    covergen::encoders::check_input("pca", covergen::EncoderInput::summary, input_dim_, x);
    at::NoGradGuard ng;
    auto z = (x.to(mean_.device(), at::kFloat) - mean_) / scale_;
    auto p = at::matmul(z, components_.t());
    if (whiten_) p = p / variance_t_.clamp_min(1e-12).sqrt();
    return p;
  }

 private:
  void allocate() {
    const auto d = mean_.defined() ? mean_.device() : c10::Device(c10::kCPU);
    mean_ = at::zeros({input_dim_}, at::TensorOptions().device(d));
    scale_ = at::ones({input_dim_}, at::TensorOptions().device(d));
    components_ = at::zeros({dim_, input_dim_}, at::TensorOptions().device(d));
    variance_t_ = at::ones({dim_}, at::TensorOptions().device(d));
  }
  std::int64_t input_dim_ = 0, dim_ = 0;
  double variance_ = 0.95;
  bool whiten_ = false, fitted_ = false;
  std::vector<double> ratio_;
  at::Tensor mean_, scale_, components_, variance_t_;
};

}  // namespace

COVERGEN_ENCODER_PLUGIN(PcaEncoder, "pca", "1.0.0",
                        "PCA of the standardised summary vector (Eigen), by count or explained variance, optional whitening")
