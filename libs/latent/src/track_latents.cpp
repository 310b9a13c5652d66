#include "covergen/latent/track_latents.hpp"

#include <covergen/generate/encoder_inputs.hpp>

#include <covergen/audio/load.hpp>
#include <covergen/errors.hpp>
#include <covergen/generate/condition.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace covergen::latent {

using nlohmann::json;

TrackLatents::TrackLatents(const ConditionalGenerator& generator, const std::string& model,
                           const std::string& condition_meta_json, const std::string& mapper_file,
                           const PluginRegistry& registry)
    : model_(model) {
  json cond = json::parse(condition_meta_json);
  const std::string mode = cond.value("mode", generator.condition_dim() == 0 ? "none" : "unknown");
  if (!mapper_file.empty()) {
    if (generator.condition_dim() != 0)
      throw InputError("--mapper " + mapper_file + ": " + model +
                       " is conditional; a mapper drives an unconditional generator's z (conditional models take "
                       "the track as their condition)");
    mapper_ = load_mapper(mapper_file, registry);
    if (mapper_->mapper.latent_dim() != generator.latent_dim())
      throw InputError(mapper_file, "maps to " + std::to_string(mapper_->mapper.latent_dim()) + "-d latents but " +
                                        model + " takes z of size " + std::to_string(generator.latent_dim()) +
                                        "; fit the mapper for this generator");
    return;
  }
  if (mode == "audio" || mode == "encoder") {
    condition_.emplace(model, condition_meta_json, generator.condition_dim(), registry);
    return;
  }
  if (mode == "none")
    throw InputError(model + " is unconditional: give --mapper MAPPER (from covergen mapper fit) so tracks can choose "
                             "its latents");
  throw InputError(model + " is conditioned on " + mode +
                   ", not on the sound of a track; use a model trained with --condition audio:... or ENCODER.cvgn, "
                   "or an unconditional model with --mapper");
}

std::vector<audio::Features> TrackLatents::analyse(const std::vector<std::filesystem::path>& files) {
  std::vector<audio::Features> out;
  audio::FeatureExtractor fx;
  for (const auto& f : files) {
    auto a = audio::load(f);
    try {
      out.push_back(fx.compute(a.samples));
    } catch (const InputError& e) {
      throw InputError(f.string(), e.what());
    }
  }
  return out;
}

std::vector<LatentPoint> TrackLatents::points(const std::vector<audio::Features>& features) const {
  std::vector<LatentPoint> out(features.size());
  if (features.empty()) return out;
  if (mapper_) {
    const auto kind = mapper_->encoder->input_kind();
    std::vector<at::Tensor> xs;
    for (const auto& f : features) xs.push_back(generate::encoder_input_from_features(f, kind));
    const int ax = generate::time_axis(kind);
    bool same = true;
    for (const auto& x : xs) same = same && (ax < 0 || x.size(ax) == xs.front().size(ax));
    at::Tensor phi;
    if (same) {
      std::vector<at::Tensor> chunks;
      for (std::size_t s = 0; s < xs.size(); s += 64) {
        std::vector<at::Tensor> part(xs.begin() + static_cast<std::ptrdiff_t>(s),
                                     xs.begin() + static_cast<std::ptrdiff_t>(std::min(xs.size(), s + 64)));
        chunks.push_back(mapper_->encoder->encode_batch(at::stack(part).to(mapper_->encoder->device())).to(at::kCPU));
      }
      phi = at::cat(chunks);
    } else {
      std::vector<at::Tensor> rows;
      for (const auto& x : xs) rows.push_back(mapper_->encoder->encode(x.to(mapper_->encoder->device())).to(at::kCPU));
      phi = at::stack(rows);
    }
    auto z = mapper_->mapper.map(phi);
    for (std::size_t i = 0; i < out.size(); ++i) out[i].z = z[static_cast<std::int64_t>(i)];
    return out;
  }
  for (std::size_t i = 0; i < features.size(); ++i) out[i].c = condition_->for_features(features[i]).condition;
  return out;
}

audio::Features slice_features(const audio::Features& f, int begin, int end) {
  begin = std::clamp(begin, 0, f.n_frames);
  end = std::clamp(end, begin, f.n_frames);
  auto cut = [&](const audio::Matrix& m) {
    if (m.cols != f.n_frames) return m;
    audio::Matrix o(m.rows, end - begin);
    for (int r = 0; r < m.rows; ++r) std::copy(m.row(r) + begin, m.row(r) + end, o.row(r));
    return o;
  };
  audio::Features s;
  s.n_frames = end - begin;
  s.sample_rate = f.sample_rate;
  s.hop_length = f.hop_length;
  s.n_samples = static_cast<std::int64_t>(s.n_frames) * f.hop_length;
  s.mel = cut(f.mel);
  s.log_mel = cut(f.log_mel);
  s.mfcc = cut(f.mfcc);
  s.chroma = cut(f.chroma);
  s.spectral_centroid = cut(f.spectral_centroid);
  s.spectral_bandwidth = cut(f.spectral_bandwidth);
  s.spectral_rolloff = cut(f.spectral_rolloff);
  s.spectral_contrast = cut(f.spectral_contrast);
  s.zero_crossing_rate = cut(f.zero_crossing_rate);
  s.rms = cut(f.rms);
  if (static_cast<int>(f.onset_env.size()) == f.n_frames)
    s.onset_env.assign(f.onset_env.begin() + begin, f.onset_env.begin() + end);
  s.tuning = f.tuning;
  s.tempo = f.tempo;
  for (int b : f.beats)
    if (b >= begin && b < end) s.beats.push_back(b - begin);
  return s;
}

std::vector<generate::CoverRequest> mapper_requests(const ConditionalGenerator& generator, const std::string& model,
                                                    const std::string& condition_meta_json, const std::string& mapper_file,
                                                    const std::vector<std::string>& files, const PluginRegistry& registry) {
  if (files.empty()) throw InputError("--mapper needs audio files to map");
  const TrackLatents tl(generator, model, condition_meta_json, mapper_file, registry);
  const std::vector<std::filesystem::path> paths(files.begin(), files.end());
  const auto pts = tl.points(TrackLatents::analyse(paths));
  std::vector<generate::CoverRequest> reqs;
  for (std::size_t i = 0; i < paths.size(); ++i)
    reqs.push_back({paths[i].filename().string(), generate::slugify(paths[i].stem().string()), {}, pts[i].z,
                    paths[i].stem().string()});
  return reqs;
}

at::Tensor latent_variations(const at::Tensor& z, std::int64_t n, double variation, at::Generator& rng) {
  if (!(variation >= 0.0 && variation <= 1.0)) throw InputError("--variation must be in [0, 1]");
  auto eps = at::randn({n, z.size(0)}, rng);
  auto s = at::full({n, 1}, variation);
  s[0] = 0.0;
  return (1.0 - s * s).sqrt() * z.unsqueeze(0) + s * eps;
}

}  // namespace covergen::latent
