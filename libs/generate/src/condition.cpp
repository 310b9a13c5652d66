#include "covergen/generate/condition.hpp"

#include <covergen/audio/features.hpp>
#include <covergen/audio/load.hpp>
#include <covergen/audio/summary.hpp>
#include <covergen/data/dataset.hpp>
#include <covergen/parallel.hpp>
#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace covergen::generate {

// ---- audio -> summaries, encoder inputs, embeddings --------------------------------

bool is_encoder_condition(const std::string& spec) {
  if (spec.size() > 5 && spec.compare(spec.size() - 5, 5, ".cvgn") == 0) return true;
  std::error_code ec;
  return spec.find(':') == std::string::npos && fs::is_regular_file(spec, ec);
}

namespace {

// Columns of `names` in the audio summary vector; InputError (naming `where`) for a
// name this build does not compute.
std::vector<std::size_t> summary_columns(const std::vector<std::string>& names, const std::string& where) {
  const auto all = audio::summary_names();
  std::vector<std::size_t> cols;
  for (const auto& n : names) {
    auto it = std::find(all.begin(), all.end(), n);
    if (it == all.end())
      throw InputError(where, "conditioned on audio feature '" + n + "', which this build does not compute");
    cols.push_back(static_cast<std::size_t>(it - all.begin()));
  }
  return cols;
}

// Decodes and analyses one file; InputError names the file.
audio::Features analyse(const fs::path& file, const AudioWindow& window = {}) {
  thread_local audio::FeatureExtractor extractor;
  audio::LoadOptions lo;
  if (window.offset_s >= 0.0) {
    lo.decode.offset_s = window.offset_s;
    lo.decode.duration_s = window.duration_s;
  }
  auto sound = audio::load(file, lo);
  try {
    return extractor.compute(sound.samples);
  } catch (const InputError& e) {  // e.g. NaN samples: name the file
    throw InputError(file.string(), e.what());
  }
}

}  // namespace

std::vector<AudioWindow> dataset_windows(const data::Dataset& dataset, const std::vector<std::size_t>& idx) {
  std::vector<AudioWindow> w;
  const auto window = [&](std::size_t i) {
    const auto& t = dataset.tracks()[i];
    w.push_back({t.excerpt_start, t.excerpt_seconds});
  };
  if (idx.empty())
    for (std::size_t i = 0; i < dataset.size(); ++i) window(i);
  else
    for (auto i : idx) window(i);
  return w;
}

at::Tensor audio_summary_values(const std::vector<fs::path>& files, const std::vector<std::string>& names,
                                int threads, const std::vector<AudioWindow>& windows) {
  if (!windows.empty() && windows.size() != files.size())
    throw Error("internal: audio_summary_values got " + std::to_string(windows.size()) + " windows for " +
                std::to_string(files.size()) + " files");
  const auto cols = summary_columns(names, "audio summary");
  auto out = at::zeros({static_cast<std::int64_t>(files.size()), static_cast<std::int64_t>(names.size())}, at::kDouble);
  auto* o = out.data_ptr<double>();
  parallel_for(files.size(), threads, [&](std::size_t i) {
    const auto summary = audio::summary_vector(analyse(files[i], windows.empty() ? AudioWindow{} : windows[i]));
    for (std::size_t j = 0; j < cols.size(); ++j) o[i * cols.size() + j] = summary[cols[j]];
  });
  return out;
}

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

namespace {

at::Tensor embeddings(const Encoder& encoder, const std::vector<fs::path>& files, int threads,
                      std::mutex& encode_mutex, const std::vector<AudioWindow>& windows = {}) {
  std::vector<at::Tensor> rows(files.size());
  parallel_for(files.size(), threads, [&](std::size_t i) {
    at::Tensor x;
    const audio::Features f = analyse(files[i], windows.empty() ? AudioWindow{} : windows[i]);
    try {
      x = encoder_input_from_features(f, encoder.input_kind());
    } catch (const InputError& e) {  // e.g. non-finite summaries: name the file
      throw InputError(files[i].string(), e.what());
    }
    std::lock_guard<std::mutex> lock(encode_mutex);  // features in parallel; the encoder one track at a time
    rows[i] = embed_input(encoder, x);
  });
  return at::stack(rows);
}

}  // namespace

