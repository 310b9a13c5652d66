#include "covergen/serve/server.hpp"

#include <covergen/text.hpp>

#include "covergen/serve/cover_maker.hpp"
#include "finishing.hpp"
#include "job_queue.hpp"
#include "web_assets.hpp"

#include <covergen/audio/decoder.hpp>
#include <covergen/errors.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <list>
#include <map>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include <sys/socket.h>
#include <unistd.h>

namespace fs = std::filesystem;
using nlohmann::json;

namespace covergen::serve {
namespace {

constexpr std::size_t kMaxFieldBytes = 4096;  // any form field other than the audio file
constexpr int kMaxFields = 16;

// The upload's name as shown back to the user: its last path component, in a
// conservative character set, at most 100 characters. Never used as a path.
std::string display_name(const std::string& filename) {
  std::string base = filename.substr(filename.find_last_of("/\\") == std::string::npos
                                         ? 0
                                         : filename.find_last_of("/\\") + 1);
  std::string out;
  for (char ch : base) {
    const auto c = static_cast<unsigned char>(ch);
    out += (std::isalnum(c) || ch == ' ' || ch == '.' || ch == '_' || ch == '-' || ch == '(' || ch == ')') ? ch : '_';
    if (out.size() >= 100) break;
  }
  return out.empty() ? "upload" : out;
}

// One of the known audio extensions of the upload's name (lower case), or "".
// The decoder detects formats from content; the extension only helps it.
std::string audio_extension(const std::string& filename) {
  auto dot = filename.find_last_of('.');
  if (dot == std::string::npos) return "";
  std::string ext = filename.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return audio::has_decodable_extension("track" + ext) ? ext : "";
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) s.replace(pos, from.size(), to);
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // Invalid UTF-8 from a request (echoed in an error) is replaced, never thrown on.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, json{{"error", message}, {"status", status}});
}

bool is_loopback_host(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]" ||
         host.rfind("127.", 0) == 0;
}

// The request's Content-Length, or nullopt when it has none (chunked) or it is unreadable.
std::optional<std::uint64_t> content_length(const httplib::Request& req) {
  if (!req.has_header("Content-Length")) return std::nullopt;
  const std::string v = req.get_header_value("Content-Length");
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 19) return std::nullopt;
  return std::stoull(v);
}

// Reads and drops the request body, at most `cap` bytes, so that a client still
// sending it then reads the answer instead of a reset connection. False when the
// body was not read to its end (over the cap, malformed, or the client went away).
bool discard_body(const httplib::Request& req, const httplib::ContentReader& reader, std::size_t cap) {
  if (auto len = content_length(req); len && *len > cap) return false;
  std::size_t seen = 0;
  auto count = [&](const char*, std::size_t n) {
    seen += n;
    return seen <= cap;
  };
  // The multipart form of the reader is needed for multipart bodies (httplib
  // parses them whatever the receiver); the parser stops on a malformed one.
  if (req.is_multipart_form_data()) return reader([](const httplib::MultipartFormData&) { return true; }, count);
  return reader(count);
}

// A file under the server's private upload folder, named by a counter; removed
// when the last holder lets go (the request, or the job that decodes it).
class UploadFile {
 public:
  UploadFile(const fs::path& dir, std::uint64_t id, const std::string& ext)
      : path_(dir / ("upload-" + std::to_string(id) + ext)) {
    out_.open(path_, std::ios::binary | std::ios::trunc);
    if (!out_) throw Error(path_.string() + ": cannot create the upload file");
  }
  ~UploadFile() {
    out_.close();
    std::error_code ec;
    fs::remove(path_, ec);
  }
  UploadFile(const UploadFile&) = delete;
  UploadFile& operator=(const UploadFile&) = delete;
  bool write(const char* data, std::size_t n) {
    out_.write(data, static_cast<std::streamsize>(n));
    return static_cast<bool>(out_);
  }
  bool finish() {
    out_.close();
    return !out_.fail();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  std::ofstream out_;
};

struct CachedTrack {
  std::string name;
  TrackCondition track;
};

// Track conditions for re-rolls, least recently used dropped first.
class TrackCache {
 public:
  explicit TrackCache(std::size_t capacity) : capacity_(std::max<std::size_t>(1, capacity)) {}
  std::string put(CachedTrack t) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string id = new_id();
    order_.push_front(id);
    items_[id] = {std::move(t), order_.begin()};
    while (items_.size() > capacity_) {
      items_.erase(order_.back());
      order_.pop_back();
    }
    return id;
  }
  std::optional<CachedTrack> get(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = items_.find(id);
    if (it == items_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second.second);
    return it->second.first;
  }

