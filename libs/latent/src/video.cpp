#include "covergen/latent/video.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>
#include <covergen/image.hpp>

#include <ATen/ATen.h>
#include <gif_lib.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace fs = std::filesystem;

namespace covergen::latent {

FrameFormat frame_format_for(const std::string& out) {
  std::error_code ec;
  if (out.empty()) throw InputError("--out: give FILE.mp4, FILE.avi, FILE.gif or a folder DIR/");
  if (out.back() == '/' || fs::is_directory(out, ec)) return FrameFormat::png_dir;
  std::string ext = fs::path(out).extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (ext == ".mp4") return FrameFormat::mp4;
  if (ext == ".avi") return FrameFormat::avi;
  if (ext == ".gif") return FrameFormat::gif;
  throw InputError(out, "unknown output kind '" + ext + "'; give FILE.mp4, FILE.avi, FILE.gif or a folder DIR/ (PNG frames)");
}

const char* to_string(FrameFormat f) {
  switch (f) {
    case FrameFormat::mp4: return "mp4";
    case FrameFormat::avi: return "avi";
    case FrameFormat::gif: return "gif";
    case FrameFormat::png_dir: return "png";
  }
  return "?";
}

struct FrameWriter::Impl {
  std::string out;
  FrameFormat format;
  double fps;
  std::int64_t size, frames = 0, side = 0;
  fs::path temp;  // video / gif
  cv::VideoWriter video;
  GifFileType* gif = nullptr;
  bool finished = false;

  Impl(const std::string& o, double f, std::int64_t s) : out(o), format(frame_format_for(o)), fps(f), size(s) {
    if (!(fps > 0.0 && fps <= 1000.0)) throw InputError("fps must be in (0, 1000], got " + std::to_string(fps));
    if (size < 0 || size > 4096) throw InputError("--size must be in [0, 4096]");
    if (format == FrameFormat::png_dir) {
      std::error_code ec;
      fs::create_directories(out, ec);
      if (ec) throw InputError(out, "cannot create the folder: " + ec.message());
      return;
    }
    const fs::path target(out);
    // The temporary keeps the extension: OpenCV picks the container from it.
    temp = target.parent_path() /
           ("." + target.stem().string() + ".partial-" + std::to_string(::getpid()) + target.extension().string());
  }

  void open(std::int64_t s) {
    side = s;
    if (format == FrameFormat::mp4 || format == FrameFormat::avi) {
      const int fourcc = format == FrameFormat::mp4 ? cv::VideoWriter::fourcc('m', 'p', '4', 'v')
                                                    : cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
      if (!video.open(temp.string(), cv::CAP_FFMPEG, fourcc, fps, cv::Size(static_cast<int>(s), static_cast<int>(s))))
        throw Error(out + ": OpenCV could not open a " + to_string(format) +
                    " writer (FFmpeg backend); is the folder writable? PNG frames (--out DIR/) always work");
    } else if (format == FrameFormat::gif) {
      int err = 0;
      gif = EGifOpenFileName(temp.c_str(), false, &err);
      if (!gif) throw Error(out + ": cannot create the GIF: " + GifErrorString(err));
      EGifSetGifVersion(gif, true);
      if (EGifPutScreenDesc(gif, static_cast<int>(s), static_cast<int>(s), 8, 0, nullptr) == GIF_ERROR) gif_fail();
      // NETSCAPE2.0: loop forever
      const GifByteType app[] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
      const GifByteType loop[] = {1, 0, 0};
      if (EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
          EGifPutExtensionBlock(gif, sizeof app, app) == GIF_ERROR ||
          EGifPutExtensionBlock(gif, sizeof loop, loop) == GIF_ERROR || EGifPutExtensionTrailer(gif) == GIF_ERROR)
        gif_fail();
    }
  }

  [[noreturn]] void gif_fail() { throw Error(out + ": writing the GIF failed: " + GifErrorString(gif->Error)); }

