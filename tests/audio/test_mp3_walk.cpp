// The mp3 frame walk that decides whether libmpg123 may mix stereo to mono before its
// IMDCT (DecodeOptions::mp3_mono_mix): built frames with known side information.
#include "../../libs/audio/src/mp3_frames.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

using covergen::audio::detail::mp3_walk;

namespace {

// MPEG-1 layer III, no CRC, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames.
constexpr std::size_t kFrame = 417;
std::vector<unsigned char> frames(int n, unsigned char mode_bits = 0x00) {
  std::vector<unsigned char> d(kFrame * static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    unsigned char* f = d.data() + kFrame * static_cast<std::size_t>(i);
    f[0] = 0xFF;
    f[1] = 0xFB;
    f[2] = 0x90;
    f[3] = mode_bits;  // 0x00 stereo, 0x40 joint stereo, 0xC0 mono
  }
  return d;
}
// Sets granule gr / channel ch of MPEG-1 stereo side information to window switching with
// `block_type` (2 bits) and `mixed` (1 bit). Entries are 59 bits after a 20-bit preamble;
// the window-switching flag is bit 33 of an entry.
void set_block(std::vector<unsigned char>& d, int frame, int gr, int ch, unsigned block_type, unsigned mixed) {
  unsigned char* side = d.data() + kFrame * static_cast<std::size_t>(frame) + 4;
  const std::size_t bit = 20 + static_cast<std::size_t>(gr * 2 + ch) * 59 + 33;
  auto set = [&](std::size_t b, unsigned v) {
    if (v) side[b >> 3] |= static_cast<unsigned char>(0x80u >> (b & 7));
  };
  set(bit, 1);
  set(bit + 1, block_type >> 1);
  set(bit + 2, block_type & 1);
  set(bit + 3, mixed);
}

}  // namespace

TEST_CASE("mp3 walk: stereo frames whose channels share block types", "[audio][mp3]") {
  auto d = frames(5);
  set_block(d, 2, 0, 0, 2, 0);  // short blocks in both channels of one granule
  set_block(d, 2, 0, 1, 2, 0);
  set_block(d, 3, 1, 0, 1, 0);  // start blocks with the mixed-block flag...
  set_block(d, 3, 1, 1, 1, 0);
  const auto w = mp3_walk(d.data(), d.size());
  CHECK(w.clean);
  CHECK(w.stereo);
  CHECK(w.same_blocks);
  CHECK(w.frames == 5);
}

TEST_CASE("mp3 walk: one granule with different block types rules the mix out", "[audio][mp3]") {
  for (int gr = 0; gr < 2; ++gr) {
    auto d = frames(4, 0x40);
    set_block(d, 3, gr, 1, 2, 0);  // right channel short, left long, in the last frame
    const auto w = mp3_walk(d.data(), d.size());
    CHECK(w.clean);
    CHECK_FALSE(w.same_blocks);
  }
  auto d = frames(3);
  set_block(d, 1, 0, 0, 2, 1);  // same block type, different mixed-block flag
  set_block(d, 1, 0, 1, 2, 0);
  CHECK_FALSE(mp3_walk(d.data(), d.size()).same_blocks);
}

TEST_CASE("mp3 walk: tags, a cut-off last frame, junk and format changes", "[audio][mp3]") {
  // ID3v2 tag of 20 bytes in front, ID3v1 tag behind: clean
  std::vector<unsigned char> d = {'I', 'D', '3', 4, 0, 0, 0, 0, 0, 20};
  d.resize(30, 0);
  const auto f = frames(3);
  d.insert(d.end(), f.begin(), f.end());
  std::vector<unsigned char> v1(128, 0);
  std::memcpy(v1.data(), "TAG", 3);
  auto tagged = d;
  tagged.insert(tagged.end(), v1.begin(), v1.end());
  auto w = mp3_walk(tagged.data(), tagged.size());
  CHECK(w.clean);
  CHECK(w.frames == 3);
  // a last frame cut off after its side information, or inside it: still clean
  auto cut = d;
  cut.resize(cut.size() - 200);
  CHECK(mp3_walk(cut.data(), cut.size()).clean);
  cut.resize(cut.size() - kFrame + 200 + 10);
  w = mp3_walk(cut.data(), cut.size());
  CHECK(w.clean);
  CHECK(w.frames == 2);
  // junk between frames, free format, layer II, a mono frame in a stereo stream: not clean
  auto junk = frames(2);
  junk.insert(junk.begin() + kFrame, {0, 0, 0});
  CHECK_FALSE(mp3_walk(junk.data(), junk.size()).clean);
  auto free_format = frames(2);
  free_format[kFrame + 2] = 0x00;
  CHECK_FALSE(mp3_walk(free_format.data(), free_format.size()).clean);
  auto layer2 = frames(2);
  layer2[1] = 0xFD;
  CHECK_FALSE(mp3_walk(layer2.data(), layer2.size()).clean);
  auto mode_change = frames(2);
  mode_change[kFrame + 3] = 0xC0;
  CHECK_FALSE(mp3_walk(mode_change.data(), mode_change.size()).clean);
  // mono stream: clean, nothing to mix
  auto mono = frames(2, 0xC0);
  w = mp3_walk(mono.data(), mono.size());
  CHECK(w.clean);
  CHECK_FALSE(w.stereo);
  CHECK_FALSE(w.same_blocks);
  CHECK_FALSE(mp3_walk(nullptr, 0).clean);
}

TEST_CASE("mp3 walk: the LAME test clip", "[audio][mp3]") {
  std::ifstream in(COVERGEN_TEST_DATA_DIR "/librosa/music120_44k.mp3", std::ios::binary);
  REQUIRE(in);
  const std::vector<unsigned char> d((std::istreambuf_iterator<char>(in)), {});
  const auto w = mp3_walk(d.data(), d.size());
  CHECK(w.clean);
  CHECK(w.stereo);
  CHECK(w.same_blocks);
  CHECK(w.frames == 1151);  // the Info frame and 1,150 audio frames of 1,152 samples
}
