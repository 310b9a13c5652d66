#include "covergen/npy.hpp"

#include "covergen/atomic_file.hpp"
#include "covergen/errors.hpp"

#include <cstdint>
#include <cstring>
#include <sstream>

namespace covergen::npy {
namespace {

static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE types expected");

bool host_is_little_endian() {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

std::size_t item_size(DType t) { return (t == DType::f4 || t == DType::i4) ? 4 : 8; }

const char* descr(DType t) {
  switch (t) {
    case DType::f4: return "<f4";
    case DType::f8: return "<f8";
    case DType::i4: return "<i4";
    case DType::i8: return "<i8";
  }
  return "?";
}

std::int64_t product(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// Finds the value text following 'key': in a Python dict literal.
std::string dict_value(const std::string& header, const std::string& key, const std::string& what) {
  auto k = header.find("'" + key + "'");
  if (k == std::string::npos) throw InputError(what, "npy header has no '" + key + "'");
  auto colon = header.find(':', k);
  if (colon == std::string::npos) throw InputError(what, "malformed npy header");
  std::size_t p = colon + 1;
  while (p < header.size() && header[p] == ' ') ++p;
  if (p >= header.size()) throw InputError(what, "malformed npy header");
  if (header[p] == '\'') {
    auto e = header.find('\'', p + 1);
    if (e == std::string::npos) throw InputError(what, "malformed npy header");
    return header.substr(p + 1, e - p - 1);
  }
  if (header[p] == '(') {
    auto e = header.find(')', p);
    if (e == std::string::npos) throw InputError(what, "malformed npy header");
    return header.substr(p, e - p + 1);
  }
  auto e = header.find_first_of(",}", p);
  return header.substr(p, e == std::string::npos ? std::string::npos : e - p);
}

template <typename Out>
std::vector<Out> convert(const Array& a) {
  const std::int64_t n = a.size();
  std::vector<Out> out(static_cast<std::size_t>(n));
  const unsigned char* p = a.data.data();
  for (std::int64_t i = 0; i < n; ++i) {
    switch (a.dtype) {
      case DType::f4: { float v; std::memcpy(&v, p + 4 * i, 4); out[i] = static_cast<Out>(v); break; }
      case DType::f8: { double v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<Out>(v); break; }
      case DType::i4: { std::int32_t v; std::memcpy(&v, p + 4 * i, 4); out[i] = static_cast<Out>(v); break; }
      case DType::i8: { std::int64_t v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<Out>(v); break; }
    }
  }
  return out;
}

}  // namespace

std::int64_t Array::size() const { return product(shape); }
std::vector<float> Array::as_float() const { return convert<float>(*this); }
std::vector<double> Array::as_double() const { return convert<double>(*this); }
std::vector<std::int64_t> Array::as_int64() const { return convert<std::int64_t>(*this); }

Array parse(const std::string& bytes, const std::string& what) {
  if (!host_is_little_endian()) throw Error(what + ": npy support needs a little-endian host");
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    throw InputError(what, "not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, pos = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    pos = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw InputError(what, "truncated .npy header");
    for (int i = 0; i < 4; ++i) header_len |= static_cast<std::size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    pos = 12;
  } else {
    throw InputError(what, "unsupported .npy format version " + std::to_string(major));
  }
  if (bytes.size() < pos + header_len) throw InputError(what, "truncated .npy header");
  const std::string header = bytes.substr(pos, header_len);
  pos += header_len;

  Array a;
  const std::string d = dict_value(header, "descr", what);
  if (d == "<f4") a.dtype = DType::f4;
  else if (d == "<f8") a.dtype = DType::f8;
  else if (d == "<i4") a.dtype = DType::i4;
  else if (d == "<i8") a.dtype = DType::i8;
  else throw InputError(what, "unsupported npy dtype '" + d + "' (need <f4, <f8, <i4 or <i8)");
  const bool fortran = dict_value(header, "fortran_order", what).find("True") != std::string::npos;
  const std::string shape = dict_value(header, "shape", what);
  // Each dimension, and their product in bytes, must fit in the data that follows
  // (checked without overflow: a header may claim any number).
  const std::uint64_t available = bytes.size() - pos;
  std::uint64_t nbytes = item_size(a.dtype);
  bool any_zero = false, too_big = false;
  std::string digits;
  for (char c : shape) {
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (!digits.empty()) {
      if (digits.size() > 18) throw InputError(what, "absurd .npy shape " + shape);
      const std::uint64_t dim = std::stoull(digits);
      a.shape.push_back(static_cast<std::int64_t>(dim));
      if (dim == 0) any_zero = true;
      else if (!too_big && __builtin_mul_overflow(nbytes, dim, &nbytes)) too_big = true;
      digits.clear();
    }
  }
  if (too_big) throw InputError(what, "absurd .npy shape " + shape + " (its size overflows)");
  if (any_zero) nbytes = 0;
  if (available < nbytes)
    throw InputError(what, "truncated .npy data: need " + std::to_string(nbytes) + " bytes, have " +
                               std::to_string(bytes.size() - pos));
  a.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                bytes.begin() + static_cast<std::ptrdiff_t>(pos + nbytes));
  if (fortran && a.shape.size() > 1) {
    // Reorder to C order: element with C index (i0..in) sits at Fortran offset sum(i_k * fstride_k).
    const std::size_t isz = item_size(a.dtype), nd = a.shape.size();
    std::vector<std::int64_t> fstride(nd, 1);
    for (std::size_t k = 1; k < nd; ++k) fstride[k] = fstride[k - 1] * a.shape[k - 1];
    std::vector<unsigned char> c(a.data.size());
    std::vector<std::int64_t> idx(nd, 0);
    const std::int64_t total = a.size();
    for (std::int64_t i = 0; i < total; ++i) {
      std::int64_t off = 0;
      for (std::size_t k = 0; k < nd; ++k) off += idx[k] * fstride[k];
      std::memcpy(c.data() + static_cast<std::size_t>(i) * isz, a.data.data() + static_cast<std::size_t>(off) * isz, isz);
      for (std::size_t k = nd; k-- > 0;) {  // advance the C-order index
        if (++idx[k] < a.shape[k]) break;
        idx[k] = 0;
      }
    }
    a.data.swap(c);
  }
  return a;
}

Array load(const std::filesystem::path& path) { return parse(read_file(path), path.string()); }

std::string serialize(DType dtype, const std::vector<std::int64_t>& shape, const void* data) {
  if (!host_is_little_endian()) throw Error("npy support needs a little-endian host");
  std::ostringstream h;
  h << "{'descr': '" << descr(dtype) << "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    h << shape[i];
    if (shape.size() == 1 || i + 1 < shape.size()) h << ",";
    if (i + 1 < shape.size()) h << " ";
  }
  h << "), }";
  std::string header = h.str();
  // Pad so that magic(6) + version(2) + len(2) + header + '\n' is a multiple of 64.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 65535) throw Error("npy header too long");
  std::string out = "\x93NUMPY";
  out += static_cast<char>(1);
  out += static_cast<char>(0);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  const std::size_t nbytes = static_cast<std::size_t>(product(shape)) * item_size(dtype);
  out.append(static_cast<const char*>(data), nbytes);
  return out;
}

void save(const std::filesystem::path& path, DType dtype, const std::vector<std::int64_t>& shape,
          const void* data) {
  write_file_atomic(path, serialize(dtype, shape, data));
}

namespace {
template <typename T>
void check_count(const std::filesystem::path& path, const std::vector<T>& v, const std::vector<std::int64_t>& shape) {
  if (static_cast<std::int64_t>(v.size()) != product(shape))
    throw Error(path.string() + ": npy save: " + std::to_string(v.size()) + " values do not fill the shape");
}
}  // namespace

void save(const std::filesystem::path& path, const std::vector<float>& v, const std::vector<std::int64_t>& shape) {
  check_count(path, v, shape);
  save(path, DType::f4, shape, v.data());
}
void save(const std::filesystem::path& path, const std::vector<double>& v, const std::vector<std::int64_t>& shape) {
  check_count(path, v, shape);
  save(path, DType::f8, shape, v.data());
}
void save(const std::filesystem::path& path, const std::vector<std::int64_t>& v,
          const std::vector<std::int64_t>& shape) {
  check_count(path, v, shape);
  save(path, DType::i8, shape, v.data());
}

}  // namespace covergen::npy
