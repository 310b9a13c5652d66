#include "covergen/data/synth.hpp"

#include "covergen/data/csv.hpp"
#include "covergen/data/hash.hpp"
#include "covergen/data/image_cache.hpp"

#include <covergen/parallel.hpp>
#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>

#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <sndfile.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace fs = std::filesystem;

namespace covergen::data {

const std::vector<GenreStyle>& genre_styles() {
  // kick/snare/hat: bit i = 16th step i of the bar.
  static const std::vector<GenreStyle> styles = {
      {"ambient", 60, 80, 2, false, Instrument::pad, 0x0001, 0x0000, 0x0000, 0.0, 0.05, 0.35, 0.05, 0.35,
       {200, 175, 235}, ShapeFamily::soft_circles, Texture::grain},
      {"techno", 124, 134, 9, false, Instrument::fm_keys, 0x1111, 0x1010, 0x4444, 0.0, 0.35, 0.70, 0.60, 1.00,
       {300, 180, 265}, ShapeFamily::squares_grid, Texture::scanlines},
      {"rock", 100, 140, 4, true, Instrument::distorted, 0x0501, 0x1010, 0x5555, 0.0, 0.50, 0.80, 0.55, 0.90,
       {0, 28, 48}, ShapeFamily::triangles, Texture::noise},
      {"jazz", 100, 170, 5, true, Instrument::pluck, 0x0101, 0x0000, 0x5555, 0.33, 0.25, 0.55, 0.30, 0.60,
       {35, 48, 225}, ShapeFamily::strokes, Texture::paper},
      {"hiphop", 80, 98, 0, false, Instrument::fm_keys, 0x0481, 0x1010, 0x5555, 0.2, 0.15, 0.45, 0.45, 0.80,
       {275, 55, 300}, ShapeFamily::rings, Texture::halftone},
      {"folk", 72, 110, 7, true, Instrument::pluck, 0x0101, 0x1000, 0x0000, 0.1, 0.30, 0.60, 0.15, 0.50,
       {100, 40, 80}, ShapeFamily::leaves, Texture::fibres},
      {"metal", 150, 190, 4, false, Instrument::distorted, 0xFFFF, 0x1010, 0x5555, 0.0, 0.70, 1.00, 0.75, 1.00,
       {210, 0, 190}, ShapeFamily::stars, Texture::scratches},
      {"pop", 110, 128, 2, true, Instrument::bells, 0x1111, 0x1010, 0x5555, 0.0, 0.55, 0.90, 0.50, 0.85,
       {330, 190, 50}, ShapeFamily::blobs, Texture::smooth},
  };
  return styles;
}

TrackParams sample_track(std::uint64_t seed, int genre, int index) {
  const GenreStyle& g = genre_styles().at(static_cast<std::size_t>(genre));
  TrackParams t;
  t.genre = genre;
  t.index = index;
  char id[64];
  std::snprintf(id, sizeof id, "%s-%05d", g.name.c_str(), index);
  t.id = id;
  t.seed = derive_seed(seed, (static_cast<std::uint64_t>(genre) << 32) | static_cast<std::uint32_t>(index));
  Rng rng(t.seed);
  t.tempo = std::round(rng.uniform(g.tempo_lo, g.tempo_hi) * 10.0) / 10.0;
  t.brightness = rng.uniform(g.brightness_lo, g.brightness_hi);
  t.energy = rng.uniform(g.energy_lo, g.energy_hi);
  t.major = g.major;
  t.valence = t.major ? rng.uniform(0.45, 1.0) : rng.uniform(0.0, 0.55);
  static const int key_offsets[5] = {0, 0, 2, 5, 7};
  t.key = (g.key_root + key_offsets[rng.below(5)]) % 12;
  const double tn = (t.tempo - g.tempo_lo) / (g.tempo_hi - g.tempo_lo);
  t.shape_count = 3 + static_cast<int>(std::lround(21.0 * tn));
  // Round the continuous values to what the CSV stores, so the CSV is the truth.
  t.brightness = std::round(t.brightness * 1e4) / 1e4;
  t.energy = std::round(t.energy * 1e4) / 1e4;
  t.valence = std::round(t.valence * 1e4) / 1e4;
  return t;
}

void write_mp3(const fs::path& path, const std::vector<float>& interleaved, int sample_rate, int channels) {
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = channels;
  info.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
  if (!sf_format_check(&info))
    throw Error(path.string() + ": this libsndfile cannot write MPEG Layer III (needs libsndfile >= 1.1 with LAME)");
  const fs::path tmp = temp_path_for(path);
  SNDFILE* f = sf_open(tmp.c_str(), SFM_WRITE, &info);
  if (!f) throw Error(path.string() + ": cannot write mp3: " + sf_strerror(nullptr));
  const sf_count_t frames = static_cast<sf_count_t>(interleaved.size() / static_cast<std::size_t>(channels));
  const sf_count_t written = sf_writef_float(f, interleaved.data(), frames);
  const std::string err = sf_strerror(f);
  const int rc = sf_close(f);
  if (written != frames || rc != 0) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error(path.string() + ": mp3 encoding failed: " + err);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(path.string() + ": cannot rename the mp3 into place: " + ec.message());
  }
}

namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

std::string fmt(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

const char* instrument_name(Instrument i) {
  switch (i) {
    case Instrument::pad: return "additive pad";
    case Instrument::fm_keys: return "FM keys (ratio 1)";
    case Instrument::pluck: return "plucked additive";
    case Instrument::distorted: return "distorted odd-harmonic";
    case Instrument::bells: return "FM bells (ratio 3.5)";
  }
  return "?";
}
const char* shape_name(ShapeFamily s) {
  static const char* names[] = {"soft circles", "squares on a grid", "triangles", "strokes", "rings", "leaves", "stars", "blobs"};
  return names[static_cast<int>(s)];
}
const char* texture_name(Texture t) {
  static const char* names[] = {"grain", "scanlines", "coarse noise", "paper", "halftone", "fibres", "scratches", "smooth"};
  return names[static_cast<int>(t)];
}

}  // namespace

SynthReport synthesize(const SynthOptions& o) {
  const int max_genres = static_cast<int>(genre_styles().size());
  if (o.genres < 1 || o.genres > max_genres)
    throw InputError("--genres must be between 1 and " + std::to_string(max_genres));
  if (o.per_genre < 1) throw InputError("--per-genre must be at least 1");
  if (o.cover_size < 16 || o.cover_size > 4096) throw InputError("--cover-size must be between 16 and 4096");
  if (!(o.seconds >= 0.5 && o.seconds <= 600)) throw InputError("--seconds must be between 0.5 and 600");
  if (o.sample_rate < 8000 || o.sample_rate > 48000) throw InputError("the sample rate must be 8000..48000");
  if (o.out.empty()) throw InputError("--out is required");

  std::error_code ec;
  fs::create_directories(o.out / "audio", ec);
  fs::create_directories(o.out / "covers", ec);
  if (ec) throw Error(o.out.string() + ": cannot create the output folder: " + ec.message());

  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t total = static_cast<std::size_t>(o.genres) * static_cast<std::size_t>(o.per_genre);
  // Interleaved order: row i is genre i % G, index i / G, so any prefix covers every genre.
  std::vector<TrackParams> tracks(total);
  for (std::size_t i = 0; i < total; ++i)
    tracks[i] = sample_track(o.seed, static_cast<int>(i % static_cast<std::size_t>(o.genres)),
                             static_cast<int>(i / static_cast<std::size_t>(o.genres)));
  std::vector<double> loudness(total, 0.0);
  std::atomic<std::size_t> done{0};
  std::mutex mu;
  double audio_cpu = 0, mp3_cpu = 0, cover_cpu = 0;
  {
    const int prev = cv::getNumThreads();
    cv::setNumThreads(1);
    try {
      parallel_for(total, o.threads, [&](std::size_t i) {
        const TrackParams& t = tracks[i];
        const double c0 = thread_cpu_seconds();
        auto samples = render_audio(t, o.seconds, o.sample_rate, &loudness[i]);
        const double c1 = thread_cpu_seconds();
        write_mp3(o.out / "audio" / (t.id + ".mp3"), samples, o.sample_rate, 2);
        const double c2 = thread_cpu_seconds();
        write_file_atomic(o.out / "covers" / (t.id + ".jpg"), render_cover_jpeg(t, o.cover_size, o.jpeg_quality));
        const double c3 = thread_cpu_seconds();
        std::lock_guard<std::mutex> lock(mu);
        audio_cpu += c1 - c0;
        mp3_cpu += c2 - c1;
        cover_cpu += c3 - c2;
        const std::size_t d = ++done;
        if (o.on_progress) o.on_progress(d, total);
      });
    } catch (...) {
      cv::setNumThreads(prev);
      throw;
    }
    cv::setNumThreads(prev);
  }

  std::string csv = "id,genre,audio,cover,tempo,brightness,energy,valence,loudness,key,mode,shapes\n";
  for (std::size_t i = 0; i < total; ++i) {
    const TrackParams& t = tracks[i];
    csv += csv_escape(t.id) + "," + genre_styles()[static_cast<std::size_t>(t.genre)].name + ",audio/" + t.id +
           ".mp3,covers/" + t.id + ".jpg," + fmt(t.tempo, 1) + "," + fmt(t.brightness, 4) + "," + fmt(t.energy, 4) +
           "," + fmt(t.valence, 4) + "," + fmt(loudness[i], 2) + "," + std::to_string(t.key) + "," +
           (t.major ? "1" : "0") + "," + std::to_string(t.shape_count) + "\n";
  }
  write_file_atomic(o.out / "tracks.csv", csv);

  nlohmann::json spec = {
      {"version", 1},
      {"description", "CoverGen synthetic dataset (covergen dataset synth); see docs/datasets.md"},
      {"csv", "tracks.csv"},
      {"columns", {{"id", "id"}, {"genre", "genre"}, {"audio", "audio"}, {"cover", "cover"}}},
      {"attributes", {"tempo", "brightness", "energy", "valence", "loudness", "mode", "shapes"}},
      {"split", {{"val", 0.1}, {"test", 0.1}}},
      {"synthetic", true},
  };
  write_file_atomic(o.out / "dataset.json", spec.dump(2) + "\n");

  nlohmann::json genres = nlohmann::json::array();
  for (int gi = 0; gi < o.genres; ++gi) {
    const GenreStyle& g = genre_styles()[static_cast<std::size_t>(gi)];
    static const char* keys[] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
    genres.push_back({{"name", g.name}, {"tempo", {g.tempo_lo, g.tempo_hi}},
                      {"key", std::string(keys[g.key_root]) + (g.major ? " major" : " minor")},
                      {"instrument", instrument_name(g.lead)}, {"kick", g.kick}, {"snare", g.snare}, {"hat", g.hat},
                      {"swing", g.swing}, {"brightness", {g.brightness_lo, g.brightness_hi}},
                      {"energy", {g.energy_lo, g.energy_hi}}, {"palette_hues", {g.hues[0], g.hues[1], g.hues[2]}},
                      {"shapes", shape_name(g.shapes)}, {"texture", texture_name(g.texture)}});
  }
  nlohmann::json meta = {
      {"generator", "covergen dataset synth"},
      {"version", 1},
      {"seed", o.seed},
      {"genres", o.genres},
      {"per_genre", o.per_genre},
      {"cover_size", o.cover_size},
      {"seconds", o.seconds},
      {"sample_rate", o.sample_rate},
      {"jpeg_quality", o.jpeg_quality},
      {"link", {{"shapes", "3 + round(21 * (tempo - tempo_lo) / (tempo_hi - tempo_lo))"},
                {"lightness", "0.18 + 0.64 * brightness"},
                {"saturation", "0.08 + 0.88 * energy"},
                {"hue_shift_degrees", "40 * (valence - 0.5)"},
                {"harmonic_rolloff", "amplitude of harmonic k = 1 / k^(2.6 - 2 * brightness)"},
                {"loudness_target_dbfs", "-26 + 12 * energy"}}},
      {"genre_styles", genres},
  };
  write_file_atomic(o.out / "synth.json", meta.dump(2) + "\n");

  SynthReport r;
  r.out = o.out;
  r.tracks = total;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.audio_cpu_seconds = audio_cpu;
  r.mp3_cpu_seconds = mp3_cpu;
  r.cover_cpu_seconds = cover_cpu;
  return r;
}

}  // namespace covergen::data
