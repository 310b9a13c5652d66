#include "internal.hpp"

#include "covergen/upscale/upscale.hpp"

#include <covergen/data/image.hpp>
#include <covergen/errors.hpp>
#include <covergen/model_file.hpp>
#include <covergen/upscaler.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>

namespace covergen::upscale {
namespace detail {

Covers load_covers(const data::Dataset& dataset, data::Split split, int size, std::int64_t max,
                   const std::function<void(const std::string&)>& log) {
  std::vector<std::size_t> idx = dataset.indices(split);
  if (max > 0 && static_cast<std::int64_t>(idx.size()) > max) idx.resize(static_cast<std::size_t>(max));
  Covers out;
  at::Tensor all = at::empty({static_cast<std::int64_t>(idx.size()), 3, size, size}, at::kByte);
  std::int64_t n = 0;
  for (std::size_t i : idx) {
    const data::Track& t = dataset.tracks()[i];
    std::string error;
    if (!data::preprocess_image_file(t.cover, size, all[n].data_ptr<std::uint8_t>(), error)) {
      ++out.skipped;
      if (log) log("skipping " + t.cover.string() + ": " + error);
      continue;
    }
    out.labels.push_back(t.genre);
    ++n;
  }
  out.hr = all.narrow(0, 0, n).clone();
  return out;
}

at::Tensor to_unit(const at::Tensor& u8) { return u8.to(at::kFloat).div(127.5).sub(1.0); }

at::Tensor to_u8(const at::Tensor& unit) {
  return unit.add(1.0).mul(127.5).round().clamp(0, 255).to(at::kByte);
}

at::Tensor area_down(const at::Tensor& x, std::int64_t k) { return k == 1 ? x : at::avg_pool2d(x, {k, k}, {k, k}); }

std::shared_ptr<eval::CoverClassifier> train_judge(const Covers& covers, int classes, int size, std::int64_t epochs,
                                                   std::int64_t max, std::uint64_t seed) {
  if (classes < 2 || covers.hr.size(0) < 2) return nullptr;
  for (int l : covers.labels)
    if (l < 0) return nullptr;
  const std::int64_t n = max > 0 ? std::min<std::int64_t>(max, covers.hr.size(0)) : covers.hr.size(0);
  const std::int64_t S = covers.hr.size(2);
  if (S % size != 0) throw InputError("judge size " + std::to_string(size) + " does not divide the cover size " + std::to_string(S));
  std::vector<at::Tensor> small;
  for (std::int64_t s = 0; s < n; s += 32)
    small.push_back(area_down(to_unit(covers.hr.narrow(0, s, std::min<std::int64_t>(32, n - s))), S / size));
  const at::Tensor labels =
      at::tensor(std::vector<std::int64_t>(covers.labels.begin(), covers.labels.begin() + n), at::kLong);
  eval::ClassifierOptions o;
  o.epochs = epochs;
  o.seed = seed;
  o.batch_size = 32;
  return std::make_shared<eval::CoverClassifier>(at::cat(small), labels, classes, o);
}

std::int64_t check_factor(int from, int to) {
  if (from < 8 || to <= from || to % from != 0)
    throw InputError("--from " + std::to_string(from) + " --to " + std::to_string(to) +
                     ": the target must be 2, 4, 8 or 16 times the source, and the source at least 8 px");
  const int k = to / from;
  if (k != 2 && k != 4 && k != 8 && k != 16)
    throw InputError("--from " + std::to_string(from) + " --to " + std::to_string(to) + ": factor " +
                     std::to_string(k) + " is not one of 2, 4, 8, 16");
  return k;
}

}  // namespace detail

std::shared_ptr<Upscaler> load(const std::filesystem::path& model, const PluginRegistry& registry) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model, ec))
    throw InputError(model.string(), "no such upscaler model file (make one with covergen upscaler fit)");
  return load_upscaler(model, registry);
}

finish::ArtUpscaler art_upscaler(std::shared_ptr<Upscaler> upscaler) {
  return [up = std::move(upscaler)](const finish::Image& art, int /*target_side*/) -> finish::Image {
    const std::int64_t k = up->factor();
    if (static_cast<std::int64_t>(std::max(art.width, art.height)) * k > 4096) return art;  // too big: Lanczos only
    // Packed RGB rows -> [1, 3, H, W] in [-1, 1].
    at::Tensor hwc = at::from_blob(const_cast<std::uint8_t*>(art.rgb.data()), {art.height, art.width, 3}, at::kByte);
    const at::Tensor x = detail::to_unit(hwc.permute({2, 0, 1}).unsqueeze(0).contiguous());
    const at::Tensor y = detail::to_u8(up->upscale(x)).squeeze(0).permute({1, 2, 0}).contiguous().cpu();
    finish::Image out(static_cast<int>(y.size(1)), static_cast<int>(y.size(0)));
    std::memcpy(out.rgb.data(), y.data_ptr<std::uint8_t>(), out.rgb.size());
    return out;
  };
}

}  // namespace covergen::upscale