 private:
  std::string new_id() {
    static const char* hex = "0123456789abcdef";
    std::string id;
    for (int i = 0; i < 2; ++i) {
      std::uint64_t v = rng_();
      for (int k = 0; k < 16; ++k, v >>= 4) id += hex[v & 15];
    }
    return id;
  }
  std::mutex mutex_;
  std::size_t capacity_;
  std::list<std::string> order_;
  std::unordered_map<std::string, std::pair<CachedTrack, std::list<std::string>::iterator>> items_;
  std::mt19937_64 rng_{std::random_device{}()};
};

struct CoverParams {
  std::int64_t n = 8;
  std::int64_t index = -1;  // only this cover (a download in another format); -1: all
  FinishRequest finish;
  std::uint64_t seed = 0;
  double truncation = 1.0;
  std::string track_id, genre, attributes;
};

std::int64_t parse_int(const std::string& field, const std::string& v, std::int64_t lo, std::int64_t hi) {
  try {
    std::size_t used = 0;
    const long long x = std::stoll(v, &used);
    if (used == v.size() && x >= lo && x <= hi) return x;
  } catch (const std::exception&) {
  }
  throw InputError("field '" + field + "': '" + v + "' is not a whole number in [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "]");
}

std::uint64_t parse_seed(const std::string& v) {
  try {
    std::size_t used = 0;
    if (!v.empty() && v[0] != '-') {
      const unsigned long long x = std::stoull(v, &used);
      if (used == v.size()) return x;
    }
  } catch (const std::exception&) {
  }
  throw InputError("field 'seed': '" + v + "' is not a whole number in [0, 2^64)");
}

double parse_truncation(const std::string& v) {
  try {
    std::size_t used = 0;
    const double x = std::stod(v, &used);
    if (used == v.size() && x >= 0.0 && x <= 1.0) return x;
  } catch (const std::exception&) {
  }
  throw InputError("field 'truncation': '" + v + "' is not a number in [0, 1]");
}

}  // namespace

struct Server::Impl {
  CoverMaker& maker;
  ServerOptions o;
  fs::path upload_dir;
  httplib::Server http;
  std::unique_ptr<JobQueue> jobs;
  TrackCache tracks;
  std::atomic<std::uint64_t> upload_counter{0}, failed{0};
  std::mt19937_64 seed_rng{std::random_device{}()};
  std::mutex seed_mutex;
  int port = -1;
  int listen_fd = -1;  // the listening socket, to raise its backlog after the bind
  std::atomic<bool> stop_requested{false}, running_call{false};

  Impl(CoverMaker& m, ServerOptions opts) : maker(m), o(std::move(opts)), tracks(o.track_cache) {}

  std::uint64_t random_seed() {
    std::lock_guard<std::mutex> lock(seed_mutex);
    return seed_rng() >> 11;  // 53 bits: exact in a JavaScript number
  }

  json models_json() const {
    json model = json::parse(maker.info_json());
    model["id"] = "default";
    model["finishing"] = finishing_available();
    model["formats"] = finishing_formats();
    if (finishing_available()) model["finish_size"] = {{"default", kDefaultFinishSize}, {"max", kMaxFinishSize}};
    json formats = json::array();
    for (const auto& e : audio::decodable_extensions()) formats.push_back(e.substr(1));
    return json{{"schema_version", 1},
                {"models", json::array({model})},
                {"limits",
                 {{"max_upload_bytes", o.max_upload_bytes},
                  {"max_covers", o.max_covers},
                  {"max_audio_seconds", o.max_audio_seconds},
                  {"audio_formats", formats}}}};
  }

  json status_json() const {
    auto st = jobs->stats();
    return json{{"schema_version", 1},
                {"queue",
                 {{"running", st.running},
                  {"waiting", st.waiting},
                  {"workers", st.workers},
                  {"capacity", st.capacity},
                  {"completed", st.completed},
                  {"failed", failed.load()},
                  {"rejected", st.rejected},
                  {"mean_job_seconds", st.mean_job_seconds}}}};
  }

