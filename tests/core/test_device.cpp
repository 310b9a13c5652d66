#include <covergen/device.hpp>
#include <covergen/errors.hpp>

#include <catch2/catch.hpp>

using namespace covergen;
using Catch::Matchers::Contains;

TEST_CASE("device selection", "[device]") {
  CHECK(parse_device("cpu") == c10::Device(c10::kCPU));
  CHECK(device_string(parse_device("cpu")) == "cpu");
  for (const char* bad : {"tpu", "cuda:x", "cuda:", "CUDA", ""}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_device(bad), InputError);
  }
  if (cuda_device_count() == 0) {
    // The machine this suite runs on in CI has no GPU: auto falls back to CPU and
    // an explicit CUDA request says why it cannot be met.
    CHECK(parse_device("auto") == c10::Device(c10::kCPU));
    try {
      parse_device("cuda:0");
      FAIL("cuda:0 accepted without CUDA");
    } catch (const InputError& e) {
      CHECK_THAT(e.what(), Contains("CUDA is not available"));
      CHECK_THAT(e.what(), Contains("--device cpu"));
      CHECK(e.code() == ExitCode::bad_input);
    }
  } else {
    CHECK(parse_device("auto") == c10::Device(c10::kCUDA, 0));
    CHECK_THROWS_AS(parse_device("cuda:" + std::to_string(cuda_device_count())), InputError);
  }
}
