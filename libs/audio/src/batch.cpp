#include "covergen/audio/batch.hpp"

#include "covergen/audio/decoder.hpp"
#include "covergen/audio/summary.hpp"
#include "covergen/errors.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace covergen::audio {

StoreLayout store_layout(const BatchOptions& o) {
  StoreLayout l;
  l.frame_features = frame_feature_names(o.features);
  l.summary = summary_names(o.features);
  l.n_mels = o.features.n_mels;
  l.sample_rate = o.features.sample_rate;
  l.hop_length = o.features.hop_length;
  const auto& f = o.features;
  l.config_json = nlohmann::json{{"sample_rate", f.sample_rate}, {"n_fft", f.n_fft}, {"hop_length", f.hop_length},
                                 {"n_mels", f.n_mels}, {"n_mfcc", f.n_mfcc}, {"top_db", f.top_db},
                                 {"resampler", to_string(o.load.resampler)},
                                 {"mp3_mono_mix", o.load.decode.mp3_mono_mix},
                                 {"log_mel", "power_to_db(mel, ref=max, top_db) as float16"},
                                 {"reference", "librosa 0.10.2 defaults"}}
                      .dump();
  return l;
}

std::vector<BatchItem> audio_files_under(const std::filesystem::path& folder) {
  namespace fs = std::filesystem;
  std::vector<fs::path> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec) && has_decodable_extension(it->path())) found.push_back(it->path());
  }
  std::sort(found.begin(), found.end());
  std::vector<BatchItem> items;
  for (const auto& f : found) items.push_back({f.generic_string(), f});
  return items;
}

BatchReport extract_batch(const std::vector<BatchItem>& items, FeatureStore& store, const BatchOptions& options,
                          const std::function<void(const BatchProgress&)>& progress) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  BatchReport report;
  report.total = items.size() + options.input_failures.size();
  report.threads = options.threads;
  report.store = store.dir();
  report.failures = options.input_failures;

  // Work list: skip finished keys and duplicates (first occurrence wins).
  std::vector<std::size_t> todo;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (store.contains(items[i].key) || !seen.insert(items[i].key).second) {
      ++report.skipped;
      continue;
    }
    todo.push_back(i);
  }

  struct Result {
    std::optional<TrackRecord> record;
    std::string error;
  };
  const int threads = std::max(1, options.threads);
  // Workers may run at most `window` items ahead of the oldest uncommitted one, so
  // the reorder buffer (and memory) stays bounded.
  const std::size_t window = static_cast<std::size_t>(threads) * 4;
  std::mutex mu;
  std::condition_variable cv_work, cv_done;
  std::size_t next = 0, committed = 0;
  std::map<std::size_t, Result> ready;
  std::exception_ptr fatal;

  auto worker = [&] {
    std::optional<FeatureExtractor> fx;
    try {
      fx.emplace(options.features);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!fatal) fatal = std::current_exception();
      cv_done.notify_all();
      return;
    }
    for (;;) {
      std::size_t j;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv_work.wait(lock, [&] { return fatal || next >= todo.size() || next < committed + window; });
        if (fatal || next >= todo.size()) return;
        j = next++;
      }
      const BatchItem& it = items[todo[j]];
      Result r;
      try {
        LoadOptions lo = options.load;
        if (it.offset_s >= 0.0) {  // the item's own excerpt
          lo.decode.offset_s = it.offset_s;
          lo.decode.duration_s = it.duration_s;
        }
        Audio a = load(it.path, lo);
        Features f = fx->compute(a.samples);
        r.record = make_record(f);
      } catch (const InputError& e) {
        // the decoder names the file already; feature errors get the path prepended
        const std::string what = e.what();
        r.error = what.rfind(it.path.string(), 0) == 0 ? what : it.path.string() + ": " + what;
      } catch (const std::bad_alloc&) {
        r.error = it.path.string() + ": out of memory";
      } catch (const std::exception& e) {
        r.error = it.path.string() + ": " + e.what();
      }
      std::lock_guard<std::mutex> lock(mu);
      ready.emplace(j, std::move(r));
      cv_done.notify_all();
    }
  };

  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);

  BatchProgress prog;
  prog.total = report.total;
  prog.failed = report.failures.size();
  prog.skipped = report.skipped;
  prog.done = report.skipped + report.failures.size();
  auto last_commit = clock::now();
  try {
    while (committed < todo.size()) {
      Result r;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv_done.wait_for(lock, std::chrono::milliseconds(200), [&] { return fatal || ready.count(committed); });
        if (fatal) break;
        auto it = ready.find(committed);
        if (it == ready.end()) {
          if (progress) progress(prog);
          continue;
        }
        r = std::move(it->second);
        ready.erase(it);
      }
      const BatchItem& item = items[todo[committed]];
      if (r.record) {
        store.append(item.key, item.path.string(), *r.record);
        ++report.extracted;
        report.audio_seconds += r.record->duration_s;
      } else {
        report.failures.push_back({item.key, item.path, r.error});
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        ++committed;
      }
      cv_work.notify_all();
      prog.done = report.skipped + report.extracted + report.failures.size();
      prog.failed = report.failures.size();
      prog.audio_seconds = report.audio_seconds;
      if (std::chrono::duration<double>(clock::now() - last_commit).count() >= options.commit_interval_s) {
        store.commit();
        last_commit = clock::now();
      }
      if (progress) progress(prog);
    }
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!fatal) fatal = std::current_exception();
    }
    cv_work.notify_all();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    if (fatal) next = todo.size();
  }
  cv_work.notify_all();
  for (auto& t : pool) t.join();
  store.commit();  // everything appended so far is durable, even when a fatal error follows
  if (fatal) std::rethrow_exception(fatal);

  std::vector<std::pair<std::string, std::string>> fails;
  std::vector<std::string> sources;
  for (const auto& f : report.failures) {
    fails.emplace_back(f.key, f.error);
    sources.push_back(f.path.string());
  }
  store.write_failures(fails, sources);
  report.wall_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  return report;
}

std::string BatchReport::to_json() const {
  nlohmann::json fails = nlohmann::json::array();
  for (const auto& x : failures) fails.push_back({{"key", x.key}, {"path", x.path.string()}, {"error", x.error}});
  return nlohmann::json{{"schema_version", 1}, {"store", store.string()}, {"inputs", total},
                        {"extracted", extracted}, {"skipped", skipped}, {"failed", failures.size()},
                        {"threads", threads}, {"wall_seconds", wall_seconds},
                        {"tracks_per_second", wall_seconds > 0 ? extracted / wall_seconds : 0.0},
                        {"audio_seconds", audio_seconds}, {"failures", fails}}
      .dump(2);
}

std::string BatchReport::to_text() const {
  char line[1024];
  std::snprintf(line, sizeof line, "features: %zu extracted, %zu already in %s, %zu failed (%.1f s, %.1f tracks/s, %d threads)\n",
                extracted, skipped, store.string().c_str(), failures.size(), wall_seconds,
                wall_seconds > 0 ? extracted / wall_seconds : 0.0, threads);
  std::string out = line;
  for (const auto& x : failures) out += "  failed: " + x.error + "\n";
  return out;
}

}  // namespace covergen::audio
