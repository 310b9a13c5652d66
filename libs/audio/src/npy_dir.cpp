#include "covergen/audio/npy_dir.hpp"

#include "covergen/audio/summary.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>
#include <covergen/npy.hpp>

#include <nlohmann/json.hpp>

namespace covergen::audio {

namespace fs = std::filesystem;

Features write_feature_npy_dir(const fs::path& clip, const LoadOptions& options, const FeatureConfig& config,
                               const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir.string(), "cannot create folder: " + ec.message());
  Audio a = load(clip, options);
  FeatureExtractor fx(config);
  Features f;
  try {
    f = fx.compute(a.samples);
  } catch (const InputError& e) {  // name the file, as the batch path does
    throw InputError(clip.string(), e.what());
  }
  const std::int64_t T = f.n_frames;
  auto save = [&](const std::string& name, const Matrix& m) {
    npy::save(dir / (name + ".npy"), m.data, {m.rows, m.cols});
  };
  save("mel", f.mel);
  save("mfcc", f.mfcc);
  save("chroma_stft", f.chroma);
  save("spectral_centroid", f.spectral_centroid);
  save("spectral_bandwidth", f.spectral_bandwidth);
  save("spectral_rolloff", f.spectral_rolloff);
  save("spectral_contrast", f.spectral_contrast);
  save("zero_crossing_rate", f.zero_crossing_rate);
  save("rms", f.rms);
  save("log_mel", f.log_mel);
  save("frame_sequence", frame_sequence(f));
  npy::save(dir / "onset_env.npy", f.onset_env, {T});
  npy::save(dir / "beats.npy", std::vector<std::int64_t>(f.beats.begin(), f.beats.end()),
            {static_cast<std::int64_t>(f.beats.size())});
  npy::save(dir / "y_22050.npy", a.samples, {static_cast<std::int64_t>(a.samples.size())});
  const auto sv = summary_vector(f);
  const auto names = summary_names(config);
  nlohmann::json summary = nlohmann::json::object();
  for (std::size_t i = 0; i < sv.size(); ++i) summary[names[i]] = sv[i];
  nlohmann::json j{{"schema_version", 1},
                   {"file", clip.string()},
                   {"source", {{"sample_rate", a.source.sample_rate}, {"channels", a.source.channels},
                               {"frames", a.source.decoded_frames}, {"format", a.source.format}}},
                   {"sample_rate", f.sample_rate},
                   {"n_samples", f.n_samples},
                   {"n_frames", f.n_frames},
                   {"tempo", f.tempo},
                   {"tuning", f.tuning},
                   {"beats", f.beats},
                   {"frame_features", frame_feature_names(config)},
                   {"summary_names", names},
                   {"summary_vector", sv},
                   {"summary", summary}};
  write_file_atomic(dir / "features.json", j.dump(1) + "\n");
  return f;
}

}  // namespace covergen::audio
