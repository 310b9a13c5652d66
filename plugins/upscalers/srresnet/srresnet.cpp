// srresnet: a compact residual super-resolution network (SRResNet/ESRGAN family)
// sized for a CPU. Most of the work happens at the input resolution:
//
//   x (S px) -> conv 3->C -> B residual blocks (conv-ReLU-conv, C channels) -> conv,
//               + the head's output (a long skip)
//            -> n-2 stages ×2: conv C'->4·U, pixel shuffle, LeakyReLU     (U channels)
//            -> last stage ×4: conv U->3·16, pixel shuffle                 (3 channels)
//            + bicubic(x)  — the net predicts only the detail over a bicubic base.
//
// The last stage is one thin conv at 1/4 of the output side, so a 64 -> 1024 upscale
// costs about 1 GMAC. Its weights start at zero: an untrained net is exactly bicubic.
// Config: {"factor": 16 (2, 4, 8 or 16), "channels": 32, "blocks": 4, "up_channels": 16}.
#include <covergen/plugin.hpp>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace {

using covergen::InputError;

struct Config {
  std::int64_t factor = 16, channels = 32, blocks = 4, up_channels = 16;
};

Config parse_config(const std::string& text) {
  Config c;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.empty() ? "{}" : text);
  } catch (const std::exception& e) {
    throw InputError(std::string("srresnet config: not JSON: ") + e.what());
  }
  if (!j.is_object()) throw InputError("srresnet config: expected a JSON object");
  for (const auto& [key, value] : j.items()) {
    std::int64_t* field = key == "factor" ? &c.factor
                          : key == "channels" ? &c.channels
                          : key == "blocks" ? &c.blocks
                          : key == "up_channels" ? &c.up_channels
                                                 : nullptr;
    if (field == nullptr)
      throw InputError("srresnet config: unknown key '" + key + "' (known: factor, channels, blocks, up_channels)");
    if (!value.is_number_integer()) throw InputError("srresnet config: '" + key + "' must be an integer");
    *field = value.get<std::int64_t>();
  }
  if (c.factor != 2 && c.factor != 4 && c.factor != 8 && c.factor != 16)
    throw InputError("srresnet config: factor " + std::to_string(c.factor) + " is not one of 2, 4, 8, 16");
  if (c.channels < 4 || c.channels > 256) throw InputError("srresnet config: channels must lie in [4, 256]");
  if (c.blocks < 0 || c.blocks > 32) throw InputError("srresnet config: blocks must lie in [0, 32]");
  if (c.up_channels < 4 || c.up_channels > 256) throw InputError("srresnet config: up_channels must lie in [4, 256]");
  return c;
}

struct Conv {
  at::Tensor w, b;
  Conv() = default;
  // Kaiming-uniform like torch.nn.Conv2d, times `gain` (small for residual branches).
  Conv(std::int64_t in, std::int64_t out, double gain) {
    const double bound = gain * std::sqrt(6.0 / static_cast<double>(in * 9));
    w = at::empty({out, in, 3, 3}).uniform_(-bound, bound).requires_grad_(true);
    b = at::zeros({out}).requires_grad_(true);
  }
  at::Tensor operator()(const at::Tensor& x) const { return at::conv2d(x, w, b, 1, 1); }
};

class SrResNet : public covergen::Upscaler {
 public:
  explicit SrResNet(const std::string& json) : c_(parse_config(json)) {
    const std::int64_t C = c_.channels, U = c_.up_channels;
    head_ = Conv(3, C, 1.0);
    for (std::int64_t i = 0; i < c_.blocks; ++i) blocks_.push_back({Conv(C, C, 1.0), Conv(C, C, 0.1)});
    body_ = Conv(C, C, 0.1);
    std::int64_t in = C;
    for (std::int64_t s = 0; s < stages_x2(); ++s) {
      ups_.push_back(Conv(in, 4 * U, 1.0));
      in = U;
    }
    const std::int64_t last = last_factor();
    tail_ = Conv(in, 3 * last * last, 1.0);
    at::NoGradGuard no_grad;
    tail_.w.zero_();  // starts as exactly bicubic
  }

  std::string config_json() const override {
    return nlohmann::json{{"factor", c_.factor}, {"channels", c_.channels}, {"blocks", c_.blocks},
                          {"up_channels", c_.up_channels}}
        .dump();
  }

  covergen::NamedTensors named_tensors() override {
    covergen::NamedTensors out;
    auto add = [&out](const std::string& name, const Conv& conv) {
      out.emplace_back(name + ".w", conv.w);
      out.emplace_back(name + ".b", conv.b);
    };
    add("head", head_);
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      add("block" + std::to_string(i) + ".conv1", blocks_[i].first);
      add("block" + std::to_string(i) + ".conv2", blocks_[i].second);
    }
    add("body", body_);
    for (std::size_t i = 0; i < ups_.size(); ++i) add("up" + std::to_string(i), ups_[i]);
    add("tail", tail_);
    return out;
  }

  std::vector<at::Tensor> parameters() override {
    std::vector<at::Tensor> out;
    for (auto& [name, t] : named_tensors()) out.push_back(t);
    return out;
  }

  void to(const c10::Device& device) override {
    at::NoGradGuard no_grad;
    for (Conv* conv : convs()) {
      conv->w = conv->w.to(device).detach().requires_grad_(true);
      conv->b = conv->b.to(device).detach().requires_grad_(true);
    }
  }
  c10::Device device() const override { return head_.w.device(); }

  std::int64_t factor() const override { return c_.factor; }

  at::Tensor forward(const at::Tensor& images) override {
    if (images.dim() != 4 || images.size(1) != 3 || images.size(2) < 4 || images.size(3) < 4)
      throw InputError("srresnet: expected images [N, 3, S, S] with S >= 4, got " + shape(images));
    const at::Tensor x = images.to(device(), at::kFloat);
    const at::Tensor h = head_(x);
    at::Tensor y = h;
    for (const auto& [c1, c2] : blocks_) y = y + c2(at::relu(c1(y)));
    y = body_(y) + h;
    for (const Conv& up : ups_) y = at::leaky_relu(at::pixel_shuffle(up(y), 2), 0.2);
    y = at::pixel_shuffle(tail_(y), last_factor());
    const std::int64_t H = x.size(2) * c_.factor, W = x.size(3) * c_.factor;
    const at::Tensor base = at::upsample_bicubic2d(x, {H, W}, /*align_corners=*/false);
    return base + y;
  }

 private:
  std::int64_t log2_factor() const { return c_.factor == 2 ? 1 : c_.factor == 4 ? 2 : c_.factor == 8 ? 3 : 4; }
  std::int64_t stages_x2() const { return log2_factor() >= 2 ? log2_factor() - 2 : 0; }
  std::int64_t last_factor() const { return c_.factor == 2 ? 2 : 4; }

  std::vector<Conv*> convs() {
    std::vector<Conv*> out{&head_, &body_, &tail_};
    for (auto& [a, b] : blocks_) {
      out.push_back(&a);
      out.push_back(&b);
    }
    for (auto& u : ups_) out.push_back(&u);
    return out;
  }

  static std::string shape(const at::Tensor& t) {
    std::string s = "[";
    for (std::int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + "]";
  }

  Config c_;
  Conv head_, body_, tail_;
  std::vector<std::pair<Conv, Conv>> blocks_;
  std::vector<Conv> ups_;
};

}  // namespace

COVERGEN_UPSCALER_PLUGIN(SrResNet, "srresnet", "1.0.0",
                         "compact residual super-resolution (SRResNet-style, pixel shuffle, detail over bicubic)")
