// autoencoder: an MLP autoencoder on the standardised summary vector (LibTorch).
// encoder F -> hidden... -> dim (linear bottleneck = the embedding), decoder mirrored,
// MSE reconstruction loss, Adam, validation loss drives early stopping (the best
// epoch's weights are kept).
//
// Config (defaults): dim 16, hidden [128, 64], epochs 300, batch 64, lr 1e-3,
// weight_decay 1e-5, patience 30, noise 0.1 (Gaussian input noise while training, a
// denoising autoencoder; 0 = plain). Resolved after fit: input_dim, dim, fitted.
#include "../common/torch_common.hpp"

#include <covergen/plugin.hpp>

namespace {

namespace ce = covergen::encoders;
using covergen::InputError;
using ce::json;

class AutoencoderEncoder : public ce::TorchEncoder {
 public:
  explicit AutoencoderEncoder(const std::string& text)
      : TorchEncoder("autoencoder", covergen::EncoderInput::summary) {
    auto cfg = ce::parse_config("autoencoder", text);
    input_dim_ = ce::get<std::int64_t>(cfg, "input_dim", 0, "autoencoder");
    dim_ = ce::get<std::int64_t>(cfg, "dim", 16, "autoencoder");
    hidden_ = ce::get<std::vector<std::int64_t>>(cfg, "hidden", {128, 64}, "autoencoder");
    epochs_ = ce::get<std::int64_t>(cfg, "epochs", 300, "autoencoder");
    batch_ = ce::get<std::int64_t>(cfg, "batch", 64, "autoencoder");
    lr_ = ce::get<double>(cfg, "lr", 1e-3, "autoencoder");
    weight_decay_ = ce::get<double>(cfg, "weight_decay", 1e-5, "autoencoder");
    patience_ = ce::get<std::int64_t>(cfg, "patience", 30, "autoencoder");
    noise_ = ce::get<double>(cfg, "noise", 0.1, "autoencoder");
    fitted_ = ce::get<bool>(cfg, "fitted", false, "autoencoder");
    if (dim_ <= 0) throw InputError("autoencoder encoder config: 'dim' must be positive");
    for (auto h : hidden_)
      if (h <= 0) throw InputError("autoencoder encoder config: 'hidden' sizes must be positive");
    if (epochs_ <= 0 || batch_ <= 0 || !(lr_ > 0) || patience_ <= 0 || noise_ < 0)
      throw InputError("autoencoder encoder config: epochs, batch, lr, patience must be positive and noise >= 0");
    if (fitted_ && input_dim_ <= 0) throw InputError("autoencoder encoder config: a fitted model needs input_dim");
    build();
  }

  std::string config_json() const override {
    return json{{"input_dim", input_dim_}, {"dim", dim_}, {"hidden", hidden_}, {"epochs", epochs_},
                {"batch", batch_}, {"lr", lr_}, {"weight_decay", weight_decay_}, {"patience", patience_},
                {"noise", noise_}, {"fitted", fitted_}}
        .dump();
  }

  covergen::FitReport fit(const covergen::EncoderData& train, const covergen::EncoderData& val,
                          const covergen::FitOptions& options) override {
    const auto& x = train.inputs;
    check_training_inputs(x, 2, "[N, F] summary vectors");
    if (options.dim > 0) dim_ = options.dim;
    input_dim_ = x.size(1);
    torch::manual_seed(options.seed);
    device_ = c10::kCPU;
    build();
    fit_standardisation(x, 1);
    to(options.device);
    const auto dev = options.device;
    auto xt = ((x.to(dev, at::kFloat) - mean_) / scale_).contiguous();
    at::Tensor xv;
    if (val.size() > 0) {
      ce::check_input("autoencoder", covergen::EncoderInput::summary, input_dim_, val.inputs);
      xv = ((val.inputs.to(dev, at::kFloat) - mean_) / scale_).contiguous();
    }
    torch::optim::Adam opt(trainable_parameters(), torch::optim::AdamOptions(lr_).weight_decay(weight_decay_));
    ce::Rng rng(options.seed ^ 0xAE00AE00ULL);
    const std::int64_t n = xt.size(0);
    auto state = named_tensors();
    auto rep = ce::train_with_early_stopping(
        epochs_, patience_, state,
        [&](std::int64_t) {
          enc_->train();
          dec_->train();
          const auto perm = rng.permutation(n);
          double total = 0;
          for (std::int64_t s0 = 0; s0 < n; s0 += batch_) {
            auto xb = xt.index_select(0, ce::batch_index(perm, s0, batch_).to(dev));
            auto in = noise_ > 0 ? xb + noise_ * torch::randn_like(xb) : xb;
            auto loss = torch::mse_loss(dec_->forward(enc_->forward(in)), xb);
            opt.zero_grad();
            loss.backward();
            opt.step();
            total += loss.item<double>() * static_cast<double>(xb.size(0));
          }
          ce::EpochResult r;
          r.train_loss = total / static_cast<double>(n);
          if (xv.defined()) {
            torch::NoGradGuard ng;
            enc_->eval();
            dec_->eval();
            r.val_loss = torch::mse_loss(dec_->forward(enc_->forward(xv)), xv).item<double>();
          }
          return r;
        },
        options);
    enc_->eval();
    dec_->eval();
    fitted_ = true;
    return rep;
  }

  at::Tensor encode_batch(const at::Tensor& x) const override {
    ce::require_fitted("autoencoder", fitted_);
    ce::check_input("autoencoder", covergen::EncoderInput::summary, input_dim_, x);
    torch::NoGradGuard ng;
    auto z = (x.to(device_, at::kFloat) - mean_) / scale_;
    return enc_->forward(z);
  }

 private:
  std::vector<std::pair<std::string, torch::nn::Module*>> saved_modules() override {
    if (!enc_) return {};
    return {{"encoder.", enc_.get()}, {"decoder.", dec_.get()}};
  }
  void build() {
    reset_standardisation(input_dim_);
    enc_ = nullptr;
    dec_ = nullptr;
    if (input_dim_ <= 0) return;
    enc_ = torch::nn::Sequential();
    dec_ = torch::nn::Sequential();
    std::int64_t in = input_dim_;
    for (auto h : hidden_) {
      enc_->push_back(torch::nn::Linear(in, h));
      enc_->push_back(torch::nn::ReLU());
      in = h;
    }
    enc_->push_back(torch::nn::Linear(in, dim_));
    in = dim_;
    for (auto it = hidden_.rbegin(); it != hidden_.rend(); ++it) {
      dec_->push_back(torch::nn::Linear(in, *it));
      dec_->push_back(torch::nn::ReLU());
      in = *it;
    }
    dec_->push_back(torch::nn::Linear(in, input_dim_));
    enc_->to(device_);
    dec_->to(device_);
    enc_->eval();
    dec_->eval();
  }

  std::int64_t epochs_ = 300, batch_ = 64, patience_ = 30;
  std::vector<std::int64_t> hidden_;
  double lr_ = 1e-3, weight_decay_ = 1e-5, noise_ = 0.1;
  mutable torch::nn::Sequential enc_{nullptr}, dec_{nullptr};
};

}  // namespace

COVERGEN_ENCODER_PLUGIN(AutoencoderEncoder, "autoencoder", "1.0.0",
                        "MLP autoencoder on the standardised summary vector (LibTorch); bottleneck = embedding")
