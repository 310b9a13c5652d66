// Writes the seed corpora of the fuzz targets into <out>/<target>/: small audio
// clips in each container libsndfile reads, images (JPEG baseline/progressive/
// gray, PNG 8/16-bit gray/RGB/RGBA, WebP), dataset specs + CSVs, model files,
// plugin info records, .npy arrays and a real feature store. Deterministic.
//   make_seeds <out-dir> [<repo>/tests/data]   (the second adds tests/data/bad)
#include <covergen/audio/features.hpp>
#include <covergen/audio/store.hpp>
#include <covergen/audio/summary.hpp>
#include <covergen/model_header.hpp>
#include <covergen/npy.hpp>
#include <covergen/plugin_abi.hpp>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sndfile.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

static void put(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}
static std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

static std::vector<float> tone(int rate, int channels, double seconds) {
  const int n = static_cast<int>(rate * seconds);
  std::vector<float> v(static_cast<std::size_t>(n) * channels);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < channels; ++c)
      v[static_cast<std::size_t>(i) * channels + c] =
          0.3f * static_cast<float>(std::sin(2 * M_PI * (220.0 * (c + 1)) * i / rate)) *
          ((i / (rate / 8)) % 2 ? 1.0f : 0.2f);  // on/off beats so onsets exist
  return v;
}

static void write_audio(const fs::path& p, int format, int rate, int channels, double seconds) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(p.c_str(), SFM_WRITE, &info);
  if (!f) {
    std::cerr << "skip " << p << ": " << sf_strerror(nullptr) << "\n";
    return;
  }
  auto v = tone(rate, channels, seconds);
  sf_writef_float(f, v.data(), static_cast<sf_count_t>(v.size() / channels));
  sf_close(f);
}

