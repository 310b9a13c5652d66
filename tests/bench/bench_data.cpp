// covergen_data_bench: the data figures of docs/performance.md.
//  1. first-time preprocessing of 640x640 JPEG covers to SxS with T threads (images/s);
//  2. loader throughput from the cache, batch B, W workers (images/s).
// Without --dataset it renders N synthetic 640x640 covers into a temp folder first.
#include <covergen/parallel.hpp>
#include <covergen/data/dataset.hpp>
#include <covergen/data/image_cache.hpp>
#include <covergen/data/loader.hpp>
#include <covergen/data/synth.hpp>
#include <covergen/atomic_file.hpp>

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <unistd.h>

namespace fs = std::filesystem;
namespace data = covergen::data;

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
/// Process CPU seconds (all threads): the robust figure on a shared machine.
double cpu() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"covergen data benchmarks (preprocessing and loader throughput)"};
  std::string dataset;
  int n = 1000, size = 64, threads = 2, workers = 2, cover = 640;
  std::size_t batch = 64;
  double min_seconds = 3.0;
  bool keep = false;
  app.add_option("--dataset", dataset, "Use this dataset instead of rendering covers");
  app.add_option("-n,--covers", n, "Covers to render when no --dataset")->capture_default_str();
  app.add_option("--cover-size", cover, "Side of the rendered covers")->capture_default_str();
  app.add_option("--size", size, "Training image size")->capture_default_str();
  app.add_option("--threads", threads, "Preprocessing threads")->capture_default_str();
  app.add_option("--workers", workers, "Loader worker threads")->capture_default_str();
  app.add_option("--batch", batch, "Batch size")->capture_default_str();
  app.add_option("--min-seconds", min_seconds, "Run the loader at least this long")->capture_default_str();
  app.add_flag("--keep", keep, "Keep the rendered dataset");
  CLI11_PARSE(app, argc, argv);

  fs::path root = dataset;
  if (dataset.empty()) {
    root = fs::temp_directory_path() / ("covergen-bench-" + std::to_string(::getpid()));
    fs::create_directories(root / "covers");
    std::string csv = "id,genre,cover\n";
    const double t0 = now();
    covergen::parallel_for(static_cast<std::size_t>(n), threads, [&](std::size_t i) {
      auto t = data::sample_track(1, static_cast<int>(i % 8), static_cast<int>(i / 8));
      covergen::write_file_atomic(root / "covers" / (t.id + ".jpg"), data::render_cover_jpeg(t, cover, 90));
    });
    for (int i = 0; i < n; ++i) {
      auto t = data::sample_track(1, i % 8, i / 8);
      csv += t.id + "," + data::genre_styles()[static_cast<std::size_t>(i % 8)].name + ",covers/" + t.id + ".jpg\n";
    }
    covergen::write_file_atomic(root / "tracks.csv", csv);
    covergen::write_file_atomic(root / "dataset.json",
                                R"({"columns": {"id": "id", "genre": "genre", "cover": "cover"}, "require_audio": false})");
    std::fprintf(stderr, "rendered %d %dx%d covers in %.1f s\n", n, cover, cover, now() - t0);
  }

  auto ds = data::Dataset::open(root);
  // Drop the page cache's advantage as far as we can without root tricks: the files
  // were just written, so this measures decode + resize, not disk reads.
  data::CacheOptions co;
  co.size = size;
  co.threads = threads;
  co.force_rebuild = true;
  const double c0 = now(), p0 = cpu();
  auto cache = data::CoverCache::open_or_build(ds, co);
  const double prep = now() - c0, prep_cpu = cpu() - p0;
  std::printf("preprocess: %zu covers -> %dx%d, %d threads: %.2f s, %.0f images/s; %.2f CPU s, %.0f images per CPU s (%zu bad)\n",
              ds.size(), size, size, threads, prep, static_cast<double>(ds.size()) / prep, prep_cpu,
              static_cast<double>(ds.size()) / prep_cpu, ds.size() - cache.valid_count());

  // One-hot genre conditions, as generate::training_conditions makes them for --condition genre.
  auto genre = at::zeros({static_cast<std::int64_t>(ds.size()), static_cast<std::int64_t>(ds.genres().size())});
  for (std::size_t i = 0; i < ds.size(); ++i)
    if (ds.tracks()[i].genre >= 0) genre[static_cast<std::int64_t>(i)][ds.tracks()[i].genre] = 1.0;
  for (int w : {0, workers}) {
    data::LoaderOptions lo;
    lo.batch_size = batch;
    lo.workers = w;
    lo.split = data::Split::train;
    data::Loader loader(ds, cache, data::make_conditions(ds, genre), lo);
    std::size_t images = 0;
    std::int64_t epoch = 0;
    const double l0 = now(), q0 = cpu();
    while (now() - l0 < min_seconds) {
      loader.start(epoch++);
      data::Batch b;
      while (loader.next(b)) images += static_cast<std::size_t>(b.images.size(0));
    }
    const double secs = now() - l0, csecs = cpu() - q0;
    std::printf("loader: %dx%d batch %zu, %d workers: %zu images in %.2f s, %.0f images/s; %.0f images per CPU s\n", size,
                size, batch, w, images, secs, static_cast<double>(images) / secs, static_cast<double>(images) / csecs);
  }
  if (dataset.empty() && !keep) fs::remove_all(root);
  return 0;
}
