// Test plugin: a tiny but real encoder. fit() learns the per-feature mean;
// encode(x) = (x - mean) * SCALE. Built twice (SCALE 2 and 3) to test search order.
#include <covergen/plugin.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#ifndef TEST_SCALE
#define TEST_SCALE 2.0
#endif

namespace {

class ScaleEncoder : public covergen::Encoder {
 public:
  explicit ScaleEncoder(const std::string& json) {
    auto cfg = nlohmann::json::parse(json.empty() ? "{}" : json);
    input_dim_ = cfg.value("input_dim", 4);
    if (input_dim_ <= 0) throw covergen::InputError("scale encoder: input_dim must be positive");
    if (cfg.value("fail", false)) throw covergen::InputError("scale encoder: asked to fail by config");
    mean_ = at::zeros({input_dim_});
    scale_ = at::full({input_dim_}, TEST_SCALE);
  }
  std::string config_json() const override { return nlohmann::json{{"input_dim", input_dim_}}.dump(); }
  covergen::NamedTensors named_tensors() override { return {{"mean", mean_}, {"scale", scale_}}; }
  void to(const c10::Device& d) override {
    mean_ = mean_.to(d);
    scale_ = scale_.to(d);
  }
  c10::Device device() const override { return mean_.device(); }
  covergen::EncoderInput input_kind() const override { return covergen::EncoderInput::summary; }
  std::int64_t input_dim() const override { return input_dim_; }
  std::int64_t dim() const override { return input_dim_; }
  bool fitted() const override { return fitted_; }
  covergen::FitReport fit(const covergen::EncoderData& train, const covergen::EncoderData&,
                          const covergen::FitOptions&) override {
    check(train.inputs);
    mean_.copy_(train.inputs.mean(0));
    fitted_ = true;
    return {{{"train_size", static_cast<double>(train.size())}}, 1};
  }
  at::Tensor encode_batch(const at::Tensor& x) const override {
    check(x);
    return (x - mean_) * scale_;
  }

 private:
  void check(const at::Tensor& x) const {
    if (x.dim() != 2 || x.size(1) != input_dim_)
      throw covergen::InputError("scale encoder: expected inputs [N, " + std::to_string(input_dim_) + "], got " +
                                 std::to_string(x.dim()) + "-d");
  }
  std::int64_t input_dim_;
  bool fitted_ = false;
  at::Tensor mean_, scale_;
};

}  // namespace

COVERGEN_ENCODER_PLUGIN(ScaleEncoder, "scale", "1.0.0", "test encoder: (x - mean) * scale")
