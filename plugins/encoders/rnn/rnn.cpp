// rnn: a GRU (or LSTM, optionally bidirectional) over the frame-feature sequence
// (LibTorch). The sequence is standardised per feature (training statistics) and
// average-pooled over `pool` frames (10 frames = ~4.3 steps per second at
// 22050/512). The embedding is the RNN's output averaged over time (the pooled
// hidden state), of size hidden * directions = dim.
//
// With labels (>= 2 classes) it is trained to classify genre (Linear head on the
// embedding, cross-entropy) on random crops of `crop_steps` pooled steps; without
// labels, as a sequence autoencoder: a GRU decoder fed the embedding at every step
// reconstructs the pooled crop (MSE).
//
// Config (defaults): dim 64, cell "gru" | "lstm", bidirectional false, layers 1,
// pool 10, crop_steps 64, epochs 60, batch 32, lr 3e-3, weight_decay 1e-4,
// patience 10, dropout 0.2. Resolved after fit: input_dim, mode ("classify" |
// "autoencoder"), classes, fitted.
#include "../common/torch_common.hpp"

#include <covergen/plugin.hpp>

namespace {

namespace ce = covergen::encoders;
using covergen::InputError;
using ce::json;

class RnnEncoder : public ce::TorchEncoder {
 public:
  explicit RnnEncoder(const std::string& text) : TorchEncoder("rnn", covergen::EncoderInput::frames) {
    const std::string P = "rnn";
    auto cfg = ce::parse_config(P, text);
    input_dim_ = ce::get<std::int64_t>(cfg, "input_dim", 0, P);
    dim_ = ce::get<std::int64_t>(cfg, "dim", 64, P);
    cell_ = ce::get<std::string>(cfg, "cell", "gru", P);
    bidirectional_ = ce::get<bool>(cfg, "bidirectional", false, P);
    layers_ = ce::get<std::int64_t>(cfg, "layers", 1, P);
    pool_ = ce::get<std::int64_t>(cfg, "pool", 10, P);
    crop_steps_ = ce::get<std::int64_t>(cfg, "crop_steps", 64, P);
    epochs_ = ce::get<std::int64_t>(cfg, "epochs", 60, P);
    batch_ = ce::get<std::int64_t>(cfg, "batch", 32, P);
    lr_ = ce::get<double>(cfg, "lr", 3e-3, P);
    weight_decay_ = ce::get<double>(cfg, "weight_decay", 1e-4, P);
    patience_ = ce::get<std::int64_t>(cfg, "patience", 10, P);
    dropout_ = ce::get<double>(cfg, "dropout", 0.2, P);
    mode_ = ce::get<std::string>(cfg, "mode", "auto", P);
    classes_ = ce::get<std::vector<std::string>>(cfg, "classes", {}, P);
    fitted_ = ce::get<bool>(cfg, "fitted", false, P);
    if (cell_ != "gru" && cell_ != "lstm") throw InputError(P + " encoder config: 'cell' must be \"gru\" or \"lstm\", not \"" + cell_ + "\"");
    if (mode_ != "auto" && mode_ != "classify" && mode_ != "autoencoder")
      throw InputError(P + " encoder config: 'mode' must be auto, classify or autoencoder");
    if (dim_ <= 0 || layers_ <= 0 || pool_ <= 0 || crop_steps_ < 2 || epochs_ <= 0 || batch_ <= 0 || !(lr_ > 0) ||
        patience_ <= 0 || dropout_ < 0 || dropout_ >= 1)
      throw InputError(P + " encoder config: dim, layers, pool, crop_steps >= 2, epochs, batch, lr, patience must be "
                           "positive and 0 <= dropout < 1");
    if (bidirectional_ && dim_ % 2 != 0)
      throw InputError(P + " encoder config: a bidirectional rnn needs an even dim (hidden = dim / 2 per direction)");
    if (fitted_ && (input_dim_ <= 0 || mode_ == "auto" || (mode_ == "classify" && classes_.size() < 2)))
      throw InputError(P + " encoder config: a fitted model needs input_dim, a mode and (classify) classes");
    build();
  }

