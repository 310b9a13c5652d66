// The encoder plugins through the registry: PCA against scikit-learn, every plugin
// learning a tiny labelled synthetic problem, model files that round-trip (in this
// process and in `covergen encode`), and the errors for a model of another kind, a
// truncated file and a wrong feature dimension (InputError; exit code 3 in the CLI).
#include <covergen/audio/store.hpp>
#include <covergen/eval/embeddings.hpp>
#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>
#include <covergen/npy.hpp>
#include <covergen/plugin_registry.hpp>

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "covergen-enc-XXXXXX").string();
    if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp");
    path = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& s) const { return path / s; }
};

covergen::PluginRegistry registry() {
  covergen::PluginSearchOptions o;
  o.extra_dirs = {COVERGEN_BUILD_PLUGIN_DIR};
  o.use_environment = false;
  return covergen::PluginRegistry(o);
}

struct Run {
  int code;
  std::string out, err;
};
Run run_cli(const std::string& args) {
  TempDir tmp;
  const std::string cmd = "env -u COVERGEN_PLUGIN_PATH '" + std::string(COVERGEN_CLI) + "' " + args + " >" +
                          (tmp / "out").string() + " 2>" + (tmp / "err").string() + " </dev/null";
  const int status = std::system(cmd.c_str());
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(tmp / "out"), slurp(tmp / "err")};
}

at::Tensor npy_tensor(const std::string& name) {
  auto a = covergen::npy::load(fs::path(ENCODER_TEST_DATA_DIR) / name);
  auto v = a.as_double();
  return at::tensor(v, at::kDouble).reshape(a.shape);
}

// A labelled problem for every input kind: 3 classes, class c differs from the others
// in a way each encoder can see (summary: class means in a few features; frames: the
// period of an oscillation in two features; log-mel: which band is loud and how it pulses).
struct Problem {
  covergen::EncoderData train, test;
};
Problem make_problem(covergen::EncoderInput kind, std::int64_t n_train, std::int64_t n_test, std::uint64_t seed) {
  at::manual_seed(static_cast<std::int64_t>(seed));
  auto make = [&](std::int64_t n) {
    covergen::EncoderData d;
    d.labels = at::arange(n, at::kLong).remainder(3);
    d.class_names = {"a", "b", "c"};
    auto y = d.labels.to(at::kFloat);
    if (kind == covergen::EncoderInput::summary) {
      auto x = at::randn({n, 20});
      for (int c = 0; c < 3; ++c) {
        auto m = (d.labels == c).to(at::kFloat).unsqueeze(1);
        auto shift = at::zeros({20});
        shift.narrow(0, c * 4, 4).fill_(2.5);
        x = x + m * shift;
      }
      d.inputs = x * at::linspace(1.0, 50.0, 20);  // scales differ per feature
    } else if (kind == covergen::EncoderInput::frames) {
      const std::int64_t T = 200, F = 6;
      auto t = at::arange(T, at::kFloat).view({1, T});
      auto period = 20.0f + 30.0f * y.view({n, 1});  // 20, 50, 80 frames
      auto phase = at::rand({n, 1}) * 6.28f;
      auto wave = at::sin(t / period * 6.2831853f + phase);  // [n, T]
      auto x = 0.5f * at::randn({n, T, F});
      x.select(2, 0).add_(wave * 2.0f);
      x.select(2, 3).add_(wave * -1.5f + 3.0f);
      d.inputs = x;
    } else {
      const std::int64_t M = 16, T = 96;
      auto x = -60.0f + 5.0f * at::randn({n, M, T});
      auto t = at::arange(T, at::kFloat).view({1, T});
      for (std::int64_t i = 0; i < n; ++i) {
        const auto c = d.labels[i].item<std::int64_t>();
        auto pulse = (at::sin(t * (0.3f + 0.4f * static_cast<float>(c))) > 0).to(at::kFloat) * 25.0f;
        x[i].narrow(0, 2 + 4 * c, 3).add_(pulse);
      }
      d.inputs = x;
    }
    return d;
  };
  return {make(n_train), make(n_test)};
}

std::vector<float> points(const at::Tensor& t) {
  auto c = t.to(at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}
std::vector<int> labels_of(const covergen::EncoderData& d) {
  std::vector<int> l;
  for (std::int64_t i = 0; i < d.size(); ++i) l.push_back(static_cast<int>(d.labels[i].item<std::int64_t>()));
  return l;
}

}  // namespace

