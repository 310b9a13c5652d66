// From a dataset's audio to encoder inputs and embeddings Φ(track), shared by
// training on an encoder (`covergen train --condition ENCODER.cvgn`), encoder
// fit/eval, `covergen encode` and `covergen mapper fit`: the dataset's feature store
// (extracting the tracks it lacks), one track's encoder input from stored features,
// and batched encoding. Fresh audio files go through condition.hpp instead
// (encoder_input_from_features, track_embeddings).
#pragma once

#include <covergen/audio/batch.hpp>
#include <covergen/audio/features.hpp>
#include <covergen/audio/store.hpp>
#include <covergen/data/dataset.hpp>
#include <covergen/encoder.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace covergen {
class Progress;
}

namespace covergen::generate {

/// `t` when positive, else the number of logical CPUs.
int default_threads(int t);

/// <dataset>/.covergen-cache/features
std::filesystem::path default_feature_store(const data::Dataset& ds);

/// Opens (or creates) the feature store at `dir` and extracts the dataset tracks it
/// lacks (resumable; failures are reported through `log` and skipped). `progress`:
/// draw a progress line on a terminal.
audio::FeatureStore ensure_features(const data::Dataset& ds, const std::filesystem::path& dir, int threads,
                                    const std::function<void(const std::string&)>& log, bool progress);

/// The tracks of one split that the store holds (failed extractions are left out):
/// dataset indices, store keys (track ids) and genre labels (-1: none), in dataset order.
struct StoreTracks {
  std::vector<std::size_t> tracks;
  std::vector<std::string> keys;
  std::vector<int> labels;
};
StoreTracks store_tracks(const data::Dataset& ds, const audio::FeatureStore& store, data::Split split);

/// `covergen features INPUT...`: audio files, folders (searched for audio files,
/// audio::audio_files_under) and datasets (a folder with dataset.json or tracks.csv, a
/// dataset .json spec or a .csv file) as batch items, keys unique, order stable. A
/// dataset's excerpt columns choose what is read when `use_excerpts`; its bad rows go
/// to `bad`. A missing file becomes an item the decoder reports.
std::vector<audio::BatchItem> feature_inputs(const std::vector<std::string>& inputs, bool use_excerpts,
                                             std::vector<audio::BatchFailure>& bad);

/// One track's encoder input (without the batch axis) from the store.
at::Tensor input_from_view(const audio::TrackView& v, EncoderInput kind);

/// The sequence axis of an input without batch axis (frames: 0, logmel: 1; -1 summary).
int time_axis(EncoderInput kind);

/// Encodes store records in batches (same-length sequences batched; others one by one);
/// [N, dim] float32 on the CPU.
at::Tensor encode_keys(const Encoder& e, const audio::FeatureStore& store, const std::vector<std::string>& keys,
                       Progress* progress = nullptr);

/// `covergen encode --store`: Φ of every record of the feature store at `store_dir`,
/// saved as .npy [N, D] float32 at `out`, the row order (one key a line) in
/// <out>.keys.txt. InputError for an empty store.
struct StoreEncoding {
  std::size_t tracks = 0;
  std::int64_t dim = 0;
  std::filesystem::path out, keys_file;
  double seconds = 0;                 ///< encoding only
  std::string to_json() const;        ///< `covergen encode --store --json`
};
StoreEncoding encode_store_to_npy(const Encoder& e, const std::filesystem::path& store_dir,
                                  const std::filesystem::path& out, bool progress);

/// `covergen encode FILE`: Φ of one audio file (decoded, features by `fx`, encoded),
/// with the seconds each stage took. InputError naming the file when it is unusable.
struct TrackEncoding {
  std::vector<float> embedding;
  double load_seconds = 0, features_seconds = 0, encode_seconds = 0;
};
TrackEncoding encode_audio_file(const Encoder& e, audio::FeatureExtractor& fx, const std::filesystem::path& file);
/// `covergen encode FILE...` output: `--json` (every file's embedding and timings)
/// and the text line of one file (its path, then the embedding, tab-separated).
std::string encodings_json(const Encoder& e, const std::filesystem::path& model,
                           const std::vector<std::pair<std::filesystem::path, TrackEncoding>>& files);
std::string encoding_line(const std::filesystem::path& file, const TrackEncoding& encoding);

/// Φ of every dataset track, [N, D] float64 (rows in dataset order), through the
/// dataset's feature store (extracting the tracks it lacks). `have[i]` is false for
/// tracks whose audio could not be decoded (their row is zero).
struct DatasetEmbeddings {
  at::Tensor raw;
  std::vector<bool> have;
};
DatasetEmbeddings dataset_embeddings(const data::Dataset& ds, const Encoder& encoder, int threads,
                                     const std::function<void(const std::string&)>& log, bool progress);

}  // namespace covergen::generate
