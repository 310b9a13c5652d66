// covergen serve: the JSON API end to end on an ephemeral loopback port, with a
// tiny audio-conditioned DCGAN trained by the CLI once per process.
#include "../reliability/process.hpp"

#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>
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
#include <optional>
#include <random>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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
  explicit RunningServer(covergen::serve::ServerOptions o = {}, covergen::serve::CoverMaker& m = maker())
      : server(m, [&] {
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

// A raw HTTP/1.1 exchange, to send what httplib's client would not (huge or cut
// bodies, odd methods) and to see exactly how the server answers.
struct RawRequest {
  std::string head;                  ///< request line and headers, without the blank line
  std::string prefix, suffix;        ///< body bytes around `filler` bytes of 'x'
  std::uint64_t filler = 0;
  bool chunked = false;              ///< Transfer-Encoding: chunked instead of Content-Length
  std::optional<std::uint64_t> content_length;  ///< override (a lie, or a huge one with Expect)
  bool expect_continue = false;      ///< send `Expect: 100-continue`, wait for 100 before the body
  std::optional<std::uint64_t> cut_after;  ///< stop sending after this many body bytes (and wait)
  int pause_before_head_ms = 0;      ///< connect, then say nothing this long
  int pause_before_body_ms = 0;      ///< send the headers, then nothing this long
};

struct RawAnswer {
  int status = 0;             ///< the final status; 0 when none was read
  std::string error;          ///< how the connection failed, if it did
  std::string headers, body;
  std::uint64_t body_sent = 0;
};

RawAnswer raw_exchange(int port, const RawRequest& rq) {
  RawAnswer a;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{60, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    a.error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return a;
  }
  auto send_all = [&](const char* p, std::size_t n) {
    while (n > 0) {
      const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
      if (k <= 0) {
        a.error = std::string("send: ") + std::strerror(errno);
        return false;
      }
      p += k;
      n -= static_cast<std::size_t>(k);
    }
    return true;
  };
  std::string received;
  auto recv_some = [&] {
    char buf[65536];
    const ssize_t k = ::recv(fd, buf, sizeof buf, 0);
    if (k < 0 && a.error.empty()) a.error = std::string("recv: ") + std::strerror(errno);
    if (k > 0) received.append(buf, static_cast<std::size_t>(k));
    return k > 0;
  };

  const std::uint64_t total = rq.prefix.size() + rq.filler + rq.suffix.size();
  std::string head = rq.head + "\r\nHost: 127.0.0.1\r\n";
  if (rq.chunked) head += "Transfer-Encoding: chunked\r\n";
  else head += "Content-Length: " + std::to_string(rq.content_length.value_or(total)) + "\r\n";
  if (rq.expect_continue) head += "Expect: 100-continue\r\n";
  head += "\r\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(rq.pause_before_head_ms));
  bool send_body = send_all(head.data(), head.size());
  std::this_thread::sleep_for(std::chrono::milliseconds(rq.pause_before_body_ms));
  if (send_body && rq.expect_continue) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) == 1 && recv_some() && received.rfind("HTTP/1.1 100", 0) == 0) {
      received.erase(0, received.find("\r\n\r\n") + 4);
    } else {
      send_body = false;  // a final answer instead of 100: the body must not be sent
    }
  }
  if (send_body) {
    static const std::string filler_block(256 * 1024, 'x');
    std::uint64_t sent = 0;
    const std::uint64_t limit = rq.cut_after.value_or(total);
    auto send_body_bytes = [&](const char* p, std::size_t n) {
      n = static_cast<std::size_t>(std::min<std::uint64_t>(n, limit - sent));
      if (n == 0) return true;
      if (rq.chunked) {
        char size_line[32];
        std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
        if (!send_all(size_line, std::strlen(size_line)) || !send_all(p, n) || !send_all("\r\n", 2)) return false;
      } else if (!send_all(p, n)) {
        return false;
      }
      sent += n;
      return true;
    };
    bool ok = send_body_bytes(rq.prefix.data(), rq.prefix.size());
    for (std::uint64_t left = rq.filler; ok && left > 0 && sent < limit;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, filler_block.size()));
      ok = send_body_bytes(filler_block.data(), n);
      left -= n;
    }
    if (ok) ok = send_body_bytes(rq.suffix.data(), rq.suffix.size());
    if (ok && rq.chunked && !rq.cut_after) ok = send_all("0\r\n\r\n", 5);
    a.body_sent = sent;
  }
  while (recv_some()) {
  }
  ::close(fd);
  const auto end = received.find("\r\n\r\n");
  if (received.rfind("HTTP/1.1 ", 0) == 0 && end != std::string::npos) {
    a.status = std::atoi(received.c_str() + 9);
    a.headers = received.substr(0, end);
    a.body = received.substr(end + 4);
  } else if (a.error.empty()) {
    a.error = "no answer (" + std::to_string(received.size()) + " bytes)";
  }
  return a;
}