TEST_CASE("pca agrees with scikit-learn's PCA on standardised data", "[encoders][pca]") {
  auto reg = registry();
  auto x = npy_tensor("pca_X.npy").to(at::kFloat);
  auto ratio = npy_tensor("pca_ratio.npy");
  auto comps = npy_tensor("pca_components.npy");
  auto ref = json::parse(std::ifstream(fs::path(ENCODER_TEST_DATA_DIR) / "pca_reference.json"));
  covergen::EncoderData train;
  train.inputs = x;

  SECTION("all components: explained variance ratio and components up to sign") {
    auto pca = reg.create_encoder("pca", R"({"variance": 1.0})");
    covergen::FitOptions fo;
    fo.dim = 9;  // the 10th direction is the constant column's (zero variance)
    pca->fit(train, {}, fo);
    REQUIRE(pca->dim() == 9);
    auto cfg = json::parse(pca->config_json());
    std::vector<double> r = cfg["explained_variance_ratio"];
    for (int i = 0; i < 9; ++i) CHECK(r[static_cast<std::size_t>(i)] == Approx(ratio[i].item<double>()).epsilon(1e-5));
    at::Tensor mine;
    for (auto& [name, t] : pca->named_tensors())
      if (name == "components") mine = t.to(at::kDouble);
    for (int i = 0; i < 9; ++i) {
      const double dot = (mine[i] * comps[i]).sum().item<double>();
      CHECK(std::abs(dot) == Approx(1.0).epsilon(1e-4));
    }
  }
  SECTION("a variance target picks sklearn's number of components") {
    auto pca = reg.create_encoder("pca", R"({"variance": 0.9})");
    pca->fit(train, {}, {});
    CHECK(pca->dim() == ref["k_for_variance_0.9"].get<std::int64_t>());
  }
  SECTION("whitening matches sklearn's transform up to sign per component") {
    auto pca = reg.create_encoder("pca", R"({"dim": 5, "whiten": true})");
    pca->fit(train, {}, {});
    auto z = pca->encode_batch(x).to(at::kDouble);
    auto w = npy_tensor("pca_whitened5.npy");
    for (int c = 0; c < 5; ++c) {
      auto a = z.select(1, c), b = w.select(1, c);
      const double sign = (a * b).sum().item<double>() < 0 ? -1.0 : 1.0;
      CHECK((a * sign - b).abs().max().item<double>() < 1e-3);
    }
  }
}

TEST_CASE("every encoder learns a tiny labelled problem well above chance", "[encoders][fit]") {
  struct Case {
    const char* plugin;
    covergen::EncoderInput kind;
    const char* config;
    std::int64_t dim;
  };
  const Case cases[] = {
      {"pca", covergen::EncoderInput::summary, "{}", 4},
      {"autoencoder", covergen::EncoderInput::summary, R"({"epochs": 60, "patience": 60, "hidden": [32]})", 4},
      {"rnn", covergen::EncoderInput::frames, R"({"epochs": 25, "pool": 5, "crop_steps": 30, "patience": 25})", 16},
      {"spectrogram-cnn", covergen::EncoderInput::logmel,
       R"({"epochs": 12, "channels": [8, 16], "crop_frames": 32, "input_pool": 1, "patience": 12})", 16},
  };
  auto reg = registry();
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.plugin) {
      auto p = make_problem(c.kind, 90, 60, 7);
      auto e = reg.create_encoder(c.plugin, c.config);
      CHECK(e->input_kind() == c.kind);
      covergen::FitOptions fo;
      fo.dim = c.dim;
      fo.seed = 3;
      int progress_calls = 0;
      fo.on_progress = [&](const covergen::FitProgress&) { ++progress_calls; };
      auto rep = e->fit(p.train, p.test, fo);
      REQUIRE(e->fitted());
      CHECK(e->dim() == c.dim);
      auto emb_train = e->encode_batch(p.train.inputs), emb_test = e->encode_batch(p.test.inputs);
      CHECK(emb_test.sizes() == at::IntArrayRef({60, c.dim}));
      const double knn = covergen::eval::knn_accuracy(points(emb_train), labels_of(p.train), points(emb_test),
                                                      labels_of(p.test), c.dim, 5);
      INFO(c.plugin << " k-NN accuracy " << knn);
      CHECK(knn >= 0.8);  // chance is 1/3
      auto logits = e->classify_batch(p.test.inputs);
      if (std::string(c.plugin) == "rnn" || std::string(c.plugin) == "spectrogram-cnn") {
        REQUIRE(logits.defined());
        const double acc = logits.argmax(1).eq(p.test.labels).to(at::kDouble).mean().item<double>();
        INFO(c.plugin << " genre accuracy " << acc);
        CHECK(acc >= 0.8);
        CHECK(progress_calls > 0);
      }
      // One track equals its row of the batch.
      CHECK(at::allclose(e->encode(p.test.inputs[0]), emb_test[0], 1e-4, 1e-5));
      // Same seed, same model.
      auto e2 = reg.create_encoder(c.plugin, c.config);
      fo.on_progress = nullptr;
      e2->fit(p.train, p.test, fo);
      CHECK(at::equal(e2->encode_batch(p.test.inputs), emb_test));
    }
  }
}

