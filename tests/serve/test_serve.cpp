// covergen serve: the JSON API end to end on an ephemeral loopback port, with a
// tiny audio-conditioned DCGAN trained by the CLI once per process.
#include "../reliability/process.hpp"

#include <covergen/errors.hpp>
#include <covergen/plugin_registry.hpp>
#include <covergen/serve/cover_maker.hpp>
#include <covergen/serve/server.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

namespace fs = std::filesystem;
using nlohmann::json;
using covergen::test::run_process;
using covergen::test::ScratchDir;
using namespace std::chrono_literals;

namespace {

const std::string kCli = COVERGEN_CLI;
const fs::path kMp3 = fs::path(COVERGEN_TEST_DATA_DIR) / "librosa" / "music120_44k.mp3";

// Plugins come from beside libcovergen_core, as for the CLI.
std::vector<std::string> plugin_env() { return {}; }

// A 32 px DCGAN conditioned on two audio features, trained for 4 steps: made once.
const fs::path& tiny_run() {
  static ScratchDir dir("serve-run");
  static const fs::path run = [] {
    const fs::path ds = dir / "ds", run = dir / "run";
    auto r = run_process({kCli, "dataset", "synth", "--out", ds.string(), "--genres", "2", "--per-genre", "3",
                          "--seconds", "2", "--cover-size", "32", "-q"},
                         120s, plugin_env());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    r = run_process({kCli, "train", "--data", ds.string(), "--out", run.string(), "--condition",
                     "audio:tempo_bpm,rms_mean", "--image-size", "32", "--batch", "4", "--steps", "4",
                     "--gan-config", R"({"ngf":8,"ndf":8})", "--device", "cpu", "--threads", "1", "--seed", "3", "-q"},
                    300s, plugin_env());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return run;
  }();
  return run;
}

covergen::serve::CoverMaker& maker() {
  static covergen::PluginRegistry registry;
  static covergen::serve::CoverMaker m(tiny_run(), registry, "cpu");
  return m;
}

// A server on a free loopback port, serving on its own thread for the test's scope.
struct RunningServer {
  covergen::serve::Server server;
  int port;
  std::thread thread;
  explicit RunningServer(covergen::serve::ServerOptions o = {})
      : server(maker(), [&] {
          o.port = 0;
          return o;
        }()),
        port(server.bind()),
        thread([this] { server.run(); }) {}
  ~RunningServer() {
    server.stop();
    thread.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(120, 0);
    c.set_write_timeout(60, 0);
    return c;
  }
};

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string unbase64(const std::string& s) {
  std::string out;
  int val = 0, bits = -8;
  for (char ch : s) {
    const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char* p = std::strchr(t, ch);
    if (ch == '=' || !p || !ch) break;
    val = (val << 6) + static_cast<int>(p - t);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

cv::Mat decode_png(const std::string& bytes) {
  std::vector<unsigned char> buf(bytes.begin(), bytes.end());
  return cv::imdecode(buf, cv::IMREAD_UNCHANGED);
}

httplib::MultipartFormDataItems form(const std::string& audio, const std::string& filename,
                                     std::vector<std::pair<std::string, std::string>> fields) {
  httplib::MultipartFormDataItems items;
  if (!filename.empty()) items.push_back({"audio", audio, filename, "application/octet-stream"});
  for (auto& [k, v] : fields) items.push_back({k, v, "", ""});
  return items;
}

json body_of(const httplib::Result& r) {
  REQUIRE(r);
  INFO(r->body.substr(0, 400));
  return json::parse(r->body);
}

bool upload_dir_empty(const covergen::serve::Server& s) { return fs::is_empty(s.upload_dir()); }

}  // namespace

TEST_CASE("POST /api/covers returns n PNGs of the model's size, the covers covergen generate makes",
          "[serve]") {
  RunningServer s;
  auto c = s.client();
  const std::string mp3 = read_bytes(kMp3);
  auto r = c.Post("/api/covers", form(mp3, "music120_44k.mp3", {{"n", "3"}, {"seed", "5"}, {"truncation", "1"}}));
  const json b = body_of(r);
  REQUIRE(r->status == 200);
  REQUIRE(b.at("covers").size() == 3);
  CHECK(b.at("seed") == 5);
  CHECK(b.at("image_size") == 32);
  CHECK(b.at("track").at("name") == "music120_44k.mp3");
  CHECK(b.at("track").at("format").get<std::string>().find("MPEG") != std::string::npos);
  CHECK(std::abs(b.at("track").at("features").at("tempo_bpm").get<double>() - 120.0) < 6.0);

  // The same covers as the CLI with the same seed (pixels within 1 level: thread counts differ).
  ScratchDir out("serve-cli");
  auto g = run_process({kCli, "generate", "--model", tiny_run().string(), kMp3.string(), "-n", "3", "--seed", "5",
                        "--out", out.path().string(), "--device", "cpu"},
                       120s, plugin_env());
  INFO(g.output);
  REQUIRE(g.exit_code == 0);
  for (int i = 0; i < 3; ++i) {
    cv::Mat served = decode_png(unbase64(b["covers"][i]["png_base64"].get<std::string>()));
    REQUIRE(!served.empty());
    CHECK(served.rows == 32);
    CHECK(served.cols == 32);
    CHECK(served.channels() == 3);
    cv::Mat cli = cv::imread((out.path() / ("music120_44k_" + std::to_string(i) + ".png")).string(), cv::IMREAD_UNCHANGED);
    REQUIRE(!cli.empty());
    double max_diff = cv::norm(served, cli, cv::NORM_INF);
    CHECK(max_diff <= 1.0);
  }
  CHECK(upload_dir_empty(s.server));

  SECTION("a re-roll by track id: same seed same covers, another seed other covers") {
    const std::string id = b["track"]["id"];
    auto same = body_of(c.Post("/api/covers", form("", "", {{"track", id}, {"n", "3"}, {"seed", "5"}})));
    for (int i = 0; i < 3; ++i) CHECK(same["covers"][i]["png_base64"] == b["covers"][i]["png_base64"]);
    auto other = body_of(c.Post("/api/covers", form("", "", {{"track", id}, {"n", "2"}, {"seed", "6"}})));
    REQUIRE(other["covers"].size() == 2);
    CHECK(other["covers"][0]["png_base64"] != b["covers"][0]["png_base64"]);
    // A smaller truncation pulls the covers together: less spread than psi = 1.
    auto spread = [&](const json& body) {
      cv::Mat a = decode_png(unbase64(body["covers"][0]["png_base64"].get<std::string>()));
      cv::Mat bb = decode_png(unbase64(body["covers"][1]["png_base64"].get<std::string>()));
      return cv::norm(a, bb, cv::NORM_L2);
    };
    auto t1 = body_of(c.Post("/api/covers", form("", "", {{"track", id}, {"n", "2"}, {"seed", "9"}})));
    auto t0 = body_of(c.Post("/api/covers", form("", "", {{"track", id}, {"n", "2"}, {"seed", "9"}, {"truncation", "0"}})));
    CHECK(spread(t0) < spread(t1));
    auto r404 = c.Post("/api/covers", form("", "", {{"track", std::string(32, 'a')}}));
    CHECK(r404->status == 404);
  }
}

TEST_CASE("bad requests get 400 with the reason, and leave no upload behind", "[serve]") {
  RunningServer s;
  auto c = s.client();
  SECTION("a garbage file") {
    std::string junk(5000, '\0');
    std::mt19937 rng(1);
    for (auto& ch : junk) ch = static_cast<char>(rng());
    auto r = c.Post("/api/covers", form(junk, "song.mp3", {}));
    const json b = body_of(r);
    CHECK(r->status == 400);
    const std::string err = b.at("error");
    CHECK(err.find("'song.mp3'") != std::string::npos);
    CHECK(err.find("covergen-serve-") == std::string::npos);  // the temp path never shows
  }
  SECTION("an empty file") {
    auto r = c.Post("/api/covers", form("", "empty.wav", {}));
    CHECK(r->status == 400);
    CHECK(body_of(r).at("error").get<std::string>().find("empty.wav") != std::string::npos);
  }
  SECTION("no audio for an audio model") {
    auto r = c.Post("/api/covers", form("", "", {{"n", "2"}}));
    CHECK(r->status == 400);
    CHECK(body_of(r).at("error").get<std::string>().find("'audio'") != std::string::npos);
  }
  SECTION("out-of-range fields") {
    const std::string mp3 = read_bytes(kMp3);
    for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"n", "0"}, {"n", "17"}, {"n", "x"}, {"seed", "-1"}, {"truncation", "1.5"}, {"truncation", "nan"}}) {
      auto r = c.Post("/api/covers", form(mp3, "a.mp3", {{k, v}}));
      INFO(k << "=" << v);
      CHECK(r->status == 400);
      CHECK(body_of(r).at("error").get<std::string>().find(k) != std::string::npos);
    }
  }
  SECTION("not multipart") {
    auto r = c.Post("/api/covers", "{}", "application/json");
    CHECK(r->status == 400);
  }
  SECTION("a path in the file name never names a file") {
    auto r = c.Post("/api/covers", form("RIFF", "../../etc/passwd", {}));
    CHECK(r->status == 400);
    CHECK(body_of(r).at("error").get<std::string>().find("'passwd'") != std::string::npos);
  }
  CHECK(upload_dir_empty(s.server));
}

