// Out-of-line key functions: the vtables and typeinfo of the plugin interfaces
// live once, in libcovergen_core, so dynamic_cast and catch work across plugins.
#include "covergen/encoder.hpp"
#include "covergen/errors.hpp"
#include "covergen/gan.hpp"
#include "covergen/generator.hpp"
#include "covergen/upscaler.hpp"
#include "covergen/w_space.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

namespace covergen {

Encoder::~Encoder() = default;
ConditionalGenerator::~ConditionalGenerator() = default;

GenerateOptions::Precision precision_from_string(const std::string& name) {
  if (name == "float32" || name == "fp32") return GenerateOptions::Precision::float32;
  if (name == "bfloat16" || name == "bf16") return GenerateOptions::Precision::bfloat16;
  throw InputError("precision: expected float32 or bfloat16, got \"" + name + "\"");
}

const char* to_string(GenerateOptions::Precision precision) {
  return precision == GenerateOptions::Precision::bfloat16 ? "bfloat16" : "float32";
}
GanModel::~GanModel() = default;
WSpace::~WSpace() = default;
Upscaler::~Upscaler() = default;

at::Tensor Upscaler::upscale(const at::Tensor& images) {
  at::NoGradGuard no_grad;
  return forward(images).clamp(-1.0, 1.0);
}

at::Tensor Encoder::classify_batch(const at::Tensor&) const { return {}; }

at::Tensor Encoder::encode(const at::Tensor& input) const { return encode_batch(input.unsqueeze(0)).squeeze(0); }

const char* to_string(EncoderInput input) {
  switch (input) {
    case EncoderInput::summary: return "summary";
    case EncoderInput::frames: return "frames";
    case EncoderInput::logmel: return "logmel";
  }
  return "unknown";
}

EncoderInput encoder_input_from_string(const std::string& name) {
  if (name == "summary") return EncoderInput::summary;
  if (name == "frames") return EncoderInput::frames;
  if (name == "logmel") return EncoderInput::logmel;
  throw InputError("unknown encoder input '" + name + "' (expected summary, frames or logmel)");
}

}  // namespace covergen