TEST_CASE("rnn without labels trains as a sequence autoencoder", "[encoders][fit]") {
  auto reg = registry();
  auto p = make_problem(covergen::EncoderInput::frames, 60, 30, 11);
  p.train.labels = at::Tensor();
  p.train.class_names.clear();
  auto e = reg.create_encoder("rnn", R"({"epochs": 4, "pool": 5, "crop_steps": 20, "cell": "lstm", "bidirectional": true})");
  covergen::FitOptions fo;
  fo.dim = 8;
  e->fit(p.train, {}, fo);
  CHECK(json::parse(e->config_json())["mode"] == "autoencoder");
  CHECK(!e->classify_batch(p.test.inputs).defined());
  CHECK(e->encode_batch(p.test.inputs).sizes() == at::IntArrayRef({30, 8}));
}

TEST_CASE("the spectrogram-cnn refuses unlabelled data", "[encoders][fit]") {
  auto reg = registry();
  auto p = make_problem(covergen::EncoderInput::logmel, 20, 5, 1);
  p.train.labels = at::Tensor();
  auto e = reg.create_encoder("spectrogram-cnn", "{}");
  CHECK_THROWS_AS(e->fit(p.train, {}, {}), covergen::InputError);
}

namespace {

// A feature store whose summary vectors are `x` rows ([N, F]); frames and log-mel tiny.
void write_store(const fs::path& dir, const at::Tensor& x) {
  covergen::audio::StoreLayout layout;
  for (std::int64_t j = 0; j < x.size(1); ++j) layout.summary.push_back("s" + std::to_string(j));
  layout.frame_features = {"f0"};
  layout.n_mels = 2;
  auto store = covergen::audio::FeatureStore::open_or_create(dir, layout);
  for (std::int64_t i = 0; i < x.size(0); ++i) {
    covergen::audio::TrackRecord r;
    auto row = x[i].to(at::kFloat).contiguous();
    r.summary.assign(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
    r.frames = covergen::audio::Matrix(4, 1, 0.5f);
    r.log_mel = covergen::audio::Matrix(2, 4, -10.0f);
    r.duration_s = 1.0;
    store.append("t" + std::to_string(i), "synthetic", r);
  }
  store.commit();
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("a saved encoder loads (here and in covergen encode) with identical embeddings", "[encoders][model]") {
  auto reg = registry();
  TempDir tmp;
  auto p = make_problem(covergen::EncoderInput::summary, 60, 12, 5);
  for (const char* plugin : {"pca", "autoencoder"}) {
    DYNAMIC_SECTION(plugin) {
      auto e = reg.create_encoder(plugin, R"({"epochs": 5})");
      covergen::FitOptions fo;
      fo.dim = 3;
      e->fit(p.train, {}, fo);
      auto want = e->encode_batch(p.test.inputs);
      const auto model = tmp / (std::string(plugin) + ".cvgn");
      covergen::save_plugin_object(model, "encoder", *e);
      auto a = covergen::load_encoder(model, reg);
      auto b = covergen::load_encoder(model, reg);
      CHECK(a->plugin_name() == plugin);
      CHECK(a->fitted());
      CHECK(at::equal(a->encode_batch(p.test.inputs), want));
      CHECK(at::equal(b->encode_batch(p.test.inputs), want));

      // Another process: covergen encode --store over the same vectors.
      write_store(tmp / "store", p.test.inputs);
      auto r = run_cli("encode --encoder '" + model.string() + "' --store '" + (tmp / "store").string() + "' --out '" +
                       (tmp / "emb.npy").string() + "' --json");
      INFO(r.err);
      REQUIRE(r.code == 0);
      auto arr = covergen::npy::load(tmp / "emb.npy");
      REQUIRE(arr.shape == std::vector<std::int64_t>{12, 3});
      auto got = at::tensor(arr.as_float()).reshape({12, 3});
      CHECK(at::equal(got, want.contiguous()));
      fs::remove_all(tmp / "store");
    }
  }
}

TEST_CASE("bad model files and wrong dimensions are InputErrors that say which", "[encoders][model]") {
  auto reg = registry();
  TempDir tmp;
  auto p = make_problem(covergen::EncoderInput::summary, 40, 8, 9);
  auto e = reg.create_encoder("pca", "{}");
  covergen::FitOptions fo;
  fo.dim = 3;
  e->fit(p.train, {}, fo);
  const auto model = tmp / "pca.cvgn";
  covergen::save_plugin_object(model, "encoder", *e);
  write_store(tmp / "store", p.test.inputs);
  const std::string store_args = " --store '" + (tmp / "store").string() + "' --out '" + (tmp / "o.npy").string() + "'";

  SECTION("a model file of another kind") {
    covergen::ModelHeader h = covergen::read_model_header(model);
    h.kind = "generator";
    h.plugin = "dcgan";
    const auto other = tmp / "generator.cvgn";
    covergen::write_model_file(other, h, covergen::read_model_file(model));
    try {
      covergen::load_encoder(other, reg);
      FAIL("loaded a generator as an encoder");
    } catch (const covergen::InputError& err) {
      CHECK_THAT(err.what(), Contains("generator") && Contains("expected an encoder"));
    }
    auto r = run_cli("encode --encoder '" + other.string() + "'" + store_args);
    CHECK(r.code == 3);
    CHECK_THAT(r.err, Contains("expected an encoder"));
  }
  SECTION("a model file of another encoder plugin under this plugin's name") {
    covergen::ModelHeader h = covergen::read_model_header(model);
    h.plugin = "autoencoder";
    h.config_json = R"({"input_dim": 20, "dim": 3, "fitted": true})";
    const auto other = tmp / "mixed.cvgn";
    covergen::write_model_file(other, h, covergen::read_model_file(model));
    CHECK_THROWS_WITH(covergen::load_encoder(other, reg), Contains("missing from the model file"));
    CHECK(run_cli("encode --encoder '" + other.string() + "'" + store_args).code == 3);
  }
  SECTION("a truncated file") {
    const auto bytes = read_bytes(model);
    const auto cut = tmp / "cut.cvgn";
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    CHECK_THROWS_AS(covergen::load_encoder(cut, reg), covergen::InputError);
    auto r = run_cli("encode --encoder '" + cut.string() + "'" + store_args);
    CHECK(r.code == 3);
    CHECK_THAT(r.err, Contains("cut.cvgn"));
  }
  SECTION("a model whose config disagrees with its tensors") {
    covergen::ModelHeader h = covergen::read_model_header(model);
    auto cfg = json::parse(h.config_json);
    cfg["input_dim"] = 50;
    h.config_json = cfg.dump();
    const auto other = tmp / "dim.cvgn";
    covergen::write_model_file(other, h, covergen::read_model_file(model));
    CHECK_THROWS_WITH(covergen::load_encoder(other, reg), Contains("wrong feature dimension"));
  }
  SECTION("features of another dimension") {
    CHECK_THROWS_WITH(e->encode_batch(at::randn({4, 21})), Contains("wrong feature dimension") && Contains("20"));
    CHECK_THROWS_AS(e->encode_batch(at::randn({4, 3, 20})), covergen::InputError);
    fs::remove_all(tmp / "store");
    write_store(tmp / "store", at::randn({5, 30}));
    auto r = run_cli("encode --encoder '" + model.string() + "'" + store_args);
    CHECK(r.code == 3);
    CHECK_THAT(r.err, Contains("wrong feature dimension"));
  }
  SECTION("encoding before fit") {
    auto fresh = reg.create_encoder("autoencoder", "{}");
    CHECK_THROWS_WITH(fresh->encode_batch(at::randn({2, 20})), Contains("not fitted"));
  }
}
