// The training side of a conditional GAN.
//
// The core's training engine owns the loop, the data, the optimisers, EMA,
// checkpoints, logs and (for data-parallel runs) the gradient all-reduce. A GAN
// plugin owns its architecture and its losses, expressed as *phases*:
//
//   for step in 0..:
//     for each phase p with step % p.interval == 0:
//       repeat p.repeats times:                       (n_critic for WGAN-GP)
//         zero the grads of optimizer p.optimizer
//         stats = model.run_phase(p, batch, ctx)      (computes loss, calls backward)
//         all-reduce those grads across ranks; optimizer.step()
//     EMA of the generator's tensors (when ema_beta() > 0)
//
// DCGAN: phases {D main, G main}. WGAN-GP: {D main x n_critic (with gradient
// penalty), G main}. StyleGAN2: {D main, D reg every 16 (lazy R1), G main, G reg
// every 4 (path length)}; the lazy-regularisation lr/beta correction goes into
// OptimizerSpec; style mixing happens inside run_phase.
#pragma once

#include "covergen/generator.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace covergen {

/// An Adam optimiser over a group of tensors, created and stepped by the engine.
struct OptimizerSpec {
  std::string name;                 ///< "G", "D", ...
  std::vector<at::Tensor> params;   ///< leaf tensors with requires_grad
  double lr = 2e-4;
  double beta1 = 0.5, beta2 = 0.999, eps = 1e-8;
};

struct Phase {
  std::string name;       ///< e.g. "D", "D_r1", "G", "G_pl" (prefixes loss names in logs)
  std::string optimizer;  ///< OptimizerSpec::name it steps
  std::int64_t interval = 1;  ///< runs when step % interval == 0
  std::int64_t repeats = 1;   ///< times per step, each with a fresh real batch
  bool needs_real = true;     ///< whether the engine must fetch a real batch for it
};

/// What the engine hands each phase.
struct PhaseBatch {
  at::Tensor real;       ///< [B, 3, S, S] in [-1, 1], or undefined when !needs_real
  at::Tensor real_cond;  ///< [B, condition_dim] matching `real` (undefined if unconditional)
  at::Tensor fake_cond;  ///< [B, condition_dim] conditions to generate fakes for
  at::Tensor z;          ///< [B, latent_dim] latents, drawn by the engine's seeded RNG
};

struct PhaseContext {
  std::int64_t step = 0;
  c10::Device device{c10::kCPU};
  /// Fresh latents from the engine's RNG (for style mixing, path length, ...).
  std::function<at::Tensor(std::int64_t n)> sample_z;
  /// n per-sample uniforms in [0, 1) from the engine's RNG (e.g. WGAN-GP's
  /// interpolation weights). Data-parallel ranks get their rows of one draw for the
  /// global batch, so N ranks see the numbers one process sees. Empty outside the engine.
  std::function<at::Tensor(std::int64_t n)> sample_uniform;
};

using LossStats = std::vector<std::pair<std::string, double>>;

class GanModel : public PluginObject {
 public:
  ~GanModel() override;

  /// The generator being trained (its tensors alias the model's).
  virtual ConditionalGenerator& generator() = 0;
  /// A new generator of the same architecture, for the EMA copy and for export;
  /// the engine loads weights into its named_tensors().
  virtual std::unique_ptr<ConditionalGenerator> make_generator() const = 0;

  virtual std::vector<OptimizerSpec> optimizers() = 0;
  virtual std::vector<Phase> phases() const = 0;
  /// Computes phase `phase`'s loss on `batch` and calls backward. Never steps an
  /// optimiser. Returns the losses to log (finite values; the engine checks).
  virtual LossStats run_phase(std::size_t phase, const PhaseBatch& batch, const PhaseContext& ctx) = 0;

  /// EMA decay per step for the generator's weights (the engine ramps it up from
  /// (1+step)/(10+step) early in training); 0 disables EMA.
  virtual double ema_beta() const { return 0.999; }
  /// Switches between training and evaluation behaviour (BatchNorm etc.).
  virtual void set_training(bool training) = 0;
};

}  // namespace covergen
