// A small reader/writer for NumPy .npy files (format 1.0/2.0/3.0): little-endian
// float32 ('<f4'), float64 ('<f8'), int64 ('<i8') and int32 ('<i4') arrays. Writes C
// order; reads C or Fortran order (returned in C order). Enough to exchange features
// with numpy/librosa; structured or big-endian dtypes are rejected clearly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace covergen::npy {

enum class DType { f4, f8, i4, i8 };

/// An array read from a .npy file. `data` holds the raw little-endian bytes.
struct Array {
  DType dtype = DType::f4;
  std::vector<std::int64_t> shape;
  std::vector<unsigned char> data;

  std::int64_t size() const;  ///< number of elements (1 for a 0-d array)
  /// Converted copies (any of the supported dtypes converts to any other).
  std::vector<float> as_float() const;
  std::vector<double> as_double() const;
  std::vector<std::int64_t> as_int64() const;
};

/// Reads a .npy file; throws covergen::InputError("<path>: <problem>") on failure.
Array load(const std::filesystem::path& path);
/// Parses .npy bytes (`what` names the source in error messages).
Array parse(const std::string& bytes, const std::string& what);

/// Serialises an array to .npy (format 1.0) bytes.
std::string serialize(DType dtype, const std::vector<std::int64_t>& shape, const void* data);

/// Writes an array atomically (covergen::write_file_atomic). `data` must hold
/// product(shape) elements of `dtype`.
void save(const std::filesystem::path& path, DType dtype, const std::vector<std::int64_t>& shape,
          const void* data);
void save(const std::filesystem::path& path, const std::vector<float>& v,
          const std::vector<std::int64_t>& shape);
void save(const std::filesystem::path& path, const std::vector<double>& v,
          const std::vector<std::int64_t>& shape);
void save(const std::filesystem::path& path, const std::vector<std::int64_t>& v,
          const std::vector<std::int64_t>& shape);

}  // namespace covergen::npy
