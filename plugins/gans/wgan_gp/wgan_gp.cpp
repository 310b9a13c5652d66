// wgan-gp: WGAN with gradient penalty (Gulrajani et al.) on the DCGAN architecture:
// a critic without BatchNorm (LayerNorm over C,H,W by default, or none), lambda 10 on
// interpolates, n_critic 5, Adam 1e-4 (0, 0.9); conditioned as the dcgan plugin.
//
// Phases: "D" x n_critic — fakes made without grad, loss = D(fake) - D(real) +
// lambda * GP on x_hat = eps real + (1 - eps) fake (the condition interpolated with the
// same eps); "G" — -D(G(z)) with the critic's weights frozen.
#include <covergen/nn/gan_model.hpp>
#include <covergen/plugin.hpp>

#include <ATen/ATen.h>

namespace {

using covergen::nn::GanConfig;

GanConfig wgan_config(const std::string& json) {
  GanConfig c;
  c.d_norm = "layer";
  c.lr_g = c.lr_d = 1e-4;
  c.beta1 = 0.0;
  c.beta2 = 0.9;
  c.n_critic = 5;
  c.gp_lambda = 10.0;
  c.reuse_fake = false;
  c.update_from_json(json, "wgan-gp");
  if (c.d_norm == "batch")
    throw covergen::InputError("wgan-gp config: d_norm \"batch\" breaks the per-sample gradient penalty; use "
                               "\"layer\" or \"none\"");
  return c;
}

class WganGp : public covergen::nn::DcganFamilyModel {
 public:
  explicit WganGp(const std::string& json) : DcganFamilyModel(wgan_config(json)) {}

  std::vector<covergen::Phase> phases() const override {
    return {{"D", "D", 1, config_.n_critic, true}, {"G", "G", 1, 1, false}};
  }

  covergen::LossStats run_phase(std::size_t phase, const covergen::PhaseBatch& b,
                                const covergen::PhaseContext& ctx) override {
    if (phase == 0) return run_d(b, ctx);
    if (phase == 1) return run_g(b);
    throw covergen::InputError("wgan-gp: no phase " + std::to_string(phase));
  }

 private:
  covergen::LossStats run_d(const covergen::PhaseBatch& b, const covergen::PhaseContext& ctx) {
    check_batch(b, true);
    at::Tensor fake;
    {
      torch::NoGradGuard no_grad;
      fake = G_->forward(b.z, b.fake_cond);
    }
    at::Tensor d_real, d_fake;
    if (config_.d_norm == "batch") {
      d_real = D_->forward(b.real, b.real_cond).mean();
      d_fake = D_->forward(fake, b.fake_cond).mean();
    } else {
      // The critic treats samples independently (layer norm or none): one forward over
      // [real; fake] instead of two (fewer, larger convolutions).
      const std::int64_t n = b.real.size(0);
      const at::Tensor c = config_.condition_dim > 0 ? at::cat({b.real_cond, b.fake_cond}) : at::Tensor();
      const at::Tensor both = D_->forward(at::cat({b.real, fake}), c);
      d_real = both.narrow(0, 0, n).mean();
      d_fake = both.narrow(0, n, fake.size(0)).mean();
    }
    const at::Tensor w_dist = d_real - d_fake;
    at::Tensor loss = -w_dist;
    at::Tensor gp;
    if (config_.gp_lambda > 0) {
      // Per-sample weights from the engine's RNG, so data-parallel ranks match one process.
      const at::Tensor eps = ctx.sample_uniform ? ctx.sample_uniform(b.real.size(0)).to(b.real.options())
                                                : at::rand({b.real.size(0)}, b.real.options());
      const bool cond = config_.condition_dim > 0;
      gp = covergen::nn::gradient_penalty(
          [&](const at::Tensor& x_hat, const at::Tensor& e) {
            at::Tensor c_hat;
            if (cond) {
              const at::Tensor ee = e.view({-1, 1});
              c_hat = ee * b.real_cond + (1.0 - ee) * b.fake_cond;
            }
            return D_->forward(x_hat, c_hat);
          },
          b.real, fake, eps);
      loss = loss + config_.gp_lambda * gp;
    }
    loss.backward();
    covergen::LossStats s{{"loss", loss.item<double>()}, {"w_dist", w_dist.item<double>()}};
    if (gp.defined()) s.emplace_back("gp", gp.item<double>());
    return s;
  }

  covergen::LossStats run_g(const covergen::PhaseBatch& b) {
    check_batch(b, false);
    const at::Tensor fake = G_->forward(b.z, b.fake_cond);
    at::Tensor loss;
    {
      covergen::nn::FreezeParameters freeze(*D_);
      loss = -D_->forward(fake, b.fake_cond).mean();
      loss.backward();
    }
    return {{"loss", loss.item<double>()}};
  }
};

}  // namespace

COVERGEN_GAN_PLUGIN(WganGp, "wgan-gp", "1.0.0",
                    "WGAN-GP on the DCGAN architecture (LayerNorm critic, lambda 10, n_critic 5), conditional")
