// Latent paths: spherical interpolation in Z (a Gaussian latent's norm stays on the
// shell where the generator was trained), linear in W and in condition space.
#pragma once

#include "covergen/generator.hpp"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>

namespace covergen::latent {

/// Spherical interpolation of rows: a, b [L] or [N, L], t in [0, 1]. Rows that are
/// (anti)parallel to within 1e-7 rad fall back to linear interpolation. slerp(a,b,0) is a
/// and slerp(a,b,1) is b exactly.
at::Tensor slerp(const at::Tensor& a, const at::Tensor& b, double t);

/// `frames` points t_i = i / (frames - 1) from a to b ([frames, L]); frames >= 2.
at::Tensor slerp_path(const at::Tensor& a, const at::Tensor& b, std::int64_t frames);
at::Tensor lerp_path(const at::Tensor& a, const at::Tensor& b, std::int64_t frames);

/// Where the path is taken: "z" (slerp), or "w" (lerp of map_to_w) for generators that
/// implement covergen::WSpace.
enum class PathSpace { z, w };
/// W when the generator implements covergen::WSpace, else Z.
PathSpace path_space_for(ConditionalGenerator& generator);

/// Renders a path from (z_a, c_a) to (z_b, c_b) in `frames` frames: z slerped (or w
/// lerped, see PathSpace), c lerped; c_a/c_b undefined for unconditional models. Calls
/// `sink` with consecutive chunks of images [n, 3, S, S] (CPU, float32, in [-1, 1]),
/// at most `chunk` frames each, so long paths never sit in memory at once.
void render_interpolation(ConditionalGenerator& generator, const at::Tensor& z_a, const at::Tensor& z_b,
                          const at::Tensor& c_a, const at::Tensor& c_b, std::int64_t frames, PathSpace space,
                          const GenerateOptions& options, const std::function<void(const at::Tensor&)>& sink,
                          std::int64_t chunk = 16);

/// Renders given per-frame latents and conditions ([T, L], [T, C] or undefined) in
/// chunks, as render_interpolation does.
void render_frames(ConditionalGenerator& generator, const at::Tensor& z, const at::Tensor& c,
                   const GenerateOptions& options, const std::function<void(const at::Tensor&)>& sink,
                   std::int64_t chunk = 16);

}  // namespace covergen::latent
