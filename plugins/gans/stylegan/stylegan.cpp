// stylegan: a conditional StyleGAN2 (mapping network, modulated/demodulated convs,
// noise, skip generator, residual discriminator with minibatch stddev and a projection
// head; logistic loss, lazy R1, path length, style mixing, per-condition truncation).
// The architecture and losses live in stylegan_arch.{hpp,cpp}; this file exports them.
#include "stylegan_arch.hpp"

#include <covergen/plugin.hpp>

COVERGEN_GAN_PLUGIN(covergen::stylegan::StyleGanModel, "stylegan", "1.0.0",
                    "StyleGAN2 32..256, conditioned through the mapping network and a projection discriminator")