TEST_CASE("uploads over the limit get 413, with or without a Content-Length", "[serve]") {
  covergen::serve::ServerOptions o;
  o.max_upload_bytes = 64 * 1024;
  RunningServer s(o);
  auto c = s.client();
  const std::string big(200 * 1024, 'x');
  auto r = c.Post("/api/covers", form(big, "big.wav", {}));
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(body_of(r).at("error").get<std::string>().find("65536") != std::string::npos);

  // Chunked: no Content-Length for httplib to check, the server counts itself.
  const std::string boundary = "----covergen-test-boundary";
  const std::string body = "--" + boundary +
                           "\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"big.wav\"\r\n"
                           "Content-Type: application/octet-stream\r\n\r\n" +
                           big + "\r\n--" + boundary + "--\r\n";
  auto chunked = c.Post(
      "/api/covers",
      [&](std::size_t offset, httplib::DataSink& sink) {
        if (offset < body.size()) {
          sink.write(body.data() + offset, std::min<std::size_t>(8192, body.size() - offset));
        } else {
          sink.done();
        }
        return true;
      },
      ("multipart/form-data; boundary=" + boundary).c_str());
  REQUIRE(chunked);
  CHECK(chunked->status == 413);
  // The server still answers afterwards.
  auto m = c.Get("/api/models");
  REQUIRE(m);
  CHECK(m->status == 200);
  CHECK(upload_dir_empty(s.server));
}