const std::string kBoundary = "----covergen-abuse";

// A multipart request for /api/covers with one audio file part: `file` bytes, then
// `filler` bytes of 'x'.
RawRequest covers_upload(const std::string& name, const std::string& file, std::uint64_t filler = 0) {
  RawRequest rq;
  rq.head = "POST /api/covers HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=" + kBoundary;
  rq.prefix = "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n1\r\n--" + kBoundary +
              "\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"" + name +
              "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + file;
  rq.filler = filler;
  rq.suffix = "\r\n--" + kBoundary + "--\r\n";
  return rq;
}

double vm_hwm_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0.0;
}

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

TEST_CASE("artist and title: finished covers as covergen generate finishes them, in PNG, SVG and PDF",
          "[serve]") {
  RunningServer s;
  auto c = s.client();
  const std::string mp3 = read_bytes(kMp3);
  const std::string artist = "The Synthetics", title = "Tempo 120";
  auto r = c.Post("/api/covers", form(mp3, "music120_44k.mp3",
                                      {{"n", "2"}, {"seed", "5"}, {"artist", artist}, {"title", title},
                                       {"size", "128"}, {"format", "png,svg,pdf"}, {"index", "1"}}));
  const json b = body_of(r);
  REQUIRE(r->status == 200);
  REQUIRE(b.at("covers").size() == 1);  // only the asked index
  const json& cover = b["covers"][0];
  CHECK(cover.at("index") == 1);
  CHECK(b.at("finished").at("size") == 128);
  CHECK(b["finished"]["artist"] == artist);
  CHECK(b["finished"]["formats"] == json::array({"png", "svg", "pdf"}));
  const json& t = cover.at("typography");
  REQUIRE(t.is_object());
  CHECK(t.at("contrast").get<double>() >= 4.5);
  CHECK(t.at("unknown_glyphs") == 0);
  const cv::Mat served = decode_png(unbase64(cover.at("png_base64").get<std::string>()));
  REQUIRE(!served.empty());
  CHECK(served.rows == 128);
  CHECK(served.cols == 128);
  const std::string svg = unbase64(cover.at("svg_base64").get<std::string>());
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find("width=\"128") != std::string::npos);
  const std::string pdf = unbase64(cover.at("pdf_base64").get<std::string>());
  CHECK(pdf.rfind("%PDF-", 0) == 0);
  CHECK(pdf.find("%%EOF") != std::string::npos);

  // The same cover as the CLI's finishing with the same flags (generation agrees to a
  // level; the text lands in the same place).
  ScratchDir out("serve-finish-cli");
  auto g = run_process({kCli, "generate", "--model", tiny_run().string(), kMp3.string(), "-n", "2", "--seed", "5",
                        "--artist", artist, "--title", title, "--size", "128", "--format", "png", "--out",
                        out.path().string(), "--device", "cpu"},
                       120s, plugin_env());
  INFO(g.output);
  REQUIRE(g.exit_code == 0);
  cv::Mat cli = cv::imread((out.path() / "finished" / "music120_44k_1.png").string(), cv::IMREAD_UNCHANGED);
  REQUIRE(!cli.empty());
  REQUIRE(cli.size() == served.size());
  REQUIRE(cli.type() == served.type());
  const double mean_diff = cv::norm(served, cli, cv::NORM_L1) / static_cast<double>(cli.total() * cli.channels());
  CHECK(mean_diff < 1.0);
  // And the text is really there: the finished cover differs from the same cover without it.
  auto plain = body_of(c.Post("/api/covers", form("", "", {{"track", b["track"]["id"]}, {"n", "2"}, {"seed", "5"},
                                                            {"size", "128"}, {"index", "1"}})));
  CHECK(plain["covers"][0]["typography"].is_null());
  const cv::Mat untexted = decode_png(unbase64(plain["covers"][0]["png_base64"].get<std::string>()));
  REQUIRE(untexted.size() == served.size());
  CHECK(cv::norm(untexted, served, cv::NORM_L1) / static_cast<double>(served.total() * 3) > 2.0);

  SECTION("bad finishing fields get 400 naming the field") {
    for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"format", "gif"}, {"size", "10"}, {"size", "5000"}, {"index", "2"}, {"artist", std::string(300, 'a')}}) {
      auto bad = c.Post("/api/covers", form("", "", {{"track", b["track"]["id"]}, {"n", "2"}, {k, v}}));
      INFO(k << "=" << v.substr(0, 20));
      REQUIRE(bad);
      CHECK(bad->status == 400);
      CHECK(body_of(bad).at("error").get<std::string>().find(k) != std::string::npos);
    }
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