at::Tensor track_embeddings(const Encoder& encoder, const std::vector<fs::path>& files, int threads) {
  std::mutex m;
  return embeddings(encoder, files, threads, m);
}

// ---- RunCondition -----------------------------------------------------------------

struct RunCondition::Impl {
  std::string model;  // for messages
  std::string mode, text;
  std::vector<std::string> names;
  std::vector<double> mean, stdv;
  std::vector<std::size_t> columns;  // mode audio: columns of the summary vector
  std::shared_ptr<Encoder> encoder;  // mode encoder
  std::mutex encode_mutex;           // one track through the encoder at a time

  // (raw - mean) / std, float64 [..., K] -> float32.
  at::Tensor standardise(const at::Tensor& raw) const {
    return ((raw.to(at::kDouble) - at::tensor(mean, at::kDouble)) / at::tensor(stdv, at::kDouble)).to(at::kFloat);
  }
  void need_audio() const {
    if (mode != "audio" && mode != "encoder")
      throw InputError(model + ": this model is conditioned on " + mode + ", not on the sound of a track");
  }
};

RunCondition::RunCondition(const fs::path& model, const std::string& condition_json, std::int64_t condition_dim,
                           const PluginRegistry& registry)
    : impl_(std::make_shared<Impl>()) {
  auto& m = *impl_;
  m.model = model.string();
  nlohmann::json cond;
  try {
    cond = nlohmann::json::parse(condition_json.empty() ? std::string("{}") : condition_json);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(m.model, std::string("the run's condition meta is not valid JSON: ") + e.what());
  }
  if (!cond.is_object()) cond = nlohmann::json::object();
  m.text = cond.dump();
  m.mode = cond.value("mode", condition_dim == 0 ? "none" : "unknown");
  try {
    if (m.mode == "genre" || m.mode == "attributes" || m.mode == "audio")
      m.names = cond.at("names").get<std::vector<std::string>>();
    if (m.mode == "attributes" || m.mode == "audio" || m.mode == "encoder") {
      m.mean = cond.at("mean").get<std::vector<double>>();
      m.stdv = cond.at("std").get<std::vector<double>>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(m.model, "the run's condition meta (mode " + m.mode + ") is incomplete: " + e.what());
  }
  if (m.stdv.size() != m.mean.size())
    throw InputError(m.model, "the condition's mean has " + std::to_string(m.mean.size()) + " values and its std " +
                                  std::to_string(m.stdv.size()));
  if (m.mode == "audio") m.columns = summary_columns(m.names, m.model);
  if (m.mode == "encoder") {
    // The run keeps its own copy of the encoder, relative to the run folder.
    const fs::path p(cond.value("encoder", std::string("encoder.cvgn")));
    std::error_code ec;
    const fs::path file = p.is_absolute() ? p : (fs::is_directory(model, ec) ? model : model.parent_path()) / p;
    m.encoder = load_encoder(file, registry);
    if (m.encoder->dim() != static_cast<std::int64_t>(m.mean.size()))
      throw InputError(file.string(), "encodes to " + std::to_string(m.encoder->dim()) +
                                          " dimensions, the model was trained on " + std::to_string(m.mean.size()));
    if (condition_dim > 0 && m.encoder->dim() != condition_dim)
      throw InputError(m.model, "the generator takes " + std::to_string(condition_dim) +
                                    " condition values, its encoder gives " + std::to_string(m.encoder->dim()));
  }
}

RunCondition::~RunCondition() = default;
RunCondition::RunCondition(const RunCondition&) = default;
RunCondition& RunCondition::operator=(const RunCondition&) = default;

const std::string& RunCondition::mode() const { return impl_->mode; }
bool RunCondition::takes_audio() const { return impl_->mode == "audio" || impl_->mode == "encoder"; }
const std::vector<std::string>& RunCondition::names() const { return impl_->names; }
const Encoder* RunCondition::encoder() const { return impl_->encoder.get(); }
const std::string& RunCondition::meta_json() const { return impl_->text; }

at::Tensor RunCondition::for_genres(const std::vector<std::string>& genres) const {
  const auto& m = *impl_;
  if (m.mode != "genre") throw InputError(m.model + ": this model is conditioned on " + m.mode + ", not on genre");
  auto c = at::zeros({static_cast<std::int64_t>(genres.size()), static_cast<std::int64_t>(m.names.size())});
  for (std::size_t i = 0; i < genres.size(); ++i) {
    auto it = std::find(m.names.begin(), m.names.end(), genres[i]);
    if (it == m.names.end())
      throw InputError("unknown genre '" + genres[i] + "'; this model knows " + nlohmann::json(m.names).dump());
    c[static_cast<std::int64_t>(i)][it - m.names.begin()] = 1.0;
  }
  return c;
}

at::Tensor RunCondition::for_attributes(const std::string& spec) const {
  const auto& m = *impl_;
  if (m.mode != "attributes")
    throw InputError(m.model + ": this model is conditioned on " + m.mode + ", not on attributes");
  auto c = at::zeros({static_cast<std::int64_t>(m.names.size())});
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos) throw InputError("--attributes " + spec + ": expected name=value pairs");
    std::string k = item.substr(0, eq), v = item.substr(eq + 1);
    auto it = std::find(m.names.begin(), m.names.end(), k);
    if (it == m.names.end()) {
      std::string all;
      for (const auto& nme : m.names) all += (all.empty() ? "" : ", ") + nme;
      throw InputError("--attributes: this model has no attribute '" + k + "' (it has " + all + ")");
    }
    double value;
    try {
      std::size_t used = 0;
      value = std::stod(v, &used);
      if (used != v.size() || !std::isfinite(value)) throw std::invalid_argument(v);
    } catch (const std::exception&) {
      throw InputError("--attributes: '" + v + "' is not a number (attribute " + k + ")");
    }
    auto i = static_cast<std::size_t>(it - m.names.begin());
    c[static_cast<std::int64_t>(i)] = (value - m.mean[i]) / (m.stdv[i] > 0 ? m.stdv[i] : 1.0);
  }
  return c;
}

