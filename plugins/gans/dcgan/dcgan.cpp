// dcgan: the standard DCGAN (Radford et al.; N(0, 0.02) init, BatchNorm, BCE on logits,
// Adam 2e-4 (0.5, 0.999)) at 32/64/128, conditioned by concatenation (Reed et al.) or
// with a projection discriminator (Miyato & Koyama).
//
// Phases, as pytorch/examples trains it: "D" — D(real) -> 1, D(G(z).detach()) -> 0;
// "G" — D(fake) -> 1 on the fakes the D phase made this step (reuse_fake, default;
// G's weights have not changed since, so this is exact and saves a G forward), with
// D's weights frozen so no D weight gradients are built.
#include <covergen/nn/gan_model.hpp>
#include <covergen/plugin.hpp>

#include <ATen/ATen.h>

namespace {

using covergen::nn::GanConfig;

GanConfig dcgan_config(const std::string& json) {
  GanConfig c;  // the defaults are DCGAN's
  c.update_from_json(json, "dcgan");
  return c;
}

class Dcgan : public covergen::nn::DcganFamilyModel {
 public:
  explicit Dcgan(const std::string& json) : DcganFamilyModel(dcgan_config(json)) {}

  std::vector<covergen::Phase> phases() const override {
    return {{"D", "D", 1, config_.n_critic, true}, {"G", "G", 1, 1, false}};
  }

  covergen::LossStats run_phase(std::size_t phase, const covergen::PhaseBatch& b,
                                const covergen::PhaseContext& ctx) override {
    if (phase == 0) return run_d(b, ctx);
    if (phase == 1) return run_g(b, ctx);
    throw covergen::InputError("dcgan: no phase " + std::to_string(phase));
  }

 private:
  covergen::LossStats run_d(const covergen::PhaseBatch& b, const covergen::PhaseContext& ctx) {
    check_batch(b, true);
    cached_fake_ = at::Tensor();
    const at::Tensor d_real = D_->forward(b.real, b.real_cond);
    const at::Tensor loss_real = at::binary_cross_entropy_with_logits(d_real, at::ones_like(d_real));
    at::Tensor fake;
    if (config_.reuse_fake) {
      fake = G_->forward(b.z, b.fake_cond);  // keeps G's graph for the G phase
    } else {
      torch::NoGradGuard no_grad;
      fake = G_->forward(b.z, b.fake_cond);
    }
    const at::Tensor d_fake = D_->forward(fake.detach(), b.fake_cond);
    const at::Tensor loss_fake = at::binary_cross_entropy_with_logits(d_fake, at::zeros_like(d_fake));
    const at::Tensor loss = loss_real + loss_fake;
    loss.backward();
    if (config_.reuse_fake) {
      cached_fake_ = fake;
      cached_cond_ = b.fake_cond;
      cached_step_ = ctx.step;
    }
    torch::NoGradGuard no_grad;
    return {{"loss", loss.item<double>()},
            {"real", at::sigmoid(d_real).mean().item<double>()},
            {"fake", at::sigmoid(d_fake).mean().item<double>()}};
  }

  covergen::LossStats run_g(const covergen::PhaseBatch& b, const covergen::PhaseContext& ctx) {
    check_batch(b, false);
    at::Tensor fake, cond;
    if (cached_fake_.defined() && cached_step_ == ctx.step) {
      fake = cached_fake_;
      cond = cached_cond_;
    } else {
      fake = G_->forward(b.z, b.fake_cond);
      cond = b.fake_cond;
    }
    cached_fake_ = at::Tensor();
    cached_cond_ = at::Tensor();
    at::Tensor loss;
    {
      covergen::nn::FreezeParameters freeze(*D_);
      const at::Tensor d_fake = D_->forward(fake, cond);
      loss = at::binary_cross_entropy_with_logits(d_fake, at::ones_like(d_fake));
      loss.backward();
    }
    return {{"loss", loss.item<double>()}};
  }

  at::Tensor cached_fake_, cached_cond_;
  std::int64_t cached_step_ = -1;
};

}  // namespace

COVERGEN_GAN_PLUGIN(Dcgan, "dcgan", "1.0.0",
                    "DCGAN (BCE, BatchNorm) 32/64/128, conditioned by concatenation or a projection discriminator")
