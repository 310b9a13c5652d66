#include "covergen/data/embeddings.hpp"

#include "covergen/data/hash.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>

#include <ATen/ops/empty.h>

#include <cstdio>
#include <cstring>
#include <fstream>

namespace fs = std::filesystem;

namespace covergen::data {

namespace {
constexpr char kMagic[8] = {'C', 'G', 'E', 'M', 'B', 'E', 'D', '1'};
struct Header {
  char magic[8];
  std::uint64_t encoder, dataset, n, d;
};
}  // namespace

fs::path EmbeddingCache::path_for(const Dataset& dataset, const fs::path& encoder_file) const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64_file(encoder_file)));
  const fs::path dir = dir_.empty() ? dataset.spec().root / ".covergen-cache" : dir_;
  return dir / ("embeddings-" + std::string(hex) + ".f32");
}

at::Tensor EmbeddingCache::get_or_compute(const Dataset& dataset, const fs::path& encoder_file,
                                          const EmbeddingFn& compute, bool* computed) const {
  const std::uint64_t enc = fnv1a64_file(encoder_file);
  const std::uint64_t fp = dataset.audio_fingerprint();
  const fs::path file = path_for(dataset, encoder_file);
  const auto n = static_cast<std::int64_t>(dataset.size());
  {
    std::ifstream in(file, std::ios::binary);
    Header h{};
    if (in && in.read(reinterpret_cast<char*>(&h), sizeof h) && std::memcmp(h.magic, kMagic, 8) == 0 &&
        h.encoder == enc && h.dataset == fp && h.n == static_cast<std::uint64_t>(n) && h.d > 0 && h.d < (1u << 20)) {
      at::Tensor t = at::empty({n, static_cast<std::int64_t>(h.d)}, at::TensorOptions().dtype(at::kFloat));
      const auto bytes = static_cast<std::streamsize>(static_cast<std::size_t>(t.numel()) * sizeof(float));
      if (in.read(reinterpret_cast<char*>(t.data_ptr<float>()), bytes) && in.gcount() == bytes) {
        if (computed) *computed = false;
        return t;
      }
    }
  }
  at::Tensor t = compute(dataset);
  if (!t.defined() || t.dim() != 2 || t.size(0) != n || t.size(1) < 1)
    throw InputError(encoder_file.string(), "the encoder must give one embedding row per track ([" + std::to_string(n) +
                                                ", D])");
  t = t.to(at::kCPU).to(at::kFloat).contiguous();
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.encoder = enc;
  h.dataset = fp;
  h.n = static_cast<std::uint64_t>(n);
  h.d = static_cast<std::uint64_t>(t.size(1));
  write_file_atomic(file, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(reinterpret_cast<const char*>(t.data_ptr<float>()),
              static_cast<std::streamsize>(static_cast<std::size_t>(t.numel()) * sizeof(float)));
  });
  if (computed) *computed = true;
  return t;
}

}  // namespace covergen::data
