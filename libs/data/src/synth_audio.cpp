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
  float at(double phase) const {  // phase in [0, 1)
    const double x = phase * kTable;
    const int i = static_cast<int>(x);
    const float f = static_cast<float>(x - i);
    return v[static_cast<std::size_t>(i)] + f * (v[static_cast<std::size_t>(i) + 1] - v[static_cast<std::size_t>(i)]);
  }
};

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
  for (int i = 0; i <= kTable; ++i) {
    double s = 0;
    for (int k = 1; k <= harmonics; ++k) {
      if (odd_only && k % 2 == 0) continue;
      s += std::sin(kTwoPi * k * i / kTable) / std::pow(k, rolloff);
    }
    w.v[static_cast<std::size_t>(i)] = static_cast<float>(s);
    peak = std::max(peak, std::abs(s));
  }
  for (auto& x : w.v) x = static_cast<float>(x / peak);
  return w;
}

double midi_hz(double midi) { return 440.0 * std::pow(2.0, (midi - 69.0) / 12.0); }

double wrap(double p) { return p - std::floor(p); }

struct Mix {
  std::vector<float> l, r;
  int sr;
  void add(std::size_t i, float v, float pan) {  // pan -1 left .. 1 right
    if (i >= l.size()) return;
    l[i] += v * (1.0f - pan) * 0.5f * 1.4142f;
    r[i] += v * (1.0f + pan) * 0.5f * 1.4142f;
  }
};

void kick(Mix& m, std::size_t start, float vel) {
  const auto& sine = sine_table();
  const std::size_t len = static_cast<std::size_t>(0.35 * m.sr);
  double ph = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const double t = static_cast<double>(i) / m.sr;
    ph = wrap(ph + (45.0 + 95.0 * std::exp(-t / 0.035)) / m.sr);
    m.add(start + i, vel * static_cast<float>(std::exp(-t / 0.22)) * sine.at(ph), 0.0f);
  }
}

void snare(Mix& m, std::size_t start, float vel, Rng& rng, double tone_hz) {
  const auto& sine = sine_table();
  const std::size_t len = static_cast<std::size_t>(0.25 * m.sr);
  double ph = 0, prev = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const double t = static_cast<double>(i) / m.sr;
    ph = wrap(ph + tone_hz / m.sr);
    const double n = rng.uniform(-1.0, 1.0);
    const double hp = n - 0.5 * prev;
    prev = n;
    const double v = 0.55 * hp * std::exp(-t / 0.07) + 0.45 * sine.at(ph) * std::exp(-t / 0.04);
    m.add(start + i, vel * static_cast<float>(v), -0.1f);
  }
}

void hat(Mix& m, std::size_t start, float vel, Rng& rng, double decay, float pan) {
  const std::size_t len = static_cast<std::size_t>(decay * 5 * m.sr);
  double prev = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const double t = static_cast<double>(i) / m.sr;
    const double n = rng.uniform(-1.0, 1.0);
    const double hp = n - prev;  // first difference: energy pushed up the spectrum
    prev = n;
    m.add(start + i, vel * static_cast<float>(0.5 * hp * std::exp(-t / decay)), pan);
  }
}

/// One wavetable note with an attack and exponential decay (tau <= 0: sustained).
void table_note(Mix& m, const Wavetable& w, std::size_t start, std::size_t len, double hz, float amp, double attack,
                double tau, float pan, bool drive) {
  double ph = 0;
  const std::size_t rel = std::min<std::size_t>(len, static_cast<std::size_t>(0.02 * m.sr));
  for (std::size_t i = 0; i < len; ++i) {
    const double t = static_cast<double>(i) / m.sr;
    ph = wrap(ph + hz / m.sr);
    double env = t < attack ? t / attack : 1.0;
    if (tau > 0) env *= std::exp(-t / tau);
    if (i + rel > len) env *= static_cast<double>(len - i) / rel;
    float v = w.at(ph);
    if (drive) v = static_cast<float>(std::tanh(3.0 * v) * 0.8);
    m.add(start + i, amp * static_cast<float>(env) * v, pan);
  }
}

