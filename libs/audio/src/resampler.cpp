#include "covergen/audio/resampler.hpp"

#include "covergen/errors.hpp"

#include <samplerate.h>
#include <soxr.h>

#include <cmath>

namespace covergen::audio {

Resampler::Resampler(double in_rate, double out_rate) : in_rate_(in_rate), out_rate_(out_rate) {}
Resampler::~Resampler() = default;

ResamplerBackend parse_resampler_backend(const std::string& name) {
  if (name == "soxr_hq" || name == "soxr") return ResamplerBackend::soxr_hq;
  if (name == "sinc_best" || name == "samplerate") return ResamplerBackend::samplerate_sinc_best;
  throw InputError("unknown resampler '" + name + "' (use soxr_hq or sinc_best)");
}

std::string to_string(ResamplerBackend backend) {
  return backend == ResamplerBackend::soxr_hq ? "soxr_hq" : "sinc_best";
}

std::int64_t resampled_length(std::int64_t n, double in_rate, double out_rate) {
  // librosa.resample: ratio = float(target_sr) / orig_sr; int(np.ceil(n * ratio))
  const double ratio = out_rate / in_rate;
  return static_cast<std::int64_t>(std::ceil(static_cast<double>(n) * ratio));
}

namespace {

class StreamBase : public Resampler {
 public:
  using Resampler::Resampler;
  void push(const float* in, std::size_t n, std::vector<float>& out) final {
    if (!started_) {
      start_size_ = out.size();
      started_ = true;
    }
    total_in_ += static_cast<std::int64_t>(n);
    feed(in, n, out);
  }
  void finish(std::vector<float>& out) final {
    if (!started_) start_size_ = out.size();
    started_ = true;
    flush(out);
    const std::int64_t want = resampled_length(total_in_, in_rate_, out_rate_);
    out.resize(start_size_ + static_cast<std::size_t>(want), 0.0f);  // fix_length: trim or zero-pad
  }

 protected:
  virtual void feed(const float* in, std::size_t n, std::vector<float>& out) = 0;
  virtual void flush(std::vector<float>& out) = 0;

 private:
  bool started_ = false;
  std::size_t start_size_ = 0;
  std::int64_t total_in_ = 0;
};

class SoxrResampler final : public StreamBase {
 public:
  SoxrResampler(double in_rate, double out_rate) : StreamBase(in_rate, out_rate) {
    soxr_error_t err = nullptr;
    const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    h_ = soxr_create(in_rate, out_rate, 1, &err, &io, &q, nullptr);
    if (err || !h_) throw Error(std::string("soxr_create failed: ") + (err ? err : "unknown error"));
  }
  ~SoxrResampler() override {
    if (h_) soxr_delete(h_);
  }

 protected:
  void feed(const float* in, std::size_t n, std::vector<float>& out) override {
    // librosa's python-soxr feeds chunks of 48000 * in/out input frames; soxr's
    // output does not depend on the chunking, we keep the same anyway. Output goes
    // through a small scratch buffer so `out` never grows past what was produced.
    const std::size_t chunk = std::max<std::size_t>(1, static_cast<std::size_t>(48000.0 * in_rate_ / out_rate_));
    std::size_t pos = 0;
    while (pos < n) {
      const std::size_t len = std::min(chunk, n - pos);
      std::size_t used_total = 0;
      while (used_total < len) {
        const std::size_t room = static_cast<std::size_t>((len - used_total) * out_rate_ / in_rate_) + 64;
        if (buf_.size() < room) buf_.resize(room);
        std::size_t idone = 0, odone = 0;
        soxr_error_t e = soxr_process(h_, in + pos + used_total, len - used_total, &idone, buf_.data(), room, &odone);
        if (e) throw Error(std::string("soxr_process failed: ") + e);
        out.insert(out.end(), buf_.data(), buf_.data() + odone);
        used_total += idone;
        if (idone == 0 && odone == 0) break;  // cannot happen with room > 0; avoid spinning
      }
      pos += len;
    }
  }
  void flush(std::vector<float>& out) override {
    if (buf_.size() < 16384) buf_.resize(16384);
    for (;;) {
      std::size_t odone = 0;
      soxr_error_t e = soxr_process(h_, nullptr, 0, nullptr, buf_.data(), buf_.size(), &odone);
      if (e) throw Error(std::string("soxr_process (flush) failed: ") + e);
      out.insert(out.end(), buf_.data(), buf_.data() + odone);
      if (odone < buf_.size()) break;
    }
  }

 private:
  soxr_t h_ = nullptr;
  std::vector<float> buf_;
};

class SrcResampler final : public StreamBase {
 public:
  SrcResampler(double in_rate, double out_rate) : StreamBase(in_rate, out_rate) {
    int err = 0;
    st_ = src_new(SRC_SINC_BEST_QUALITY, 1, &err);
    if (!st_) throw Error(std::string("src_new failed: ") + src_strerror(err));
  }
  ~SrcResampler() override {
    if (st_) src_delete(st_);
  }

 protected:
  void feed(const float* in, std::size_t n, std::vector<float>& out) override { run(in, n, false, out); }
  void flush(std::vector<float>& out) override { run(nullptr, 0, true, out); }

 private:
  void run(const float* in, std::size_t n, bool eof, std::vector<float>& out) {
    const double ratio = out_rate_ / in_rate_;
    std::size_t pos = 0;
    static const float dummy = 0.0f;
    for (;;) {
      const std::size_t room = static_cast<std::size_t>((n - pos) * ratio) + 4096;
      const std::size_t old = out.size();
      out.resize(old + room);
      SRC_DATA d{};
      d.data_in = in ? in + pos : &dummy;
      d.input_frames = static_cast<long>(n - pos);
      d.data_out = out.data() + old;
      d.output_frames = static_cast<long>(room);
      d.end_of_input = eof ? 1 : 0;
      d.src_ratio = ratio;
      const int e = src_process(st_, &d);
      out.resize(old + static_cast<std::size_t>(d.output_frames_gen));
      if (e) throw Error(std::string("src_process failed: ") + src_strerror(e));
      pos += static_cast<std::size_t>(d.input_frames_used);
      if (eof) {
        if (d.output_frames_gen == 0) break;
      } else if (pos >= n && d.output_frames_gen < static_cast<long>(room)) {
        break;
      }
    }
  }
  SRC_STATE* st_ = nullptr;
};

}  // namespace

std::unique_ptr<Resampler> make_resampler(ResamplerBackend backend, double in_rate, double out_rate) {
  if (!(in_rate > 0) || !(out_rate > 0) || !std::isfinite(in_rate) || !std::isfinite(out_rate))
    throw InputError("resampler: sample rates must be positive (got " + std::to_string(in_rate) + " -> " +
                     std::to_string(out_rate) + ")");
  if (backend == ResamplerBackend::soxr_hq) return std::make_unique<SoxrResampler>(in_rate, out_rate);
  return std::make_unique<SrcResampler>(in_rate, out_rate);
}

std::vector<float> resample(const std::vector<float>& in, double in_rate, double out_rate, ResamplerBackend backend) {
  if (in_rate == out_rate) return in;
  auto r = make_resampler(backend, in_rate, out_rate);
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(resampled_length(static_cast<std::int64_t>(in.size()), in_rate, out_rate)) + 64);
  r->push(in.data(), in.size(), out);
  r->finish(out);
  return out;
}

}  // namespace covergen::audio
