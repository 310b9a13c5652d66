// Opening and reading a feature store someone else wrote (FeatureStore::open +
// read of every key, touching every array). Input: <store.json> '\0'
// <shard-000000.json> '\0' <shard-000000.bin>, written to a tmpfs folder.
// Contract: InputError for a damaged store; a record that reads must lie inside
// its shard (ASan checks every touched byte).
#include "fuzz_support.hpp"

#include <covergen/audio/store.hpp>
#include <covergen/errors.hpp>

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace covergen;
  std::string_view parts[3];
  fuzz::split(std::string_view(reinterpret_cast<const char*>(data), size), '\0', parts);
  const auto dir = fuzz::scratch_dir() / "store";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  fuzz::write_bytes(dir / "store.json", parts[0]);
  fuzz::write_bytes(dir / "shard-000000.json", parts[1]);
  fuzz::write_bytes(dir / "shard-000000.bin", parts[2]);
  try {
    audio::FeatureStore store = audio::FeatureStore::open(dir);
    double sum = 0;
    for (const auto& key : store.keys()) {
      audio::TrackView v = store.read(key);
      for (int i = 0; i < v.n_summary; ++i) sum += v.summary[i];
      for (long i = 0; i < static_cast<long>(v.n_frames) * v.n_features; ++i) sum += v.frames[i];
      for (long i = 0; i < static_cast<long>(v.n_mels) * v.n_frames; ++i) sum += v.log_mel[i];
      for (int i = 0; i < v.n_beats; ++i) sum += v.beats[i];
    }
    if (sum == 12345.678) std::abort();  // keeps the reads
  } catch (const InputError&) {
  }
  return 0;
}
