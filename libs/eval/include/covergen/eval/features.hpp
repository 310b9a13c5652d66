// Feature spaces for the distribution metrics (FID, KID, diversity, memorisation).
// Numbers from different extractors are not comparable; every output names the one used.
//
// Two extractors:
//  - the built-in one: the penultimate layer (128-d) of the CoverClassifier judge
//    trained on the dataset's own real training covers; needs nothing downloaded, but
//    its numbers are specific to that dataset, seed and image size;
//  - a user-supplied TorchScript network (`--features inception.pt`), typically the
//    Inception-v3 used in FID papers. Contract: forward(x) takes float32
//    [N, 3, 299, 299] RGB scaled to [-1, 1] (pixel / 127.5 - 1; covers are resized
//    bilinearly to 299 x 299 first) and returns [N, D] or [N, D, 1, 1] features
//    (D = 2048 for Inception's pool3). A network that wants another normalisation
//    (e.g. ImageNet mean/std or [0, 255]) must be wrapped to do it inside forward().
#pragma once

#include "covergen/eval/distribution.hpp"

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <filesystem>
#include <memory>
#include <string>

namespace covergen::eval {

class CoverClassifier;

class FeatureExtractor {
 public:
  virtual ~FeatureExtractor() = default;
  /// What produced the features, for reports ("judge-cnn-128: ..." or "torchscript: <file>").
  virtual std::string name() const = 0;
  /// images: float32 [N, 3, S, S] in [-1, 1] -> float64 features [N, D].
  virtual FeatureMatrix extract(const at::Tensor& images) const = 0;
};

/// The built-in extractor over a trained judge (kept alive by the shared pointer).
std::unique_ptr<FeatureExtractor> judge_feature_extractor(std::shared_ptr<const CoverClassifier> judge,
                                                          std::string description);

/// Loads a TorchScript feature network; throws InputError naming the file when it
/// cannot be loaded or its output breaks the contract above (checked on load with a
/// two-image probe).
std::unique_ptr<FeatureExtractor> torchscript_feature_extractor(const std::filesystem::path& file,
                                                                c10::Device device, std::int64_t input_size = 299);

/// A float tensor [N, D] as a float64 FeatureMatrix.
FeatureMatrix to_feature_matrix(const at::Tensor& features);

}  // namespace covergen::eval
