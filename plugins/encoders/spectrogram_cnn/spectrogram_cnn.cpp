// spectrogram-cnn: a small 2-D CNN on the log-mel spectrogram (LibTorch), trained
// on random crops of a few seconds to classify genre. The embedding of a whole clip
// is the penultimate layer (after its ReLU) averaged over the clip's crops, which
// tile the clip (the last one aligned to the end); the class logits of a clip are
// the head applied to that average.
//
// Input: [N, M, T] log-mel in dB (Features::log_mel), standardised per mel band
// with training statistics. Network: avg-pool(input_pool) -> per channel c:
// conv3x3(c) + BatchNorm + ReLU + max-pool 2 -> global average -> Linear(dim) + ReLU
// [embedding] -> dropout -> Linear(classes).
//
// Config (defaults): dim 64, channels [16, 32, 64, 128], crop_frames 130 (~3 s at
// 22050/512), input_pool 2, epochs 40, batch 32, lr 2e-3, weight_decay 1e-4,
// patience 8, crops_per_track 2 (per epoch), dropout 0.3. Resolved after fit:
// input_dim (mel bands), classes, fitted.
#include "../common/torch_common.hpp"

#include <covergen/plugin.hpp>

namespace {

namespace ce = covergen::encoders;
using covergen::InputError;
using ce::json;

class SpectrogramCnn : public ce::TorchEncoder {
 public:
  explicit SpectrogramCnn(const std::string& text) : TorchEncoder("spectrogram-cnn", covergen::EncoderInput::logmel) {
    const std::string P = "spectrogram-cnn";
    auto cfg = ce::parse_config(P, text);
    input_dim_ = ce::get<std::int64_t>(cfg, "input_dim", 0, P);
    dim_ = ce::get<std::int64_t>(cfg, "dim", 64, P);
    channels_ = ce::get<std::vector<std::int64_t>>(cfg, "channels", {16, 32, 64, 128}, P);
    crop_ = ce::get<std::int64_t>(cfg, "crop_frames", 130, P);
    input_pool_ = ce::get<std::int64_t>(cfg, "input_pool", 2, P);
    epochs_ = ce::get<std::int64_t>(cfg, "epochs", 40, P);
    batch_ = ce::get<std::int64_t>(cfg, "batch", 32, P);
    lr_ = ce::get<double>(cfg, "lr", 2e-3, P);
    weight_decay_ = ce::get<double>(cfg, "weight_decay", 1e-4, P);
    patience_ = ce::get<std::int64_t>(cfg, "patience", 8, P);
    crops_per_track_ = ce::get<std::int64_t>(cfg, "crops_per_track", 2, P);
    dropout_ = ce::get<double>(cfg, "dropout", 0.3, P);
    classes_ = ce::get<std::vector<std::string>>(cfg, "classes", {}, P);
    fitted_ = ce::get<bool>(cfg, "fitted", false, P);
    if (dim_ <= 0 || channels_.empty() || crop_ < 8 || input_pool_ < 1 || epochs_ <= 0 || batch_ <= 0 ||
        !(lr_ > 0) || patience_ <= 0 || crops_per_track_ <= 0 || dropout_ < 0 || dropout_ >= 1)
      throw InputError(P + " encoder config: dim, channels, crop_frames >= 8, input_pool, epochs, batch, lr, patience, "
                           "crops_per_track must be positive and 0 <= dropout < 1");
    for (auto c : channels_)
      if (c <= 0) throw InputError(P + " encoder config: 'channels' must be positive");
    if (fitted_ && (input_dim_ <= 0 || classes_.size() < 2))
      throw InputError(P + " encoder config: a fitted model needs input_dim and at least 2 classes");
    build();
  }

  std::string config_json() const override {
    return json{{"input_dim", input_dim_}, {"dim", dim_}, {"channels", channels_}, {"crop_frames", crop_},
                {"input_pool", input_pool_}, {"epochs", epochs_}, {"batch", batch_}, {"lr", lr_},
                {"weight_decay", weight_decay_}, {"patience", patience_}, {"crops_per_track", crops_per_track_},
                {"dropout", dropout_}, {"classes", classes_}, {"fitted", fitted_}}
        .dump();
  }