at::Tensor RunCondition::for_tracks(const std::vector<fs::path>& files, int threads) const {
  auto& m = *impl_;
  m.need_audio();
  if (m.encoder) return m.standardise(embeddings(*m.encoder, files, threads, m.encode_mutex));
  return m.standardise(audio_summary_values(files, m.names, threads));
}

TrackCondition RunCondition::for_features(const audio::Features& features) const {
  auto& m = *impl_;
  m.need_audio();
  TrackCondition t;
  if (m.encoder) {
    const at::Tensor x = encoder_input_from_features(features, m.encoder->input_kind());
    {
      std::lock_guard<std::mutex> lock(m.encode_mutex);
      t.values = embed_input(*m.encoder, x);
    }
    if (!at::isfinite(t.values).all().item<bool>())
      throw InputError("the run's encoder gives non-finite values for this audio");
  } else {
    const auto summary = audio::summary_vector(features);
    t.values = at::empty({static_cast<std::int64_t>(m.columns.size())}, at::kDouble);
    for (std::size_t j = 0; j < m.columns.size(); ++j) {
      const double v = summary[m.columns[j]];
      if (!std::isfinite(v)) throw InputError("feature " + m.names[j] + " is not finite for this audio");
      t.values[static_cast<std::int64_t>(j)] = v;
    }
  }
  t.condition = m.standardise(t.values).contiguous();
  return t;
}

