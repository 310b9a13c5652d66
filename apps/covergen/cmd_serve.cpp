// covergen serve --model RUN [--host 127.0.0.1] [--port 8080] [--max-upload-mb 50]
//   [--workers 1] [--queue 8] [--max-covers 16] [--max-audio-seconds 300] [--device auto]
// A local web page (drop a track, get covers) and the JSON API behind it
// (docs/serve.md). Prints the URL on stdout once listening; Ctrl-C stops it.
#include "cli.hpp"

#include <covergen/errors.hpp>
#include <covergen/plugin_registry.hpp>
#include <covergen/serve/cover_maker.hpp>
#include <covergen/serve/server.hpp>
#if __has_include(<covergen/upscale/upscale.hpp>)
#include <covergen/upscale/upscale.hpp>
#endif

#include <cerrno>
#include <csignal>
#include <iostream>
#include <thread>

#include <unistd.h>

namespace {

struct ServeCliOptions {
  covergen::cli::CommonOptions common;
  std::string model, device = "auto";
  covergen::serve::ServerOptions server;
  double max_upload_mb = 50.0;
  std::string upscaler;
};

int g_stop_pipe[2] = {-1, -1};

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void run(ServeCliOptions& o) {
  if (!(o.max_upload_mb > 0 && o.max_upload_mb <= 4096)) throw covergen::InputError("--max-upload-mb must be in (0, 4096]");
  if (o.server.port < 0 || o.server.port > 65535) throw covergen::InputError("--port must be in [0, 65535]");
  o.server.max_upload_bytes = static_cast<std::size_t>(o.max_upload_mb * 1024 * 1024);

  // SIGINT/SIGTERM (on whichever thread: LibTorch's already exist) write to a pipe
  // read by one thread that stops the server, so the upload folder is removed.
  if (::pipe(g_stop_pipe) != 0) throw covergen::Error("cannot create a pipe");
  struct sigaction sa {};
  sa.sa_handler = [](int) { [[maybe_unused]] auto n = ::write(g_stop_pipe[1], "s", 1); };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto registry = covergen::cli::make_registry();
  covergen::serve::CoverMaker maker(o.model, registry, o.device);
#if __has_include(<covergen/upscale/upscale.hpp>)
  if (!o.upscaler.empty()) {
    // The learned upscaler enlarges finished covers' art (docs/upscaling.md).
    auto art = covergen::upscale::art_upscaler(covergen::upscale::load(o.upscaler, registry));
    o.server.upscaler = [art](const covergen::serve::RgbCover& in) {
      const auto image = covergen::finish::Image::from_buffer(in.rgb.data(), in.width, in.height,
                                                              static_cast<std::size_t>(in.width) * 3);
      const auto up = art(image, 0);
      return covergen::serve::RgbCover{up.width, up.height, up.rgb};
    };
  }
#endif
  covergen::serve::Server server(maker, o.server);
  const int port = server.bind();
  if (!is_loopback(o.server.host))
    std::cerr << "covergen serve: listening on " << o.server.host
              << ", not loopback: anyone who can reach this machine can use the page\n";

  std::thread stopper([&] {
    char c;
    while (::read(g_stop_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    server.stop();  // idempotent: also the wake-up sent below when run() returned
  });
  const std::string host = o.server.host.find(':') != std::string::npos ? "[" + o.server.host + "]" : o.server.host;
  std::cout << "http://" << host << ":" << port << "/" << std::endl;
  covergen::cli::log(o.common, "covergen serve: model " + o.model + " (" + maker.mode() + "), " +
                                   std::to_string(o.server.workers) + " worker(s), queue " +
                                   std::to_string(o.server.queue) + "; Ctrl-C stops");
  server.run();
  [[maybe_unused]] auto n = ::write(g_stop_pipe[1], "e", 1);
  stopper.join();
}

void setup(CLI::App& root) {
  auto o = std::make_shared<ServeCliOptions>();
  auto* cmd = root.add_subcommand("serve", "A local web page that turns a track into covers (and its JSON API)");
  cmd->add_option("--model", o->model, "Run folder, generator.cvgn, checkpoint.cvgn or TorchScript FILE.pt")->required();
  cmd->add_option("--host", o->server.host, "Address to listen on (loopback by default)")->capture_default_str();
  cmd->add_option("--port", o->server.port, "Port (0: any free port; the URL is printed)")->capture_default_str();
  cmd->add_option("--max-upload-mb", o->max_upload_mb, "Largest request body in MiB (larger: 413)")->capture_default_str();
  cmd->add_option("--workers", o->server.workers, "Generation threads")->capture_default_str();
  cmd->add_option("--queue", o->server.queue, "Jobs that may wait for a worker (more: 503 with Retry-After)")
      ->capture_default_str();
  cmd->add_option("--max-covers", o->server.max_covers, "Largest number of covers per request")->capture_default_str();
  cmd->add_option("--max-audio-seconds", o->server.max_audio_seconds,
                  "Listen to at most this much of a track (<= 0: all of it)")
      ->capture_default_str();
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
#if __has_include(<covergen/upscale/upscale.hpp>)
  cmd->add_option("--upscaler", o->upscaler,
                  "Upscaler model (covergen upscaler fit) for finished covers; default: Lanczos only");
#endif
  covergen::cli::add_common_options(*cmd, o->common, false);
  cmd->callback([o] { run(*o); });
}

}  // namespace

COVERGEN_COMMAND("serve", setup);
