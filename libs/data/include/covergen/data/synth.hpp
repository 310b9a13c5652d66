// The synthetic dataset (docs/datasets.md, "Synthetic dataset"): 30 s 44.1 kHz
// stereo mp3 previews and JPEG covers with a documented, known link between sound
// and picture, written in the ordinary dataset format. Torch-free.
//
// Genre level: each genre has a tempo range, instruments and timbre, key and mode,
// rhythm pattern and brightness range; and a palette, a shape family and a texture.
// Within a genre: tempo drives how many shapes, brightness (spectral rolloff of the
// instruments) drives lightness, energy (drum density, loudness, note density)
// drives saturation, valence shifts the hue. The CSV attributes are these true values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace covergen::data {

enum class Instrument { pad, fm_keys, pluck, distorted, bells };
enum class ShapeFamily { soft_circles, squares_grid, triangles, strokes, rings, leaves, stars, blobs };
enum class Texture { grain, scanlines, noise, paper, halftone, fibres, scratches, smooth };

struct GenreStyle {
  std::string name;
  double tempo_lo, tempo_hi;          ///< BPM range
  int key_root;                       ///< pitch class of the home key (0 = C)
  bool major;                         ///< mode
  Instrument lead;
  std::uint16_t kick, snare, hat;     ///< 16-step patterns, bit i = step i
  double swing;                       ///< 0 straight, 0.33 triplet feel
  double brightness_lo, brightness_hi;
  double energy_lo, energy_hi;
  double hues[3];                     ///< palette hues in degrees
  ShapeFamily shapes;
  Texture texture;
};

/// The eight genre archetypes (the synthetic dataset's ground truth).
const std::vector<GenreStyle>& genre_styles();

/// One track's true parameters.
struct TrackParams {
  int genre = 0;
  int index = 0;          ///< index within the genre
  std::string id;         ///< "<genre>-<index:05>"
  std::uint64_t seed = 0; ///< derive_seed(seed, genre * 2^32 + index): independent of thread count and --per-genre
  double tempo = 120;     ///< BPM
  double brightness = 0.5, energy = 0.5, valence = 0.5;  ///< [0, 1]
  int key = 0;            ///< pitch class of the tonic
  bool major = true;
  int shape_count = 0;    ///< shapes on the cover (from tempo)
};

TrackParams sample_track(std::uint64_t seed, int genre, int index);

/// Interleaved stereo float samples in [-1, 1]. `loudness_db` gets the RMS in dBFS.
std::vector<float> render_audio(const TrackParams& track, double seconds, int sample_rate, double* loudness_db = nullptr);
/// The cover as JPEG bytes (size x size).
std::string render_cover_jpeg(const TrackParams& track, int size, int quality = 90);

/// Writes interleaved stereo float audio as an MPEG-1 Layer III file with libsndfile
/// (temp file + rename). Throws covergen::Error when libsndfile cannot write mp3.
void write_mp3(const std::filesystem::path& path, const std::vector<float>& interleaved, int sample_rate, int channels = 2);

struct SynthOptions {
  std::filesystem::path out;
  int genres = 8;               ///< 2..8
  int per_genre = 200;
  std::uint64_t seed = 0;
  int cover_size = 640;
  int threads = 0;              ///< 0 = hardware concurrency
  double seconds = 30.0;        ///< preview length (shorter for tests)
  int sample_rate = 44100;
  int jpeg_quality = 90;
  std::function<void(std::size_t done, std::size_t total)> on_progress;  ///< serialised
};

struct SynthReport {
  std::size_t tracks = 0;
  double seconds = 0;            ///< wall time
  double audio_cpu_seconds = 0;  ///< synthesis
  double mp3_cpu_seconds = 0;    ///< encoding
  double cover_cpu_seconds = 0;  ///< drawing + JPEG
  std::filesystem::path out;     ///< the dataset folder written
  std::string to_json() const;   ///< `covergen dataset synth --json`
  std::string to_text() const;   ///< one line: tracks, folder, wall and CPU times
};

/// Generates the dataset into options.out (created): audio/<id>.mp3, covers/<id>.jpg,
/// tracks.csv, dataset.json, synth.json. Same options -> byte-identical files,
/// whatever options.threads.
SynthReport synthesize(const SynthOptions& options);

}  // namespace covergen::data
