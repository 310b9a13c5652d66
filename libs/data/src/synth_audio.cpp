// Audio of the synthetic dataset: additive/FM instruments from wavetables, drums
// from noise bursts and pitch-swept sines, a chord progression in the track's key
// and mode, a 16-step rhythm pattern per genre. Everything is driven by the track's
// own Rng, so a track's samples do not depend on which thread renders it.
#include "covergen/data/hash.hpp"
#include "covergen/data/synth.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace covergen::data {

namespace {

constexpr double kTwoPi = 6.283185307179586;
constexpr int kTable = 4096;

struct Wavetable {
  std::array<float, kTable + 1> v{};
  /// `phase` is a 32-bit fixed-point fraction of a cycle (wraps for free).
  float at(std::uint32_t phase) const {
    const std::uint32_t i = phase >> 20;                                   // 12 bits: table index
    const float f = static_cast<float>(phase & 0xFFFFF) * (1.0f / 1048576.0f);  // 20 bits: fraction
    return v[i] + f * (v[i + 1] - v[i]);
  }
};
static_assert(kTable == 1 << 12, "the phase split assumes a 4096-entry table");

/// Phase increment per sample of `hz` at `sr`, as a 32-bit fraction of a cycle.
std::uint32_t phase_step(double hz, int sr) {
  double cycles = hz / sr;
  cycles -= std::floor(cycles);
  return static_cast<std::uint32_t>(cycles * 4294967296.0);
}

const Wavetable& sine_table() {
  static const Wavetable t = [] {
    Wavetable w;
    for (int i = 0; i <= kTable; ++i) w.v[static_cast<std::size_t>(i)] = static_cast<float>(std::sin(kTwoPi * i / kTable));
    return w;
  }();
  return t;
}

/// Harmonic amplitudes 1/k^rolloff (k = 1..harmonics), `odd_only` for hollow timbres.
Wavetable make_table(int harmonics, double rolloff, bool odd_only) {
  Wavetable w;
  double peak = 0;
  std::vector<double> amp(static_cast<std::size_t>(harmonics) + 1, 0.0);
  for (int k = 1; k <= harmonics; ++k) amp[static_cast<std::size_t>(k)] = (odd_only && k % 2 == 0) ? 0.0 : 1.0 / std::pow(k, rolloff);
  const auto& sine = sine_table();
  for (int i = 0; i <= kTable; ++i) {
    double s = 0;
    for (int k = 1; k <= harmonics; ++k) s += amp[static_cast<std::size_t>(k)] * sine.v[static_cast<std::size_t>((k * i) % kTable)];
    w.v[static_cast<std::size_t>(i)] = static_cast<float>(s);
    peak = std::max(peak, std::abs(s));
  }
  for (auto& x : w.v) x = static_cast<float>(x / peak);
  return w;
}

double midi_hz(double midi) { return 440.0 * std::pow(2.0, (midi - 69.0) / 12.0); }

/// Soft clip: a rational tanh approximation, exact enough for a limiter and cheap.
inline float soft_clip(double x) {
  if (x > 3.0) return 1.0f;
  if (x < -3.0) return -1.0f;
  const double x2 = x * x;
  return static_cast<float>(x * (27.0 + x2) / (27.0 + 9.0 * x2));
}

struct Mix {
  std::vector<float> l, r;
  int sr;
  /// Adds `len` samples of `src` at `start`, panned (-1 left .. 1 right, equal power-ish).
  void add(std::size_t start, const float* src, std::size_t len, float pan) {
    if (start >= l.size()) return;
    len = std::min(len, l.size() - start);
    const float gl = (1.0f - pan) * 0.7071f, gr = (1.0f + pan) * 0.7071f;
    float* L = l.data() + start;
    float* R = r.data() + start;
    for (std::size_t i = 0; i < len; ++i) {
      L[i] += gl * src[i];
      R[i] += gr * src[i];
    }
  }
};

/// Scratch buffer for one voice (per render call, so threads never share it).
struct Voice {
  std::vector<float> buf;
  float* get(std::size_t n) {
    if (buf.size() < n) buf.resize(n);
    return buf.data();
  }
};

void kick(Mix& m, Voice& v, std::size_t start, float vel) {
  const auto& sine = sine_table();
  const std::size_t len = static_cast<std::size_t>(0.35 * m.sr);
  float* out = v.get(len);
  const double amp_k = std::exp(-1.0 / (0.22 * m.sr)), sweep_k = std::exp(-1.0 / (0.035 * m.sr));
  double amp = vel, sweep = 95.0;
  std::uint32_t ph = 0;
  const double to_phase = 4294967296.0 / m.sr;
  for (std::size_t i = 0; i < len; ++i) {
    ph += static_cast<std::uint32_t>((45.0 + sweep) * to_phase);
    out[i] = static_cast<float>(amp) * sine.at(ph);
    amp *= amp_k;
    sweep *= sweep_k;
  }
  m.add(start, out, len, 0.0f);
}

void snare(Mix& m, Voice& v, std::size_t start, float vel, Rng& rng, double tone_hz) {
  const auto& sine = sine_table();
  const std::size_t len = static_cast<std::size_t>(0.25 * m.sr);
  float* out = v.get(len);
  const double nk = std::exp(-1.0 / (0.07 * m.sr)), tk = std::exp(-1.0 / (0.04 * m.sr));
  double na = 0.55, ta = 0.45, prev = 0;
  std::uint32_t ph = 0;
  const std::uint32_t step = phase_step(tone_hz, m.sr);
  for (std::size_t i = 0; i < len; ++i) {
    ph += step;
    const double n = rng.uniform(-1.0, 1.0);
    const double hp = n - 0.5 * prev;
    prev = n;
    out[i] = vel * static_cast<float>(na * hp + ta * sine.at(ph));
    na *= nk;
    ta *= tk;
  }
  m.add(start, out, len, -0.1f);
}

void hat(Mix& m, Voice& v, std::size_t start, float vel, Rng& rng, double decay, float pan) {
  const std::size_t len = static_cast<std::size_t>(decay * 5 * m.sr);
  float* out = v.get(len);
  const double k = std::exp(-1.0 / (decay * m.sr));
  double a = 0.5 * vel, prev = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const double n = rng.uniform(-1.0, 1.0);
    out[i] = static_cast<float>(a * (n - prev));  // first difference: energy pushed up the spectrum
    prev = n;
    a *= k;
  }
  m.add(start, out, len, pan);
}