  void write_png(const at::Tensor& rgb) {  // [S, S, 3] uint8
    cv::Mat m(static_cast<int>(rgb.size(0)), static_cast<int>(rgb.size(1)), CV_8UC3, rgb.data_ptr<std::uint8_t>()), bgr;
    cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
    std::vector<uchar> bytes;
    if (!cv::imencode(".png", bgr, bytes)) throw Error(out + ": PNG encoding failed");
    char name[32];
    std::snprintf(name, sizeof name, "frame_%05lld.png", static_cast<long long>(frames));
    write_file_atomic(fs::path(out) / name, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }

  void write_gif(const cv::Mat& rgb) {
    const int n = rgb.rows * rgb.cols;
    std::vector<GifByteType> r(static_cast<std::size_t>(n)), g(r.size()), b(r.size()), idx(r.size());
    for (int i = 0; i < n; ++i) {
      const auto* p = rgb.ptr<std::uint8_t>() + 3 * i;
      r[static_cast<std::size_t>(i)] = p[0];
      g[static_cast<std::size_t>(i)] = p[1];
      b[static_cast<std::size_t>(i)] = p[2];
    }
    int colours = 256;
    GifColorType palette[256];
    if (GifQuantizeBuffer(static_cast<unsigned>(rgb.cols), static_cast<unsigned>(rgb.rows), &colours, r.data(),
                          g.data(), b.data(), idx.data(), palette) == GIF_ERROR)
      throw Error(out + ": GIF colour quantisation failed");
    // Delays in centiseconds, rounded so that frame i starts at round(100 i / fps): no drift.
    const auto at = [&](std::int64_t i) { return static_cast<int>(std::lround(100.0 * static_cast<double>(i) / fps)); };
    GraphicsControlBlock gcb{};
    gcb.DisposalMode = DISPOSE_DO_NOT;
    gcb.UserInputFlag = false;
    gcb.DelayTime = std::max(1, at(frames + 1) - at(frames));
    gcb.TransparentColor = NO_TRANSPARENT_COLOR;
    GifByteType ext[4];
    EGifGCBToExtension(&gcb, ext);
    ColorMapObject* map = GifMakeMapObject(256, palette);
    if (!map) throw Error(out + ": out of memory for the GIF palette");
    bool ok = EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, 4, ext) != GIF_ERROR &&
              EGifPutImageDesc(gif, 0, 0, rgb.cols, rgb.rows, false, map) != GIF_ERROR;
    for (int y = 0; ok && y < rgb.rows; ++y) ok = EGifPutLine(gif, idx.data() + static_cast<std::size_t>(y) * rgb.cols, rgb.cols) != GIF_ERROR;
    GifFreeMapObject(map);
    if (!ok) gif_fail();
  }

  void write(const at::Tensor& images) {
    if (finished) throw Error(out + ": write after finish");
    if (images.dim() != 4 || images.size(1) != 3 || images.size(2) != images.size(3))
      throw InputError("frames must be images [N, 3, S, S]");
    const auto rgb = covergen::to_rgb8(images);
    const std::int64_t s = format == FrameFormat::png_dir || size == 0 ? images.size(2) : size;
    if (frames == 0 && side == 0) open(s);
    if (s != side) throw InputError(out + ": frame size changed mid-video");
    for (std::int64_t i = 0; i < rgb.size(0); ++i) {
      at::Tensor f = rgb[i].contiguous();
      if (format == FrameFormat::png_dir) {
        write_png(f);
      } else {
        cv::Mat m(static_cast<int>(f.size(0)), static_cast<int>(f.size(1)), CV_8UC3, f.data_ptr<std::uint8_t>()), scaled;
        if (m.rows != side) cv::resize(m, scaled, cv::Size(static_cast<int>(side), static_cast<int>(side)), 0, 0, cv::INTER_NEAREST);
        else scaled = m.clone();
        if (format == FrameFormat::gif) {
          write_gif(scaled);
        } else {
          cv::Mat bgr;
          cv::cvtColor(scaled, bgr, cv::COLOR_RGB2BGR);
          video.write(bgr);
        }
      }
      ++frames;
    }
  }

  std::int64_t finish() {
    if (finished) return frames;
    if (frames == 0) throw Error(out + ": no frames were written");
    if (format == FrameFormat::mp4 || format == FrameFormat::avi) {
      video.release();
    } else if (format == FrameFormat::gif) {
      int err = 0;
      GifFileType* g = gif;
      gif = nullptr;
      if (EGifCloseFile(g, &err) == GIF_ERROR) throw Error(out + ": closing the GIF failed: " + GifErrorString(err));
    }
    if (format != FrameFormat::png_dir) {
      std::error_code ec;
      fs::rename(temp, out, ec);
      if (ec) throw Error(out + ": cannot rename the finished file into place: " + ec.message());
    }
    finished = true;
    return frames;
  }

  ~Impl() {
    if (finished) return;
    if (video.isOpened()) video.release();
    if (gif) {
      int err = 0;
      EGifCloseFile(gif, &err);
    }
    if (!temp.empty()) {
      std::error_code ec;
      fs::remove(temp, ec);
    }
  }
};

FrameWriter::FrameWriter(const std::string& out, double fps, std::int64_t size)
    : impl_(std::make_unique<Impl>(out, fps, size)) {}
FrameWriter::~FrameWriter() = default;
void FrameWriter::write(const at::Tensor& images) { impl_->write(images); }
std::int64_t FrameWriter::finish() { return impl_->finish(); }
FrameFormat FrameWriter::format() const { return impl_->format; }
std::int64_t FrameWriter::frames() const { return impl_->frames; }

}  // namespace covergen::latent
