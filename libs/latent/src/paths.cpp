#include "covergen/latent/paths.hpp"

#include <covergen/errors.hpp>
#include <covergen/w_space.hpp>

#include <ATen/ATen.h>

#include <algorithm>

namespace covergen::latent {

at::Tensor slerp(const at::Tensor& a, const at::Tensor& b, double t) {
  if (t <= 0.0) return a.clone();
  if (t >= 1.0) return b.clone();
  const auto ad = a.to(at::kDouble), bd = b.to(at::kDouble);
  const auto na = ad.norm(2, -1, true), nb = bd.norm(2, -1, true);
  const auto cosv = ((ad * bd).sum(-1, true) / (na * nb).clamp_min(1e-300)).clamp(-1.0, 1.0);
  const auto omega = at::acos(cosv);
  const auto so = at::sin(omega);
  const auto use_lerp = so.abs() < 1e-7;
  const auto wa = at::where(use_lerp, at::full_like(so, 1.0 - t), at::sin((1.0 - t) * omega) / so);
  const auto wb = at::where(use_lerp, at::full_like(so, t), at::sin(t * omega) / so);
  return (wa * ad + wb * bd).to(a.scalar_type());
}

at::Tensor slerp_path(const at::Tensor& a, const at::Tensor& b, std::int64_t frames) {
  if (frames < 2) throw InputError("an interpolation needs at least 2 frames");
  std::vector<at::Tensor> rows;
  for (std::int64_t i = 0; i < frames; ++i)
    rows.push_back(slerp(a, b, static_cast<double>(i) / static_cast<double>(frames - 1)));
  return at::stack(rows);
}

at::Tensor lerp_path(const at::Tensor& a, const at::Tensor& b, std::int64_t frames) {
  if (frames < 2) throw InputError("an interpolation needs at least 2 frames");
  std::vector<at::Tensor> rows;
  for (std::int64_t i = 0; i < frames; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(frames - 1);
    rows.push_back(i == 0 ? a.clone() : i == frames - 1 ? b.clone() : (a.to(at::kDouble) * (1.0 - t) + b.to(at::kDouble) * t).to(a.scalar_type()));
  }
  return at::stack(rows);
}

PathSpace path_space_for(ConditionalGenerator& generator) {
  return dynamic_cast<WSpace*>(&generator) != nullptr ? PathSpace::w : PathSpace::z;
}

void render_frames(ConditionalGenerator& generator, const at::Tensor& z, const at::Tensor& c,
                   const GenerateOptions& options, const std::function<void(const at::Tensor&)>& sink,
                   std::int64_t chunk) {
  const auto dev = generator.device();
  for (std::int64_t s = 0; s < z.size(0); s += chunk) {
    const auto n = std::min(chunk, z.size(0) - s);
    at::Tensor cc = c.defined() ? c.narrow(0, s, n).to(dev, at::kFloat) : at::Tensor();
    sink(generator.generate(z.narrow(0, s, n).to(dev, at::kFloat), cc, options).to(at::kCPU, at::kFloat));
  }
}

void render_interpolation(ConditionalGenerator& generator, const at::Tensor& z_a, const at::Tensor& z_b,
                          const at::Tensor& c_a, const at::Tensor& c_b, std::int64_t frames, PathSpace space,
                          const GenerateOptions& options, const std::function<void(const at::Tensor&)>& sink,
                          std::int64_t chunk) {
  if (frames < 2) throw InputError("--frames must be at least 2");
  at::Tensor c;
  if (c_a.defined() != c_b.defined()) throw InputError("interpolation: both endpoints need a condition, or neither");
  if (c_a.defined()) c = lerp_path(c_a.to(at::kFloat), c_b.to(at::kFloat), frames);
  auto* ws = space == PathSpace::w ? dynamic_cast<WSpace*>(&generator) : nullptr;
  if (space == PathSpace::w && ws == nullptr) throw InputError("this generator has no W space; interpolate in z");
  if (ws == nullptr) {
    render_frames(generator, slerp_path(z_a.to(at::kFloat), z_b.to(at::kFloat), frames), c, options, sink, chunk);
    return;
  }
  // W: map the endpoints (each under its own condition), lerp, synthesise.
  const auto dev = generator.device();
  auto ends_z = at::stack({z_a.to(at::kFloat), z_b.to(at::kFloat)}).to(dev);
  at::Tensor ends_c = c_a.defined() ? at::stack({c_a.to(at::kFloat), c_b.to(at::kFloat)}).to(dev) : at::Tensor();
  auto w = ws->map_to_w(ends_z, ends_c, options).to(at::kCPU);
  auto wpath = lerp_path(w[0], w[1], frames);
  for (std::int64_t s = 0; s < frames; s += chunk) {
    const auto n = std::min(chunk, frames - s);
    sink(ws->synthesize(wpath.narrow(0, s, n).to(dev)).to(at::kCPU, at::kFloat));
  }
}

}  // namespace covergen::latent
