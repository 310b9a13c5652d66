// The GanModel base of the DCGAN-family plugins (dcgan, wgan-gp): owns G and D,
// their optimiser specs, named tensors, devices and modes; subclasses add the phases
// and losses.
#pragma once

#include "covergen/nn/dcgan.hpp"

#include <covergen/gan.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace covergen::nn {

class DcganFamilyModel : public GanModel {
 public:
  explicit DcganFamilyModel(const GanConfig& config);
  ~DcganFamilyModel() override;

  ConditionalGenerator& generator() override { return *gen_; }
  /// A new generator holding a copy of the current weights (on the same device).
  std::unique_ptr<ConditionalGenerator> make_generator() const override;
  /// "G" over the generator's parameters (lr_g), "D" over the discriminator's (lr_d).
  std::vector<OptimizerSpec> optimizers() override;
  std::string config_json() const override { return config_.to_json(); }
  /// "G.<name>" for the generator's tensors (the names generator() uses), "D.<name>".
  NamedTensors named_tensors() override;
  void to(const c10::Device& device) override;
  c10::Device device() const override;
  double ema_beta() const override { return config_.ema_beta; }
  void set_training(bool training) override;

  const GanConfig& config() const { return config_; }
  DcganGenerator& G() { return G_; }
  DcganDiscriminator& D() { return D_; }

 protected:
  /// Checks a phase batch against the config (shapes, conditions present when needed).
  void check_batch(const PhaseBatch& batch, bool needs_real) const;

  GanConfig config_;
  DcganGenerator G_;
  DcganDiscriminator D_;
  std::unique_ptr<DcganConditionalGenerator> gen_;
};

/// Turns requires_grad off for a module's parameters for its lifetime (the G phase
/// then builds no weight gradients for D), restoring the previous flags.
class FreezeParameters {
 public:
  explicit FreezeParameters(torch::nn::Module& module);
  ~FreezeParameters();
  FreezeParameters(const FreezeParameters&) = delete;
  FreezeParameters& operator=(const FreezeParameters&) = delete;

 private:
  std::vector<std::pair<at::Tensor, bool>> saved_;
};

/// The WGAN-GP gradient penalty (Gulrajani et al.): mean over the batch of
/// (||d critic(x_hat) / d x_hat||_2 - 1)^2 with x_hat = eps * real + (1 - eps) * fake,
/// eps [N] in [0, 1]. `critic` receives x_hat and eps (to interpolate conditions too).
/// The graph is kept (create_graph) so that backward reaches the critic's weights.
at::Tensor gradient_penalty(const std::function<at::Tensor(const at::Tensor& x_hat, const at::Tensor& eps)>& critic,
                            const at::Tensor& real, const at::Tensor& fake, const at::Tensor& eps);

}  // namespace covergen::nn