  covergen::FitReport fit(const covergen::EncoderData& train, const covergen::EncoderData& val,
                          const covergen::FitOptions& options) override {
    const std::string P = "spectrogram-cnn";
    const auto& x = train.inputs;
    check_training_inputs(x, 3, "[N, M, T] log-mel spectrograms");
    if (!ce::has_labels(train))
      throw InputError(P + " encoder: trains as a genre classifier and needs labelled data (a genre column with at "
                           "least 2 genres); use pca, autoencoder or rnn for unlabelled data");
    if (x.size(2) < crop_)
      throw InputError(P + " encoder: clips of " + std::to_string(x.size(2)) + " frames are shorter than one crop (" +
                       std::to_string(crop_) + " frames); lower crop_frames in --config");
    if (options.dim > 0) dim_ = options.dim;
    input_dim_ = x.size(1);
    classes_ = train.class_names;
    torch::manual_seed(options.seed);
    device_ = c10::kCPU;
    build();
    fit_standardisation(x, 1);
    to(options.device);
    const auto dev = options.device;
    const bool has_val = val.size() > 0 && ce::has_labels(val);
    at::Tensor val_labels;
    if (has_val) {
      ce::check_input(P, covergen::EncoderInput::logmel, input_dim_, val.inputs, crop_);
      val_labels = val.labels.to(dev, at::kLong);
    }
    torch::optim::AdamW opt(trainable_parameters(), torch::optim::AdamWOptions(lr_).weight_decay(weight_decay_));
    ce::Rng rng(options.seed ^ 0xC11C11ULL);
    const std::int64_t n = x.size(0), T = x.size(2);
    const auto labels = train.labels.to(at::kLong);
    auto state = named_tensors();
    auto rep = ce::train_with_early_stopping(
        epochs_, patience_, state,
        [&](std::int64_t) {
          train_mode(true);
          std::vector<std::int64_t> order;  // crops_per_track passes over a fresh permutation
          for (std::int64_t k = 0; k < crops_per_track_; ++k) {
            auto p = rng.permutation(n);
            order.insert(order.end(), p.begin(), p.end());
          }
          double total = 0;
          const auto count = static_cast<std::int64_t>(order.size());
          for (std::int64_t s0 = 0; s0 < count; s0 += batch_) {
            const auto e = std::min(count, s0 + batch_);
            std::vector<at::Tensor> crops;
            std::vector<std::int64_t> ys;
            for (std::int64_t i = s0; i < e; ++i) {
              const auto t = order[static_cast<std::size_t>(i)];
              const auto off = rng.below(T - crop_ + 1);
              crops.push_back(x[t].narrow(1, off, crop_));
              ys.push_back(labels[t].item<std::int64_t>());
            }
            auto xb = normalise(torch::stack(crops).to(dev, at::kFloat));
            auto yb = torch::tensor(ys, torch::kLong).to(dev);
            auto loss = torch::nn::functional::cross_entropy(head_->forward(embed_crops(xb)), yb);
            opt.zero_grad();
            loss.backward();
            opt.step();
            total += loss.item<double>() * static_cast<double>(e - s0);
          }
          ce::EpochResult r;
          r.train_loss = total / static_cast<double>(count);
          train_mode(false);
          if (has_val) {
            torch::NoGradGuard ng;
            auto logits = head_->forward(clip_embeddings(val.inputs));
            r.val_loss = torch::nn::functional::cross_entropy(logits, val_labels).item<double>();
            r.val_accuracy = logits.argmax(1).eq(val_labels).to(at::kDouble).mean().item<double>();
          }
          return r;
        },
        options);
    train_mode(false);
    fitted_ = true;
    return rep;
  }

  at::Tensor encode_batch(const at::Tensor& x) const override {
    ce::require_fitted("spectrogram-cnn", fitted_);
    return clip_embeddings(x);
  }

  at::Tensor classify_batch(const at::Tensor& x) const override {
    ce::require_fitted("spectrogram-cnn", fitted_);
    torch::NoGradGuard ng;
    return head_->forward(clip_embeddings(x));
  }

