#include "covergen/eval/features.hpp"

#include "covergen/errors.hpp"
#include "covergen/eval/cover_classifier.hpp"

#include <ATen/ATen.h>
#include <torch/script.h>

namespace covergen::eval {

FeatureMatrix to_feature_matrix(const at::Tensor& features) {
  if (features.dim() != 2) throw InputError("features must be a 2-D [N, D] tensor");
  auto f = features.detach().to(at::kCPU, at::kDouble).contiguous();
  FeatureMatrix m;
  m.n = f.size(0);
  m.d = f.size(1);
  m.data.assign(f.data_ptr<double>(), f.data_ptr<double>() + f.numel());
  return m;
}

namespace {

class JudgeFeatures final : public FeatureExtractor {
 public:
  JudgeFeatures(std::shared_ptr<const CoverClassifier> judge, std::string description)
      : judge_(std::move(judge)), description_(std::move(description)) {}
  std::string name() const override { return description_; }
  FeatureMatrix extract(const at::Tensor& images) const override { return to_feature_matrix(judge_->features(images)); }

 private:
  std::shared_ptr<const CoverClassifier> judge_;
  std::string description_;
};

class TorchScriptFeatures final : public FeatureExtractor {
 public:
  TorchScriptFeatures(const std::filesystem::path& file, c10::Device device, std::int64_t size)
      : file_(file), device_(device), size_(size) {
    try {
      module_ = torch::jit::load(file.string(), device);
    } catch (const std::exception& e) {
      std::string what = e.what();
      throw InputError(file.string() + ": not a loadable TorchScript module (" + what.substr(0, what.find('\n')) + ")");
    }
    module_.eval();
    auto probe = run(at::zeros({2, 3, 8, 8}));
    dim_ = probe.size(1);
  }
  std::string name() const override {
    return "torchscript:" + file_.filename().string() + " (" + std::to_string(dim_) + "-d, input " +
           std::to_string(size_) + "x" + std::to_string(size_) + " in [-1, 1])";
  }
  FeatureMatrix extract(const at::Tensor& images) const override {
    std::vector<at::Tensor> out;
    for (std::int64_t s = 0; s < images.size(0); s += 32) out.push_back(run(images.narrow(0, s, std::min<std::int64_t>(32, images.size(0) - s))));
    return to_feature_matrix(out.empty() ? at::zeros({0, dim_ > 0 ? dim_ : 1}) : at::cat(out));
  }

 private:
  at::Tensor run(const at::Tensor& images) const {
    torch::NoGradGuard ng;
    auto x = at::upsample_bilinear2d(images.to(device_, at::kFloat), {size_, size_}, false).clamp(-1, 1);
    c10::IValue result;
    try {
      result = const_cast<torch::jit::Module&>(module_).forward({x});
    } catch (const std::exception& e) {
      std::string what = e.what();
      throw InputError(file_.string() + ": forward() failed on a [N, 3, " + std::to_string(size_) + ", " +
                       std::to_string(size_) + "] batch (" + what.substr(0, what.find('\n')) + ")");
    }
    if (!result.isTensor()) throw InputError(file_.string() + ": forward() must return a tensor of features");
    auto f = result.toTensor().detach().cpu();
    if (f.dim() == 4 && f.size(2) == 1 && f.size(3) == 1) f = f.flatten(1);
    if (f.dim() != 2 || f.size(0) != images.size(0))
      throw InputError(file_.string() + ": forward() must return [N, D] or [N, D, 1, 1] features, got " +
                       std::to_string(f.dim()) + "-D output");
    return f.to(at::kFloat);
  }

  std::filesystem::path file_;
  c10::Device device_;
  std::int64_t size_;
  std::int64_t dim_ = 0;
  torch::jit::Module module_;
};

}  // namespace

std::unique_ptr<FeatureExtractor> judge_feature_extractor(std::shared_ptr<const CoverClassifier> judge,
                                                          std::string description) {
  return std::make_unique<JudgeFeatures>(std::move(judge), std::move(description));
}

std::unique_ptr<FeatureExtractor> torchscript_feature_extractor(const std::filesystem::path& file, c10::Device device,
                                                                std::int64_t input_size) {
  if (!std::filesystem::is_regular_file(file)) throw InputError(file.string() + ": no such feature network file");
  return std::make_unique<TorchScriptFeatures>(file, device, input_size);
}

}  // namespace covergen::eval
