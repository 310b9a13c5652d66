#include "covergen/serve/cover_maker.hpp"

#include <covergen/audio/features.hpp>
#include <covergen/audio/load.hpp>
#include <covergen/device.hpp>
#include <covergen/errors.hpp>
#include <covergen/generate/condition.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/generator.hpp>
#include <covergen/image.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <optional>

namespace fs = std::filesystem;
using nlohmann::json;

namespace covergen::serve {

namespace {
constexpr double kMinAudioSeconds = 1.0;  // shortest track worth listening to

std::vector<float> to_floats(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}
}  // namespace

struct CoverMaker::Impl {
  std::string model_name;
  std::shared_ptr<ConditionalGenerator> generator;
  c10::Device device{c10::kCPU};
  std::optional<generate::RunCondition> condition;  // the run's: how a track, genre or attributes become c
  mutable std::mutex generate_mutex;                // one generation at a time on the model
};

CoverMaker::CoverMaker(const fs::path& model, const PluginRegistry& registry, const std::string& device)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.device = parse_device(device);
  std::string meta_text;
  m.generator = generate::load_generator(model, registry, &meta_text);
  m.generator->to(m.device);
  const fs::path abs = fs::weakly_canonical(model);
  m.model_name = (abs.has_filename() ? abs : abs.parent_path()).filename().string();
  if (abs.extension() == ".cvgn") m.model_name = abs.parent_path().filename().string() + "/" + abs.filename().string();
  const json meta = json::parse(meta_text);
  m.condition.emplace(model, meta.value("condition", json::object()).dump(), m.generator->condition_dim(), registry);
  const std::string& mode = m.condition->mode();
  if (mode != "audio" && mode != "encoder" && mode != "genre" && mode != "attributes" && mode != "none")
    throw InputError(model.string(), "conditioned on '" + mode +
                                         "'; covergen serve takes models conditioned on audio, a music encoder, "
                                         "genre, attributes or nothing (use covergen generate for this one)");
}

CoverMaker::~CoverMaker() = default;

const std::string& CoverMaker::mode() const { return impl_->condition->mode(); }
bool CoverMaker::takes_audio() const { return impl_->condition->takes_audio(); }
const std::vector<std::string>& CoverMaker::condition_names() const { return impl_->condition->names(); }
std::int64_t CoverMaker::image_size() const { return impl_->generator->image_size(); }

std::string CoverMaker::info_json() const {
  const auto& m = *impl_;
  json condition = {{"mode", m.condition->mode()}, {"names", m.condition->names()}};
  if (const Encoder* e = m.condition->encoder())
    condition["encoder"] = {{"plugin", e->plugin_name()}, {"dim", e->dim()}, {"input", to_string(e->input_kind())}};
  return json{{"name", m.model_name},
              {"plugin", m.generator->plugin_name()},
              {"image_size", m.generator->image_size()},
              {"latent_dim", m.generator->latent_dim()},
              {"device", device_string(m.device)},
              {"condition", condition}}
      .dump();
}

TrackCondition CoverMaker::condition_for_audio(const fs::path& file, double max_seconds) const {
  const auto& m = *impl_;
  if (!takes_audio()) throw InputError("this model is conditioned on " + mode() + ", not on audio");
  audio::LoadOptions lo;
  if (max_seconds > 0) lo.decode.duration_s = max_seconds;
  const auto sound = audio::load(file, lo);
  // A cut-off file can decode to a few samples; features of those mean nothing.
  const double decoded_s = sound.sample_rate > 0 ? static_cast<double>(sound.samples.size()) / sound.sample_rate : 0.0;
  if (decoded_s < kMinAudioSeconds)
    throw InputError(file.string(), "only " + std::to_string(decoded_s).substr(0, 5) +
                                        " s of audio decoded (truncated, or too short): covers need at least " +
                                        std::to_string(static_cast<int>(kMinAudioSeconds)) + " s of sound");
  thread_local audio::FeatureExtractor extractor;
  TrackCondition t;
  t.seconds = static_cast<double>(sound.samples.size()) / sound.sample_rate;
  t.format = sound.source.format;
  generate::TrackCondition c;
  try {  // as `covergen generate TRACK` computes it
    c = m.condition->for_features(extractor.compute(sound.samples));
  } catch (const InputError& e) {  // e.g. NaN samples: name the file
    throw InputError(file.string(), e.what());
  }
  const at::Tensor values = c.values.contiguous();
  t.values.assign(values.data_ptr<double>(), values.data_ptr<double>() + values.numel());
  t.condition = to_floats(c.condition);
  return t;
}

