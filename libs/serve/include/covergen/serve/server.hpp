// The HTTP server behind `covergen serve`: the page (embedded in the binary) and
// the JSON API it uses (docs/serve.md). Uploads stream to a private temp folder
// under names the server makes up and are removed when their request ends;
// generation runs on a bounded job queue; nothing from a request names a file.
#pragma once

#include "covergen/serve/cover_maker.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace covergen::serve {

class CoverMaker;

struct ServerOptions {
  std::string host = "127.0.0.1";              ///< loopback unless the user says otherwise
  int port = 8080;                             ///< 0: any free port (see Server::bind)
  std::size_t max_upload_bytes = 50u << 20;    ///< request bodies above this get 413
  /// An oversized or misrouted body up to this size is read and dropped before the
  /// answer, so a client still sending sees the 413/404/405 instead of a reset
  /// connection; a larger one is answered at once, unread (clients that send
  /// `Expect: 100-continue` get that answer before sending anything).
  std::size_t max_discard_bytes = 256u << 20;
  int read_timeout_seconds = 30;               ///< a client silent this long (before or in a request) is dropped
  int workers = 1;                             ///< generation threads
  int queue = 8;                               ///< jobs waiting for a worker; beyond: 503
  int max_covers = 16;                         ///< largest n per request
  double max_audio_seconds = 300.0;            ///< decode at most this much of a track
  std::size_t track_cache = 64;                ///< conditions kept for re-rolls (by track id)
  std::filesystem::path temp_parent;           ///< where the private upload folder goes; empty: $TMPDIR or /tmp
  /// Enlarges a generated cover before finishing resizes it to the asked size (a learned
  /// upscaler, `covergen serve --upscaler`); empty: Lanczos only. Must be thread-safe.
  std::function<RgbCover(const RgbCover&)> upscaler;
};

/// Counters of the job queue (GET /api/status).
struct QueueStats {
  int running = 0, waiting = 0, workers = 0, capacity = 0;
  std::uint64_t completed = 0, failed = 0, rejected = 0;
  double mean_job_seconds = 0.0;
};

class Server {
 public:
  /// `maker` must outlive the server. Creates the private upload folder (0700).
  Server(CoverMaker& maker, ServerOptions options);
  /// Stops, joins the workers and removes the upload folder.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds host:port (port 0: a free one); returns the port. Throws covergen::Error
  /// naming the address when it cannot bind.
  int bind();
  /// Serves until stop(); call after bind().
  void run();
  /// Thread-safe; makes run() return.
  void stop();

  QueueStats stats() const;
  const std::filesystem::path& upload_dir() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace covergen::serve
