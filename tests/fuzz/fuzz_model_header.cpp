// The model file reader up to the torch payload: magic, version, lengths, header
// JSON fields, payload bounds and CRC (parse_model_file_bytes, which
// read_model_header and read_model_file call before any torch deserialisation).
// Contract: InputError naming the file, or a layout whose payload lies inside it.
#include <covergen/errors.hpp>
#include <covergen/model_header.hpp>

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace covergen;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    ModelFileLayout l = parse_model_file_bytes(bytes, "fuzz.cvgn");
    if (l.payload_pos > size || l.payload_len > size - l.payload_pos) std::abort();
    // A valid header re-encodes to a file that parses again.
    std::string again = encode_model_file(l.header, bytes.substr(l.payload_pos, l.payload_len), "0.0.0");
    (void)parse_model_file_bytes(again, "again.cvgn");
  } catch (const InputError& e) {
    if (std::string_view(e.what()).find("fuzz.cvgn") == std::string_view::npos) std::abort();
  }
  return 0;
}