/// Attack ramp, exponential decay (tau <= 0: sustained) and a 20 ms release, in place.
void envelope(float* out, std::size_t len, int sr, double attack, double tau) {
  const std::size_t att = std::min(len, static_cast<std::size_t>(attack * sr));
  const std::size_t rel = std::min<std::size_t>(len, static_cast<std::size_t>(0.02 * sr));
  const double k = tau > 0 ? std::exp(-1.0 / (tau * sr)) : 1.0;
  double env = 1.0;
  for (std::size_t i = 0; i < len; ++i) {
    double e = env;
    if (i < att) e *= static_cast<double>(i) / static_cast<double>(att);
    if (i + rel > len) e *= static_cast<double>(len - i) / static_cast<double>(rel);
    out[i] *= static_cast<float>(e);
    env *= k;
  }
}

/// One wavetable note.
void table_note(Mix& m, Voice& v, const Wavetable& w, std::size_t start, std::size_t len, double hz, float amp,
                double attack, double tau, float pan, bool drive) {
  float* out = v.get(len);
  std::uint32_t ph = 0;
  const std::uint32_t step = phase_step(hz, m.sr);
  if (drive) {
    for (std::size_t i = 0; i < len; ++i, ph += step) out[i] = amp * 0.8f * soft_clip(3.0 * w.at(ph));
  } else {
    for (std::size_t i = 0; i < len; ++i, ph += step) out[i] = amp * w.at(ph);
  }
  envelope(out, len, m.sr, attack, tau);
  m.add(start, out, len, pan);
}

