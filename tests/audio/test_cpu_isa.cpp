// COVERGEN_CPU_ISA=avx2 (read once per process, so this test has its own executable):
// libmpg123's decoder is named explicitly and the decode stays librosa's samples.
#include "covergen/audio/cpu.hpp"
#include "covergen/audio/decoder.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

using namespace covergen::audio;

TEST_CASE("COVERGEN_CPU_ISA=avx2 forces libmpg123's AVX decoder and changes no sample", "[audio]") {
  const auto mp3 = std::filesystem::path(COVERGEN_TEST_DATA_DIR) / "librosa" / "music120_44k.mp3";
  // before anything reads it: the switch is read once
  REQUIRE(setenv("COVERGEN_CPU_ISA", "avx2", 1) == 0);
  const CpuReport& r = cpu_report();
  CHECK(r.cap == "avx2");
  CHECK(cpu_isa_cap() == CpuIsaCap::avx2);
  // no AVX-512 path exists in CoverGen's own code, whatever the CPU
  CHECK((r.own_code == "x86-64-v3" || r.own_code == "x86-64"));
  CHECK(std::find(r.fftw_simd.begin(), r.fftw_simd.end(), "avx512") == r.fftw_simd.end());
  if (std::find(r.mp3_decoders.begin(), r.mp3_decoders.end(), "AVX") == r.mp3_decoders.end()) {
    WARN("libmpg123 has no AVX decoder on this CPU; nothing to force");
    return;
  }
  CHECK(r.mp3_decoder == "AVX");
  AudioInfo info;
  const auto y = AudioDecoder().decode_mono(mp3, &info);
  CHECK(info.mp3_decoder == "AVX");
  CHECK(!info.mp3_mono_mixed);
  CHECK(y.size() == 1323000);
}