TEST_CASE("a full queue answers 503 with Retry-After", "[serve]") {
  covergen::serve::ServerOptions o;
  o.workers = 1;
  o.queue = 0;
  RunningServer s(o);
  // A 40 s wav keeps the one worker busy while the second request arrives.
  ScratchDir tmp("serve-503");
  const fs::path wav = tmp / "long.wav";
  {
    const int sr = 22050, n = sr * 40;
    std::string data(static_cast<std::size_t>(n) * 2, '\0');
    std::mt19937 rng(4);
    std::normal_distribution<double> noise(0.0, 3000.0);
    for (int i = 0; i < n; ++i) {
      const auto v = static_cast<std::int16_t>(std::clamp(noise(rng), -32000.0, 32000.0));
      std::memcpy(&data[static_cast<std::size_t>(i) * 2], &v, 2);
    }
    auto u32 = [](std::uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [](std::uint16_t v) { return std::string(reinterpret_cast<const char*>(&v), 2); };
    std::ofstream f(wav, std::ios::binary);
    f << "RIFF" << u32(36 + static_cast<std::uint32_t>(data.size())) << "WAVEfmt " << u32(16) << u16(1) << u16(1)
      << u32(sr) << u32(sr * 2) << u16(2) << u16(16) << "data" << u32(static_cast<std::uint32_t>(data.size())) << data;
  }
  const std::string long_wav = read_bytes(wav);
  int got503 = 0;
  for (int attempt = 0; attempt < 5 && got503 == 0; ++attempt) {
    std::atomic<int> first_status{0};
    std::thread first([&] {
      auto c = s.client();
      auto r = c.Post("/api/covers", form(long_wav, "long.wav", {{"n", "1"}}));
      first_status = r ? r->status : -1;
    });
    auto c = s.client();
    // Wait until the worker has the first job, then ask again.
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (s.server.stats().running == 0 && first_status == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    if (s.server.stats().running == 1) {
      auto r = c.Post("/api/covers", form(read_bytes(kMp3), "b.mp3", {{"n", "1"}}));
      REQUIRE(r);
      if (r->status == 503) {
        ++got503;
        REQUIRE(r->has_header("Retry-After"));
        CHECK(std::stoi(r->get_header_value("Retry-After")) >= 1);
        CHECK(body_of(r).at("error").get<std::string>().find("busy") != std::string::npos);
      }
    }
    first.join();
    CHECK(first_status == 200);
  }
  CHECK(got503 == 1);
  auto st = body_of(s.client().Get("/api/status"));
  CHECK(st["queue"]["rejected"].get<int>() >= 1);
  CHECK(upload_dir_empty(s.server));
}

TEST_CASE("GET /api/models, the page, and nothing else", "[serve]") {
  fs::path upload_dir;
  {
    RunningServer s;
    upload_dir = s.server.upload_dir();
    CHECK(fs::is_directory(upload_dir));
    auto c = s.client();
    auto b = body_of(c.Get("/api/models"));
    REQUIRE(b["models"].size() == 1);
    const auto& m = b["models"][0];
    CHECK(m["id"] == "default");
    CHECK(m["image_size"] == 32);
    CHECK(m["condition"]["mode"] == "audio");
    CHECK(m["condition"]["names"] == json::array({"tempo_bpm", "rms_mean"}));
    CHECK(b["limits"]["max_upload_bytes"] == 50u << 20);
    CHECK(b["limits"]["max_covers"] == 16);

    auto page = c.Get("/");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->get_header_value("Content-Type").rfind("text/html", 0) == 0);
    CHECK(page->body.find("<title>CoverGen</title>") != std::string::npos);
    CHECK(page->get_header_value("Content-Security-Policy").find("default-src 'self'") != std::string::npos);
    auto js = c.Get("/app.js");
    REQUIRE(js);
    CHECK(js->status == 200);
    CHECK(js->body.find("/api/covers") != std::string::npos);
    for (const char* path : {"/nope", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/app.js/../../x"}) {
      auto r = c.Get(path);
      REQUIRE(r);
      INFO(path);
      CHECK(r->status == 404);
      CHECK(body_of(r)["error"] == "not found");
    }
    // DNS rebinding: a request addressed to another host name is refused.
    auto evil = c.Get("/api/models", {{"Host", "evil.example:8080"}});
    REQUIRE(evil);
    CHECK(evil->status == 403);
  }
  CHECK_FALSE(fs::exists(upload_dir));  // removed with the server
}

TEST_CASE("CoverMaker refuses models serve cannot drive, naming the file", "[serve]") {
  covergen::PluginRegistry registry;
  CHECK_THROWS_AS(covergen::serve::CoverMaker("/nonexistent/run", registry), covergen::InputError);
}
