#include "audio_conditions.hpp"

#include <covergen/audio/features.hpp>
#include <covergen/audio/load.hpp>
#include <covergen/audio/summary.hpp>
#include <covergen/data/image_cache.hpp>
#include <covergen/errors.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <sstream>

namespace covergen::cli {

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

at::Tensor audio_summary_values(const std::vector<std::filesystem::path>& files, const std::vector<std::string>& names,
                                int threads, const std::vector<std::pair<double, double>>& windows) {
  const auto all = audio::summary_names();
  std::vector<std::size_t> cols;
  for (const auto& n : names) cols.push_back(static_cast<std::size_t>(std::find(all.begin(), all.end(), n) - all.begin()));
  auto out = at::zeros({static_cast<std::int64_t>(files.size()), static_cast<std::int64_t>(names.size())}, at::kDouble);
  auto* o = out.data_ptr<double>();
  data::parallel_for(files.size(), threads, [&](std::size_t i) {
    thread_local audio::FeatureExtractor extractor;
    audio::LoadOptions lo;
    if (i < windows.size() && windows[i].first >= 0.0) {
      lo.decode.offset_s = windows[i].first;
      lo.decode.duration_s = windows[i].second;
    }
    auto sound = audio::load(files[i], lo);
    std::vector<float> summary;
    try {
      summary = audio::summary_vector(extractor.compute(sound.samples));
    } catch (const InputError& e) {  // e.g. NaN samples: name the file
      throw InputError(files[i].string(), e.what());
    }
    for (std::size_t j = 0; j < cols.size(); ++j) o[i * cols.size() + j] = summary[cols[j]];
  });
  return out;
}

}  // namespace covergen::cli
