// Every feature against librosa 0.10.2's own output for the three reference clips.
#include "librosa_reference.hpp"

#include "covergen/audio/load.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

using namespace covergen::audio;
using namespace covergen::audio::testing;
namespace npy = covergen::npy;

namespace {

nlohmann::json oracle(const std::string& clip) {
  std::ifstream in(clip_dir(clip) / "oracle.json");
  return nlohmann::json::parse(in);
}

// The signal librosa's features were computed from: y_22050.npy when the clip was
// resampled (mp3), else the 22.05 kHz wav itself (librosa.load does not resample it).
std::vector<float> reference_signal(const std::string& clip) {
  if (std::filesystem::exists(clip_dir(clip) / "y_22050.npy")) return npy::load(clip_dir(clip) / "y_22050.npy").as_float();
  Audio a = load(data_dir() / (clip + ".wav"));
  REQUIRE(a.sample_rate == 22050);
  return a.samples;
}

// Every feature of `y` against librosa's for `clip`, at the tolerances of
// docs/audio-features.md. Returns false when any is outside (the CHECKs record which).
bool check_features(const std::string& clip, const std::vector<float>& y) {
  INFO("clip " << clip);
  FeatureExtractor fx;
  const Features f = fx.compute(y);
  const auto o = oracle(clip);
  REQUIRE(f.n_frames == o["n_frames_expected"].get<int>());

  const auto mel = load_ref(clip, "mel");
  REQUIRE(mel.shape == std::vector<std::int64_t>{128, f.n_frames});
  const double e_mel = mel_rel_err(f.mel.data, mel.v);
  const double e_mfcc = max_abs_err(f.mfcc.data, load_ref(clip, "mfcc").v);
  const double e_chroma = max_abs_err(f.chroma.data, load_ref(clip, "chroma_stft").v);
  const auto cen = load_ref(clip, "spectral_centroid");
  const double e_cen = max_rel_err(f.spectral_centroid.data, cen.v, 1.0);
  const double e_bw = max_rel_err(f.spectral_bandwidth.data, load_ref(clip, "spectral_bandwidth").v, 1.0);
  const double e_roll = max_rel_err(f.spectral_rolloff.data, load_ref(clip, "spectral_rolloff").v, 1.0);
  const double e_con = max_rel_err(f.spectral_contrast.data, load_ref(clip, "spectral_contrast").v, 1.0);
  const double e_zcr = max_rel_err(f.zero_crossing_rate.data, load_ref(clip, "zero_crossing_rate").v, 1e-3);
  const double e_rms = max_rel_err(f.rms.data, load_ref(clip, "rms").v, 1e-6);
  const double e_onset = max_rel_err(f.onset_env, load_ref(clip, "onset_env").v, 1e-3);
  const double tuning_ref = o["estimated_tuning"].get<double>();
  const double tempo_ref = o["tempo"]["bpm"].get<double>();
  const auto beats_ref = npy::load(clip_dir(clip) / "beats.npy").as_int64();
  std::cout << clip << ": mel " << e_mel << " mfcc " << e_mfcc << " chroma " << e_chroma << " tuning " << f.tuning
            << " (ref " << tuning_ref << ") centroid " << e_cen << " bandwidth " << e_bw << " rolloff " << e_roll
            << " contrast " << e_con << " zcr " << e_zcr << " rms " << e_rms << " onset " << e_onset << " tempo "
            << f.tempo << " (ref " << tempo_ref << ") beats " << f.beats.size() << " (ref " << beats_ref.size()
            << ")\n";
  CHECK(e_mel <= 1e-4);
  CHECK(e_mfcc <= 1e-2);
  CHECK(std::abs(f.tuning - tuning_ref) <= 0.01);
  CHECK(e_chroma <= 1e-3);
  CHECK(e_cen <= 1e-3);
  CHECK(e_bw <= 1e-3);
  CHECK(e_roll <= 1e-3);
  CHECK(e_con <= 1e-3);
  CHECK(e_zcr <= 1e-3);
  CHECK(e_rms <= 1e-3);
  CHECK(e_onset <= 1e-3);
  CHECK(std::abs(f.tempo - tempo_ref) <= 0.01);
  std::vector<std::int64_t> beats(f.beats.begin(), f.beats.end());
  CHECK(beats == beats_ref);
  return e_mel <= 1e-4 && e_mfcc <= 1e-2 && std::abs(f.tuning - tuning_ref) <= 0.01 && e_chroma <= 1e-3 &&
         e_cen <= 1e-3 && e_bw <= 1e-3 && e_roll <= 1e-3 && e_con <= 1e-3 && e_zcr <= 1e-3 && e_rms <= 1e-3 &&
         e_onset <= 1e-3 && std::abs(f.tempo - tempo_ref) <= 0.01 && beats == beats_ref;
}

void check_clip(const std::string& clip) { check_features(clip, reference_signal(clip)); }

// librosa.load's signal for an mp3 clip from CoverGen's own decode + resample, and how
// many samples differ from librosa's y_22050.npy (0: bit for bit).
std::vector<float> decoded(const std::string& clip, bool mp3_mono_mix, std::size_t* n_differ, bool* mixed) {
  LoadOptions o;
  o.decode.mp3_mono_mix = mp3_mono_mix;
  const Audio a = load(data_dir() / (clip + ".mp3"), o);
  const auto ref = npy::load(clip_dir(clip) / "y_22050.npy").as_float();
  REQUIRE(a.samples.size() == ref.size());
  *n_differ = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) *n_differ += a.samples[i] != ref[i];
  *mixed = a.source.mp3_mono_mixed;
  return a.samples;
}

}  // namespace