TEST_CASE("abuse: every huge, garbage, cut or misrouted request gets its status, never a reset", "[serve]") {
  covergen::serve::ServerOptions o;  // the default 50 MiB limit, 256 MiB discard cap
  o.queue = 32;
  // Longer than httplib's 5 s defaults (which the pauses below outlast), and how long
  // the cut-off request below waits for its answer.
  o.read_timeout_seconds = 7;
  RunningServer s(o);
  const std::uint64_t MiB = 1 << 20;
  const double hwm_before = vm_hwm_mb();

  std::string junk(5000, '\0');
  std::mt19937 rng(11);
  for (auto& ch : junk) ch = static_cast<char>(rng());
  // A WAV header promising one second of 16-bit mono at 22050 Hz, and 10 bytes of it.
  auto u32 = [](std::uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [](std::uint16_t v) { return std::string(reinterpret_cast<const char*>(&v), 2); };
  const std::string cut_wav = "RIFF" + u32(36 + 44100) + "WAVEfmt " + u32(16) + u16(1) + u16(1) + u32(22050) +
                              u32(44100) + u16(2) + u16(16) + "data" + u32(44100) + std::string(10, '\1');
  const std::string png_bytes = "\x89PNG\r\n\x1a\n" + std::string(200, '\0');

  struct Case {
    std::string what;
    RawRequest rq;
    int want;
    std::string in_error;  // a piece of the error message, when it must name something
  };
  std::vector<Case> cases;
  auto plain = [](const std::string& head, std::uint64_t filler) {
    RawRequest rq;
    rq.head = head;
    rq.filler = filler;
    return rq;
  };
  // Oversized: Content-Length over the limit (read and dropped: the client is never cut off).
  for (int i = 0; i < 3; ++i) cases.push_back({"100 MiB upload #" + std::to_string(i), covers_upload("huge.wav", "", 100 * MiB), 413, "52428800"});
  {
    // Node's fetch sends the headers of a large upload, then nothing for seconds.
    RawRequest rq = covers_upload("huge.wav", "", 100 * MiB);
    rq.pause_before_body_ms = 6000;
    cases.push_back({"100 MiB upload after a 6 s pause", rq, 413, "52428800"});
  }
  {
    RawRequest rq = plain("POST /nope HTTP/1.1", 1000);
    rq.pause_before_head_ms = 6000;
    cases.push_back({"a request 6 s after connecting", rq, 404, "not found"});
  }
  {
    RawRequest rq = covers_upload("huge.wav", "", 80 * MiB);
    rq.chunked = true;  // no Content-Length: the server counts
    cases.push_back({"80 MiB chunked upload", rq, 413, "52428800"});
  }
  {
    RawRequest rq = covers_upload("huge.wav", "", 0);
    rq.content_length = std::uint64_t(1) << 40;  // 1 TiB announced: answered before any body is sent
    rq.expect_continue = true;
    cases.push_back({"1 TiB with Expect: 100-continue", rq, 413, "52428800"});
  }
  // Misrouted bodies: read and dropped, then 404/405 (never stored: see the memory check).
  cases.push_back({"40 MiB POST to an unknown path", plain("POST /nope HTTP/1.1", 40 * MiB), 404, "not found"});
  cases.push_back({"100 MiB POST to an unknown path", plain("POST /no/such/thing HTTP/1.1", 100 * MiB), 404, "not found"});
  cases.push_back({"POST with a dot-dot path", plain("POST /../../etc/passwd HTTP/1.1", 1000), 404, "not found"});
  cases.push_back({"POST /api/models", plain("POST /api/models HTTP/1.1", MiB), 405, "GET"});
  cases.push_back({"PUT /api/covers", plain("PUT /api/covers HTTP/1.1", MiB), 405, "POST"});
  cases.push_back({"DELETE /", plain("DELETE / HTTP/1.1", 0), 405, "GET"});
  cases.push_back({"GET /api/covers", plain("GET /api/covers HTTP/1.1", 0), 405, "POST"});
  cases.push_back({"GET an unknown path", plain("GET /nope HTTP/1.1", 0), 404, "not found"});
  // Refused unread (httplib would otherwise store it). The client announces a chunked
  // body and sends none of it: a server that waited for the body would answer only
  // after its 30 s read timeout. (Sending the body would race the server's close of a
  // connection with unread bytes, which the kernel turns into a reset.)
  cases.push_back({"PRI with a chunked body", [&] {
                     RawRequest rq = plain("PRI / HTTP/1.1", 1024);
                     rq.chunked = true;
                     rq.cut_after = 0;
                     return rq;
                   }(),
                   405, "method"});
  {
    RawRequest rq = covers_upload("song.mp3", "", 0);
    rq.head = "POST /api/covers HTTP/1.1\r\nContent-Type: application/json";
    rq.prefix = "{}";
    rq.suffix.clear();
    cases.push_back({"not multipart", rq, 400, "multipart"});
  }
  // Bad audio: 400 with the decoder's reason, naming the upload.
  cases.push_back({"random bytes", covers_upload("song.mp3", junk), 400, "'song.mp3'"});
  cases.push_back({"text, not audio", covers_upload("notes.mp3", "this is not audio, just words\n"), 400, "'notes.mp3'"});
  cases.push_back({"a PNG called .wav", covers_upload("cover.wav", png_bytes), 400, "'cover.wav'"});
  cases.push_back({"a truncated WAV", covers_upload("cut.wav", cut_wav), 400, "'cut.wav': only"});
  cases.push_back({"an empty file", covers_upload("empty.wav", ""), 400, "empty.wav"});
  {
    RawRequest rq = covers_upload("song.mp3", junk);
    rq.cut_after = rq.prefix.size() / 2;  // the client stops half-way and waits
    cases.push_back({"a request cut off mid-body", rq, 400, "ended early"});
  }
  {
    RawRequest rq = covers_upload("song.mp3", junk);
    rq.suffix = "\r\n--not-the-boundary--\r\n";  // never closed
    cases.push_back({"multipart never closed", rq, 400, ""});
  }

  // All at once, each on its own connection.
  std::vector<RawAnswer> answers(cases.size());
  std::vector<std::thread> threads;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < cases.size(); ++i)
    threads.emplace_back([&, i] { answers[i] = raw_exchange(s.port, cases[i].rq); });
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double hwm_after = vm_hwm_mb();

  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const auto& a = answers[i];
    INFO(c.what << ": status " << a.status << ", error '" << a.error << "', body " << a.body.substr(0, 300));
    CHECK(a.error.empty());
    CHECK(a.status == c.want);
    CHECK(a.headers.find("Connection: close") != std::string::npos);
    if (a.status == 405) CHECK(a.headers.find("Allow: ") != std::string::npos);
    if (a.status >= 400 && !c.in_error.empty()) {
      const json b = json::parse(a.body, nullptr, false);
      REQUIRE(b.is_object());
      CHECK(b.value("status", 0) == c.want);
      CHECK(b.value("error", "").find(c.in_error) != std::string::npos);
      CHECK(b.value("error", "").find("covergen-serve-") == std::string::npos);  // no temp path
    }
  }
  // The oversized bodies were read to their end (that is what lets the client see
  // the status), except the one refused on its announcement, which sent nothing.
  CHECK(answers[0].body_sent == cases[0].rq.prefix.size() + 100 * MiB + cases[0].rq.suffix.size());
  for (std::size_t i = 0; i < cases.size(); ++i)
    if (cases[i].rq.expect_continue) CHECK(answers[i].body_sent == 0);
  // None of those bodies was held in memory (the 40-100 MiB ones would show).
  INFO("VmHWM " << hwm_before << " -> " << hwm_after << " MB, " << seconds << " s");
  CHECK(hwm_after - hwm_before < 32.0);

  // Still serving, and nothing left behind.
  auto c = s.client();
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
    CHECK(m["plugin"] == "dcgan");  // the loaded generator knows its plugin
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