  std::string too_large_message() const {
    return "upload too large: the limit is " + std::to_string(o.max_upload_bytes) +
           " bytes (covergen serve --max-upload-mb)";
  }
  void answer_unrouted(const httplib::Request& req, httplib::Response& res) const;
  void handle_covers(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  void install_routes();
};

void Server::Impl::handle_covers(const httplib::Request& req, httplib::Response& res,
                                 const httplib::ContentReader& reader) {
  const auto t0 = std::chrono::steady_clock::now();
  // Over the limit by its Content-Length: drop the body unread into memory (up to
  // max_discard_bytes; httplib skips it) so the client gets to read the 413.
  if (auto len = content_length(req); len && *len > o.max_upload_bytes) {
    discard_body(req, reader, o.max_discard_bytes);
    return send_error(res, 413, too_large_message());
  }
  if (!req.is_multipart_form_data()) {
    discard_body(req, reader, o.max_discard_bytes);
    return send_error(res, 400, "send multipart/form-data with the track in a file field named 'audio' (see docs/serve.md)");
  }
  std::map<std::string, std::string> fields;
  std::shared_ptr<UploadFile> upload;
  std::string upload_name, problem, current;
  std::size_t received = 0;
  bool too_large = false, in_audio = false, write_failed = false;
  const bool ok = reader(
      [&](const httplib::MultipartFormData& part) {
        current = part.name;
        in_audio = false;
        if (part.name == "audio" && !part.filename.empty()) {
          if (upload) {
            if (problem.empty()) problem = "send one file in the 'audio' field, not several";
            return true;
          }
          upload_name = display_name(part.filename);
          upload = std::make_shared<UploadFile>(upload_dir, ++upload_counter, audio_extension(part.filename));
          in_audio = true;
        } else if (static_cast<int>(fields.size()) >= kMaxFields && !fields.count(part.name)) {
          if (problem.empty()) problem = "too many form fields";
        }
        return true;
      },
      [&](const char* data, std::size_t n) {
        received += n;
        if (received > o.max_upload_bytes) too_large = true;
        // Keep reading (and dropping) so the client sees the 413, up to the discard cap.
        if (too_large) return received <= o.max_discard_bytes;
        if (in_audio) {
          if (!upload->write(data, n)) write_failed = true;
        } else if (current != "audio") {
          auto& f = fields[current];
          if (f.size() + n > kMaxFieldBytes) {
            if (problem.empty()) problem = "form field '" + display_name(current) + "' is longer than 4096 bytes";
          } else {
            f.append(data, n);
          }
        }
        return true;
      });
  if (too_large || res.status == 413) return send_error(res, 413, too_large_message());
  if (!ok)
    return send_error(res, 400,
                      "incomplete or malformed multipart/form-data request (the body ended early, or its parts "
                      "do not follow the boundary)");
  if (!problem.empty()) return send_error(res, 400, problem);
  if (write_failed || (upload && !upload->finish()))
    return send_error(res, 500, "could not store the upload in the server's temp folder (disk full?)");

  CoverParams p;
  p.n = std::min<std::int64_t>(8, o.max_covers);
  try {
    if (fields.count("model") && fields["model"] != "default")
      throw InputError("unknown model '" + display_name(fields["model"]) + "'; GET /api/models lists them");
    if (fields.count("n")) p.n = parse_int("n", fields["n"], 1, o.max_covers);
    p.seed = fields.count("seed") && !fields["seed"].empty() ? parse_seed(fields["seed"]) : random_seed();
    if (fields.count("truncation")) p.truncation = parse_truncation(fields["truncation"]);
    if (fields.count("index")) p.index = parse_int("index", fields["index"], 0, p.n - 1);
    p.finish = parse_finish_request(fields);
    p.finish.upscaler = o.upscaler;
    if (fields.count("genre")) p.genre = fields["genre"];
    if (fields.count("attributes")) p.attributes = fields["attributes"];
    if (fields.count("track")) {
      p.track_id = fields["track"];
      if (p.track_id.size() != 32 || p.track_id.find_first_not_of("0123456789abcdef") != std::string::npos)
        throw InputError("field 'track': not a track id from an earlier response");
    }
    if (maker.takes_audio() && !upload && p.track_id.empty())
      throw InputError("this model makes covers from a track: send the audio file in the field 'audio'");
    if (maker.mode() == "genre" && p.genre.empty())
      throw InputError("this model makes covers from a genre: send the field 'genre' (GET /api/models lists them)");
    if (maker.mode() == "attributes" && p.attributes.empty())
      throw InputError("this model makes covers from attribute values: send the field 'attributes' as name=value,... "
                       "(GET /api/models lists the names)");
  } catch (const InputError& e) {
    return send_error(res, 400, e.what());
  }
  std::optional<CachedTrack> cached;
  if (!p.track_id.empty() && !upload) {
    cached = tracks.get(p.track_id);
    if (!cached) return send_error(res, 404, "track id unknown or expired: upload the audio file again");
  }

  // The job: decode (when a file came), condition, generate. Runs on a worker.
  struct Outcome {
    int status = 200;
    std::string error;
    std::vector<std::int64_t> indices;
    std::vector<FinishedCover> covers;  // per index: (format, bytes) files and typography
    std::optional<CachedTrack> track;
    std::string track_id;
    double queue_s = 0, decode_s = 0, generate_s = 0;
  };
  auto outcome = std::make_shared<Outcome>();
  outcome->track = cached;
  outcome->track_id = cached ? p.track_id : "";
  const auto submitted = std::chrono::steady_clock::now();
  auto job = [this, outcome, upload, upload_name, p, submitted]() mutable {
    using clock = std::chrono::steady_clock;
    auto seconds = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
    const auto start = clock::now();
    outcome->queue_s = seconds(submitted, start);
    try {
      std::vector<float> condition;
      if (maker.takes_audio()) {
        if (upload) {
          CachedTrack t;
          t.name = upload_name;
          t.track = maker.condition_for_audio(upload->path(), o.max_audio_seconds);
          outcome->track_id = tracks.put(t);
          outcome->track = std::move(t);
        }
        condition = outcome->track->track.condition;
      } else if (maker.mode() == "genre") {
        condition = maker.condition_for_genre(p.genre);
      } else if (maker.mode() == "attributes") {
        condition = maker.condition_for_attributes(p.attributes);
      }
      upload.reset();  // the file is no longer needed
      const auto decoded = clock::now();
      outcome->decode_s = seconds(start, decoded);
      for (std::int64_t i = 0; i < p.n; ++i)
        if (p.index < 0 || p.index == i) outcome->indices.push_back(i);
      if (p.finish.active) {
        // Finished as `covergen generate --artist/--title` does: grain seed = seed + index.
        const auto rgb = maker.make_rgb(condition, p.n, p.seed, p.truncation);
        for (auto i : outcome->indices)
          outcome->covers.push_back(finish_cover(rgb[static_cast<std::size_t>(i)], p.finish, p.seed + static_cast<std::uint64_t>(i)));
      } else {
        auto pngs = maker.make_pngs(condition, p.n, p.seed, p.truncation);
        for (auto i : outcome->indices)
          outcome->covers.push_back({{{"png", std::move(pngs[static_cast<std::size_t>(i)])}}, "null"});
      }
      outcome->generate_s = seconds(decoded, clock::now());
    } catch (const InputError& e) {
      std::string msg = e.what();
      if (upload) replace_all(msg, upload->path().string(), "'" + upload_name + "'");
      outcome->status = 400;
      outcome->error = msg;
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (upload) replace_all(msg, upload->path().string(), "'" + upload_name + "'");
      outcome->status = 500;
      outcome->error = "cover generation failed: " + msg;
    }
    if (outcome->status != 200) ++failed;
    upload.reset();  // removed before the answer can go out (the task outlives this call)
  };
  auto future = jobs->try_submit(std::move(job));
  upload.reset();  // the job holds it now (or nobody: removed)
  if (!future) {
    res.set_header("Retry-After", std::to_string(jobs->retry_after_seconds()));
    return send_error(res, 503, "the server is busy (the job queue is full); try again after Retry-After seconds");
  }
  try {
    future->get();
  } catch (const std::exception&) {
    return send_error(res, 503, "the server is stopping");
  }
  if (outcome->status != 200) return send_error(res, outcome->status, outcome->error);

  json covers = json::array();
  for (std::size_t k = 0; k < outcome->covers.size(); ++k) {
    json c{{"index", outcome->indices[k]}};
    for (const auto& [format, bytes] : outcome->covers[k].files) c[format + "_base64"] = base64(bytes);
    if (p.finish.active) c["typography"] = json::parse(outcome->covers[k].typography_json);
    covers.push_back(std::move(c));
  }
  json body{{"schema_version", 1},
            {"model", "default"},
            {"seed", p.seed},
            {"n", p.n},
            {"truncation", p.truncation},
            {"image_size", maker.image_size()},
            {"covers", std::move(covers)},
            {"timing",
             {{"queue_seconds", outcome->queue_s},
              {"decode_seconds", outcome->decode_s},
              {"generate_seconds", outcome->generate_s},
              {"total_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}}}};
  if (outcome->track) {
    const auto& t = outcome->track->track;
    json values = json::object();
    for (std::size_t j = 0; j < t.values.size() && j < maker.condition_names().size(); ++j)
      values[maker.condition_names()[j]] = t.values[j];
    body["track"] = {{"id", outcome->track_id},
                     {"name", outcome->track->name},
                     {"seconds", t.seconds},
                     {"format", t.format},
                     {"features", values}};
    if (maker.mode() == "encoder") body["track"]["embedding"] = t.values;  // Φ(track) before standardising
  }
  if (!p.genre.empty()) body["genre"] = p.genre;
  if (!p.attributes.empty()) body["attributes"] = p.attributes;
  if (p.finish.active)
    body["finished"] = {{"size", p.finish.size}, {"formats", p.finish.formats}, {"artist", p.finish.artist},
                        {"title", p.finish.title}};
  send_json(res, 200, body);
}

// 405 (with Allow) for a path the server has under another method, else 404.
void Server::Impl::answer_unrouted(const httplib::Request& req, httplib::Response& res) const {
  std::string allow;
  if (req.path == "/api/covers") allow = "POST";
  else if (req.path == "/api/models" || req.path == "/api/status") allow = "GET, HEAD";
  for (const auto& asset : web_assets())
    if (req.path == asset.route) allow = "GET, HEAD";
  if (allow.empty()) return send_error(res, 404, "not found");
  res.set_header("Allow", allow);
  send_error(res, 405, req.method + " is not allowed on " + req.path + " (use " + allow + ")");
}

void Server::Impl::install_routes() {
  // httplib's own checks stay as a backstop: a body it reads itself is capped at
  // the upload limit (an oversized one it skips, not stores).
  http.set_payload_max_length(o.max_upload_bytes);
  // One request per connection: every answer carries `Connection: close` and the
  // server closes only after answering, so a client never races a keep-alive
  // timeout, and an unread body never gets parsed as the next request.
  http.set_keep_alive_max_count(1);
  // The wait for a request on a new connection (httplib's keep-alive timeout) and for
  // each read inside one: httplib's 5 s defaults dropped clients (Node's fetch) that
  // pause that long while preparing a large body, who then saw EPIPE, not an answer.
  http.set_keep_alive_timeout(o.read_timeout_seconds);
  http.set_read_timeout(o.read_timeout_seconds, 0);
  // `Expect: 100-continue`: refuse before the body is sent when it would be refused after.
  http.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "POST" && req.path == "/api/covers") {
      if (auto len = content_length(req); len && *len > o.max_upload_bytes) {
        send_error(res, 413, too_large_message());
        return 413;
      }
      return 100;
    }
    answer_unrouted(req, res);
    return res.status;
  });
  http.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                            {"X-Frame-Options", "DENY"},
                            {"Referrer-Policy", "no-referrer"},
                            {"Cache-Control", "no-store"}});
  const bool loopback = is_loopback_host(o.host);
  // Bound to loopback, answer only requests addressed to a loopback name: a web
  // page elsewhere cannot then reach this server through DNS rebinding.
  http.set_pre_routing_handler([this, loopback](const httplib::Request& req, httplib::Response& res) {
    static const char* const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    if (std::find_if(std::begin(known), std::end(known), [&](const char* m) { return req.method == m; }) ==
        std::end(known)) {
      // Unread: httplib would store a body of these methods in memory.
      res.set_header("Allow", "GET, HEAD, POST");
      send_error(res, 405, "method not allowed");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!loopback) return httplib::Server::HandlerResponse::Unhandled;
    std::string host = req.get_header_value("Host");
    if (!host.empty() && host.front() == '[') {
      host = host.substr(0, host.find(']') + 1);
    } else {
      host = host.substr(0, host.find(':'));
    }
    if (is_loopback_host(host)) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, 403, "this server answers only requests to 127.0.0.1, localhost or [::1]");
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string msg = res.status == 404   ? "not found"
                      : res.status == 413 ? "upload too large"
                      : res.status == 405 ? "method not allowed"
                                          : "bad request";
    send_error(res, res.status, msg);
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string msg = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      msg = std::string("internal error: ") + e.what();
    } catch (...) {
    }
    send_error(res, 500, msg);
  });

  for (const auto& asset : web_assets()) {
    const std::string route = asset.route;
    http.Get(route, [&asset](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
                     "connect-src 'self'; frame-ancestors 'none'");
      res.set_content(asset.content.data(), asset.content.size(), asset.content_type);
    });
  }
  http.Get("/api/models", [this](const httplib::Request&, httplib::Response& res) { send_json(res, 200, models_json()); });
  http.Get("/api/status", [this](const httplib::Request&, httplib::Response& res) { send_json(res, 200, status_json()); });
  http.Post("/api/covers", [this](const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) { handle_covers(req, res, reader); });
  http.Get("/api/covers", [this](const httplib::Request& req, httplib::Response& res) { answer_unrouted(req, res); });
  // Everything else that carries a body: read and drop it (bounded), then 404/405,
  // so httplib never buffers it and the client always reads the answer.
  auto unrouted_with_body = [this](const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& reader) {
    discard_body(req, reader, o.max_discard_bytes);
    answer_unrouted(req, res);
  };
  http.Post(".*", unrouted_with_body);
  http.Put(".*", unrouted_with_body);
  http.Patch(".*", unrouted_with_body);
  http.Delete(".*", unrouted_with_body);
  http.Options(".*", [this](const httplib::Request& req, httplib::Response& res) { answer_unrouted(req, res); });
}