static std::string image(int w, int h, const std::string& ext, int type, std::vector<int> params = {}) {
  cv::Mat m(h, w, type);
  cv::randu(m, cv::Scalar::all(0), cv::Scalar::all(CV_MAT_DEPTH(type) == CV_16U ? 65535 : 255));
  std::vector<unsigned char> buf;
  cv::imencode(ext, m, buf, params);
  return std::string(buf.begin(), buf.end());
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: make_seeds <out-dir> [<tests/data>]\n";
    return 2;
  }
  const fs::path out = argv[1];
  const fs::path testdata = argc > 2 ? fs::path(argv[2]) : fs::path();

  // --- audio
  const fs::path a = out / "fuzz_audio";
  fs::create_directories(a);
  write_audio(a / "pcm16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 1, 0.3);
  write_audio(a / "float_stereo.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 2, 0.25);
  write_audio(a / "u8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 11025, 1, 0.2);
  write_audio(a / "flac.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, 0.25);
  write_audio(a / "vorbis.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 22050, 1, 0.3);
  write_audio(a / "opus.ogg", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 1, 0.2);
  write_audio(a / "mp3.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 22050, 1, 0.3);
  write_audio(a / "mp3_stereo.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 2, 0.2);
  write_audio(a / "aiff.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 44100, 1, 0.1);
  write_audio(a / "ulaw.au", SF_FORMAT_AU | SF_FORMAT_ULAW, 8000, 1, 0.3);
  write_audio(a / "w64.w64", SF_FORMAT_W64 | SF_FORMAT_DOUBLE, 22050, 3, 0.1);

  // --- images
  const fs::path im = out / "fuzz_image";
  put(im / "rgb.jpg", image(40, 30, ".jpg", CV_8UC3));
  put(im / "gray.jpg", image(33, 64, ".jpg", CV_8UC1));
  put(im / "progressive.jpg", image(48, 48, ".jpg", CV_8UC3, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  put(im / "rgb.png", image(40, 30, ".png", CV_8UC3));
  put(im / "rgba.png", image(24, 40, ".png", CV_8UC4));
  put(im / "gray16.png", image(32, 20, ".png", CV_16UC1));
  put(im / "rgb.webp", image(40, 40, ".webp", CV_8UC3));
  put(im / "lossless.webp", image(20, 36, ".webp", CV_8UC4, {cv::IMWRITE_WEBP_QUALITY, 101}));

  // --- dataset: spec '\0' csv
  const fs::path d = out / "fuzz_dataset";
  const std::string csv =
      "id,audio,cover,genre,energy,valence\n"
      "t1,a/t1.mp3,c/t1.jpg,rock,0.5,0.1\n"
      "t2,a/t2.mp3,c/t2.jpg,jazz,0.7,\n"
      "\"t,3\",\"a/t\"\"3.mp3\",c/t3.jpg,rock,abc,0.2\r\n"
      "t4,a/t4.mp3\n";
  put(d / "defaults", std::string("{}") + '\0' + csv);
  put(d / "mapped", std::string(R"({"version":1,"csv":"x.csv","delimiter":";","columns":{"id":"track_id","genre":"g","cover":"art"},)"
                                R"("templates":{"audio":"previews/{id}-{genre}.mp3"},"attributes":{"e":"Energy"},)"
                                R"("split":{"val":0.2,"test":0.1},"require_audio":false})") +
                        '\0' + "track_id;g;art;Energy\nx1;pop;a.png;1e3\nx2;;b.png;-2\n\"x3;q\";pop;c.png;nan\n");
  put(d / "attrs_list", std::string(R"({"attributes":["energy","valence"],"templates":{"cover":"covers/{id}.jpg"}})") +
                            '\0' + csv);
  put(d / "bom_tabs", std::string(R"({"delimiter":"\t"})") + '\0' + "\xEF\xBB\xBFid\taudio\tcover\nq\tw\te\n");

  // --- model files
  const fs::path m = out / "fuzz_model_header";
  covergen::ModelHeader h;
  h.kind = "generator";
  h.plugin = "dcgan";
  h.plugin_version = "1.0";
  h.config_json = R"({"ngf":16,"ndf":16,"image_size":32})";
  h.meta_json = R"({"step":12,"metrics":{"fid":1.5}})";
  put(m / "generator.cvgn", covergen::encode_model_file(h, std::string(64, '\x5a'), "0.1.0"));
  h.kind = "encoder";
  h.plugin = "pca";
  h.config_json = "{}";
  h.meta_json = "{}";
  put(m / "encoder.cvgn", covergen::encode_model_file(h, "", "0.1.0"));
  {
    std::string t = covergen::encode_model_file(h, "payload", "0.1.0");
    put(m / "truncated.cvgn", t.substr(0, t.size() - 3));
  }

  // --- plugin info: abi(4) kind \0 name \0 version \0 torch \0 description \0 file-name \0 host-torch
  const fs::path p = out / "fuzz_plugin_info";
  auto rec = [](std::uint32_t abi, std::vector<std::string> s) {
    std::string r(reinterpret_cast<const char*>(&abi), 4);
    for (std::size_t i = 0; i < s.size(); ++i) r += (i ? std::string(1, '\0') : std::string()) + s[i];
    return r;
  };
  put(p / "ok", rec(COVERGEN_PLUGIN_ABI_VERSION, {"encoder", "pca", "1.0.0", "2.1.2", "PCA encoder", "pca", "2.1.2"}));
  put(p / "gan", rec(COVERGEN_PLUGIN_ABI_VERSION, {"gan", "wgan-gp", "0.1", "2.1", "WGAN-GP", "", "2.1.0"}));
  put(p / "badabi", rec(7, {"generator", "x", "1", "2.1", "d", "x", "2.1"}));
  put(p / "null", rec(COVERGEN_PLUGIN_ABI_VERSION, {"encoder", "\x01", "1", "2.1", "d", "", "2.1"}));

  // --- npy
  const fs::path n = out / "fuzz_npy";
  {
    float f[6] = {1, 2, 3, 4, 5, 6};
    double dd[2] = {1.5, -2};
    std::int64_t i8[3] = {1, -2, 3};
    std::int32_t i4[4] = {1, 2, 3, 4};
    put(n / "f4.npy", covergen::npy::serialize(covergen::npy::DType::f4, {2, 3}, f));
    put(n / "f8.npy", covergen::npy::serialize(covergen::npy::DType::f8, {2}, dd));
    put(n / "i8.npy", covergen::npy::serialize(covergen::npy::DType::i8, {3}, i8));
    put(n / "i4.npy", covergen::npy::serialize(covergen::npy::DType::i4, {2, 2}, i4));
    put(n / "scalar.npy", covergen::npy::serialize(covergen::npy::DType::f8, {}, dd));
  }

  // --- a real feature store: store.json \0 shard-000000.json \0 shard-000000.bin
  {
    const fs::path sdir = out / ".store-tmp";
    fs::remove_all(sdir);
    covergen::audio::FeatureConfig cfg;
    covergen::audio::FeatureExtractor fx(cfg);
    covergen::audio::StoreLayout layout;
    layout.frame_features = covergen::audio::frame_feature_names(cfg);
    layout.summary = covergen::audio::summary_names(cfg);
    {
      auto store = covergen::audio::FeatureStore::open_or_create(sdir, layout);
      for (double secs : {0.25, 0.6}) {
        auto f = fx.compute(tone(22050, 1, secs));
        store.append("k" + std::to_string(secs), "tone.wav", covergen::audio::make_record(f));
      }
      store.commit();
    }
    put(out / "fuzz_store" / "store",
        slurp(sdir / "store.json") + '\0' + slurp(sdir / "shard-000000.json") + '\0' + slurp(sdir / "shard-000000.bin"));
    fs::remove_all(sdir);
  }

  // --- the bad-input corpus seeds every target too
  if (!testdata.empty() && fs::is_directory(testdata / "bad")) {
    for (const auto& e : fs::recursive_directory_iterator(testdata / "bad")) {
      if (!e.is_regular_file() || fs::file_size(e.path()) > 256 * 1024) continue;
      const std::string ext = e.path().extension().string();
      const std::string name = "bad_" + e.path().filename().string();
      if (ext == ".mp3" || ext == ".wav" || ext == ".flac" || ext == ".ogg") fs::copy_file(e.path(), a / name, fs::copy_options::overwrite_existing);
      if (ext == ".jpg" || ext == ".png" || ext == ".webp") fs::copy_file(e.path(), im / name, fs::copy_options::overwrite_existing);
      if (ext == ".cvgn") fs::copy_file(e.path(), m / name, fs::copy_options::overwrite_existing);
    }
  }
  std::cout << "seeds written to " << out << "\n";
  return 0;
}
