#include "music_library.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <sys/wait.h>

namespace fs = std::filesystem;

namespace covergen::test {

namespace {

#ifndef CGTEST_LAME
#define CGTEST_LAME ""
#endif
#ifndef CGTEST_FLAC
#define CGTEST_FLAC ""
#endif
#ifndef CGTEST_METAFLAC
#define CGTEST_METAFLAC ""
#endif
#ifndef CGTEST_OGGENC
#define CGTEST_OGGENC ""
#endif
#ifndef CGTEST_VORBISCOMMENT
#define CGTEST_VORBISCOMMENT ""
#endif
#ifndef CGTEST_FFMPEG
#define CGTEST_FFMPEG ""
#endif

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void put_le(std::string& out, std::uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

void put_be32(std::string& out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t v = (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8) | std::uint8_t(in[i + 2]);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (i + 1 == in.size()) {
    const std::uint32_t v = std::uint8_t(in[i]) << 16;
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const std::uint32_t v = (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

void must(const std::vector<std::string>& argv) {
  std::string out;
  if (run_command(argv, &out) != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += quote(a) + " ";
    throw std::runtime_error("command failed: " + cmd + "\n" + out);
  }
}

}  // namespace

bool MusicTools::complete() const {
  return !lame.empty() && !flac.empty() && !metaflac.empty() && !oggenc.empty() && !vorbiscomment.empty();
}

std::string MusicTools::missing() const {
  std::string m;
  for (const auto& [name, p] : {std::pair{"lame", lame}, {"flac", flac}, {"metaflac", metaflac}, {"oggenc", oggenc},
                                {"vorbiscomment", vorbiscomment}, {"ffmpeg", ffmpeg}})
    if (p.empty()) m += std::string(m.empty() ? "" : " ") + name;
  return m;
}

MusicTools music_tools() {
  return {CGTEST_LAME, CGTEST_FLAC, CGTEST_METAFLAC, CGTEST_OGGENC, CGTEST_VORBISCOMMENT, CGTEST_FFMPEG};
}

int run_command(const std::vector<std::string>& argv, std::string* output) {
  std::string cmd;
  for (const auto& a : argv) cmd += quote(a) + " ";
  cmd += "2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    if (output) output->append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void write_wav(const fs::path& path, double seconds, double freq) {
  const int sr = 22050;
  const auto n = static_cast<std::uint32_t>(seconds * sr);
  std::string d = "RIFF";
  put_le(d, 36 + n * 2, 4);
  d += "WAVEfmt ";
  put_le(d, 16, 4);
  put_le(d, 1, 2);  // PCM
  put_le(d, 1, 2);  // mono
  put_le(d, sr, 4);
  put_le(d, sr * 2, 4);
  put_le(d, 2, 2);
  put_le(d, 16, 2);
  d += "data";
  put_le(d, n * 2, 4);
  for (std::uint32_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / sr;
    const double env = 0.5 + 0.5 * std::sin(2 * M_PI * 2.0 * t);  // 2 Hz pulse: onsets for the beat tracker
    const double v = env * (0.3 * std::sin(2 * M_PI * freq * t) + 0.2 * std::sin(2 * M_PI * freq * 1.25 * t) +
                            0.15 * std::sin(2 * M_PI * freq * 1.5 * t));
    put_le(d, static_cast<std::uint16_t>(static_cast<std::int16_t>(std::lround(v * 32767.0))), 2);
  }
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << d;
}

std::string metadata_block_picture(const std::string& image, const std::string& mime, int width, int height) {
  std::string b;
  put_be32(b, 3);  // front cover
  put_be32(b, static_cast<std::uint32_t>(mime.size()));
  b += mime;
  put_be32(b, 0);  // description
  put_be32(b, static_cast<std::uint32_t>(width));
  put_be32(b, static_cast<std::uint32_t>(height));
  put_be32(b, 24);
  put_be32(b, 0);
  put_be32(b, static_cast<std::uint32_t>(image.size()));
  b += image;
  return base64(b);
}

void make_track(const MusicTools& tools, const TrackSpec& s) {
  fs::create_directories(s.file.parent_path());
  const fs::path wav = fs::path(s.file).replace_extension(".src.wav");
  const fs::path pic = fs::path(s.file).replace_extension(".src.img");
  write_wav(wav, s.seconds, s.freq);
  if (!s.picture.empty()) std::ofstream(pic, std::ios::binary) << s.picture;
  const std::string ext = s.file.extension().string();
  const std::string track = s.track > 0 ? std::to_string(s.track) : "";
  if (ext == ".mp3") {
    std::vector<std::string> a{tools.lame, "--quiet", "-b", "64", "--add-id3v2", "--ta", s.artist, "--tl", s.album,
                               "--tt", s.title, "--ty", s.year};
    if (!s.genre.empty()) a.insert(a.end(), {"--tg", s.genre});
    if (!track.empty()) a.insert(a.end(), {"--tn", track});
    if (!s.album_artist.empty()) a.insert(a.end(), {"--tv", "TPE2=" + s.album_artist});
    if (!s.picture.empty()) a.insert(a.end(), {"--ti", pic.string()});
    a.insert(a.end(), {wav.string(), s.file.string()});
    must(a);
  } else if (ext == ".flac") {
    std::vector<std::string> a{tools.flac, "--silent", "-f", "-T", "ARTIST=" + s.artist, "-T", "ALBUM=" + s.album,
                               "-T", "TITLE=" + s.title, "-T", "DATE=" + s.year};
    if (!s.genre.empty()) a.insert(a.end(), {"-T", "GENRE=" + s.genre});
    if (!track.empty()) a.insert(a.end(), {"-T", "TRACKNUMBER=" + track});
    if (!s.album_artist.empty()) a.insert(a.end(), {"-T", "ALBUMARTIST=" + s.album_artist});
    a.insert(a.end(), {"-o", s.file.string(), wav.string()});
    must(a);
    if (!s.picture.empty()) must({tools.metaflac, "--import-picture-from=" + pic.string(), s.file.string()});
  } else if (ext == ".ogg") {
    std::vector<std::string> a{tools.oggenc, "--quiet", "-a", s.artist, "-l", s.album, "-t", s.title, "-d", s.year};
    if (!s.genre.empty()) a.insert(a.end(), {"-G", s.genre});
    if (!track.empty()) a.insert(a.end(), {"-N", track});
    if (!s.album_artist.empty()) a.insert(a.end(), {"-c", "ALBUMARTIST=" + s.album_artist});
    a.insert(a.end(), {"-o", s.file.string(), wav.string()});
    must(a);
    if (!s.picture.empty()) {
      // vorbiscomment has no picture option: the tag is the base64 FLAC picture block.
      int w = 0, h = 0;
      if (s.picture.size() > 24 && s.picture.compare(1, 3, "PNG") == 0) {
        w = (std::uint8_t(s.picture[16]) << 24) | (std::uint8_t(s.picture[17]) << 16) | (std::uint8_t(s.picture[18]) << 8) | std::uint8_t(s.picture[19]);
        h = (std::uint8_t(s.picture[20]) << 24) | (std::uint8_t(s.picture[21]) << 16) | (std::uint8_t(s.picture[22]) << 8) | std::uint8_t(s.picture[23]);
      }
      const bool png = s.picture.compare(1, 3, "PNG") == 0;
      const fs::path comments = fs::path(s.file).replace_extension(".src.txt");
      std::ofstream(comments) << "METADATA_BLOCK_PICTURE="
                              << metadata_block_picture(s.picture, png ? "image/png" : "image/jpeg", w, h) << "\n";
      must({tools.vorbiscomment, "-a", "-c", comments.string(), s.file.string()});
      fs::remove(comments);
    }
  } else if (ext == ".m4a") {
    if (tools.ffmpeg.empty()) throw std::runtime_error("ffmpeg was not found at configure time");
    std::vector<std::string> a{tools.ffmpeg, "-nostdin", "-v", "error", "-y", "-i", wav.string()};
    if (!s.picture.empty()) a.insert(a.end(), {"-i", pic.string(), "-map", "0:a", "-map", "1:v", "-c:v", "copy",
                                               "-disposition:v:0", "attached_pic"});
    a.insert(a.end(), {"-c:a", "aac", "-b:a", "64k", "-metadata", "artist=" + s.artist, "-metadata", "album=" + s.album,
                       "-metadata", "title=" + s.title, "-metadata", "date=" + s.year});
    if (!s.genre.empty()) a.insert(a.end(), {"-metadata", "genre=" + s.genre});
    a.push_back(s.file.string());
    must(a);
  } else if (ext == ".opus") {
    // Ogg Opus through ffmpeg (libopus); ffmpeg 5.1 cannot mux an attached picture into Ogg,
    // so the picture goes in as the METADATA_BLOCK_PICTURE comment, as taggers write it.
    if (tools.ffmpeg.empty()) throw std::runtime_error("ffmpeg was not found at configure time");
    std::vector<std::string> a{tools.ffmpeg, "-nostdin", "-v", "error", "-y", "-i", wav.string(), "-c:a", "libopus",
                               "-b:a", "48k", "-metadata", "artist=" + s.artist, "-metadata", "album=" + s.album,
                               "-metadata", "title=" + s.title, "-metadata", "date=" + s.year};
    if (!s.genre.empty()) a.insert(a.end(), {"-metadata", "genre=" + s.genre});
    if (!s.picture.empty()) {
      const bool png = s.picture.compare(1, 3, "PNG") == 0;
      a.insert(a.end(), {"-metadata", "METADATA_BLOCK_PICTURE=" +
                                          metadata_block_picture(s.picture, png ? "image/png" : "image/jpeg", 0, 0)});
    }
    a.push_back(s.file.string());
    must(a);
  } else {
    throw std::runtime_error("make_track: unknown extension " + ext);
  }
  fs::remove(wav);
  fs::remove(pic);
}

}  // namespace covergen::test
