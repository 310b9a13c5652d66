#include "covergen/serve/cover_maker.hpp"

#include <covergen/audio/features.hpp>
#include <covergen/audio/load.hpp>
#include <covergen/audio/summary.hpp>
#include <covergen/device.hpp>
#include <covergen/engine/encoder_condition.hpp>
#include <covergen/engine/trainer.hpp>
#include <covergen/errors.hpp>
#include <covergen/generator.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <mutex>

namespace fs = std::filesystem;
using nlohmann::json;

namespace covergen::serve {

namespace {
constexpr double kMinAudioSeconds = 1.0;  // shortest track worth listening to
}

struct CoverMaker::Impl {
  std::string model_name;
  std::shared_ptr<ConditionalGenerator> generator;
  c10::Device device{c10::kCPU};
  std::string mode;
  std::vector<std::string> names;
  std::vector<std::size_t> summary_columns;  // mode audio: columns of the summary vector
  std::vector<double> mean, stdv;           // mode audio: training statistics
  std::unique_ptr<engine::RunEncoder> run_encoder;  // mode encoder: Φ and its statistics
  mutable std::mutex encode_mutex;                  // one track through the encoder at a time
  mutable std::mutex generate_mutex;        // one generation at a time on the model
};

CoverMaker::CoverMaker(const fs::path& model, const PluginRegistry& registry, const std::string& device)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.device = parse_device(device);
  std::string meta_text;
  m.generator = engine::load_generator(model, registry, &meta_text);
  m.generator->to(m.device);
  const fs::path abs = fs::weakly_canonical(model);
  m.model_name = (abs.has_filename() ? abs : abs.parent_path()).filename().string();
  if (abs.extension() == ".cvgn") m.model_name = abs.parent_path().filename().string() + "/" + abs.filename().string();
  const json meta = json::parse(meta_text);
  const json cond = meta.value("condition", json::object());
  m.mode = cond.value("mode", m.generator->condition_dim() == 0 ? "none" : "unknown");
  if (m.mode == "audio") {
    m.names = cond.at("names").get<std::vector<std::string>>();
    m.mean = cond.at("mean").get<std::vector<double>>();
    m.stdv = cond.at("std").get<std::vector<double>>();
    const auto all = audio::summary_names();
    for (const auto& n : m.names) {
      auto it = std::find(all.begin(), all.end(), n);
      if (it == all.end())
        throw InputError(model.string(), "conditioned on audio feature '" + n + "', which this build does not compute");
      m.summary_columns.push_back(static_cast<std::size_t>(it - all.begin()));
    }
  } else if (m.mode == "encoder") {
    m.run_encoder = std::make_unique<engine::RunEncoder>(model, cond.at("encoder").get<std::string>(),
                                                         cond.at("mean").get<std::vector<double>>(),
                                                         cond.at("std").get<std::vector<double>>(), registry);
    if (m.run_encoder->dim() != m.generator->condition_dim())
      throw InputError(model.string(), "the generator takes " + std::to_string(m.generator->condition_dim()) +
                                           " condition values, its encoder gives " +
                                           std::to_string(m.run_encoder->dim()));
  } else if (m.mode == "genre") {
    m.names = cond.at("names").get<std::vector<std::string>>();
  } else if (m.mode != "none") {
    throw InputError(model.string(), "conditioned on '" + m.mode +
                                         "'; covergen serve takes models conditioned on audio, a music encoder, "
                                         "genre or nothing "
                                         "(use covergen generate for this one)");
  }
}

CoverMaker::~CoverMaker() = default;

const std::string& CoverMaker::mode() const { return impl_->mode; }
bool CoverMaker::takes_audio() const { return impl_->mode == "audio" || impl_->mode == "encoder"; }
const std::vector<std::string>& CoverMaker::condition_names() const { return impl_->names; }
std::int64_t CoverMaker::image_size() const { return impl_->generator->image_size(); }

std::string CoverMaker::info_json() const {
  const auto& m = *impl_;
  json condition = {{"mode", m.mode}, {"names", m.names}};
  if (m.run_encoder) {
    const Encoder& e = m.run_encoder->encoder();
    condition["encoder"] = {{"plugin", e.plugin_name()}, {"dim", e.dim()}, {"input", to_string(e.input_kind())}};
  }
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
  if (!takes_audio()) throw InputError("this model is conditioned on " + m.mode + ", not on audio");
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
  if (m.run_encoder) {  // as `covergen generate` does for encoder runs
    const Encoder& encoder = m.run_encoder->encoder();
    at::Tensor x;
    try {
      x = engine::encoder_input_from_features(extractor.compute(sound.samples), encoder.input_kind());
    } catch (const InputError& e) {  // e.g. NaN samples: name the file
      throw InputError(file.string(), e.what());
    }
    at::Tensor raw;
    {
      std::lock_guard<std::mutex> lock(m.encode_mutex);
      raw = engine::embed_input(encoder, x);
    }
    if (!at::isfinite(raw).all().item<bool>())
      throw InputError(file.string(), "the run's encoder gives non-finite values for this audio");
    const at::Tensor c = m.run_encoder->standardise(raw).contiguous();
    t.values.assign(raw.data_ptr<double>(), raw.data_ptr<double>() + raw.numel());
    t.condition.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    return t;
  }
  const auto summary = audio::summary_vector(extractor.compute(sound.samples));
  for (std::size_t j = 0; j < m.summary_columns.size(); ++j) {
    const double v = summary[m.summary_columns[j]];
    if (!std::isfinite(v)) throw InputError(file.string(), "feature " + m.names[j] + " is not finite for this audio");
    t.values.push_back(v);
    t.condition.push_back(static_cast<float>((v - m.mean[j]) / (m.stdv[j] > 0 ? m.stdv[j] : 1.0)));
  }
  return t;
}

std::vector<float> CoverMaker::condition_for_genre(const std::string& genre) const {
  const auto& m = *impl_;
  if (m.mode != "genre") throw InputError("this model is conditioned on " + m.mode + ", not on genre");
  auto it = std::find(m.names.begin(), m.names.end(), genre);
  if (it == m.names.end()) throw InputError("unknown genre '" + genre + "'; this model knows " + json(m.names).dump());
  std::vector<float> c(m.names.size(), 0.0f);
  c[static_cast<std::size_t>(it - m.names.begin())] = 1.0f;
  return c;
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
  return engine::generate_covers(gen, c, n, rng, truncation, device).to(at::kCPU);
}

}  // namespace

std::vector<std::string> CoverMaker::make_pngs(const std::vector<float>& condition, std::int64_t n,
                                               std::uint64_t seed, double truncation) const {
  const auto& m = *impl_;
  const at::Tensor images = generate_images(*m.generator, m.generate_mutex, m.device, condition, n, seed, truncation);
  std::vector<std::string> pngs;
  pngs.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) pngs.push_back(engine::encode_image_png(images[i]));
  return pngs;
}

std::vector<RgbCover> CoverMaker::make_rgb(const std::vector<float>& condition, std::int64_t n, std::uint64_t seed,
                                           double truncation) const {
  const auto& m = *impl_;
  const at::Tensor images = generate_images(*m.generator, m.generate_mutex, m.device, condition, n, seed, truncation);
  // The conversion `covergen generate` uses before finishing: [-1, 1] -> 0..255, HWC.
  const at::Tensor u8 =
      images.to(at::kFloat).add(1.0).mul(127.5).round().clamp(0, 255).to(at::kByte).permute({0, 2, 3, 1}).contiguous();
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