 private:
  at::Tensor normalise(const at::Tensor& x) const {  // [B, M, Tc] -> standardised [B, 1, M, Tc]
    return ((x - mean_.view({1, -1, 1})) / scale_.view({1, -1, 1})).unsqueeze(1);
  }
  at::Tensor embed_crops(const at::Tensor& xb) const {  // [B, 1, M, Tc] -> [B, dim]
    auto h = xb;
    if (input_pool_ > 1) h = torch::avg_pool2d(h, {input_pool_, input_pool_});
    h = body_->forward(h);
    h = h.mean({2, 3});
    return embed_->forward(h);
  }
  // Whole clips: tile every clip with crops (the last one aligned to the end; a clip
  // shorter than a crop is padded with the band means, i.e. zeros after
  // standardisation) and average the crop embeddings. Clips of one batch share T.
  at::Tensor clip_embeddings(const at::Tensor& x) const {
    ce::check_input("spectrogram-cnn", covergen::EncoderInput::logmel, input_dim_, x, 1);
    torch::NoGradGuard ng;
    const std::int64_t n = x.size(0), T = x.size(2);
    std::vector<std::int64_t> offs;
    if (T <= crop_) {
      offs.push_back(0);
    } else {
      for (std::int64_t o = 0; o + crop_ <= T; o += crop_) offs.push_back(o);
      if (offs.back() + crop_ < T) offs.push_back(T - crop_);
    }
    const auto k = static_cast<std::int64_t>(offs.size());
    std::vector<at::Tensor> out;
    const std::int64_t per = std::max<std::int64_t>(1, 256 / k);  // clips per chunk
    for (std::int64_t s0 = 0; s0 < n; s0 += per) {
      const auto e = std::min(n, s0 + per);
      auto xs = normalise(x.narrow(0, s0, e - s0).to(device_, at::kFloat));  // [b, 1, M, T]
      std::vector<at::Tensor> crops;
      if (T < crop_) {
        crops.push_back(torch::constant_pad_nd(xs, {0, crop_ - T}, 0.0));
      } else {
        for (auto o : offs) crops.push_back(xs.narrow(3, o, crop_));
      }
      auto stacked = torch::stack(crops, 1).reshape({-1, 1, input_dim_, crop_});  // [b*k, 1, M, crop]
      out.push_back(embed_crops(stacked).view({e - s0, k, dim_}).mean(1));
    }
    return out.empty() ? torch::zeros({0, dim_}, torch::TensorOptions().device(device_)) : torch::cat(out, 0);
  }
  std::vector<std::pair<std::string, torch::nn::Module*>> saved_modules() override {
    if (!body_) return {};
    return {{"body.", body_.get()}, {"embed.", embed_.get()}, {"head.", head_.get()}};
  }
  void build() {
    reset_standardisation(input_dim_);
    body_ = nullptr;
    embed_ = nullptr;
    head_ = nullptr;
    if (input_dim_ <= 0 || classes_.size() < 2) return;
    body_ = torch::nn::Sequential();
    std::int64_t in = 1;
    for (auto c : channels_) {
      body_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, c, 3).padding(1).bias(false)));
      body_->push_back(torch::nn::BatchNorm2d(c));
      body_->push_back(torch::nn::ReLU());
      body_->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).ceil_mode(true)));
      in = c;
    }
    embed_ = torch::nn::Sequential(torch::nn::Linear(in, dim_), torch::nn::ReLU());
    head_ = torch::nn::Sequential(torch::nn::Dropout(dropout_),
                                  torch::nn::Linear(dim_, static_cast<std::int64_t>(classes_.size())));
    to(device_);
    train_mode(false);
  }

  std::int64_t crop_ = 130, input_pool_ = 2, epochs_ = 40, batch_ = 32, patience_ = 8,
               crops_per_track_ = 2;
  std::vector<std::int64_t> channels_;
  double lr_ = 2e-3, weight_decay_ = 1e-4, dropout_ = 0.3;
  std::vector<std::string> classes_;
  mutable torch::nn::Sequential body_{nullptr}, embed_{nullptr}, head_{nullptr};
};

}  // namespace

COVERGEN_ENCODER_PLUGIN(SpectrogramCnn, "spectrogram-cnn", "1.0.0",
                        "CNN genre classifier on log-mel crops (LibTorch); embedding = penultimate layer, averaged over crops")