/// FM note: carrier hz, modulator ratio*hz, index decaying with the note.
void fm_note(Mix& m, std::size_t start, std::size_t len, double hz, double ratio, double index, float amp, double tau,
             float pan) {
  const auto& sine = sine_table();
  double pc = 0, pm = 0;
  const std::size_t rel = std::min<std::size_t>(len, static_cast<std::size_t>(0.02 * m.sr));
  for (std::size_t i = 0; i < len; ++i) {
    const double t = static_cast<double>(i) / m.sr;
    const double env = std::exp(-t / tau) * (t < 0.004 ? t / 0.004 : 1.0) * (i + rel > len ? double(len - i) / rel : 1.0);
    pm = wrap(pm + ratio * hz / m.sr);
    const double mod = index * (0.3 + 0.7 * std::exp(-t / (0.5 * tau))) * sine.at(pm);
    pc = wrap(pc + hz / m.sr);
    m.add(start + i, amp * static_cast<float>(env) * sine.at(wrap(pc + mod / kTwoPi)), pan);
  }
}

}  // namespace

std::vector<float> render_audio(const TrackParams& tp, double seconds, int sr, double* loudness_db) {
  const GenreStyle& g = genre_styles()[static_cast<std::size_t>(tp.genre)];
  Rng rng(derive_seed(tp.seed, 1));  // audio stream of this track
  const std::size_t frames = static_cast<std::size_t>(seconds * sr);
  Mix m{std::vector<float>(frames, 0.0f), std::vector<float>(frames, 0.0f), sr};

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
        table_note(m, pad_table, start, len, hz * (v ? 1.003 : 0.997), 0.07f, bar_steps * step * 0.25, -1.0,
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
      case Instrument::pad: table_note(m, lead_table, start, len, hz, 0.12f * vel, 0.08, -1.0, lead_pan, false); break;
      case Instrument::pluck: table_note(m, lead_table, start, len, hz, 0.22f * vel, 0.003, 0.25, lead_pan, false); break;
      case Instrument::distorted: table_note(m, lead_table, start, len, hz, 0.14f * vel, 0.005, 0.6, lead_pan, true); break;
      case Instrument::fm_keys: fm_note(m, start, len, hz, 1.0, 0.4 + 3.5 * b, 0.2f * vel, 0.45, lead_pan); break;
      case Instrument::bells: fm_note(m, start, len, hz, 3.5, 0.6 + 3.0 * b, 0.16f * vel, 0.7, lead_pan); break;
    }
    s += dur_steps;
  }

  // Bass on the kicks (and a few more with energy), root of the chord.
  for (std::size_t s = 0; s < steps; ++s) {
    const bool on = (g.kick >> (s % 16)) & 1;
    if (!on && !rng.chance(0.15 * e)) continue;
    const int chord = prog[(s / static_cast<std::size_t>(bar_steps)) % 4];
    table_note(m, bass_table, step_start(s), static_cast<std::size_t>(2 * step * sr), midi_hz(degree_midi(36, chord)),
               0.22f * vel, 0.004, 0.3, 0.0f, false);
  }

  // Drums: the genre's pattern, ghost notes with energy.
  const double snare_hz = 160.0 + 80.0 * b;
  for (std::size_t s = 0; s < steps; ++s) {
    const int k = static_cast<int>(s % 16);
    const std::size_t start = step_start(s);
    if ((g.kick >> k) & 1) kick(m, start, 0.6f * vel);
    if ((g.snare >> k) & 1) snare(m, start, 0.35f * vel, rng, snare_hz);
    if ((g.hat >> k) & 1) hat(m, start, 0.22f * vel, rng, 0.015 + 0.03 * b, 0.3f);
    else if (rng.chance(0.3 * e)) hat(m, start, 0.12f * vel, rng, 0.012, 0.3f);
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
    const float l = static_cast<float>(std::tanh(gain * m.l[i]) * f);
    const float r = static_cast<float>(std::tanh(gain * m.r[i]) * f);
    out[2 * i] = l;
    out[2 * i + 1] = r;
    sum += double(l) * l + double(r) * r;
  }
  if (loudness_db) *loudness_db = 10.0 * std::log10(std::max(1e-12, sum / std::max<std::size_t>(1, 2 * frames)));
  return out;
}

}  // namespace covergen::data