  std::string config_json() const override {
    return json{{"input_dim", input_dim_}, {"dim", dim_}, {"cell", cell_}, {"bidirectional", bidirectional_},
                {"layers", layers_}, {"pool", pool_}, {"crop_steps", crop_steps_}, {"epochs", epochs_},
                {"batch", batch_}, {"lr", lr_}, {"weight_decay", weight_decay_}, {"patience", patience_},
                {"dropout", dropout_}, {"mode", mode_}, {"classes", classes_}, {"fitted", fitted_}}
        .dump();
  }

  covergen::FitReport fit(const covergen::EncoderData& train, const covergen::EncoderData& val,
                          const covergen::FitOptions& options) override {
    const std::string P = "rnn";
    const auto& x = train.inputs;
    check_training_inputs(x, 3, "[N, T, F] frame sequences");
    if (x.size(1) < pool_ * 2)
      throw InputError(P + " encoder: sequences of " + std::to_string(x.size(1)) + " frames are too short (need " +
                       std::to_string(pool_ * 2) + ")");
    if (options.dim > 0) dim_ = options.dim;
    if (bidirectional_ && dim_ % 2 != 0) throw InputError(P + " encoder: a bidirectional rnn needs an even --dim");
    input_dim_ = x.size(2);
    const bool labelled = ce::has_labels(train);
    if (mode_ == "auto") mode_ = labelled ? "classify" : "autoencoder";
    if (mode_ == "classify" && !labelled)
      throw InputError(P + " encoder: mode classify needs labelled data (a genre column with at least 2 genres)");
    classes_ = mode_ == "classify" ? train.class_names : std::vector<std::string>{};
    torch::manual_seed(options.seed);
    device_ = c10::kCPU;
    build();
    fit_standardisation(x, 2);
    to(options.device);
    const auto dev = options.device;
    // Pool the whole training set once (cheap: 1/pool of the frames).
    auto xp = pooled(x);  // [N, S, F] on device
    at::Tensor vp, vl;
    const bool has_val = val.size() > 0;
    if (has_val) {
      ce::check_input(P, covergen::EncoderInput::frames, input_dim_, val.inputs, pool_);
      vp = pooled(val.inputs);
      if (mode_ == "classify" && ce::has_labels(val)) vl = val.labels.to(dev, at::kLong);
    }
    const std::vector<torch::Tensor> params = trainable_parameters();
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(lr_).weight_decay(weight_decay_));
    ce::Rng rng(options.seed ^ 0x5EC5EC5EULL);
    const std::int64_t n = xp.size(0), S = xp.size(1), crop = std::min(crop_steps_, S);
    const auto labels = mode_ == "classify" ? train.labels.to(dev, at::kLong) : at::Tensor();
    auto state = named_tensors();
    auto rep = ce::train_with_early_stopping(
        epochs_, patience_, state,
        [&](std::int64_t) {
          train_mode(true);
          const auto perm = rng.permutation(n);
          double total = 0;
          for (std::int64_t s0 = 0; s0 < n; s0 += batch_) {
            const auto e = std::min(n, s0 + batch_);
            std::vector<at::Tensor> crops;
            for (std::int64_t i = s0; i < e; ++i)
              crops.push_back(xp[perm[static_cast<std::size_t>(i)]].narrow(0, rng.below(S - crop + 1), crop));
            auto xb = torch::stack(crops);
            auto idx = ce::batch_index(perm, s0, batch_).to(dev);
            auto loss = batch_loss(xb, mode_ == "classify" ? labels.index_select(0, idx) : at::Tensor());
            opt.zero_grad();
            loss.backward();
            torch::nn::utils::clip_grad_norm_(params, 5.0);
            opt.step();
            total += loss.item<double>() * static_cast<double>(e - s0);
          }
          ce::EpochResult r;
          r.train_loss = total / static_cast<double>(n);
          train_mode(false);
          if (has_val) {
            torch::NoGradGuard ng;
            if (vl.defined()) {
              auto logits = head_->forward(embed(vp));
              r.val_loss = torch::nn::functional::cross_entropy(logits, vl).item<double>();
              r.val_accuracy = logits.argmax(1).eq(vl).to(at::kDouble).mean().item<double>();
            } else if (mode_ == "autoencoder") {
              r.val_loss = batch_loss(vp.narrow(1, 0, std::min(crop, vp.size(1))), at::Tensor()).item<double>();
            }
          }
          return r;
        },
        options);
    train_mode(false);
    fitted_ = true;
    return rep;
  }