Server::Server(CoverMaker& maker, ServerOptions options) : impl_(std::make_unique<Impl>(maker, std::move(options))) {
  auto& m = *impl_;
  if (m.o.workers < 1) throw InputError("--workers must be at least 1");
  if (m.o.queue < 0) throw InputError("--queue must be 0 or more");
  if (m.o.max_covers < 1) throw InputError("--max-covers must be at least 1");
  fs::path parent = m.o.temp_parent;
  if (parent.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    parent = tmp && *tmp ? tmp : "/tmp";
  }
  std::string templ = (parent / "covergen-serve-XXXXXX").string();
  if (!::mkdtemp(templ.data())) throw Error(parent.string() + ": cannot create a private upload folder there");
  m.upload_dir = templ;
  m.jobs = std::make_unique<JobQueue>(m.o.workers, m.o.queue);
  m.install_routes();
}

Server::~Server() {
  stop();
  impl_->jobs.reset();  // joins the workers; their uploads are removed with them
  std::error_code ec;
  fs::remove_all(impl_->upload_dir, ec);
}

int Server::bind() {
  auto& m = *impl_;
  // Debian's httplib (a compiled libcpp-httplib) listens with a backlog of 5. When a
  // burst of connections (a page uploading several tracks; the abuse test's 24 at
  // once on a busy machine) overflows that accept queue, Linux keeps the extra
  // handshakes half-open and, with a queue so short, expires them after a few
  // SYN-ACK retries; the client, which has already sent its request, then reads a
  // reset instead of an answer. Keep the socket's fd (httplib's own options still
  // applied) and listen again with the system's limit: Linux raises the backlog of
  // a listening socket in place.
  m.http.set_socket_options([&m](socket_t sock) {
    httplib::default_socket_options(sock);
    m.listen_fd = sock;
  });
  m.port = m.o.port == 0 ? m.http.bind_to_any_port(m.o.host) : (m.http.bind_to_port(m.o.host, m.o.port) ? m.o.port : -1);
  if (m.port <= 0)
    throw Error(m.o.host + ":" + std::to_string(m.o.port) +
                ": cannot listen there (port in use, or not an address of this machine); try --port 0 for any free port");
  if (m.listen_fd >= 0) ::listen(m.listen_fd, SOMAXCONN);  // best effort: 5 stays if it fails
  return m.port;
}

void Server::run() {
  auto& m = *impl_;
  if (m.stop_requested) return;
  m.running_call = true;
  m.http.listen_after_bind();
  m.running_call = false;
}

void Server::stop() {
  auto& m = *impl_;
  m.stop_requested = true;
  // run() may be between its check and httplib's loop start: wait for either.
  while (m.running_call && !m.http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (m.http.is_running()) m.http.stop();
}

QueueStats Server::stats() const {
  auto st = impl_->jobs->stats();
  st.failed = impl_->failed.load();
  return st;
}

const fs::path& Server::upload_dir() const { return impl_->upload_dir; }

}  // namespace covergen::serve
