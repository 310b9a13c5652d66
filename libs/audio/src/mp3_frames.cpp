// ISO/IEC 11172-3 and 13818-3 layer III frame headers and side information.
#include "mp3_frames.hpp"

#include <cstdint>
#include <cstring>

namespace covergen::audio::detail {
namespace {

// kbit/s by [MPEG-1 ? 0 : 1][bitrate index], layer III
constexpr int kBitrate[2][16] = {
    {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0},
    {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},
};
// Hz by [version bits][rate index]; version bits 0 = MPEG-2.5, 2 = MPEG-2, 3 = MPEG-1
constexpr int kRate[4][3] = {{11025, 12000, 8000}, {0, 0, 0}, {22050, 24000, 16000}, {44100, 48000, 32000}};

struct Header {
  int version = 0;  // version bits
  int rate = 0;
  int channels = 0;
  bool crc = false;
  std::size_t length = 0;  // whole frame, bytes
};

bool parse_header(const unsigned char* p, Header& h) {
  if (p[0] != 0xFF || (p[1] & 0xE0) != 0xE0) return false;
  const int version = (p[1] >> 3) & 3, layer = (p[1] >> 1) & 3;
  if (version == 1 || layer != 1) return false;  // reserved version; layer III only
  const int br_index = p[2] >> 4, sr_index = (p[2] >> 2) & 3, padding = (p[2] >> 1) & 1;
  if (br_index == 0 || br_index == 15 || sr_index == 3) return false;  // free format, bad
  const bool mpeg1 = version == 3;
  h.version = version;
  h.rate = kRate[version][sr_index];
  h.channels = (p[3] >> 6) == 3 ? 1 : 2;
  h.crc = (p[1] & 1) == 0;
  const int kbps = kBitrate[mpeg1 ? 0 : 1][br_index];
  h.length = static_cast<std::size_t>((mpeg1 ? 144000 : 72000) * kbps / h.rate + padding);
  return h.length > 4;
}

class Bits {
 public:
  Bits(const unsigned char* p) : p_(p) {}
  unsigned get(int n) {
    unsigned v = 0;
    for (int i = 0; i < n; ++i, ++pos_) v = (v << 1) | ((p_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1u);
    return v;
  }
  void skip(int n) { pos_ += static_cast<std::size_t>(n); }

 private:
  const unsigned char* p_;
  std::size_t pos_ = 0;
};

// The side information's bytes (MPEG-1 stereo 32, mono 17; MPEG-2/2.5 stereo 17, mono 9).
std::size_t side_info_bytes(const Header& h) {
  if (h.version == 3) return h.channels == 2 ? 32 : 17;
  return h.channels == 2 ? 17 : 9;
}

// Whether both channels of every granule share window switching, block type and the
// mixed-block flag. `p` points at the side information.
bool same_blocks(const unsigned char* p, const Header& h) {
  Bits b(p);
  const bool mpeg1 = h.version == 3;
  const int granules = mpeg1 ? 2 : 1;
  if (mpeg1) {
    b.skip(9 + 3 + 2 * 4);  // main_data_begin, private bits, scfsi
  } else {
    b.skip(8 + 2);  // main_data_begin, private bits
  }
  for (int gr = 0; gr < granules; ++gr) {
    unsigned kind[2] = {0, 0};
    for (int ch = 0; ch < 2; ++ch) {
      b.skip(12 + 9 + 8 + (mpeg1 ? 4 : 9));  // part2_3_length, big_values, global_gain, scalefac_compress
      const unsigned wsf = b.get(1);
      if (wsf) {
        const unsigned block_type = b.get(2), mixed = b.get(1);
        kind[ch] = 4u | (block_type << 1) | mixed;
        b.skip(2 * 5 + 3 * 3);  // table_select[2], subblock_gain[3]
      } else {
        b.skip(3 * 5 + 4 + 3);  // table_select[3], region0_count, region1_count
      }
      b.skip(mpeg1 ? 3 : 2);  // (preflag), scalefac_scale, count1table_select
    }
    if (kind[0] != kind[1]) return false;
  }
  return true;
}

}  // namespace

Mp3Walk mp3_walk(const unsigned char* data, std::size_t size) {
  Mp3Walk w;
  std::size_t pos = 0;
  // ID3v2: "ID3", version, flags, 4 syncsafe size bytes; a footer adds 10 more
  if (size >= 10 && std::memcmp(data, "ID3", 3) == 0) {
    if ((data[6] | data[7] | data[8] | data[9]) & 0x80) return w;
    const std::size_t tag = (std::size_t(data[6]) << 21) | (std::size_t(data[7]) << 14) | (std::size_t(data[8]) << 7) | data[9];
    pos = 10 + tag + ((data[5] & 0x10) ? 10 : 0);
  }
  Header first;
  bool all_same = true;
  while (pos < size) {
    const std::size_t left = size - pos;
    if (left == 128 && std::memcmp(data + pos, "TAG", 3) == 0) break;  // ID3v1 ends the file
    Header h;
    if (left < 4 || !parse_header(data + pos, h)) return w;  // junk, or a format the walk does not vouch for
    if (w.frames == 0) {
      first = h;
    } else if (h.version != first.version || h.rate != first.rate || h.channels != first.channels) {
      return w;  // a new format mid-stream
    }
    const std::size_t side = 4 + (h.crc ? 2 : 0);
    if (h.channels == 2) {
      if (left < side + side_info_bytes(h)) {
        if (h.length <= left) return w;  // cannot happen: a whole frame holds its side information
        break;                           // a cut-off last frame too short to be decoded
      }
      all_same = all_same && same_blocks(data + pos + side, h);
    }
    ++w.frames;
    if (h.length > left) break;  // a cut-off last frame
    pos += h.length;
  }
  if (w.frames == 0) return w;
  w.clean = true;
  w.stereo = first.channels == 2;
  w.same_blocks = w.stereo && all_same;
  return w;
}

}  // namespace covergen::audio::detail