  at::Tensor encode_batch(const at::Tensor& x) const override {
    ce::require_fitted("rnn", fitted_);
    ce::check_input("rnn", covergen::EncoderInput::frames, input_dim_, x, pool_);
    torch::NoGradGuard ng;
    return embed(pooled(x));
  }
  at::Tensor classify_batch(const at::Tensor& x) const override {
    if (!head_) return {};
    torch::NoGradGuard ng;
    return head_->forward(encode_batch(x));
  }

 private:
  // [N, T, F] raw frames -> standardised, average-pooled [N, floor(T / pool), F] on the device.
  at::Tensor pooled(const at::Tensor& x) const {
    auto z = (x.to(device_, at::kFloat) - mean_) / scale_;
    return torch::avg_pool1d(z.transpose(1, 2), pool_, pool_).transpose(1, 2).contiguous();
  }
  at::Tensor run_rnn(const at::Tensor& xs) const {  // [N, S, F] -> outputs [N, S, dim]
    if (gru_) return std::get<0>(gru_->forward(xs));
    return std::get<0>(lstm_->forward(xs));
  }
  at::Tensor embed(const at::Tensor& xs) const { return run_rnn(xs).mean(1); }
  at::Tensor batch_loss(const at::Tensor& xb, const at::Tensor& yb) const {
    auto e = embed(xb);
    if (yb.defined()) return torch::nn::functional::cross_entropy(head_->forward(e), yb);
    auto rep = e.unsqueeze(1).expand({xb.size(0), xb.size(1), dim_});
    auto rec = dec_out_->forward(std::get<0>(dec_->forward(rep)));
    return torch::mse_loss(rec, xb);
  }
  std::vector<std::pair<std::string, torch::nn::Module*>> saved_modules() override {
    std::vector<std::pair<std::string, torch::nn::Module*>> m;
    if (gru_) m.emplace_back("rnn.", gru_.get());
    if (lstm_) m.emplace_back("rnn.", lstm_.get());
    if (head_) m.emplace_back("head.", head_.get());
    if (dec_) {
      m.emplace_back("decoder.", dec_.get());
      m.emplace_back("decoder_out.", dec_out_.get());
    }
    return m;
  }
  void build() {
    reset_standardisation(input_dim_);
    gru_ = nullptr;
    lstm_ = nullptr;
    head_ = nullptr;
    dec_ = nullptr;
    dec_out_ = nullptr;
    if (input_dim_ <= 0 || mode_ == "auto") return;
    const std::int64_t hidden = bidirectional_ ? dim_ / 2 : dim_;
    const double inner_dropout = layers_ > 1 ? dropout_ : 0.0;
    if (cell_ == "gru")
      gru_ = torch::nn::GRU(torch::nn::GRUOptions(input_dim_, hidden).num_layers(layers_).batch_first(true)
                                .bidirectional(bidirectional_).dropout(inner_dropout));
    else
      lstm_ = torch::nn::LSTM(torch::nn::LSTMOptions(input_dim_, hidden).num_layers(layers_).batch_first(true)
                                  .bidirectional(bidirectional_).dropout(inner_dropout));
    if (mode_ == "classify")
      head_ = torch::nn::Sequential(torch::nn::Dropout(dropout_),
                                    torch::nn::Linear(dim_, static_cast<std::int64_t>(classes_.size())));
    else {
      dec_ = torch::nn::GRU(torch::nn::GRUOptions(dim_, dim_).batch_first(true));
      dec_out_ = torch::nn::Linear(dim_, input_dim_);
    }
    to(device_);
    train_mode(false);
  }

  std::int64_t layers_ = 1, pool_ = 10, crop_steps_ = 64, epochs_ = 60, batch_ = 32,
               patience_ = 10;
  std::string cell_ = "gru", mode_ = "auto";
  bool bidirectional_ = false;
  double lr_ = 3e-3, weight_decay_ = 1e-4, dropout_ = 0.2;
  std::vector<std::string> classes_;
  mutable torch::nn::GRU gru_{nullptr}, dec_{nullptr};
  mutable torch::nn::LSTM lstm_{nullptr};
  mutable torch::nn::Sequential head_{nullptr};
  mutable torch::nn::Linear dec_out_{nullptr};
};

}  // namespace

COVERGEN_ENCODER_PLUGIN(RnnEncoder, "rnn", "1.0.0",
                        "GRU/LSTM over the pooled frame-feature sequence (LibTorch); embedding = time-averaged hidden state")