at::Tensor RunCondition::for_dataset(const data::Dataset& ds, const std::vector<std::size_t>& idx, int threads) const {
  auto& m = *impl_;
  const auto n = static_cast<std::int64_t>(idx.size());
  if (m.mode == "genre") {
    std::vector<std::string> genres;
    for (auto i : idx) {
      const auto& g = ds.genres()[static_cast<std::size_t>(ds.tracks()[i].genre)];
      if (std::find(m.names.begin(), m.names.end(), g) == m.names.end())
        throw InputError("genre '" + g + "' of the dataset is unknown to the model");
      genres.push_back(g);
    }
    return for_genres(genres);
  }
  if (m.mode == "attributes") {
    auto raw = at::zeros({n, static_cast<std::int64_t>(m.names.size())}, at::kDouble);
    for (std::size_t j = 0; j < m.names.size(); ++j) {
      auto col = ds.attribute_index(m.names[j]);
      for (std::int64_t i = 0; i < n; ++i) raw[i][static_cast<std::int64_t>(j)] = ds.tracks()[idx[static_cast<std::size_t>(i)]].attributes[col];
    }
    return m.standardise(raw);
  }
  if (m.mode == "audio" || m.mode == "encoder") {
    // As for_tracks, but each track read over its excerpt (as training read it).
    std::vector<fs::path> files;
    for (auto i : idx) files.push_back(ds.tracks()[i].audio);
    const auto windows = dataset_windows(ds, idx);
    m.need_audio();
    if (m.encoder) return m.standardise(embeddings(*m.encoder, files, threads, m.encode_mutex, windows));
    return m.standardise(audio_summary_values(files, m.names, threads, windows));
  }
  throw InputError("the model's condition mode '" + m.mode +
                   "' has no per-track condition; evaluation needs a conditional model");
}

// ---- Training -----------------------------------------------------------------------

namespace {

std::vector<double> to_vec(const at::Tensor& t) {
  auto c = t.to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// raw [N, K] float64 standardised with the mean and (population) std of `rows`;
// the statistics go into meta as "mean" and "std".
at::Tensor standardise_rows(const at::Tensor& raw, const std::vector<std::int64_t>& rows, json& meta) {
  auto tr = raw.index_select(0, at::tensor(rows));
  auto mean = tr.mean(0), stdv = tr.std(0, /*unbiased=*/false).clamp_min(1e-12);
  meta["mean"] = to_vec(mean);
  meta["std"] = to_vec(stdv);
  return ((raw - mean) / stdv).to(at::kFloat);
}

// Sample-grid rows: the dataset rows among `rows` at the 10th..90th percentile of
// the first condition entry, so the grid shows how the covers follow it.
std::vector<std::int64_t> percentile_rows(const at::Tensor& per_track, const std::vector<std::int64_t>& rows) {
  auto first = per_track.index_select(0, at::tensor(rows)).select(1, 0);
  auto order = std::get<1>(first.sort());
  const std::int64_t n_rows = std::min<std::int64_t>(5, order.size(0));
  std::vector<std::int64_t> pick;
  for (std::int64_t r = 0; r < n_rows; ++r)
    pick.push_back(rows[static_cast<std::size_t>(order[(order.size(0) - 1) * (1 + 2 * r) / (2 * n_rows)].item<std::int64_t>())]);
  return pick;
}

std::vector<std::string> parse_audio_condition(const std::string& spec) {
  const auto valid = audio::summary_names();
  std::vector<std::string> names;
  std::stringstream ss(spec.substr(spec.find(':') + 1));
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty()) continue;
    if (std::find(valid.begin(), valid.end(), item) == valid.end()) {
      std::string all;
      for (const auto& v : valid) all += (all.empty() ? "" : ", ") + v;
      throw InputError("--condition " + spec + ": '" + item + "' is not an audio summary feature; valid names: " + all);
    }
    names.push_back(item);
  }
  if (names.empty()) throw InputError("--condition " + spec + ": name at least one audio summary feature");
  return names;
}

}  // namespace

