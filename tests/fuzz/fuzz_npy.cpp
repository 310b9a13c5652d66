// The .npy reader (covergen::npy::parse): magic, version, header dict, shape and
// dtype, data length. Contract: InputError, or an array whose data matches its shape.
#include <covergen/errors.hpp>
#include <covergen/npy.hpp>

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace covergen;
  try {
    npy::Array a = npy::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npy");
    const std::size_t item = (a.dtype == npy::DType::f4 || a.dtype == npy::DType::i4) ? 4 : 8;
    if (a.data.size() != static_cast<std::size_t>(a.size()) * item) std::abort();
    if (a.size() < 1 << 20) (void)a.as_double();
  } catch (const InputError&) {
  }
  return 0;
}
