#include "covergen/engine/encoder_condition.hpp"

#include <covergen/audio/features.hpp>
#include <covergen/audio/summary.hpp>
#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

namespace fs = std::filesystem;

namespace covergen::engine {

at::Tensor encoder_input_from_features(const audio::Features& f, EncoderInput kind) {
  switch (kind) {
    case EncoderInput::summary: {
      auto s = audio::summary_vector(f);
      return at::from_blob(s.data(), {static_cast<std::int64_t>(s.size())}, at::kFloat).clone();
    }
    case EncoderInput::frames: {
      auto m = audio::frame_sequence(f);
      return at::from_blob(m.data.data(), {m.rows, m.cols}, at::kFloat).clone();
    }
    case EncoderInput::logmel:
      return at::from_blob(const_cast<float*>(f.log_mel.data.data()), {f.log_mel.rows, f.log_mel.cols}, at::kFloat)
          .clone();
  }
  return {};
}

at::Tensor embed_input(const Encoder& encoder, const at::Tensor& input) {
  at::NoGradGuard no_grad;
  return encoder.encode(input).to(at::kCPU, at::kDouble).reshape({-1});
}

at::Tensor embed_features(const Encoder& encoder, const audio::Features& features) {
  return embed_input(encoder, encoder_input_from_features(features, encoder.input_kind()));
}

fs::path run_encoder_path(const fs::path& model, const std::string& encoder_in_meta) {
  const fs::path p(encoder_in_meta);
  if (p.is_absolute()) return p;
  std::error_code ec;
  const fs::path base = fs::is_directory(model, ec) ? model : model.parent_path();
  return base / p;
}

RunEncoder::RunEncoder(const fs::path& model, const std::string& encoder_in_meta, std::vector<double> mean,
                       std::vector<double> stdv, const PluginRegistry& registry)
    : file_(run_encoder_path(model, encoder_in_meta)), mean_(std::move(mean)), stdv_(std::move(stdv)) {
  if (stdv_.size() != mean_.size())
    throw InputError(model.string(), "the condition's mean has " + std::to_string(mean_.size()) +
                                         " values and its std " + std::to_string(stdv_.size()));
  encoder_ = load_encoder(file_, registry);
  if (encoder_->dim() != dim())
    throw InputError(file_.string(), "encodes to " + std::to_string(encoder_->dim()) +
                                         " dimensions, the model was trained on " + std::to_string(mean_.size()));
}

at::Tensor RunEncoder::standardise(const at::Tensor& raw) const {
  return ((raw.to(at::kDouble) - at::tensor(mean_, at::kDouble)) / at::tensor(stdv_, at::kDouble)).to(at::kFloat);
}

}  // namespace covergen::engine