std::vector<float> CoverMaker::condition_for_genre(const std::string& genre) const {
  if (mode() != "genre") throw InputError("this model is conditioned on " + mode() + ", not on genre");
  return to_floats(impl_->condition->for_genres({genre})[0]);
}

std::vector<float> CoverMaker::condition_for_attributes(const std::string& values) const {
  if (mode() != "attributes") throw InputError("this model is conditioned on " + mode() + ", not on attributes");
  return to_floats(impl_->condition->for_attributes(values));
}

namespace {

// Images [n, 3, S, S] in [-1, 1] on the CPU, as `covergen generate` makes them.
at::Tensor generate_images(ConditionalGenerator& gen, std::mutex& mutex, c10::Device device,
                           const std::vector<float>& condition, std::int64_t n, std::uint64_t seed, double truncation) {
  if (n <= 0) throw InputError("the number of covers must be at least 1");
  if (!(truncation >= 0.0 && truncation <= 1.0)) throw InputError("truncation must be in [0, 1]");
  at::Tensor c;
  if (gen.condition_dim() > 0) {
    if (static_cast<std::int64_t>(condition.size()) != gen.condition_dim())
      throw InputError("the condition has " + std::to_string(condition.size()) + " values; this model takes " +
                       std::to_string(gen.condition_dim()));
    c = at::tensor(condition, at::kFloat);
  }
  std::lock_guard<std::mutex> lock(mutex);
  auto rng = at::make_generator<at::CPUGeneratorImpl>(seed);
  GenerateOptions options;
  options.truncation = truncation;
  return generate::generate_covers(gen, c, n, rng, options, device).to(at::kCPU);
}

}  // namespace

std::vector<std::string> CoverMaker::make_pngs(const std::vector<float>& condition, std::int64_t n,
                                               std::uint64_t seed, double truncation) const {
  const auto& m = *impl_;
  const at::Tensor images = generate_images(*m.generator, m.generate_mutex, m.device, condition, n, seed, truncation);
  std::vector<std::string> pngs;
  pngs.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) pngs.push_back(encode_image_png(images[i]));
  return pngs;
}

std::vector<RgbCover> CoverMaker::make_rgb(const std::vector<float>& condition, std::int64_t n, std::uint64_t seed,
                                           double truncation) const {
  const auto& m = *impl_;
  const at::Tensor images = generate_images(*m.generator, m.generate_mutex, m.device, condition, n, seed, truncation);
  const at::Tensor u8 = to_rgb8(images);  // the conversion every cover writer uses
  std::vector<RgbCover> out(static_cast<std::size_t>(n));
  const auto* p = u8.data_ptr<std::uint8_t>();
  const std::size_t per = static_cast<std::size_t>(u8.size(1) * u8.size(2) * 3);
  for (std::int64_t i = 0; i < n; ++i) {
    auto& c = out[static_cast<std::size_t>(i)];
    c.height = static_cast<int>(u8.size(1));
    c.width = static_cast<int>(u8.size(2));
    c.rgb.assign(p + static_cast<std::size_t>(i) * per, p + static_cast<std::size_t>(i + 1) * per);
  }
  return out;
}

}  // namespace covergen::serve