// A 32 px DCGAN conditioned on a fitted PCA music encoder (train --condition enc.cvgn).
TEST_CASE("an encoder-conditioned run: the covers covergen generate makes, and the encoder's embedding",
          "[serve][encoder_condition]") {
  ScratchDir dir("serve-encoder-run");
  const fs::path ds = dir / "ds", enc = dir / "enc.cvgn", run = dir / "run";
  auto cli_ok = [](std::vector<std::string> args) {
    args.insert(args.begin(), kCli);
    auto r = run_process(args, 300s, plugin_env());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return r;
  };
  cli_ok({"dataset", "synth", "--out", ds.string(), "--genres", "2", "--per-genre", "6", "--seconds", "2",
          "--cover-size", "32", "-q"});
  cli_ok({"encoder", "fit", "--plugin", "pca", "--data", ds.string(), "--out", enc.string(), "--dim", "3", "-q"});
  cli_ok({"train", "--data", ds.string(), "--condition", enc.string(), "--out", run.string(), "--image-size", "32",
          "--batch", "4", "--steps", "3", "--gan-config", R"({"ngf":8,"ndf":8})", "--device", "cpu", "--threads",
          "1", "--seed", "3", "-q"});
  std::vector<fs::path> tracks;
  for (const auto& e : fs::directory_iterator(ds / "audio"))
    if (e.path().extension() == ".mp3") tracks.push_back(e.path());
  std::sort(tracks.begin(), tracks.end());
  REQUIRE(tracks.size() == 12);
  const fs::path track = tracks.front(), other = tracks.back();  // one of each genre

  covergen::PluginRegistry registry;
  covergen::serve::CoverMaker encoder_maker(run, registry, "cpu");
  CHECK(encoder_maker.mode() == "encoder");
  CHECK(encoder_maker.takes_audio());
  RunningServer s({}, encoder_maker);
  auto c = s.client();

  const auto models = body_of(c.Get("/api/models"));
  const auto& cond = models["models"][0]["condition"];
  CHECK(cond["mode"] == "encoder");
  CHECK(cond["encoder"]["plugin"] == "pca");
  CHECK(cond["encoder"]["dim"] == 3);

  // Without a track: 400 saying to send one.
  auto none = c.Post("/api/covers", form("", "", {{"n", "1"}}));
  REQUIRE(none);
  CHECK(none->status == 400);
  CHECK(body_of(none)["error"].get<std::string>().find("audio") != std::string::npos);

  auto r = c.Post("/api/covers", form(read_bytes(track), track.filename().string(), {{"n", "2"}, {"seed", "11"}}));
  const json b = body_of(r);
  REQUIRE(r->status == 200);
  REQUIRE(b["covers"].size() == 2);

  // The raw embedding is Φ(track) as `covergen encode` computes it with the run's encoder.
  auto e = cli_ok({"encode", "--encoder", (run / "encoder.cvgn").string(), track.string(), "--json", "-q"});
  const auto want = json::parse(e.output.substr(e.output.find('{'))).at("tracks").at(0).at("embedding");
  const auto got = b["track"]["embedding"];
  REQUIRE(got.size() == 3);
  REQUIRE(want.size() == 3);
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(std::abs(got[i].get<double>() - want[i].get<double>()) <= 1e-5 * (1.0 + std::abs(want[i].get<double>())));
  // The generator's condition is that embedding standardised with the run's mean/std
  // (a known answer: the covers of this tiny generator hardly depend on the condition,
  // different tracks differ by at most a level, so the pixels below check the wiring).
  covergen::ModelHeader h;
  covergen::read_model_file(run / "generator.cvgn", &h);
  const auto meta = json::parse(h.meta_json).at("condition");
  const auto mean = meta.at("mean").get<std::vector<double>>(), stdv = meta.at("std").get<std::vector<double>>();
  REQUIRE(mean.size() == 3);
  const auto tc = encoder_maker.condition_for_audio(track, 0);
  REQUIRE(tc.condition.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const double expected = (want[i].get<double>() - mean[i]) / stdv[i];
    INFO(i << ": " << tc.condition[i] << " vs " << expected << " (std " << stdv[i] << ")");
    CHECK(std::abs(tc.condition[i] - expected) <= 1e-4 * (1.0 + std::abs(expected)));
  }

  // The same covers as `covergen generate --model RUN TRACK --seed 11`.
  ScratchDir out("serve-encoder-cli");
  cli_ok({"generate", "--model", run.string(), track.string(), "-n", "2", "--seed", "11", "--out",
          out.path().string(), "--device", "cpu", "-q"});
  std::vector<cv::Mat> served;
  for (int i = 0; i < 2; ++i) {
    served.push_back(decode_png(unbase64(b["covers"][i]["png_base64"].get<std::string>())));
    REQUIRE(!served.back().empty());
    CHECK(served.back().rows == 32);
    const fs::path png = out.path() / (track.stem().string() + "_" + std::to_string(i) + ".png");
    INFO(png);
    const cv::Mat cli = cv::imread(png.string(), cv::IMREAD_UNCHANGED);
    REQUIRE(!cli.empty());
    REQUIRE(cli.size() == served.back().size());
    CHECK(cv::norm(served.back(), cli, cv::NORM_INF) <= 1.0);  // within a level: thread counts differ
  }
  // The condition matters: another genre's track, same seed, other covers.
  auto o = body_of(c.Post("/api/covers", form(read_bytes(other), other.filename().string(), {{"n", "1"}, {"seed", "11"}})));
  REQUIRE(o["covers"].size() == 1);
  CHECK(o["track"]["embedding"] != b["track"]["embedding"]);
  CHECK(cv::norm(decode_png(unbase64(o["covers"][0]["png_base64"].get<std::string>())), served[0], cv::NORM_L1) > 0);
  CHECK(upload_dir_empty(s.server));
}

TEST_CASE("CoverMaker refuses models serve cannot drive, naming the file", "[serve]") {
  covergen::PluginRegistry registry;
  CHECK_THROWS_AS(covergen::serve::CoverMaker("/nonexistent/run", registry), covergen::InputError);
}
