// CoverMaker: one loaded generator (a run folder, generator.cvgn or TorchScript
// G.pt) and everything needed to turn a track, a genre or attribute values into
// covers, the path `covergen generate` takes (libs/generate): decode -> the run's
// condition (generate::RunCondition) -> generator -> PNG bytes. Used by
// `covergen serve`; safe to call from several threads (generation is serialised).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace covergen {
class PluginRegistry;
}

namespace covergen::serve {

/// The condition of one track and what was measured on the way.
struct TrackCondition {
  std::vector<float> condition;  ///< standardised, what the generator takes
  std::vector<double> values;    ///< the raw summary values (condition_names() order) or Φ(track)
  double seconds = 0.0;          ///< audio duration used (after max_seconds)
  std::string format;            ///< decoder's name for the container, e.g. "MP3"
};

/// One generated cover as 8-bit RGB, rows packed (3 * width bytes per row).
struct RgbCover {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;
};

class CoverMaker {
 public:
  /// Loads a run folder, generator.cvgn, checkpoint.cvgn or TorchScript file onto `device`
  /// ("cpu", "cuda:0", "auto"). Throws InputError/PluginError like generate.
  CoverMaker(const std::filesystem::path& model, const PluginRegistry& registry, const std::string& device = "cpu");
  ~CoverMaker();
  CoverMaker(const CoverMaker&) = delete;
  CoverMaker& operator=(const CoverMaker&) = delete;

  /// "audio" (covers from a track's summary features), "encoder" (from a track
  /// through the run's fitted music encoder), "genre" (from a genre name),
  /// "attributes" (from name=value pairs) or "none" (unconditional). Other run kinds
  /// are refused at construction.
  const std::string& mode() const;
  /// Whether covers come from a track (modes audio and encoder).
  bool takes_audio() const;
  /// Audio summary features (mode audio), genre names (genre) or attribute names (attributes); empty otherwise.
  const std::vector<std::string>& condition_names() const;
  std::int64_t image_size() const;
  /// Model facts as a JSON object (name, plugin, sizes, condition) for the API.
  std::string info_json() const;

  /// Decodes `file` (at most `max_seconds` of it, <= 0: all), measures its summary
  /// (mode audio) or encodes it with the run's encoder (mode encoder) and
  /// standardises it with the run's statistics. Throws InputError naming `file`
  /// when it is not usable audio.
  TrackCondition condition_for_audio(const std::filesystem::path& file, double max_seconds) const;
  /// One-hot condition of a genre; InputError listing the genres when unknown.
  std::vector<float> condition_for_genre(const std::string& genre) const;
  /// Condition of "name=value,..." (mode attributes), standardised with the run's
  /// statistics; unnamed attributes take the training mean. InputError for unknown names.
  std::vector<float> condition_for_attributes(const std::string& values) const;

  /// n covers (PNG file bytes) for `condition` (empty for unconditional models),
  /// the same covers `covergen generate --seed seed -n n --truncation t` makes.
  std::vector<std::string> make_pngs(const std::vector<float>& condition, std::int64_t n, std::uint64_t seed,
                                     double truncation) const;
  /// The same covers as RGB pixels (what `covergen generate` hands to finishing).
  std::vector<RgbCover> make_rgb(const std::vector<float>& condition, std::int64_t n, std::uint64_t seed,
                                 double truncation) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace covergen::serve
