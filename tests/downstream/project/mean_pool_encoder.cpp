// A third-party encoder: averages a frame sequence over time.
#include <covergen/plugin.hpp>

#include <ATen/ATen.h>

namespace {

class MeanPoolEncoder : public covergen::Encoder {
 public:
  explicit MeanPoolEncoder(const std::string&) {}
  std::string config_json() const override { return "{}"; }
  covergen::NamedTensors named_tensors() override { return {}; }
  void to(const c10::Device&) override {}
  c10::Device device() const override { return c10::kCPU; }
  covergen::EncoderInput input_kind() const override { return covergen::EncoderInput::frames; }
  std::int64_t input_dim() const override { return 0; }
  std::int64_t dim() const override { return 0; }
  bool fitted() const override { return true; }
  covergen::FitReport fit(const covergen::EncoderData&, const covergen::EncoderData&,
                          const covergen::FitOptions&) override {
    return {};
  }
  at::Tensor encode_batch(const at::Tensor& x) const override {
    if (x.dim() != 3) throw covergen::InputError("mean_pool: expected [N, T, F]");
    return x.mean(1);
  }
};

}  // namespace

COVERGEN_ENCODER_PLUGIN(MeanPoolEncoder, "mean_pool", "0.1.0", "third-party example: mean over time")
