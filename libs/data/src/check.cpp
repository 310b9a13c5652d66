#include "covergen/data/check.hpp"

#include "covergen/data/image.hpp"

#include <covergen/parallel.hpp>

#include <algorithm>
#include <cstdint>
#include <mutex>

namespace covergen::data {

DatasetCheck check_dataset(const Dataset& ds, bool images, int threads,
                           const std::function<void(std::size_t done)>& on_progress) {
  DatasetCheck r;
  r.bad = ds.bad_rows();
  r.images_checked = images;
  std::vector<bool> image_ok(ds.size(), true);
  if (images) {
    std::vector<std::string> errors(ds.size());
    std::mutex mu;
    std::size_t done = 0;
    covergen::parallel_for(ds.size(), threads, [&](std::size_t i) {
      std::vector<std::uint8_t> buf(3 * 32 * 32);
      std::string err;
      if (!preprocess_image_file(ds.tracks()[i].cover, 32, buf.data(), err)) errors[i] = err.empty() ? "cannot decode" : err;
      std::lock_guard<std::mutex> lock(mu);
      ++done;
      if (on_progress) on_progress(done);
    });
    for (std::size_t i = 0; i < ds.size(); ++i) {
      if (errors[i].empty()) continue;
      image_ok[i] = false;
      const auto& t = ds.tracks()[i];
      r.bad.push_back({ds.csv_path(), t.line, t.id, "cover " + t.cover.string() + ": " + errors[i]});
    }
    std::stable_sort(r.bad.begin(), r.bad.end(), [](const BadRow& a, const BadRow& b) { return a.line < b.line; });
  }
  for (std::size_t i = 0; i < ds.size(); ++i) {
    if (!image_ok[i]) continue;
    ++r.usable;
    const auto& t = ds.tracks()[i];
    ++r.split_counts[static_cast<int>(t.split)];
    if (t.genre >= 0) ++r.genre_counts[ds.genres()[static_cast<std::size_t>(t.genre)]];
  }
  return r;
}

}  // namespace covergen::data
