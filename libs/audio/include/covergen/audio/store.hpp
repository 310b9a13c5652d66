// The on-disk feature store of `covergen features --out STORE` (docs/audio-features.md).
//
//   STORE/store.json          manifest: format, version, feature config and names, shard list
//   STORE/shard-NNNNNN.bin    records, appended; every array 64-byte aligned, little-endian
//   STORE/shard-NNNNNN.json   the shard's index: one entry per committed record (key, source,
//                             n_frames, tempo, byte offsets of its arrays)
//   STORE/failures.json       the last run's failed inputs with the reason
//
// A record is: summary float32[S], frames float32[T, F], log-mel float16[n_mels, T],
// beats int32[B]. Records are appended to the .bin, the .bin is fsync'ed, and only then
// is the shard index rewritten atomically (temp file + rename). A record exists once its
// index entry does: a killed run leaves at most unindexed bytes at the end of a .bin,
// which the next open truncates away. Readers memory-map the shards, so 50,000 tracks
// (~16 GB of float16 log-mel) never need to fit in RAM.
#pragma once

#include "covergen/audio/features.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace covergen::audio {

/// float <-> IEEE half (round to nearest even; overflow to Inf, NaN kept).
std::uint16_t float_to_half(float f);
float half_to_float(std::uint16_t h);
/// float_to_half over n values (eight at a time with F16C where the CPU has it: the same bits).
void floats_to_halves(const float* in, std::uint16_t* out, std::size_t n);

/// One track's arrays as written.
struct TrackRecord {
  std::vector<float> summary;    ///< [S]
  Matrix frames;                 ///< [T, F]
  Matrix log_mel;                ///< [n_mels, T] (stored as float16)
  std::vector<int> beats;        ///< beat frames
  double tempo = 0.0;
  double duration_s = 0.0;
};
/// Builds the record from computed features (summary_vector, frame_sequence, log_mel).
TrackRecord make_record(const Features& f);

/// A record read back: pointers into the memory-mapped shard (valid while the
/// view, or the store, lives).
struct TrackView {
  std::string key, source;
  int n_frames = 0, n_features = 0, n_summary = 0, n_mels = 0, n_beats = 0;
  double tempo = 0.0, duration_s = 0.0;
  const float* summary = nullptr;          ///< [n_summary]
  const float* frames = nullptr;           ///< [n_frames, n_features]
  const std::uint16_t* log_mel = nullptr;  ///< [n_mels, n_frames] float16 bits
  const std::int32_t* beats = nullptr;     ///< [n_beats]
  std::shared_ptr<const void> keepalive;
  std::vector<float> log_mel_float() const;
};

struct StoreLayout {
  std::vector<std::string> frame_features;  ///< column names of `frames`
  std::vector<std::string> summary;         ///< names of the summary vector
  int n_mels = 128;
  int sample_rate = 22050;
  int hop_length = 512;
  std::string config_json = "{}";           ///< extraction settings, recorded in store.json
};

class FeatureStore {
 public:
  /// Opens STORE, creating it with `layout` when absent. An existing store must have
  /// the same layout (names, n_mels, rate, hop), else InputError. Repairs a killed run
  /// (truncates unindexed bytes). Not for concurrent writers.
  static FeatureStore open_or_create(const std::filesystem::path& dir, const StoreLayout& layout);
  /// Opens an existing store for reading; InputError when it is not one.
  static FeatureStore open(const std::filesystem::path& dir);

  FeatureStore(FeatureStore&&) noexcept;
  FeatureStore& operator=(FeatureStore&&) noexcept;
  ~FeatureStore();  ///< commits pending records

  const StoreLayout& layout() const;
  const std::filesystem::path& dir() const;
  bool contains(const std::string& key) const;
  std::size_t size() const;                 ///< committed records
  std::vector<std::string> keys() const;    ///< in commit order

  /// Appends a record (buffered in the shard file; durable after commit()).
  void append(const std::string& key, const std::string& source, const TrackRecord& record);
  /// fsyncs appended records and atomically rewrites the shard index.
  void commit();
  /// Writes failures.json atomically (replaces the previous run's list).
  void write_failures(const std::vector<std::pair<std::string, std::string>>& key_and_error,
                      const std::vector<std::string>& sources);

  TrackView read(const std::string& key) const;

  /// Max bytes per shard file before a new one is started (default 1 GiB).
  void set_shard_limit(std::uint64_t bytes);

 private:
  struct Impl;
  explicit FeatureStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace covergen::audio
