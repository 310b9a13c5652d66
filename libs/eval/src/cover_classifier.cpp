#include "covergen/eval/cover_classifier.hpp"

#include "covergen/errors.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace covergen::eval {
namespace {

// Three conv blocks and global average pooling: small enough to train in seconds
// on a CPU at 32-64 px, strong enough to tell palettes, shapes and textures apart.
struct NetImpl : torch::nn::Module {
  torch::nn::Sequential features{
      torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 32, 3).padding(1)), torch::nn::BatchNorm2d(32), torch::nn::ReLU(),
      torch::nn::MaxPool2d(2),
      torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).padding(1)), torch::nn::BatchNorm2d(64), torch::nn::ReLU(),
      torch::nn::MaxPool2d(2),
      torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 128, 3).padding(1)), torch::nn::BatchNorm2d(128), torch::nn::ReLU()};
  torch::nn::Linear head{nullptr};
  explicit NetImpl(std::int64_t classes) : head(128, classes) {
    register_module("features", features);
    register_module("head", head);
  }
  torch::Tensor embed(const torch::Tensor& x) { return features->forward(x).mean({2, 3}); }
  torch::Tensor forward(const torch::Tensor& x) { return head(embed(x)); }
};
TORCH_MODULE(Net);

}  // namespace

struct CoverClassifier::Impl {
  Net net{nullptr};
  c10::Device device{c10::kCPU};
};

CoverClassifier::CoverClassifier(const at::Tensor& images, const at::Tensor& labels, std::int64_t classes,
                                 const ClassifierOptions& o)
    : impl_(std::make_unique<Impl>()) {
  if (images.dim() != 4 || images.size(0) != labels.size(0) || images.size(0) == 0)
    throw InputError("cover classifier: need images [N, 3, S, S] and N labels, N > 0");
  torch::manual_seed(o.seed);
  impl_->device = o.device;
  impl_->net = Net(classes);
  impl_->net->to(o.device);
  torch::optim::Adam opt(impl_->net->parameters(), torch::optim::AdamOptions(o.lr));
  const std::int64_t n = images.size(0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  impl_->net->train();
  for (std::int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    auto perm = torch::randperm(n, gen);
    for (std::int64_t start = 0; start < n; start += o.batch_size) {
      auto idx = perm.narrow(0, start, std::min(o.batch_size, n - start));
      if (idx.size(0) < 2) continue;  // BatchNorm needs two samples
      auto x = images.index_select(0, idx).to(o.device);
      // Horizontal flips: covers have no left-right semantics worth learning.
      auto flip = torch::rand({x.size(0)}, gen).lt(0.5).to(o.device);
      x = torch::where(flip.view({-1, 1, 1, 1}), x.flip({3}), x);
      auto y = labels.index_select(0, idx).to(o.device);
      opt.zero_grad();
      auto loss = torch::cross_entropy_loss(impl_->net->forward(x), y);
      loss.backward();
      opt.step();
    }
  }
  impl_->net->eval();
  for (auto& p : impl_->net->parameters()) p.set_requires_grad(false);  // a fixed judge from here on
}

CoverClassifier::~CoverClassifier() = default;
CoverClassifier::CoverClassifier(CoverClassifier&&) noexcept = default;
CoverClassifier& CoverClassifier::operator=(CoverClassifier&&) noexcept = default;

at::Tensor CoverClassifier::predict(const at::Tensor& images) const {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> out;
  for (std::int64_t s = 0; s < images.size(0); s += 256)
    out.push_back(impl_->net->forward(images.narrow(0, s, std::min<std::int64_t>(256, images.size(0) - s))
                                          .to(impl_->device))
                      .argmax(1)
                      .cpu());
  return out.empty() ? torch::empty({0}, torch::kLong) : torch::cat(out);
}

at::Tensor CoverClassifier::features(const at::Tensor& images) const {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> out;
  for (std::int64_t s = 0; s < images.size(0); s += 256)
    out.push_back(impl_->net->embed(images.narrow(0, s, std::min<std::int64_t>(256, images.size(0) - s)).to(impl_->device)).cpu());
  return out.empty() ? torch::empty({0, feature_dim}) : torch::cat(out);
}

at::Tensor CoverClassifier::feature_maps(const at::Tensor& images) const {
  return impl_->net->features->forward(images.to(impl_->device));
}

double CoverClassifier::accuracy(const at::Tensor& images, const at::Tensor& labels) const {
  if (images.size(0) == 0) return 0.0;
  return predict(images).eq(labels.cpu()).to(torch::kDouble).mean().item<double>();
}

}  // namespace covergen::eval