TrainingConditions training_conditions(const std::string& spec, const data::Dataset& ds,
                                       const std::vector<std::size_t>& train, int threads) {
  TrainingConditions c;
  const auto n = static_cast<std::int64_t>(ds.size());
  if (spec == "none") {
    c.meta_json = json{{"mode", "none"}}.dump();
    return c;
  }
  if (spec == "genre") {
    if (ds.genres().empty())
      throw InputError(ds.csv_path().string(), "--condition genre needs a genre column; this dataset has none");
    const auto g = static_cast<std::int64_t>(ds.genres().size());
    c.per_track = at::zeros({n, g});
    for (std::int64_t i = 0; i < n; ++i)
      if (ds.tracks()[i].genre >= 0) c.per_track[i][ds.tracks()[i].genre] = 1.0;
    c.meta_json = json{{"mode", "genre"}, {"names", ds.genres()}}.dump();
    c.grid = at::eye(g);
    return c;
  }
  const bool by_audio = spec.rfind("audio:", 0) == 0;
  if (by_audio || spec.rfind("attributes:", 0) == 0) {
    std::vector<std::string> names;
    at::Tensor raw;  // [N, K] float64
    if (by_audio) {
      names = parse_audio_condition(spec);
      std::vector<fs::path> files;
      for (const auto& t : ds.tracks()) files.push_back(t.audio);
      raw = audio_summary_values(files, names, threads, dataset_windows(ds));  // the excerpts (dataset import)
    } else {
      std::stringstream ss(spec.substr(11));
      for (std::string item; std::getline(ss, item, ',');)
        if (!item.empty()) names.push_back(item);
      if (names.empty()) throw InputError("--condition attributes: name at least one attribute");
      std::vector<std::size_t> cols;
      for (const auto& nm : names) cols.push_back(ds.attribute_index(nm));
      raw = at::zeros({n, static_cast<std::int64_t>(names.size())}, at::kDouble);
      for (std::int64_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < cols.size(); ++j) raw[i][static_cast<std::int64_t>(j)] = ds.tracks()[i].attributes[cols[j]];
    }
    const std::vector<std::int64_t> rows(train.begin(), train.end());
    json meta = {{"mode", by_audio ? "audio" : "attributes"}, {"names", names}};
    c.per_track = standardise_rows(raw, rows, meta);
    c.meta_json = meta.dump();
    c.grid = c.per_track.index_select(0, at::tensor(percentile_rows(c.per_track, rows)));
    return c;
  }
  throw InputError("--condition " + spec +
                   ": expected genre, attributes:NAME[,NAME...], audio:FEATURE[,FEATURE...], an encoder "
                   "model file (covergen encoder fit) or none");
}

TrainingConditions encoder_training_conditions(const Encoder& encoder, const fs::path& encoder_source,
                                               const at::Tensor& raw, const std::vector<bool>& have,
                                               const data::Dataset& ds, const std::vector<std::size_t>& train) {
  std::vector<std::int64_t> rows;
  for (std::size_t i : train)
    if (have[i]) rows.push_back(static_cast<std::int64_t>(i));
  if (rows.empty()) throw InputError(ds.csv_path().string(), "no training track could be encoded");
  TrainingConditions c;
  json meta = {{"mode", "encoder"},
               {"encoder", "encoder.cvgn"},
               {"encoder_source", fs::absolute(encoder_source).string()},
               {"plugin", encoder.plugin_name()},
               {"dim", encoder.dim()}};
  c.per_track = standardise_rows(raw, rows, meta);
  c.meta_json = meta.dump();
  c.usable = have;
  // Grid rows: per genre, the training track nearest its genre's mean embedding (a
  // real track, so the row shows what the model does with real music); without
  // genres, tracks at the 10th..90th percentile of the first dimension.
  std::vector<std::int64_t> pick;
  const auto g = static_cast<int>(ds.genres().size());
  for (int k = 0; k < g && pick.size() < 8; ++k) {
    std::vector<std::int64_t> members;
    for (auto r : rows)
      if (ds.tracks()[static_cast<std::size_t>(r)].genre == k) members.push_back(r);
    if (members.empty()) continue;
    auto mm = c.per_track.index_select(0, at::tensor(members));
    auto d = (mm - mm.mean(0, true)).pow(2).sum(1);
    pick.push_back(members[static_cast<std::size_t>(d.argmin().item<std::int64_t>())]);
  }
  if (pick.empty()) pick = percentile_rows(c.per_track, rows);
  c.grid = c.per_track.index_select(0, at::tensor(pick));
  return c;
}

}  // namespace covergen::generate