/// FM note: carrier hz, modulator ratio*hz, index decaying with the note.
void fm_note(Mix& m, Voice& v, std::size_t start, std::size_t len, double hz, double ratio, double index, float amp,
             double tau, float pan) {
  const auto& sine = sine_table();
  float* out = v.get(len);
  std::uint32_t pc = 0, pm = 0;
  const std::uint32_t sc = phase_step(hz, m.sr), sm = phase_step(ratio * hz, m.sr);
  const double ik = std::exp(-1.0 / (0.5 * tau * m.sr));
  double idx = 0.7 * index;
  const double to_phase = 4294967296.0 / kTwoPi;
  for (std::size_t i = 0; i < len; ++i) {
    pm += sm;
    pc += sc;
    const double mod = (0.3 * index + idx) * sine.at(pm);
    // Signed radians -> phase offset (two's complement wraps correctly).
    const auto off = static_cast<std::uint32_t>(static_cast<std::int64_t>(mod * to_phase));
    out[i] = amp * sine.at(pc + off);
    idx *= ik;
  }
  envelope(out, len, m.sr, 0.004, tau);
  m.add(start, out, len, pan);
}

}  // namespace

std::vector<float> render_audio(const TrackParams& tp, double seconds, int sr, double* loudness_db) {
  const GenreStyle& g = genre_styles()[static_cast<std::size_t>(tp.genre)];
  Rng rng(derive_seed(tp.seed, 1));  // audio stream of this track
  const std::size_t frames = static_cast<std::size_t>(seconds * sr);
  Mix m{std::vector<float>(frames, 0.0f), std::vector<float>(frames, 0.0f), sr};
  Voice voice;

  static const int major_scale[7] = {0, 2, 4, 5, 7, 9, 11};
  static const int minor_scale[7] = {0, 2, 3, 5, 7, 8, 10};
  const int* scale = tp.major ? major_scale : minor_scale;
  auto degree_midi = [&](int base, int degree) {
    const int oct = degree >= 0 ? degree / 7 : -((-degree + 6) / 7);
    const int d = degree - oct * 7;
    return base + tp.key + 12 * oct + scale[d];
  };
  static const int prog_major[4] = {0, 4, 5, 3};
  static const int prog_minor[4] = {0, 5, 2, 6};
  const int* prog = tp.major ? prog_major : prog_minor;

  // Timbre: brightness sets the harmonic rolloff (and FM index); energy sets density.
  const double b = tp.brightness, e = tp.energy;
  const double rolloff = 2.6 - 2.0 * b;
  const Wavetable pad_table = make_table(14, rolloff + 0.4, g.lead == Instrument::pad);
  const Wavetable lead_table = make_table(g.lead == Instrument::distorted ? 16 : 10, rolloff,
                                          g.lead == Instrument::pluck ? false : g.lead == Instrument::distorted);
  const Wavetable bass_table = make_table(3 + static_cast<int>(4 * b), 1.6, false);

  const double step = 60.0 / tp.tempo / 4.0;  // a 16th note, seconds
  const std::size_t steps = static_cast<std::size_t>(seconds / step) + 1;
  const int bar_steps = g.lead == Instrument::pad ? 32 : 16;  // ambient chords last two bars
  auto step_start = [&](std::size_t s) {
    double t = s * step;
    if (s % 2 == 1) t += g.swing * step * 0.5;
    return static_cast<std::size_t>(t * sr);
  };
  const float vel = static_cast<float>(0.45 + 0.55 * e);

  // Chords (pad): three notes, two detuned voices panned apart.
  for (std::size_t s = 0; s < steps; s += static_cast<std::size_t>(bar_steps)) {
    const int chord = prog[(s / static_cast<std::size_t>(bar_steps)) % 4];
    const std::size_t start = step_start(s);
    const std::size_t len = static_cast<std::size_t>(bar_steps * step * sr);
    for (int n = 0; n < 3; ++n) {
      const double hz = midi_hz(degree_midi(48, chord + 2 * n));
      for (int v = 0; v < 2; ++v)
        table_note(m, voice, pad_table, start, len, hz * (v ? 1.003 : 0.997), 0.07f, bar_steps * step * 0.25, -1.0,
                   v ? 0.6f : -0.6f, false);
    }
  }

  // Lead melody: a random walk on the scale, density from energy.
  const double note_p = (g.lead == Instrument::pad ? 0.06 : 0.12) + 0.35 * e;
  const float lead_pan = static_cast<float>(rng.uniform(-0.4, 0.4));
  int degree = static_cast<int>(rng.range(0, 6));
  for (std::size_t s = 0; s < steps;) {
    if (!rng.chance(note_p)) { ++s; continue; }
    degree = std::clamp(degree + static_cast<int>(rng.range(-2, 2)), -3, 10);
    const std::size_t dur_steps = static_cast<std::size_t>(rng.range(1, g.lead == Instrument::pad ? 8 : 3));
    const std::size_t start = step_start(s);
    const std::size_t len = static_cast<std::size_t>(dur_steps * step * sr);
    const double hz = midi_hz(degree_midi(60, degree));
    switch (g.lead) {
      case Instrument::pad: table_note(m, voice, lead_table, start, len, hz, 0.12f * vel, 0.08, -1.0, lead_pan, false); break;
      case Instrument::pluck: table_note(m, voice, lead_table, start, len, hz, 0.22f * vel, 0.003, 0.25, lead_pan, false); break;
      case Instrument::distorted: table_note(m, voice, lead_table, start, len, hz, 0.14f * vel, 0.005, 0.6, lead_pan, true); break;
      case Instrument::fm_keys: fm_note(m, voice, start, len, hz, 1.0, 0.4 + 3.5 * b, 0.2f * vel, 0.45, lead_pan); break;
      case Instrument::bells: fm_note(m, voice, start, len, hz, 3.5, 0.6 + 3.0 * b, 0.16f * vel, 0.7, lead_pan); break;
    }
    s += dur_steps;
  }

  // Bass on the kicks (and a few more with energy), root of the chord.
  for (std::size_t s = 0; s < steps; ++s) {
    const bool on = (g.kick >> (s % 16)) & 1;
    if (!on && !rng.chance(0.15 * e)) continue;
    const int chord = prog[(s / static_cast<std::size_t>(bar_steps)) % 4];
    table_note(m, voice, bass_table, step_start(s), static_cast<std::size_t>(2 * step * sr), midi_hz(degree_midi(36, chord)),
               0.22f * vel, 0.004, 0.3, 0.0f, false);
  }

  // Drums: the genre's pattern, ghost notes with energy.
  const double snare_hz = 160.0 + 80.0 * b;
  for (std::size_t s = 0; s < steps; ++s) {
    const int k = static_cast<int>(s % 16);
    const std::size_t start = step_start(s);
    if ((g.kick >> k) & 1) kick(m, voice, start, 0.6f * vel);
    if ((g.snare >> k) & 1) snare(m, voice, start, 0.35f * vel, rng, snare_hz);
    if ((g.hat >> k) & 1) hat(m, voice, start, 0.22f * vel, rng, 0.015 + 0.03 * b, 0.3f);
    else if (rng.chance(0.3 * e)) hat(m, voice, start, 0.12f * vel, rng, 0.012, 0.3f);
  }

  // Loudness from energy: RMS target -26 .. -14 dBFS, soft-clipped.
  double sum = 0;
  for (std::size_t i = 0; i < frames; ++i) sum += double(m.l[i]) * m.l[i] + double(m.r[i]) * m.r[i];
  const double rms = std::sqrt(sum / std::max<std::size_t>(1, 2 * frames));
  const double target = std::pow(10.0, (-26.0 + 12.0 * e) / 20.0);
  const double gain = rms > 0 ? target / rms : 0.0;
  std::vector<float> out(2 * frames);
  const std::size_t fade = std::min<std::size_t>(frames / 2, static_cast<std::size_t>(0.01 * sr));
  sum = 0;
  for (std::size_t i = 0; i < frames; ++i) {
    double f = 1.0;
    if (i < fade) f = double(i) / fade;
    if (i + fade > frames) f = double(frames - i) / fade;
    const float l = static_cast<float>(soft_clip(gain * m.l[i]) * f);
    const float r = static_cast<float>(soft_clip(gain * m.r[i]) * f);
    out[2 * i] = l;
    out[2 * i + 1] = r;
    sum += double(l) * l + double(r) * r;
  }
  if (loudness_db) *loudness_db = 10.0 * std::log10(std::max(1e-12, sum / std::max<std::size_t>(1, 2 * frames)));
  return out;
}

}  // namespace covergen::data