TEST_CASE("features match librosa: music120_44k (from librosa's y_22050)", "[audio][librosa]") { check_clip("music120_44k"); }
TEST_CASE("features match librosa: drums120_22k", "[audio][librosa]") { check_clip("drums120_22k"); }
TEST_CASE("features match librosa: sweep_22k", "[audio][librosa]") { check_clip("sweep_22k"); }

TEST_CASE("mp3 decode + soxr HQ resample matches librosa.load", "[audio][librosa]") {
  const Audio a = load(data_dir() / "music120_44k.mp3");
  const auto ref = npy::load(clip_dir("music120_44k") / "y_22050.npy").as_double();
  CHECK(a.source.sample_rate == 44100);
  CHECK(a.source.channels == 2);
  CHECK(a.source.decoded_frames == 1323000);
  REQUIRE(a.samples.size() == ref.size());
  const double err = max_abs_err(a.samples, ref);
  std::cout << "decode+soxr max abs err " << err << "\n";
  CHECK(err <= 1e-4);
  CHECK(err == 0);  // the default decode is libsndfile + librosa's to_mono bit for bit, soxr HQ too
  CHECK_FALSE(a.source.mp3_mono_mixed);
}

TEST_CASE("libsamplerate SINC_BEST backend stays close to soxr", "[audio][librosa]") {
  LoadOptions o;
  o.resampler = ResamplerBackend::samplerate_sinc_best;
  const Audio a = load(data_dir() / "music120_44k.mp3", o);
  const auto ref = npy::load(clip_dir("music120_44k") / "y_22050.npy").as_double();
  REQUIRE(a.samples.size() == ref.size());
  const double err = max_abs_err(a.samples, ref);
  std::cout << "decode+sinc_best max abs err " << err << "\n";
  CHECK(err <= 0.01);  // measured 0.0053 in the design notes: a different filter, no lag
}

// Issue 22: a stereo, joint-stereo 192 kbit/s LAME mp3 whose content stops well below
// 11 kHz (tests/data/librosa/make_quietband.py). Spectral contrast's top band (6.4-11 kHz)
// holds only codec residue there, where a 1e-6 change in the samples moves the dB values
// by whole decibels: the features must come from librosa's exact samples.
TEST_CASE("features match librosa: quietband_44k (from librosa's y_22050)", "[audio][librosa]") {
  check_clip("quietband_44k");
}

TEST_CASE("quietband_44k.mp3: the default decode is librosa's samples bit for bit, every feature matches",
          "[audio][librosa]") {
  std::size_t differ = 0;
  bool mixed = true;
  const auto y = decoded("quietband_44k", false, &differ, &mixed);
  CHECK_FALSE(mixed);
  CHECK(differ == 0);  // libsndfile's two channels, float32 mean, soxr HQ: bit for bit
  CHECK(check_features("quietband_44k", y));
}

// The MPG123_MONO_MIX speed option on the same file: taken (LAME keeps the channels' block
// types equal), ~1e-6 from librosa's samples, and spectral contrast moves past its 1e-3
// tolerance: this is the failure issue 22 reported, kept visible so the option's docs stay
// true. Run `audio_librosa_tests "[mono-mix]"` to see every feature's error with the option.
TEST_CASE("quietband_44k.mp3 with mp3_mono_mix: the option moves spectral contrast", "[audio][librosa]") {
  std::size_t differ = 0;
  bool mixed = false;
  const auto y = decoded("quietband_44k", true, &differ, &mixed);
  CHECK(mixed);
  CHECK(differ > 0);
  const auto ref = npy::load(clip_dir("quietband_44k") / "y_22050.npy").as_double();
  CHECK(max_abs_err(y, ref) < 1e-5);
  FeatureExtractor fx;
  const Features f = fx.compute(y);
  const double e_con = max_rel_err(f.spectral_contrast.data, load_ref("quietband_44k", "spectral_contrast").v, 1.0);
  std::cout << "quietband_44k with mp3_mono_mix: samples max abs err " << max_abs_err(y, ref)
            << ", spectral contrast rel err " << e_con << "\n";
  CHECK(e_con > 1e-3);
}

// The 30 s reference mp3 the same way: features from CoverGen's own decode, not from
// librosa's y_22050 (with the mono mix, mel moves by 2.6e-4, onset by 1.7e-3 and contrast's
// top band by 4.3 dB here: every one of those past its tolerance).
TEST_CASE("music120_44k.mp3: every feature from the default decode matches librosa", "[audio][librosa]") {
  std::size_t differ = 0;
  bool mixed = true;
  const auto y = decoded("music120_44k", false, &differ, &mixed);
  CHECK_FALSE(mixed);
  CHECK(differ == 0);
  CHECK(check_features("music120_44k", y));
}

// Hidden: the full comparison with the mono mix on. It fails (that is the point: the
// test above would have caught issue 22); run it by its tag to see the numbers.
TEST_CASE("quietband_44k.mp3 with mp3_mono_mix, every feature (expected to fail)", "[.mono-mix]") {
  std::size_t differ = 0;
  bool mixed = false;
  const auto y = decoded("quietband_44k", true, &differ, &mixed);
  CHECK(mixed);
  CHECK(differ == 0);
  CHECK(check_features("quietband_44k", y));
}
